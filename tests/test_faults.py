"""Faults with real processes: Redis killed under load, the bot killed with questions pending.

Each test prints what it counted (shown with ``pytest -s``, and in CI's log on failure).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from supportbot.records import Answer, Question, Usage
from supportbot.redis_conn import connect
from supportbot.spool import Spool
from supportbot.store import Store
from tests.support.processes import BotProcess
from tests.support.redis_process import RedisProcess
from tests.support.servers import holding_server
from tests.support.signing import action_body, slash_command_body
from tests.support.waiting import eventually

VOTERS = 500


def export_votes(redis_url: str, out: str) -> list[dict]:
    env = {**os.environ, "REDIS_URL": redis_url}
    subprocess.run([sys.executable, "-m", "cli", "export", "--out", out], env=env, check=True, capture_output=True)
    with open(out, encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines]
    return [record["data"] for record in records if record["type"] == "vote"]


@pytest.fixture
def private_redis(tmp_path):
    server = RedisProcess(tmp_path / "redis", persist=True).start()
    yield server
    server.stop()


def test_votes_acked_while_redis_is_killed_and_restarted_are_all_kept_once(
    settings, slack_stub, private_redis, tmp_path, monkeypatch
):
    store = Store(redis.Redis.from_url(private_redis.url, decode_responses=True))
    question = Question("Where is my refund?", "U0ASKER", "C0SUPPORT", thread_ts="1.1")
    store.save_question(question)
    answers = [
        Answer("finetuned", f"answer {i}", "m", Usage(10, 5), 0.1, None, question_id=question.id) for i in range(5)
    ]
    for answer in answers:
        store.save_answer(answer)
    bot = BotProcess(
        tmp_path / "bot.log",
        env={"REDIS_URL": private_redis.url, "REDIS_TIMEOUT_S": "1", "TRAINING_WORKER": "external"},
    ).start()
    try:
        votes = [("vote_up" if i % 4 else "vote_down", answers[i % 5].id, f"U{i:04d}") for i in range(VOTERS)]
        statuses: list[int] = []
        with ThreadPoolExecutor(8) as pool:

            def send(batch: list[tuple[str, str, str]]) -> None:
                bodies = [action_body(action, answer, user, "C0SUPPORT", "1.2") for action, answer, user in batch]
                statuses.extend(status for status, _ in pool.map(bot.post, bodies))

            send(votes[:100])
            private_redis.kill()  # SIGKILL: no shutdown, no goodbye
            send(votes[100:300])
            # Acked at once, handled after: Redis stays down until they are on disk, in the spool.
            spool = Spool(settings.data_dir / "spool" / "writes.sqlite")
            eventually(lambda: len(spool) >= 200, True, timeout=120)
            private_redis.start()  # same port, same AOF
            send(votes[300:])
        exported = eventually(
            lambda: len(export_votes(private_redis.url, str(tmp_path / "export.jsonl"))), VOTERS, timeout=60
        )
    finally:
        bot.stop()
    records = export_votes(private_redis.url, str(tmp_path / "export.jsonl"))
    pairs = Counter((record["answer_id"], record["user"]) for record in records)
    replayed = sum(int(n) for n in re.findall(r"replayed (\d+) spooled writes", (tmp_path / "bot.log").read_text()))
    print(
        f"\n{len(statuses)} vote requests, {statuses.count(200)} answered 200; {replayed} spooled while Redis was "
        f"down and replayed; export: {exported} votes, {len(pairs)} distinct (answer, person), "
        f"{sum(1 for n in pairs.values() if n > 1)} twice"
    )
    assert statuses == [200] * VOTERS
    assert len(records) == VOTERS and len(pairs) == VOTERS
    assert replayed > 0  # the outage really happened while votes arrived
    ups = sum(1 for record in records if record["vote"] == 1)
    assert ups == sum(1 for action, _, _ in votes if action == "vote_up")


def test_a_killed_bot_answers_every_acked_question_exactly_once_after_restart(
    settings, slack_stub, tmp_path, monkeypatch
):
    env = {"ANSWER_WORKERS": "1", "TRAINING_WORKER": "external", "PROMPTED_MAX_RETRIES": "0"}
    with holding_server() as (stuck_url, _release):
        # The prompted side hangs, so the first question holds the only answerer and 4 wait.
        bot = BotProcess(tmp_path / "bot1.log", env={**env, "OPENAI_BASE_URL": stuck_url}).start()
        asked = [f"Question number {i}: where is my parcel?" for i in range(5)]
        statuses = [bot.post(slash_command_body(text, slack_stub.response_url))[0] for text in asked]
        # The first question's thread root and both placeholders; its fine-tuned side may be shown
        # already, the prompted one never is: the bot dies between a placeholder and its update.
        first_posts = slack_stub.wait_for("chat.postMessage", 3)
        # ...and once the bot has stored both placeholders' ts. A crash between Slack's reply to a
        # post and that one Redis write would post the placeholder again: a known window (README,
        # "Nothing lost"), not what this test is about.
        first_thread = first_posts[0].response["ts"]
        store = Store(connect(settings), settings.key_prefix)
        channel = first_posts[0].params["channel"]
        eventually(lambda: len(getattr(store.question_for_thread(channel, first_thread), "placeholders", {})), 2)
        bot.kill()
    placeholders_before = [m.ts for m in slack_stub.thread_messages(first_thread)]
    shown_before = [m.ts for m in slack_stub.thread_messages(first_thread) if m.answer_id]
    posts_before = len(slack_stub.calls_to("chat.postMessage"))
    # Restarted without the stuck endpoint (both sides on the local model); it must find the 5
    # questions in Redis, the first one held by the dead process.
    bot = BotProcess(tmp_path / "bot2.log", env=env).start()
    try:
        slack_stub.wait_for_answers(10, timeout=120)  # 2 answers for each of the 5 questions
        time.sleep(2)  # anything posted or updated twice would show up now
        posts = slack_stub.calls_to("chat.postMessage")
    finally:
        bot.stop()
    roots = [call for call in posts if "thread_ts" not in call.params]
    threads = {root.response["ts"]: slack_stub.thread_messages(root.response["ts"]) for root in roots}
    asked_in_roots = sorted(re.search(r"Question number \d", call.params["text"]).group(0) for call in roots)
    updates = Counter(call.params["ts"] for call in slack_stub.calls_to("chat.update"))
    print(
        f"\n{len(asked)} questions acked ({statuses.count(200)} × 200), bot SIGKILLed after {posts_before} posts "
        f"({len(shown_before)} answer shown in the first thread); after restart: {len(roots)} thread roots, "
        f"messages per thread {sorted(len(m) for m in threads.values())}, answers shown per thread "
        f"{sorted(sum(1 for m in ms if m.answer_id) for ms in threads.values())}, updates per message "
        f"{sorted(set(updates.values()))}"
    )
    assert statuses == [200] * 5
    assert asked_in_roots == [f"Question number {i}" for i in range(5)]
    assert len(posts) == 5 * 3  # a root and two placeholders per question, none posted again
    assert all(len(messages) == 2 and all(m.answer_id for m in messages) for messages in threads.values())
    # The first question's answers went into the placeholders posted before the kill.
    assert [m.ts for m in threads[first_thread]] == placeholders_before
    # Each placeholder is filled once; only one the dead bot filled but had not yet recorded as
    # shown (a window of one Redis write) may be filled again, with the same answer.
    first = {m.ts for m in threads[first_thread]}
    assert {n for ts, n in updates.items() if ts not in first} == {1}
    assert all(1 <= updates[ts] <= 2 for ts in first)
