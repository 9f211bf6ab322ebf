"""The review texts as plain functions: the pending list is capped, clipped and inert."""

from bot.blocks import PENDING_SHOWN, pending_corrections_text, review_outcome_text, reviewed_message
from supportbot.records import Correction


def test_the_pending_list_shows_the_oldest_ten_clipped_and_escaped():
    pending = [
        (Correction("q", f"answer {i} " + "x" * 1000, "U0ALICE", id=f"{i:032x}"), "Q?\n<!here>") for i in range(12)
    ]
    text = pending_corrections_text(pending)
    assert text.startswith("*12 corrections waiting for review*")
    assert text.count("• `") == PENDING_SHOWN and "`00000000` by <@U0ALICE>" in text
    assert "…and 2 more (oldest first)." in text
    assert "<!here>" not in text and "for _Q? &lt;!here&gt;_" in text
    assert max(len(line) for line in text.splitlines()) < 500


def test_an_operator_is_named_not_mentioned():
    correction = Correction("q", "Five days.", "U0ALICE", status="approved", reviewer="cli:alice")
    assert "*approved* by `cli:alice`" in review_outcome_text(correction, "Refunds?")
    assert reviewed_message(correction, "Refunds?")["text"] == ":white_check_mark: Approved by `cli:alice`"
    correction.reviewer = "U0LEAD"
    assert "*approved* by <@U0LEAD>" in review_outcome_text(correction, "Refunds?")
