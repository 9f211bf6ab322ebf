"""Remove personal data and secrets from text: before it enters a dataset or a redacted export,
and (with REDACT_PROMPTS) before a question is sent to an external model API.

Emails; phone numbers (Google's libphonenumber, via ``phonenumbers``, with a configurable region
for numbers written without a country code); payment card numbers, IBANs and US Social Security
numbers (validity from ``python-stdnum``: Luhn plus issuer prefix, the IBAN checksum and country
format, the SSN area/group/serial rules), so a random digit run is not taken for one; API keys and
tokens; and URLs with credentials. Each kind is replaced by a marker such as ``[EMAIL]`` and
counted.

Numbers are found in two steps. A loose pattern finds a run of groups ("4111 1111 1111 1111 12",
"DE89 3704 0044 0532 0130 00 PLEASE"); then, group by group, the longest span inside the run that
passes the check is replaced. So a card followed by its expiry, or an IBAN followed by a word in
capitals, is still found, and its neighbours are kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.us import ssn

from supportbot.errors import ConfigError

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
# Runs in which a number is looked for: digit groups split by single spaces or dashes, and words
# split by single spaces from one that starts like an IBAN (two letters, two check digits). A run
# after a + is a phone number with its country code, left to the phone matcher.
DIGIT_RUN = re.compile(r"\+?\d+(?:[ -]\d+)*")
IBAN_RUN = re.compile(r"\b[A-Za-z]{2}\d{2}[A-Za-z0-9]*(?: [A-Za-z0-9]+)*")
GROUP = re.compile(r"[A-Za-z0-9]+")
IBAN_START = re.compile(r"[A-Za-z]{2}\d{2}")
SSN_GROUPED = re.compile(r"\d{3}([- ])\d{2}\1\d{4}")
# Nine digits in a row are only an SSN when the text says so (otherwise they are order numbers).
SSN_NAMED = re.compile(r"(?i)(?P<keep>\b(?:ssn|social security (?:number|no\.?))\W{0,3})\d{9}\b")

# Issuer prefixes of the card networks in use (Visa, Mastercard, Amex, Discover, JCB, Diners,
# UnionPay, Maestro): with the Luhn check this keeps order numbers (which pass Luhn one time in ten)
# from being taken for cards.
CARD_PREFIX = re.compile(r"^(?:4|5[0-9]|2[2-7]|3[0-9]|6[0-9])")

MARKERS = {
    "email": "[EMAIL]",
    "url_credentials": "[CREDENTIALS]@",
    "secret": "[SECRET]",
    "iban": "[IBAN]",
    "card": "[CARD]",
    "ssn": "[SSN]",
    "phone": "[PHONE]",
}


def starts_iban(group: str) -> bool:
    return bool(IBAN_START.match(group))


def starts_card(group: str) -> bool:
    return len(group) >= 4


def starts_ssn(group: str) -> bool:
    return len(group) == 3


def is_card_number(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and bool(CARD_PREFIX.match(digits)) and luhn.is_valid(digits)


def is_written_card(candidate: str) -> bool:
    """A card number as people write it: in one piece, or in groups of four, then groups of three
    or more (4-4-4-4, 4-6-5, 4-4-4-4-3). A two-digit group is an expiry month, not the card."""
    groups = GROUP.findall(candidate)
    grouped = len(groups) == 1 or (len(groups[0]) == 4 and all(len(g) >= 3 for g in groups[1:]))
    return grouped and is_card_number(candidate)


def is_iban(candidate: str) -> bool:
    return iban.is_valid(candidate)  # upper-cases and drops the spaces itself


def is_grouped_ssn(candidate: str) -> bool:
    return bool(SSN_GROUPED.fullmatch(candidate)) and ssn.is_valid(re.sub(r"\D", "", candidate))


Group = tuple[int, int]  # start and end of one group of letters or digits in the text


def checked_spans(
    text: str, run: re.Pattern[str], starts: Callable[[str], bool], valid: Callable[[str], bool], longest: int
) -> Iterator[Group]:
    """Spans of ``text`` to replace: in each ``run``, from each group that ``starts`` one, the
    longest stretch of whole groups (at most ``longest`` characters without separators) that is
    ``valid``. Scanning goes on after a found span, so a run can hold several."""
    for found in run.finditer(text):
        if found.group(0).startswith("+"):  # a country code: left to the phone matcher
            continue
        offset = found.start()
        groups = [(offset + g.start(), offset + g.end()) for g in GROUP.finditer(found.group(0))]
        i = 0
        while i < len(groups):
            end = _longest_valid(text, groups, i, valid, longest) if starts(text[slice(*groups[i])]) else None
            if end is None:
                i += 1
            else:
                yield groups[i][0], groups[end][1]
                i = end + 1


def _longest_valid(
    text: str, groups: list[Group], first: int, valid: Callable[[str], bool], longest: int
) -> int | None:
    """The last group of the longest valid stretch that begins with group ``first``, if there is one."""
    ends, size = [], 0
    for j in range(first, len(groups)):
        size += groups[j][1] - groups[j][0]
        if size > longest:
            break
        ends.append(j)
    return next((j for j in reversed(ends) if valid(text[groups[first][0] : groups[j][1]])), None)


@dataclass
class Redactor:
    """Redacts text and counts what it removed, by kind.

    ``phone_region``: the country (ISO code such as US or GB) of phone numbers written without a
    ``+`` country code; numbers with one are found whatever the region."""

    phone_region: str = "US"
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.phone_region = self.phone_region.strip().upper()
        if self.phone_region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(
                f"PHONE_REGION={self.phone_region!r} is not a country libphonenumber knows: "
                "set it to a two-letter ISO code such as US, GB or DE"
            )

    def _sub(self, kind: str, pattern: re.Pattern[str], text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            self.counts[kind] += 1
            keep = match.groupdict().get("keep") or ""
            return keep + MARKERS[kind]

        return pattern.sub(replace, text)

    def _replace(self, kind: str, text: str, spans: Iterator[Group]) -> str:
        pieces, at = [], 0
        for start, end in spans:
            self.counts[kind] += 1
            pieces += [text[at:start], MARKERS[kind]]
            at = end
        return "".join([*pieces, text[at:]])

    def _phones(self, text: str) -> Iterator[Group]:
        leniency = phonenumbers.Leniency.VALID
        for match in phonenumbers.PhoneNumberMatcher(text, self.phone_region, leniency=leniency):
            yield match.start, match.end

    def redact(self, text: str) -> str:
        text = self._sub("url_credentials", URL_CREDENTIALS, text)
        text = self._sub("email", EMAIL, text)
        for pattern in SECRETS:
            text = self._sub("secret", pattern, text)
        text = self._replace("iban", text, checked_spans(text, IBAN_RUN, starts_iban, is_iban, 34))
        text = self._replace("card", text, checked_spans(text, DIGIT_RUN, starts_card, is_written_card, 19))
        text = self._replace("ssn", text, checked_spans(text, DIGIT_RUN, starts_ssn, is_grouped_ssn, 9))
        text = self._named_ssns(text)
        return self._replace("phone", text, self._phones(text))

    def _named_ssns(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            digits = match.group(0)[len(match.group("keep")) :]
            if not ssn.is_valid(digits):
                return match.group(0)
            self.counts["ssn"] += 1
            return match.group("keep") + MARKERS["ssn"]

        return SSN_NAMED.sub(replace, text)


def redact(text: str) -> str:
    return Redactor().redact(text)
