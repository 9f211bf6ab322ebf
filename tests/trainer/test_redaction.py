"""Redaction: every kind of personal data and secret, shown, plus property-based checks."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from trainer.redaction import Redactor, redact


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("write to jane.doe+support@example.co.uk today", "write to [EMAIL] today", "email"),
        ("call me on +44 20 7946 0958 please", "call me on [PHONE] please", "phone"),
        ("my number is (415) 555-2671", "my number is [PHONE]", "phone"),
        ("card 4111 1111 1111 1111 expired", "card [CARD] expired", "card"),
        ("amex 3782-822463-10005", "amex [CARD]", "card"),
        ("IBAN DE89 3704 0044 0532 0130 00 please refund", "IBAN [IBAN] please refund", "iban"),
        ("iban GB82WEST12345698765432", "iban [IBAN]", "iban"),
        ("my key sk-proj-abcdefghijklmnopqrstuvwxyz0123", "my key [SECRET]", "secret"),
        ("bot token xoxb-1234567890-abcdefghijklmno", "bot token [SECRET]", "secret"),
        ("aws AKIAIOSFODNN7EXAMPLE leaked", "aws [SECRET] leaked", "secret"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[SECRET]", "secret"),
        ("Authorization: Bearer abcdefghijklmnop1234", "Authorization: [SECRET]", "secret"),
        ("password: hunter2hunter2", "password: [SECRET]", "secret"),
        ("see https://admin:s3cret@db.example.com/x", "see https://[CREDENTIALS]@db.example.com/x", "url_credentials"),
    ],
)
def test_each_kind_is_redacted_and_counted(text, expected, kind):
    redactor = Redactor()
    assert redactor.redact(text) == expected
    assert redactor.counts[kind] >= 1


@pytest.mark.parametrize(
    "text",
    [
        "I want to cancel purchase 113542617735902",  # an order number that passes Luhn: not a card
        "order 00004587345 has not arrived",
        "It costs $1,234.56 and ships in 3-5 days",
        "Visit https://example.com/orders?id=42",
        "my password is too short",
    ],
)
def test_ordinary_support_text_is_left_alone(text):
    assert redact(text) == text


def card_numbers() -> st.SearchStrategy[str]:
    """Valid Visa numbers: '4', 14 random digits, and the Luhn check digit."""
    return st.text(alphabet="0123456789", min_size=14, max_size=14).map(
        lambda body: "4" + body + luhn.calc_check_digit("4" + body)
    )


@given(
    user=st.from_regex(r"[a-z][a-z0-9._]{0,20}", fullmatch=True),
    domain=st.from_regex(r"[a-z][a-z0-9-]{0,15}\.(com|org|io|de)", fullmatch=True),
    before=st.text(alphabet=st.characters(blacklist_characters="@", codec="ascii"), max_size=40),
)
def test_any_email_is_redacted(user, domain, before):
    email = f"{user}@{domain}"
    out = redact(f"{before} {email} end")
    assert email not in out
    assert "[EMAIL]" in out


@given(number=card_numbers(), sep=st.sampled_from(["", " ", "-"]))
def test_any_valid_card_number_is_redacted(number, sep):
    grouped = sep.join(number[i : i + 4] for i in range(0, len(number), 4))
    out = redact(f"please charge {grouped} now")
    assert re.sub(r"\D", "", out) == ""  # no digit of the card survives
    assert "[CARD]" in out


@given(st.text(alphabet=st.characters(blacklist_categories=["Nd"], blacklist_characters="@:=/"), max_size=200))
def test_text_without_digits_or_markers_is_unchanged(text):
    assert redact(text) == text
