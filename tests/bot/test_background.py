"""Slow answers must never delay the ack of the next request (Slack's 3 s deadline)."""

import threading

import pytest

from bot.app import build_app
from bot.background import Background
from bot.blocks import BUSY_TEXT
from supportbot.intake import Intake
from supportbot.question_queue import QuestionQueue
from supportbot.services import build_services
from supportbot.spool import Spool
from tests.bot.conftest import Bolt
from tests.support.servers import holding_server
from tests.support.signing import event_body, slash_command_body
from tests.support.waiting import eventually


@pytest.fixture
def slow_openai(monkeypatch):
    """An OpenAI-compatible endpoint that takes its time: holds each request until released."""
    with holding_server(status_after_release=503) as (url, release):
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        monkeypatch.setenv("PROMPTED_MAX_RETRIES", "0")
        yield release


def test_many_slow_questions_never_block_the_next_ack(settings, slack_stub, slow_openai, monkeypatch):
    # Bolt's own listener pool has 10 threads: 15 questions that each hold a thread for the whole
    # answer would leave the last ones un-acked (HTTP 404 after 3 s). All must be acked.
    from supportbot.settings import load_settings

    monkeypatch.setenv("ANSWER_WORKERS", "2")
    settings = load_settings()
    services = build_services(settings, show_progress=False)
    background = Background(settings.answer_workers, settings.max_pending_questions)
    bolt = Bolt(build_app(services, background), services, slack_stub)
    statuses = [bolt.dispatch(slash_command_body(f"Question {i}?", slack_stub.response_url)).status for i in range(15)]
    assert statuses == [200] * 15
    slow_openai.set()  # let the prompted side fail fast now; the answers then drain
    slack_stub.wait_for("chat.postMessage", 15 * 3, timeout=120)  # 15 roots, 30 placeholders
    slack_stub.wait_for("chat.update", 15 * 2, timeout=120)  # filled: 15 answers, 15 warnings
    background.shutdown()


def test_a_full_backlog_tells_the_person_to_retry(settings, slack_stub):
    services = build_services(settings, show_progress=False)
    bolt = Bolt(build_app(services, Background(workers=1, max_pending=0)), services, slack_stub)
    assert bolt.dispatch(slash_command_body("Where is my order?", slack_stub.response_url)).status == 200
    (reply,) = slack_stub.wait_for_response_url(1)
    assert reply == {"text": BUSY_TEXT, "response_type": "ephemeral"}

    event = {
        "type": "app_mention",
        "user": "U0ASKER",
        "text": "<@U0BOTUSER> hi?",
        "ts": "1.5",
        "channel": "C0SUPPORT",
    }
    bolt.dispatch(event_body(event))
    (call,) = slack_stub.wait_for("chat.postEphemeral", 1)
    assert call.params["text"] == BUSY_TEXT
    assert slack_stub.calls_to("chat.postMessage") == []


def test_an_unexpected_failure_is_logged_and_the_person_is_told(settings, redis_client, caplog):
    services = build_services(settings, show_progress=False)
    told = threading.Event()
    background = Background(workers=1, max_pending=5)
    intake = Intake(Spool(settings.data_dir / "spool.sqlite"))

    def explode(job: dict) -> None:
        raise RuntimeError("the model went away")

    background.bind(QuestionQueue(services.store.redis, services.store.keys), intake, explode, lambda job: told.set())
    background.start()
    assert background.submit({"id": "q1", "kind": "message"})
    assert told.wait(15)
    eventually(lambda: background.queue.backlog(), 0)  # told, so it leaves the queue: not retried forever
    background.shutdown()
    assert "answering question q1 failed" in caplog.text and "the model went away" in caplog.text
