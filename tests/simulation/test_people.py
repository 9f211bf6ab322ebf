"""When the simulated people upvote a fine-tuned answer and when they correct it."""

from pathlib import Path

import pytest

from simulation.loop import UPVOTE_RULES, Loop, LoopOptions
from simulation.scoring import Verdict
from supportbot.errors import SupportbotError

RIGHT_AND_CLOSE = Verdict(strict=True, lenient=True)
RIGHT_BUT_GENERIC = Verdict(strict=True, lenient=False)  # about the right intent, not what they would write
CLOSE_BUT_WRONG = Verdict(strict=False, lenient=True)  # the house style, another intent nearest
WRONG = Verdict(strict=False, lenient=False)


def people(rule: str) -> Loop:
    return Loop(None, None, Path("."), None, None, print, LoopOptions(upvote=rule))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "upvoted"),
    [
        ("headline", [RIGHT_AND_CLOSE, RIGHT_BUT_GENERIC]),
        ("close", [RIGHT_AND_CLOSE]),
    ],
)
def test_each_rule_upvotes_only_what_it_accepts(rule, upvoted):
    loop = people(rule)
    verdicts = [RIGHT_AND_CLOSE, RIGHT_BUT_GENERIC, CLOSE_BUT_WRONG, WRONG]
    assert [v for v in verdicts if loop.approves(v)] == upvoted


def test_the_default_rule_is_the_headline_and_an_unknown_one_is_refused():
    assert LoopOptions().upvote == "headline"
    assert set(UPVOTE_RULES) == {"headline", "close"}
    with pytest.raises(SupportbotError, match="unknown upvote rule 'kind'"):
        people("kind")
