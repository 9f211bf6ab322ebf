"""Redaction: every kind of personal data and secret, shown by example; the near misses it must keep.

Property-based checks per kind are in tests/test_redaction_properties.py.
"""

import pytest

from supportbot.errors import ConfigError
from supportbot.redaction import Redactor, redact

MARKER = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "iban": "[IBAN]",
    "ssn": "[SSN]",
    "secret": "[SECRET]",
    "url_credentials": "[CREDENTIALS]",
}


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("write to jane.doe+support@example.co.uk today", "write to [EMAIL] today", "email"),
        ("call me on +44 20 7946 0958 please", "call me on [PHONE] please", "phone"),
        ("my number is (415) 555-2671", "my number is [PHONE]", "phone"),
        ("card 4111 1111 1111 1111 expired", "card [CARD] expired", "card"),
        ("card 4111 1111 1111 1111 12/25", "card [CARD] 12/25", "card"),
        ("card 4111-1111-1111-1111 12/2025 please", "card [CARD] 12/2025 please", "card"),
        ("card 4111111111111111 exp 12/25", "card [CARD] exp 12/25", "card"),
        ("amex 3782-822463-10005", "amex [CARD]", "card"),
        ("amex 3782 822463 10005 01/27", "amex [CARD] 01/27", "card"),
        ("IBAN DE89 3704 0044 0532 0130 00 please refund", "IBAN [IBAN] please refund", "iban"),
        ("iban GB82WEST12345698765432", "iban [IBAN]", "iban"),
        ("iban gb82west12345698765432 thanks", "iban [IBAN] thanks", "iban"),
        ("iban de89 3704 0044 0532 0130 00", "iban [IBAN]", "iban"),
        ("DE89370400440532013000 PLEASE", "[IBAN] PLEASE", "iban"),
        ("DE89 3704 0044 0532 0130 00 PLEASE REFUND", "[IBAN] PLEASE REFUND", "iban"),
        ("ref AB12 CD34 DE89 3704 0044 0532 0130 00 ok", "ref AB12 CD34 [IBAN] ok", "iban"),
        ("my ssn is 536-90-4399", "my ssn is [SSN]", "ssn"),
        ("my ssn is 536 90 4399.", "my ssn is [SSN].", "ssn"),
        ("SSN: 536904399", "SSN: [SSN]", "ssn"),
        ("two: 536-90-4399 123-45-6789", "two: [SSN] [SSN]", "ssn"),
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
    assert redactor.counts[kind] == expected.count(MARKER[kind])


@pytest.mark.parametrize(
    "text",
    [
        "I want to cancel purchase 113542617735902",  # an order number that passes Luhn: not a card
        "order 00004587345 has not arrived",
        "order 123456789 has not arrived",  # nine digits without 'SSN' are not one
        "It costs $1,234.56 and ships in 3-5 days",
        "Visit https://example.com/orders?id=42",
        "my password is too short",
        "not an ssn: 000-12-3456 666-12-3456 912-34-5678 123-00-4567 123-45-0000",
        "not an iban: DE89 3704 0044 0532 0130 01",  # one digit off: the checksum fails
        "PLEASE CALL ME BACK ABOUT ORDER AB12",
    ],
)
def test_ordinary_support_text_is_left_alone(text):
    assert redact(text) == text


def test_the_phone_region_reads_numbers_without_a_country_code():
    text = "ring 020 7946 0958 after six"
    assert redact(text) == text  # not a US number
    british = Redactor(phone_region="GB")
    assert british.redact(text) == "ring [PHONE] after six"
    assert british.counts["phone"] == 1
    assert Redactor(phone_region="gb").phone_region == "GB"
    assert british.redact("or +1 415 555 2671") == "or [PHONE]"  # a country code is read in any region


def test_an_unknown_phone_region_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"PHONE_REGION='XX' is not a country.*such as US, GB or DE"):
        Redactor(phone_region="XX")
