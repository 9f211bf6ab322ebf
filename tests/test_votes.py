"""Votes in Redis: one current vote per (answer, person), idempotent, exact under concurrency."""

from concurrent.futures import ThreadPoolExecutor

from supportbot.store import Store
from supportbot.votes import endorsement, reaction_vote

UP, DOWN = frozenset({"+1", "thumbsup"}), frozenset({"-1", "thumbsdown"})


def test_reaction_names_aliases_and_skin_tones():
    assert reaction_vote("+1", UP, DOWN) == 1
    assert reaction_vote("thumbsup", UP, DOWN) == 1
    assert reaction_vote("+1::skin-tone-4", UP, DOWN) == 1
    assert reaction_vote("-1::skin-tone-2", UP, DOWN) == -1
    assert reaction_vote("thumbsdown", UP, DOWN) == -1
    assert reaction_vote("tada", UP, DOWN) is None


def test_repeating_a_vote_changes_nothing(redis_client):
    votes = Store(redis_client).votes
    assert votes.set("a1", "U1", 1, at=100.0) is True
    assert votes.set("a1", "U1", 1, at=200.0) is False
    assert votes.of("a1") == {"U1": 1}
    assert votes.times("a1") == {"U1": 100.0}  # the first cast counts


def test_switching_then_removing_the_old_reaction_keeps_the_new_vote(redis_client):
    votes = Store(redis_client).votes
    votes.set("a1", "U1", 1)
    votes.set("a1", "U1", -1)  # switched to 👎
    assert votes.remove("a1", "U1", 1) is False  # removing the old 👍 leaves the 👎
    assert votes.of("a1") == {"U1": -1}
    assert votes.remove("a1", "U1", -1) is True
    assert votes.of("a1") == {}
    assert votes.remove("a1", "U1", -1) is False  # a redelivered removal is a no-op


def test_fifty_concurrent_voters_and_a_retry_storm_tally_exactly(redis_client):
    votes = Store(redis_client).votes
    people = [f"U{i:04d}" for i in range(50)]

    def cast(person: str) -> None:
        for _ in range(3):  # each delivered three times
            votes.set("a1", person, 1 if int(person[1:]) % 5 else -1)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(cast, people))
    tally = votes.tally("a1")
    assert (tally.up, tally.down, tally.net) == (40, 10, 30)


def test_endorsement_counts_other_peoples_thumbs_up_and_everyones_thumbs_down():
    assert endorsement({}, asker="U1") == 0
    assert endorsement({"U1": 1}, asker="U1") == 0  # the asker's own 👍 adds nothing
    assert endorsement({"U1": -1, "U2": 1, "U3": 1}, asker="U1") == 1  # ...but their 👎 counts
    assert endorsement({"U2": 1, "U3": 1, "U4": -1}, asker="U1") == 1
