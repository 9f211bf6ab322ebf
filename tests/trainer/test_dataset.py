"""Dataset snapshots: only eligible data, redacted, merged, split stably, content-addressed."""

import json

from supportbot.corrections import CorrectionService
from supportbot.records import Answer, Question, SeedExample, Usage
from supportbot.splits import SplitStore, hashed_split, normalise
from supportbot.store import Store
from tests.support.paths import BITEXT
from trainer.dataset import build_snapshot, hold_out, load_snapshot
from trainer.importer import Mapping, parse


def import_bitext(store: Store, limit: int | None = None) -> None:
    seeds = parse(BITEXT, Mapping(), 2000).seeds
    store.seeds.add_all(seeds[:limit])


def asked(store: Store, text: str, answer_text: str, at: float = 1000.0) -> Answer:
    question = Question(text=text, user="U1", channel="C1", thread_ts=f"{at}", created_at=at)
    store.save_question(question)
    answer = Answer(
        variant="finetuned",
        text=answer_text,
        model="m",
        usage=Usage(1, 1),
        latency_s=1.0,
        cost_usd=None,
        question_id=question.id,
        created_at=at,
    )
    store.save_answer(answer)
    return answer


def questions_by_split(path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"train": set(), "eval": set()}
    for row in load_snapshot(path):
        out[row["split"]].add(normalise(row["messages"][1]["content"]))
    return out


def test_bitext_snapshot_is_stable_across_rebuilds(redis_client, tmp_path):
    store = Store(redis_client)
    import_bitext(store)
    first = build_snapshot(store, tmp_path, eval_percent=10)
    again = build_snapshot(store, tmp_path, eval_percent=10)
    assert first.created and not again.created
    assert again.name == first.name
    assert first.path.name == f"{first.name}.jsonl"
    assert json.loads((tmp_path / f"{first.name}.stats.json").read_text()) == first.stats
    stats = first.stats
    assert stats["eligible"] == 1188
    assert stats["examples"] + stats["merged_duplicates"] == 1188
    assert stats["by_source"] == {"seed": stats["examples"]}
    assert len(stats["by_label"]) == 27
    assert 0.05 < stats["by_split"]["eval"] / stats["examples"] < 0.15
    row = load_snapshot(first.path)[0]
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert not (first.path.stat().st_mode & 0o222)  # immutable: read-only

    splits = questions_by_split(first.path)
    assert not splits["train"] & splits["eval"]  # no eval question leaks into training


def test_the_eval_split_is_frozen_and_only_grows(redis_client, tmp_path):
    store = Store(redis_client)
    import_bitext(store, limit=400)
    before = questions_by_split(build_snapshot(store, tmp_path, eval_percent=10).path)
    import_bitext(store)  # more data arrives...
    after = questions_by_split(build_snapshot(store, tmp_path, eval_percent=40).path)  # ...and the share changes
    assert before["eval"] <= after["eval"]  # nothing left eval
    assert before["train"] <= after["train"]  # nothing left train
    new_eval = after["eval"] - before["eval"]
    assert new_eval and all(hashed_split(key, 40) == "eval" for key in new_eval)


def test_untrusted_correction_enters_only_after_approval(redis_client, tmp_path):
    store = Store(redis_client)
    answer = asked(store, "How long does a refund take?", "No idea.")
    service = CorrectionService(
        store.corrections, is_trusted=lambda u: u == "U0LEAD", is_reviewer={"U0LEAD"}.__contains__
    )
    pending = service.submit(answer.question_id, "Refunds take 5-10 business days.", "U0ALICE", answer_id=answer.id)
    assert pending.status == "pending"
    texts = [r["messages"][2]["content"] for r in load_snapshot(build_snapshot(store, tmp_path).path)]
    assert "Refunds take 5-10 business days." not in texts

    service.review(pending.id, "U0LEAD", approve=True)
    rows = load_snapshot(build_snapshot(store, tmp_path).path)
    assert [(r["messages"][2]["content"], r["source"]) for r in rows] == [
        ("Refunds take 5-10 business days.", "correction")
    ]


def test_only_answers_endorsed_by_enough_people_other_than_the_asker(redis_client, tmp_path):
    store = Store(redis_client)  # asked() questions are asked by U1
    liked = asked(store, "Can I pay by PayPal?", "Yes, PayPal works.", at=1.0)
    split_vote = asked(store, "Do you ship to Mars?", "Yes, in 2 days.", at=2.0)
    self_liked = asked(store, "Where is my invoice?", "Order History > Invoice.", at=3.0)
    for user in ("U2", "U3", "U4"):
        store.votes.set(liked.id, user, 1)
    store.votes.set(liked.id, "U5", -1)  # 3 - 1 = 2 endorsements
    store.votes.set(split_vote.id, "U2", 1)
    store.votes.set(split_vote.id, "U3", 1)
    store.votes.set(split_vote.id, "U4", -1)  # 2 - 1 = 1
    for _ in range(5):  # one person voting many times is one vote, and the asker's 👍 counts for nothing
        store.votes.set(self_liked.id, "U1", 1)
        store.votes.set(self_liked.id, "U9", 1)
    # 1% held out: all three questions are in train, where bot answers may be kept.
    rows = load_snapshot(build_snapshot(store, tmp_path, eval_percent=1).path)
    assert [(r["messages"][1]["content"], r["source"]) for r in rows] == [("Can I pay by PayPal?", "vote")]

    rows = load_snapshot(build_snapshot(store, tmp_path, eval_percent=1, min_upvoters=1).path)
    assert {r["messages"][1]["content"] for r in rows} == {
        "Can I pay by PayPal?",
        "Do you ship to Mars?",
        "Where is my invoice?",
    }


def test_near_duplicates_merge_newest_wins_and_pii_is_redacted(redis_client, tmp_path):
    store = Store(redis_client)
    old = asked(store, "Cancel order 12345!", "Old answer.", at=10.0)
    new = asked(store, "cancel order 98765", "New answer, mail help@example.com", at=20.0)
    for answer in (old, new):
        store.votes.set(answer.id, "U2", 1)
        store.votes.set(answer.id, "U3", 1)
    snapshot = build_snapshot(store, tmp_path)
    (row,) = load_snapshot(snapshot.path)
    assert row["messages"][2]["content"] == "New answer, mail [EMAIL]"
    assert snapshot.stats["merged_duplicates"] == 1
    assert snapshot.stats["redactions"] == {"email": 1}


def test_eval_references_are_only_answers_people_wrote(redis_client, tmp_path):
    store = Store(redis_client)
    in_eval, in_train = "Where is my invoice?", "Can I pay by PayPal?"
    assert (hashed_split(normalise(in_eval), 10), hashed_split(normalise(in_train), 10)) == ("eval", "train")
    for text, at in ((in_eval, 1.0), (in_train, 2.0)):
        answer = asked(store, text, f"Bot answer to {text}", at=at)
        store.votes.set(answer.id, "U2", 1)
        store.votes.set(answer.id, "U3", 1)

    snapshot = build_snapshot(store, tmp_path, eval_percent=10)
    rows = load_snapshot(snapshot.path)
    assert [(r["split"], r["messages"][1]["content"], r["source"]) for r in rows] == [("train", in_train, "vote")]
    assert snapshot.stats["eval_without_reference"] == 1
    assert SplitStore(redis_client, store.keys).all()[normalise(in_eval)] == "eval"  # dropped, not moved

    # A person's answer to the same question (older than the bot's) becomes its reference.
    store.seeds.add_all(
        [SeedExample("s1", "where is my invoice", "Account > Orders > Invoice.", "test", created_at=0.5)]
    )
    rows = load_snapshot(build_snapshot(store, tmp_path, eval_percent=10).path)
    assert [(r["split"], r["messages"][2]["content"], r["source"]) for r in rows] == [
        ("eval", "Account > Orders > Invoice.", "seed"),
        ("train", f"Bot answer to {in_train}", "vote"),
    ]


def chat_row(question: str, label: str | None, source: str = "seed") -> dict:
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": question},
        {"role": "assistant", "content": "a"},
    ]
    return {"messages": messages, "label": label, "source": source}


def test_hold_out_takes_a_share_of_seeds_from_every_label_and_never_the_teams_own():
    rows = [chat_row(f"question {label} {i}", label) for label in "abcde" for i in range(12)]
    rows += [chat_row(f"correction {i}", "a", source="correction") for i in range(6)]
    train, validation = hold_out(rows, 10, seed=42)
    assert len(validation) == round(len(rows) * 0.10) == 7
    assert len(train) + len(validation) == len(rows)
    assert {id(r) for r in train}.isdisjoint(id(r) for r in validation)
    assert all(r["source"] == "seed" for r in validation)  # corrections are always trained on
    labels = [r["label"] for r in validation]
    assert set(labels) == set("abcde") and max(labels.count(x) for x in "abcde") == 2  # in turn, by label
    assert hold_out(list(reversed(rows)), 10, seed=42)[1] == validation  # stable: not the input order
    assert hold_out(rows, 10, seed=7)[1] != validation  # the seed picks


def test_hold_out_keeps_a_training_row_and_falls_back_to_any_row_without_seeds():
    assert hold_out([chat_row("only", "a")], 10) == ([chat_row("only", "a")], [])
    own = [chat_row(f"c {i}", None, source="correction") for i in range(4)]
    train, validation = hold_out(own, 50)
    assert len(train) == 2 and len(validation) == 2
    assert len(hold_out(own[:2], 50)[0]) == 1  # at least one row is trained on
