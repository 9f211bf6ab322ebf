"""Which answers are training data: endorsed by at least MIN_UPVOTERS people other than the asker."""

import pytest

from supportbot.examples import DEFAULT_MIN_UPVOTERS, eligible_examples
from supportbot.settings import Settings
from supportbot.store import Store
from tests.trainer.test_dataset import asked  # its questions are asked by U1

ASKER = "U1"


def voted(store: Store, votes: dict[str, int], min_upvoters: int = 2) -> bool:
    """Whether one answer with these votes is a training example."""
    answer = asked(store, "Can I pay by PayPal?", "Yes, PayPal works.")
    for user, vote in votes.items():
        store.votes.set(answer.id, user, vote)
    return [e.ref for e in eligible_examples(store, min_upvoters) if e.source == "vote"] == [answer.id]


@pytest.mark.parametrize(
    ("votes", "eligible"),
    [
        ({ASKER: 1}, False),  # the asker's own 👍 does not count
        ({"U2": 1}, False),  # one stranger is short of MIN_UPVOTERS=2
        ({ASKER: 1, "U2": 1}, False),  # ...and the asker does not make up the difference
        ({"U2": 1, "U3": 1}, True),  # two strangers
        ({"U2": 1, "U3": 1, "U4": -1}, False),  # a 👎 cancels a 👍
        ({"U2": 1, "U3": 1, ASKER: -1}, False),  # the asker's 👎 counts: it did not help them
        ({"U2": 1, "U3": 1, "U4": 1, "U5": -1}, True),  # 3 - 1 = 2
    ],
)
def test_endorsements_from_people_other_than_the_asker(redis_client, votes, eligible):
    assert voted(Store(redis_client), votes) is eligible


def test_the_threshold_is_a_setting(redis_client):
    store = Store(redis_client)
    assert voted(store, {"U2": 1}, min_upvoters=1)
    assert not voted(Store(redis_client, "other:"), {"U2": 1, "U3": 1}, min_upvoters=3)
    with pytest.raises(ValueError, match="at least 1"):
        eligible_examples(store, 0)


def test_the_default_is_the_settings_default():
    assert Settings.model_fields["min_upvoters"].default == DEFAULT_MIN_UPVOTERS
