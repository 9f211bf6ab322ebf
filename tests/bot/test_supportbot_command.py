"""`/supportbot stats`: ephemeral counts of questions, votes per model, corrections and examples."""

from supportbot.corrections import CorrectionService
from tests.support.signing import slash_command_body
from tests.trainer.test_dataset import asked


def test_stats_are_answered_ephemerally(bolt):
    store = bolt.services.store
    prompted = asked(store, "How do I cancel?", "Order History.", at=1.0)
    store.votes.set(prompted.id, "U1", 1)
    store.votes.set(prompted.id, "U2", -1)
    service = CorrectionService(store.corrections, is_trusted={"U0LEAD"}.__contains__, is_reviewer=bool)
    service.submit(prompted.question_id, "Cancel from Order History until it ships.", "U0LEAD")
    service.submit(prompted.question_id, "Call us.", "U0ALICE")

    response = bolt.dispatch(slash_command_body("stats", bolt.stub.response_url, command="/supportbot"))
    assert response.status == 200
    text = response.body
    assert "1 questions, 1 answers" in text
    assert "Fine-tuned: 1 :thumbsup:  1 :thumbsdown:" in text  # asked() stores a fine-tuned answer
    assert "Prompted: 0 :thumbsup:  0 :thumbsdown:" in text
    assert "Corrections: 1 pending, 1 approved, 0 rejected" in text
    assert "Training examples: 1 new so far (no training yet), 1 eligible in all" in text


def test_unknown_subcommand_shows_help(bolt):
    response = bolt.dispatch(slash_command_body("frobnicate", bolt.stub.response_url, command="/supportbot"))
    assert "`/supportbot stats`" in response.body
