"""The digest in Slack: blocks within Slack's limits, chart upload and message through the Web API
stand-in, exactly one post with two schedulers, and `/supportbot digest` for admins."""

import json
from datetime import datetime

import pytest
from slack_sdk import WebClient

from bot.digest import DigestSchedule, digest_blocks, post_digest
from supportbot.digest import build_digest
from supportbot.settings import load_settings
from supportbot.store import Store
from tests.bot.conftest import command
from tests.support.replicas import fire_together
from tests.support.signing import BOT_TOKEN
from tests.support.traffic import NOW, Planned, live_adapter, seed_traffic

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ALLOWED_BLOCKS = {"header", "section", "divider", "context"}  # no "markdown": completeUploadExternal rejects it


def seeded(redis_client) -> Store:
    store = Store(redis_client)
    plans = [Planned("prompted", d % 13, votes=(1, -1, 1)[: d % 3 + 1]) for d in range(30)]
    plans += [Planned("finetuned", d % 13, votes=(1,), cost=None) for d in range(30)]
    seed_traffic(store, plans)
    live_adapter(store)
    return store


def assert_within_slack_limits(blocks):
    assert 0 < len(blocks) <= 50
    for block in blocks:
        assert block["type"] in ALLOWED_BLOCKS
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
            assert block["text"]["type"] == "plain_text"
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
    assert len(json.dumps(blocks)) < 16_000


def test_blocks_stay_within_slack_limits_and_carry_every_figure(redis_client, settings):
    blocks = digest_blocks(build_digest(seeded(redis_client), settings, now=NOW))
    assert_within_slack_limits(blocks)
    text = json.dumps(blocks, ensure_ascii=False)
    for figure in ("answers", "👍", "👎", "corrected", "accepted", "latency p50 / p95", "tokens in / answer",
                   "cost / answer", "cost this week", "eval accuracy", "unpriced)"):  # fmt: skip
        assert figure in text
    # people voted, but no seed or correction gives those answers a reference: counted, not judged
    assert "judge agrees with 👍/👎: no voted answer to judge (" in text and "without a reference)" in text
    assert "judge agrees with :+1:/:-1: = the share of this week's voted answers" in text
    assert "is 40 pts more accurate" in blocks[1]["text"]["text"]


def test_the_digest_is_one_upload_with_the_chart_and_the_blocks(redis_client, settings, slack_stub):
    client = WebClient(token=BOT_TOKEN, base_url=slack_stub.url)
    digest = build_digest(seeded(redis_client), settings, now=NOW)
    post_digest(client, "C0DIGEST", digest)

    (url_call,) = slack_stub.calls_to("files.getUploadURLExternal")
    (complete,) = slack_stub.calls_to("files.completeUploadExternal")
    assert slack_stub.calls_to("chat.postMessage") == []  # one message: the file share carries the blocks
    (upload,) = slack_stub.uploads.values()
    assert upload["data"][:8] == PNG_MAGIC and len(upload["data"]) == int(url_call.params["length"])
    assert url_call.params["alt_txt"].startswith("Accepted answers")
    assert complete.params["channel_id"] == "C0DIGEST"
    assert "initial_comment" not in complete.params  # it would make Slack ignore the blocks
    assert json.loads(complete.params["files"])[0]["title"].startswith("supportbot digest")
    assert json.loads(complete.params["blocks"]) == digest_blocks(digest)
    assert complete.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


def test_scheduled_digest_posts_exactly_once_with_two_schedulers(redis_client, monkeypatch, slack_stub, settings):
    monkeypatch.setenv("DIGEST_CHANNEL", "C0DIGEST")
    monkeypatch.setenv("TIMEZONE", "Europe/Berlin")
    settings = load_settings()
    store = seeded(redis_client)
    client = WebClient(token=BOT_TOKEN, base_url=slack_stub.url)
    replicas = [DigestSchedule(settings, store, client) for _ in range(2)]
    assert str(replicas[0].trigger) == "cron[month='*', day='*', day_of_week='mon', hour='9', minute='0']"
    monday_9 = datetime.fromisoformat("2025-12-01T09:00:00.300+01:00")  # Berlin time
    assert fire_together(replicas, monday_9) == ["not-mine", "posted"]
    assert len(slack_stub.calls_to("files.completeUploadExternal")) == 1
    assert slack_stub.calls_to("files.completeUploadExternal")[0].params["channel_id"] == "C0DIGEST"
    assert replicas[1].fire(datetime.fromisoformat("2025-12-01T09:00:09+01:00")) == "not-mine"


def test_two_running_schedulers_post_once_per_tick(redis_client, monkeypatch, slack_stub, settings):
    from apscheduler.triggers.cron import CronTrigger

    monkeypatch.setenv("DIGEST_CHANNEL", "C0DIGEST")
    settings, store = load_settings(), Store(redis_client)
    client = WebClient(token=BOT_TOKEN, base_url=slack_stub.url)
    every_2s = CronTrigger(second="*/2", timezone="UTC")
    replicas = [DigestSchedule(settings, store, client, trigger=every_2s, tolerance_s=0.5) for _ in range(2)]
    for replica in replicas:
        replica.start()
    try:
        slack_stub.wait_for("files.completeUploadExternal", 2, timeout=15)
    finally:
        for replica in replicas:
            replica.stop()
    claims = redis_client.keys("sb:schedule:digest:*")
    assert len(slack_stub.calls_to("files.completeUploadExternal")) == len(claims)


def test_a_bad_digest_cron_is_a_clear_error(redis_client, monkeypatch, slack_stub):
    from supportbot.errors import ConfigError

    monkeypatch.setenv("DIGEST_CHANNEL", "C0DIGEST")
    monkeypatch.setenv("DIGEST_CRON", "mondays at nine")
    with pytest.raises(ConfigError, match="DIGEST_CRON='mondays at nine'"):
        DigestSchedule(load_settings(), Store(redis_client), WebClient(base_url=slack_stub.url))


@pytest.fixture
def digest_env(monkeypatch):
    monkeypatch.setenv("DIGEST_CHANNEL", "C0DIGEST")


@pytest.fixture
def digest_bolt(digest_env, admin_bolt):
    return admin_bolt


def test_supportbot_digest_is_for_admins_and_posts_to_the_digest_channel(digest_bolt):
    bolt, _ = digest_bolt
    refused = command(bolt, "/supportbot", "digest", "U0ASKER")
    assert "Only admins can post the digest" in refused.body
    assert bolt.stub.calls_to("files.getUploadURLExternal") == []

    response = command(bolt, "/supportbot", "digest", "U0ADMIN")
    assert response.status == 200 and "<#C0DIGEST>" in response.body
    (complete,) = bolt.stub.wait_for("files.completeUploadExternal", 1)
    assert complete.params["channel_id"] == "C0DIGEST"
    assert "No fine-tuned adapter is live yet" in complete.params["blocks"]


def test_supportbot_digest_reports_slack_errors_ephemerally(digest_bolt):
    bolt, _ = digest_bolt
    bolt.stub.fail("files.getUploadURLExternal", "not_in_channel")
    command(bolt, "/supportbot", "digest", "U0ADMIN")
    (reply,) = bolt.stub.wait_for_response_url(1)
    assert reply["response_type"] == "ephemeral"
    assert "not_in_channel" in reply["text"]
