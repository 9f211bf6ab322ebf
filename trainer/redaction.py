"""Remove personal data and secrets before anything enters a dataset.

Emails, phone numbers (Google's libphonenumber, via ``phonenumbers``), payment card numbers and
IBANs (checksums from ``python-stdnum``, so a random digit run is not taken for a card), API keys
and tokens, and URLs with credentials. Each kind is replaced by a marker such as ``[EMAIL]`` and
counted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A group named "keep" is put back around the marker: the scheme, or the name of a secret.
URL_CREDENTIALS = re.compile(r"\b(?P<keep>[a-z][a-z0-9+.-]*://)[^\s/@:]+:[^\s/@]+@", re.IGNORECASE)
SECRETS = [
    re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),  # OpenAI / Anthropic keys
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]{10,}"),  # Slack app-level tokens
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),  # Google API keys
    re.compile(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),  # Stripe keys
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # JWTs
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}"),
    re.compile(
        r"(?i)\b(?P<keep>(?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd)\b\s*[:=]\s*)"
        r"[^\s,;]{6,}"
    ),
]
IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
CARD_CANDIDATE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")

# Issuer prefixes of the card networks in use (Visa, Mastercard, Amex, Discover, JCB, Diners,
# UnionPay, Maestro): with the Luhn check this keeps order numbers (which pass Luhn one time in ten)
# from being taken for cards.
CARD_PREFIX = re.compile(r"^(?:4|5[0-9]|2[2-7]|3[0-9]|6[0-9])")


def is_card_number(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and bool(CARD_PREFIX.match(digits)) and luhn.is_valid(digits)


MARKERS = {
    "email": "[EMAIL]",
    "url_credentials": "[CREDENTIALS]@",
    "secret": "[SECRET]",
    "iban": "[IBAN]",
    "card": "[CARD]",
    "phone": "[PHONE]",
}


@dataclass
class Redactor:
    """Redacts text and counts what it removed, by kind."""

    phone_region: str = "US"
    counts: Counter[str] = field(default_factory=Counter)

    def _sub(self, kind: str, pattern: re.Pattern[str], text: str, valid: Callable[[str], bool]) -> str:
        def replace(match: re.Match[str]) -> str:
            if not valid(match.group(0)):
                return match.group(0)
            self.counts[kind] += 1
            keep = match.groupdict().get("keep") or ""
            return keep + MARKERS[kind]

        return pattern.sub(replace, text)

    def _phones(self, text: str) -> str:
        matches = list(phonenumbers.PhoneNumberMatcher(text, self.phone_region, leniency=phonenumbers.Leniency.VALID))
        for match in reversed(matches):
            self.counts["phone"] += 1
            text = text[: match.start] + MARKERS["phone"] + text[match.end :]
        return text

    def redact(self, text: str) -> str:
        def always(_: str) -> bool:
            return True

        text = self._sub("url_credentials", URL_CREDENTIALS, text, always)
        text = self._sub("email", EMAIL, text, always)
        for pattern in SECRETS:
            text = self._sub("secret", pattern, text, always)
        text = self._sub("iban", IBAN_CANDIDATE, text, lambda s: iban.is_valid(s.replace(" ", "")))
        text = self._sub("card", CARD_CANDIDATE, text, is_card_number)
        return self._phones(text)


def redact(text: str) -> str:
    return Redactor().redact(text)
