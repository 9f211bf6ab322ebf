"""The spool keeps what could not reach Redis, in order, across restarts; the intake replays it."""

import os
import stat
import subprocess
import sys
import textwrap

import redis

from supportbot.intake import SPOOLED, Intake
from supportbot.redis_conn import client_options
from supportbot.spool import Spool, drain
from supportbot.store import Store
from tests.support.waiting import eventually


def unreachable_redis() -> redis.Redis:
    """A client for a port nothing listens on: every command fails as in an outage."""
    return redis.Redis(port=1, decode_responses=True, **client_options(0.2))  # type: ignore[arg-type]


def test_entries_survive_a_new_process_in_order(tmp_path):
    path = tmp_path / "spool" / "writes.sqlite"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from supportbot.spool import Spool
        spool = Spool(Path({str(path)!r}))
        for i in range(5):
            spool.append("vote", {{"n": i}})
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    spool = Spool(path)
    assert [entry.payload["n"] for entry in spool.entries()] == [0, 1, 2, 3, 4]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_same_entry_id_is_kept_once(tmp_path):
    spool = Spool(tmp_path / "s.sqlite")
    spool.append("question", {"id": "q1"}, entry_id="question-q1")
    spool.append("question", {"id": "q1"}, entry_id="question-q1")
    assert len(spool) == 1


def test_drain_stops_at_the_first_outage_and_keeps_the_order(tmp_path):
    spool = Spool(tmp_path / "s.sqlite")
    for i in range(4):
        spool.append("write", {"n": i})
    seen: list[int] = []

    def flaky(payload: dict) -> None:
        if payload["n"] == 2 and 2 not in seen:
            seen.append(2)
            raise redis.ConnectionError("down again")
        seen.append(payload["n"])

    assert drain(spool, {"write": flaky}, (redis.ConnectionError,)) == 2
    assert [e.payload["n"] for e in spool.entries()] == [2, 3]
    assert drain(spool, {"write": flaky}, (redis.ConnectionError,)) == 2
    assert seen == [0, 1, 2, 2, 3] and len(spool) == 0


def test_an_entry_that_keeps_failing_is_set_aside_not_blocking(tmp_path):
    spool = Spool(tmp_path / "s.sqlite")
    spool.append("bad", {"n": 0})
    spool.append("good", {"n": 1})
    done: list[int] = []

    def bad(payload: dict) -> None:
        raise ValueError("cannot apply")

    handlers = {"bad": bad, "good": lambda p: done.append(p["n"])}
    for _ in range(3):
        drain(spool, handlers, (redis.ConnectionError,))
    assert done == [1] and len(spool) == 0
    failed = (tmp_path / "s.failed.jsonl").read_text()
    assert '"kind": "bad"' in failed
    assert stat.S_IMODE(os.stat(tmp_path / "s.failed.jsonl").st_mode) == 0o600


def test_votes_made_while_redis_is_down_reach_it_in_order_once_back(tmp_path, redis_client):
    down = Store(unreachable_redis())
    up = Store(redis_client)
    store = {"now": down}

    def vote(payload: dict) -> bool:
        return store["now"].votes.set(payload["answer"], payload["user"], payload["vote"])

    intake = Intake(Spool(tmp_path / "s.sqlite"), {"vote": vote}, retry_s=0.2)
    assert intake.write("vote", {"answer": "a1", "user": "U1", "vote": 1}) is SPOOLED
    assert not intake.store_up
    store["now"] = up
    # Spooled writes keep their order: later ones queue behind them even once Redis answers.
    assert intake.write("vote", {"answer": "a1", "user": "U1", "vote": -1}) is SPOOLED
    assert intake.write("vote", {"answer": "a1", "user": "U2", "vote": 1}) is SPOOLED
    intake.start()
    eventually(lambda: len(intake.spool), 0)
    intake.stop()
    tally = up.votes.tally("a1")
    assert (tally.up, tally.down) == (1, 1)  # U1 switched to 👎, U2 👍
    assert intake.write("vote", {"answer": "a1", "user": "U3", "vote": 1}) is True  # straight to Redis again
