"""`supportbot review`: an operator lists pending corrections and decides them from the shell."""

import getpass

import pytest
from click.testing import CliRunner

from cli.main import main
from supportbot.corrections import SHORT_ID, CorrectionService
from supportbot.store import Store
from tests.trainer.test_dataset import asked


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def corrections(redis_client):
    """Alice's and Bob's corrections wait for review; the lead's was approved at once."""
    store = Store(redis_client)
    answer = asked(store, "How long does a refund take?", "No idea.")
    service = CorrectionService(store.corrections, is_trusted={"U0LEAD"}.__contains__, is_reviewer=bool)
    alice = service.submit(answer.question_id, "Refunds take 5-10 business days.", "U0ALICE")
    bob = service.submit(answer.question_id, "Refunds are instant.", "U0BOB")
    service.submit(answer.question_id, "Five to ten business days.", "U0LEAD")
    return store.corrections, alice, bob


def flat(result) -> str:
    return " ".join(result.output.split())


def test_review_lists_the_pending_corrections(corrections):
    _, alice, bob = corrections
    for args in (("review",), ("review", "list")):
        result = run(*args)
        assert result.exit_code == 0, result.output
        out = flat(result)
        assert "2 waiting for review" in out
        assert alice.id[:SHORT_ID] in out and bob.id[:SHORT_ID] in out
        assert "U0ALICE" in out and "Refunds take 5-10" in out
        assert "Five to ten" not in out  # approved already


def test_an_operator_approves_as_cli_user_and_cannot_decide_twice(corrections):
    store, alice, bob = corrections
    result = run("review", "approve", alice.id[:SHORT_ID])
    assert result.exit_code == 0, result.output
    operator = f"cli:{getpass.getuser()}"
    assert f"approved correction {alice.id[:SHORT_ID]} by U0ALICE (as {operator})" in flat(result)
    assert "SLACK_BOT_TOKEN is not set: the author was not told" in flat(result)
    decided = store.get(alice.id)
    assert (decided.status, decided.reviewer) == ("approved", operator)

    again = run("review", "reject", alice.id)
    assert again.exit_code == 2
    assert f"error: Already approved by `{operator}`." in flat(again)
    assert store.get(alice.id).status == "approved"
    run("review", "reject", bob.id)
    assert "no corrections are waiting for review" in run("review").output


def test_as_records_a_slack_user_and_must_be_one(corrections):
    store, _, bob = corrections
    refused = run("review", "reject", bob.id, "--as", "bob")
    assert refused.exit_code == 2 and "is not a Slack user id" in refused.output
    assert store.get(bob.id).status == "pending"
    assert run("review", "reject", bob.id, "--as", "U0LEAD").exit_code == 0
    assert (store.get(bob.id).status, store.get(bob.id).reviewer) == ("rejected", "U0LEAD")
    left = flat(run("review"))
    assert "1 waiting for review" in left and bob.id[:SHORT_ID] not in left


def test_unknown_ids_are_one_error_line(corrections):
    result = run("review", "approve", "0000000000")
    assert result.exit_code == 2
    assert "error: No correction has an id starting with '0000000000'." in flat(result)


def test_with_a_slack_token_the_review_message_is_updated_and_the_author_told(corrections, slack_env, slack_stub):
    store, alice, _ = corrections
    alice.review_channel, alice.review_ts = "C0REVIEWS", "1700000000.000100"
    store.save(alice)
    slack_stub.add_message("C0REVIEWS", "1700000000.000100")  # the review message the bot posted
    result = run("review", "approve", alice.id)
    assert result.exit_code == 0, result.output
    assert "the author was told in Slack" in flat(result)
    (update,) = slack_stub.calls_to("chat.update")
    assert update.params["ts"] == "1700000000.000100" and "Approved by `cli:" in update.params["text"]
    (dm,) = slack_stub.calls_to("chat.postMessage")
    assert dm.params["channel"] == "U0ALICE" and "*approved* by `cli:" in dm.params["text"]
