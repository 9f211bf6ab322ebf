"""👍/👎 reactions through the Bolt app: votes map to exactly one answer; retries never double count."""

from concurrent.futures import ThreadPoolExecutor

from tests.support.signing import event_body, reaction_body
from tests.support.waiting import eventually, settle


def ask(bolt) -> list[tuple[str, str]]:
    """Mention the bot; return (answer id, message ts) of the two answers shown."""
    bolt.dispatch(
        event_body(
            {
                "type": "app_mention",
                "user": "U0ASKER",
                "text": "<@U0BOTUSER> refund?",
                "ts": "1700000001.000100",
                "channel": "C0SUPPORT",
            },
            event_id="Ev0ASK",
        )
    )
    shown = bolt.stub.wait_for_answers(2)  # the placeholders, each updated with its answer
    bolt.services.ask.pool.shutdown(wait=True)  # answers stored before we react
    out = [(message.answer_id, message.ts) for message in shown]
    wait_stored(bolt, [a for a, _ in out])
    return out


def wait_stored(bolt, answer_ids):
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(bolt.services.store.get_answer(a) and bolt.services.store.get_answer(a).ts for a in answer_ids):
            return
        time.sleep(0.02)
    raise AssertionError("answers were not stored")


def test_reactions_vote_change_and_withdraw(bolt):
    (first, first_ts), (second, second_ts) = ask(bolt)
    votes = bolt.services.store.votes
    bolt.dispatch(reaction_body("+1::skin-tone-3", "U0ALICE", "C0SUPPORT", first_ts, event_id="Ev1"))
    bolt.dispatch(reaction_body("thumbsdown", "U0BOB", "C0SUPPORT", first_ts, event_id="Ev2"))
    bolt.dispatch(reaction_body("-1", "U0ALICE", "C0SUPPORT", second_ts, event_id="Ev3"))
    eventually(lambda: votes.of(first), {"U0ALICE": 1, "U0BOB": -1})
    eventually(lambda: votes.of(second), {"U0ALICE": -1})

    bolt.dispatch(reaction_body("thumbsdown", "U0BOB", "C0SUPPORT", first_ts, added=False, event_id="Ev4"))
    eventually(lambda: votes.of(first), {"U0ALICE": 1})  # removing the reaction removed the vote


def test_reactions_on_other_messages_and_other_emoji_are_ignored(bolt):
    (_, first_ts), _ = ask(bolt)
    bolt.dispatch(reaction_body("+1", "U0ALICE", "C0SUPPORT", "1700000001.000100", event_id="Ev5"))  # the question
    bolt.dispatch(reaction_body("tada", "U0ALICE", "C0SUPPORT", first_ts, event_id="Ev6"))
    assert settle(bolt.services.store.votes.voted_answer_ids) == []


def test_redelivered_reactions_and_fifty_concurrent_voters_tally_exactly(bolt):
    (first, first_ts), _ = ask(bolt)
    body = reaction_body("+1", "U0ALICE", "C0SUPPORT", first_ts, event_id="EvSTORM")
    for retry in range(3):
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        assert bolt.dispatch(body, headers=headers).status == 200

    def vote(i: int) -> int:
        reaction = "+1" if i % 5 else "-1"
        return bolt.dispatch(reaction_body(reaction, f"U0P{i:04d}", "C0SUPPORT", first_ts, event_id=f"EvP{i}")).status

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(vote, range(50))) == {200}
    tally = settle(lambda: bolt.services.store.votes.tally(first))
    assert (tally.up, tally.down) == (1 + 40, 10)
