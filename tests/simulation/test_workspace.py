"""The simulated people against the real bot process (tiny model): they ask with /ask, read both
answers in the thread, correct in the modal and in the thread, vote with the button and the
reaction, and get the digest; what they did is stored as if Slack had sent it."""

from pathlib import Path

import pytest

from simulation.bot_process import BotProcess
from simulation.loop import ADMIN, CHANNEL, PREFIX, TRUSTED, LoopOptions, bot_env, overrides_for
from simulation.scenario import Item
from simulation.slack_standin import SlackStandIn
from simulation.workspace import Workspace
from supportbot.examples import eligible_examples
from supportbot.store import Store
from tests.conftest import TEST_REDIS_URL


@pytest.fixture
def workspace(tiny_model: Path, tmp_path: Path):
    with SlackStandIn() as slack:
        overrides = overrides_for(tmp_path, TEST_REDIS_URL, tiny_model, slack, 1000, LoopOptions(max_new_tokens=8))
        overrides.update(training_worker="external", local_dtype="float32")
        secret = overrides["slack_signing_secret"].get_secret_value()
        bot = BotProcess(bot_env(overrides), tmp_path / "bot.log", secret).start()
        try:
            yield Workspace(bot, slack, CHANNEL)
        finally:
            bot.stop()


def test_people_ask_correct_upvote_and_get_the_digest_through_the_bot(workspace, redis_client):
    items = [Item(f"Question {i}: how do I get a refund?", f"Reference {i}.", "get_refund") for i in range(3)]
    asked = workspace.ask(items, window=2)
    assert [a.item for a in asked] == items
    for one in asked:
        assert set(one.answers) == {"prompted", "finetuned"}
        assert one.answers["finetuned"].label == "Fine-tuned (base model, no adapter yet)"
        assert one.answers["finetuned"].version is None and one.answers["finetuned"].answer_id
    roots = workspace.slack.roots(CHANNEL)
    # Two at a time: the bot may post either first.
    assert sorted(r.text for r in roots) == sorted(f"<@{a.user}> asked: {a.item.question}" for a in asked)

    workspace.correct_in_modal(asked[0], TRUSTED[0], "The right answer, from the modal.")
    workspace.correct_in_thread(asked[1], TRUSTED[1], "The right answer, from the thread.")
    workspace.upvote(asked[2], "U0VOTE01", with_button=True)
    workspace.upvote(asked[2], "U0VOTE02", with_button=False)
    workspace.slack.wait_until(
        lambda: True if sum(len(workspace.confirmations(u)) for u in TRUSTED) == 2 else None, 60, "confirm"
    )
    assert workspace.confirmations(TRUSTED[0]) == [asked[0].thread_ts]
    assert workspace.confirmations(TRUSTED[1]) == [asked[1].thread_ts]

    store = Store(redis_client, PREFIX)
    corrections = {c.via: c for c in store.corrections.with_status("approved")}
    assert set(corrections) == {"modal", "thread"}
    assert corrections["modal"].answer_id == asked[0].answers["finetuned"].answer_id
    assert corrections["modal"].text == "The right answer, from the modal." and corrections["modal"].user == TRUSTED[0]
    assert corrections["thread"].text == "The right answer, from the thread."
    # Votes are stored after their ack (the bot acks first, as Slack needs): wait for all three.
    stored = lambda: {(e.source, e.answer) for e in eligible_examples(store, 2)}  # noqa: E731
    examples = workspace.slack.wait_until(lambda: stored() if len(stored()) >= 3 else None, 60, "store the votes")
    assert examples == {
        ("correction", "The right answer, from the modal."),
        ("correction", "The right answer, from the thread."),
        ("vote", asked[2].answers["finetuned"].text),  # two people's 👍: a button and a reaction
    }

    digest = workspace.post_digest(ADMIN)
    assert digest[0].startswith(":bar_chart: Weekly digest")
    assert any("answers: 3" in text for text in digest)
