"""What the bot does when Slack or Redis misbehave: nothing acked is lost, nothing internal is posted."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
import redis

from bot.answering import new_job, run_job
from bot.app import build_app
from bot.background import Background
from bot.blocks import CORRECTION_CALLBACK
from bot.posting import post_placeholders
from supportbot.records import Answer, Question, Usage
from supportbot.services import build_services
from supportbot.settings import load_settings
from supportbot.spool import Spool
from tests.bot.conftest import Bolt
from tests.bot.test_events import mention
from tests.support.redis_process import RedisProcess
from tests.support.servers import json_server
from tests.support.signing import event_body, slash_command_body, thread_message_body, view_submission_body
from tests.support.waiting import eventually

SECRET_DETAIL = "Traceback: KeyError at /srv/internal/model_pool.py line 42, api_key=sk-live-123"


def test_a_rate_limited_post_is_retried_after_retry_after(bolt):
    bolt.stub.http_error("chat.postMessage", 429, times=2)
    bolt.stub.http_error("chat.update", 429)
    bolt.dispatch(event_body(mention("<@U0BOTUSER> where is my refund?")))
    shown = bolt.stub.wait_for_answers(2, timeout=60)  # both answers arrived, none lost to the 429s
    assert bolt.stub.refused == [("chat.postMessage", 429), ("chat.postMessage", 429), ("chat.update", 429)]
    assert len(bolt.posts()) == 2  # the two placeholders, each posted once
    store = bolt.services.store
    eventually(lambda: sorted(a.ts for a in store.answers_between(0, float("inf"))), sorted(m.ts for m in shown))


def test_a_server_error_from_slack_is_retried(bolt):
    bolt.stub.http_error("chat.postMessage", 503)
    bolt.dispatch(event_body(mention("<@U0BOTUSER> can I change my address?")))
    assert len(bolt.stub.wait_for("chat.postMessage", 2, timeout=60)) == 2
    assert bolt.stub.refused == [("chat.postMessage", 503)]


def test_answers_are_stored_before_they_are_posted(bolt):
    for _ in range(4):  # the two placeholders, then the answers posted without them
        bolt.stub.fail("chat.postMessage", "channel_not_found")
    bolt.dispatch(event_body(mention("<@U0BOTUSER> how do I return an item?")))
    store = bolt.services.store
    answers = eventually(lambda: len(store.answers_between(0, float("inf"))), 2)
    assert answers == 2
    assert [a.ts for a in store.answers_between(0, float("inf"))] == [None, None]  # kept, though never posted


def restarted_job(bolt: Bolt, text: str) -> tuple[dict, Question]:
    """A question a bot died on after posting its placeholders (as the real one does, through the
    Web API), before any answer was shown: what the restarted bot finds."""
    thread = "1700000002.000200"
    job = new_job("message", text, "U0ASKER", "C0SUPPORT", key=f"C0SUPPORT/{thread}", thread_ts=thread)
    question = bolt.services.ask.new_question(text, "U0ASKER", "C0SUPPORT", thread_ts=thread, question_id=job["id"])
    post_placeholders(bolt.app.client, bolt.services.ask, question, list(question.order))
    return job, question


def test_a_bot_restarted_after_posting_placeholders_fills_them_and_posts_nothing_new(bolt):
    job, question = restarted_job(bolt, "Where is my parcel?")
    placeholders = [call.response["ts"] for call in bolt.posts()]
    assert bolt.services.store.get_question(question.id).placeholders == dict(
        zip(question.order, placeholders, strict=True)
    )

    run_job(job, bolt.app.client, bolt.services)  # the restarted bot runs the job again
    run_job(job, bolt.app.client, bolt.services)  # and a third time: still nothing new
    assert len(bolt.posts()) == 2
    shown = bolt.stub.wait_for_answers(2)
    assert [m.ts for m in shown] == placeholders and [m.updates for m in shown] == [1, 1]
    stored = bolt.services.store.answers_for_question(question.id)
    assert sorted(a.ts for a in stored) == placeholders and len(stored) == 2


def test_an_answer_stored_but_not_shown_fills_its_placeholder_without_being_asked_again(bolt):
    job, question = restarted_job(bolt, "Can I change my address?")
    kept = Answer("finetuned", "Yes, in your account settings.", "m", Usage(3, 7), 0.5, None, question_id=question.id)
    kept.label = "Fine-tuned (base model, no adapter yet)"
    bolt.services.ask.record(kept)  # generated and stored; the bot died before chat.update
    run_job(job, bolt.app.client, bolt.services)
    shown = {m.answer_id: m for m in bolt.stub.wait_for_answers(2)}
    assert shown[kept.id].ts == question.placeholders["finetuned"]
    assert "in your account settings" in shown[kept.id].text
    assert len(bolt.services.store.answers_for_question(question.id)) == 2  # the prompted side only was asked
    assert len(bolt.posts()) == 2


def test_a_placeholder_deleted_in_slack_is_logged_and_its_answer_kept(bolt, caplog):
    job, question = restarted_job(bolt, "Where is my refund?")
    prompted_ts = question.placeholders[question.order[0]]
    bolt.stub.messages.pop(("C0SUPPORT", prompted_ts))  # someone deleted it
    with caplog.at_level(logging.ERROR):
        run_job(job, bolt.app.client, bolt.services)
    assert "message_not_found" in caplog.text
    assert len(bolt.stub.wait_for_answers(1)) == 1 and len(bolt.posts()) == 2
    answers = {a.variant: a for a in bolt.services.store.answers_for_question(question.id)}
    assert answers[question.order[0]].ts is None  # stored, not shown: nothing lost
    assert answers[question.order[1]].ts == question.placeholders[question.order[1]]


# An OpenAI-compatible endpoint that fails with internals in its error body.
BROKEN = {"error": {"message": SECRET_DETAIL, "type": "server_error"}}


@pytest.fixture
def broken_prompted_bolt(monkeypatch, settings, slack_stub) -> Iterator[Bolt]:
    with json_server(BROKEN, status=400) as (url, _):
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        monkeypatch.setenv("PROMPTED_MAX_RETRIES", "0")
        services = build_services(load_settings(), show_progress=False)
        background = Background(2, 10)
        yield Bolt(build_app(services, background), services, slack_stub)
        background.shutdown()


def test_a_backend_error_is_posted_as_an_error_id_with_the_details_in_the_log(broken_prompted_bolt, caplog):
    bolt = broken_prompted_bolt
    with caplog.at_level(logging.WARNING):
        bolt.dispatch(event_body(mention("<@U0BOTUSER> where is my parcel?")))
        bolt.stub.wait_for_answers(1, timeout=60)
        updates = bolt.stub.wait_for("chat.update", 2, timeout=60)
    warning = next(call.params["text"] for call in updates if "could not answer" in call.params["text"])
    assert "sk-live" not in warning and "Traceback" not in warning and "model_pool" not in warning
    error_id = re.search(r"error id `([0-9a-f]{8})`", warning).group(1)
    assert error_id in caplog.text and "model_pool.py" in caplog.text  # the details, for the team
    (failure,) = bolt.services.store.failures()
    assert error_id in failure.reason


def test_a_slash_command_resent_with_the_same_trigger_id_is_handled_once(bolt):
    body = slash_command_body("Where is my order?", bolt.stub.response_url)
    assert bolt.dispatch(body).status == 200
    assert bolt.dispatch(body).status == 200  # Slack's retry: same trigger_id
    bolt.stub.wait_for("chat.postMessage", 3, timeout=60)  # the root and two answers
    eventually(lambda: bolt.services.store.question_count(), 1)
    assert len([c for c in bolt.stub.calls_to("chat.postMessage") if "thread_ts" not in c.params]) == 1


@pytest.fixture
def outage_bolt(monkeypatch, tmp_path, tiny_env, slack_env, slack_stub) -> Iterator[tuple[Bolt, RedisProcess]]:
    """A bot on a redis-server of its own, so a test can kill and restart it."""
    server = RedisProcess(tmp_path / "redis", persist=True).start()
    monkeypatch.setenv("REDIS_URL", server.url)
    monkeypatch.setenv("REDIS_TIMEOUT_S", "1")
    monkeypatch.setenv("TRUSTED_USERS", "U0ALICE")
    services = build_services(load_settings(), show_progress=False)
    background = Background(2, 10)
    yield Bolt(build_app(services, background), services, slack_stub), server
    background.shutdown()
    server.stop()


def test_corrections_made_while_redis_is_down_are_kept_and_stored_once_it_is_back(outage_bolt):
    bolt, server = outage_bolt
    bolt.dispatch(event_body(mention("<@U0BOTUSER> how do I get a refund?", ts="1700000001.000100")))
    bolt.stub.wait_for_answers(2, timeout=60)
    answer_id = eventually(lambda: len(bolt.services.store.answers_between(0, float("inf"))), 2) and (
        bolt.services.store.answers_between(0, float("inf"))[0].id
    )
    server.kill()
    thread = thread_message_body(
        "correction: Refunds go back to the card you paid with.",
        "U0ALICE",
        "C0SUPPORT",
        thread_ts="1700000001.000100",
        ts="1700000009.000900",
        event_id="EvCORR1",
    )
    assert bolt.dispatch(thread).status == 200
    metadata = f'{{"answer_id": "{answer_id}", "channel": "C0SUPPORT", "thread_ts": "1700000001.000100"}}'
    modal = view_submission_body("U0ALICE", metadata, "Refunds take 5 days.", CORRECTION_CALLBACK)
    assert bolt.dispatch(modal).status == 200
    spool = Spool(bolt.services.settings.data_dir / "spool" / "writes.sqlite")
    kinds = ["modal_correction", "thread_correction"]
    eventually(lambda: sorted(entry.kind for entry in spool.entries()), kinds)  # events run after their ack
    server.start()
    store = bolt.services.store
    eventually(lambda: len(store.corrections.with_status("approved")), 2, timeout=30)
    texts = sorted(c.text for c in store.corrections.with_status("approved"))
    assert texts == ["Refunds go back to the card you paid with.", "Refunds take 5 days."]
    eventually(lambda: len(spool), 0)  # each entry leaves the spool just after it is applied


def test_blank_secrets_stop_start_up_with_a_clear_message(monkeypatch):
    from supportbot.errors import ConfigError

    monkeypatch.setenv("SLACK_SIGNING_SECRET", "")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET: .*empty"):
        load_settings()
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "   ")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        load_settings()
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "abc")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1 ")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN: .*spaces"):
        load_settings()


def test_redis_commands_time_out_and_are_retried(settings):
    from supportbot.redis_conn import RETRIES, connect

    client = connect(settings)
    pool = client.connection_pool.connection_kwargs
    assert pool["socket_timeout"] == settings.redis_timeout_s
    assert client.get_retry().get_retries() == RETRIES
    assert redis.exceptions.ConnectionError in client.get_retry()._supported_errors
