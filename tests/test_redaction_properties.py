"""Property-based redaction checks, one per kind of personal data or secret: the item, embedded in
random text, is replaced by its marker, and every other character of the text survives.

The random text holds no digits and no ``@`` (so it cannot itself be a phone number or an email),
and nothing the redactor would replace on its own (Hypothesis once drew ``xoxa-AAAAAAAAAA``, a
well-formed Slack token shape); the item is set off by ordinary words, as people write it.
Examples per test are kept small so the fast suite stays fast.
"""

from __future__ import annotations

import phonenumbers
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum import iban, luhn
from stdnum.us import ssn

from supportbot.redaction import Redactor

FAST = settings(max_examples=40, deadline=None)
FILLER = st.text(
    alphabet=st.characters(blacklist_categories=["Nd", "Cs"], blacklist_characters="@"), max_size=30
).filter(lambda text: Redactor().redact(text) == text)


def check(redactor: Redactor, before: str, item: str, after: str, marker: str, kind: str) -> None:
    text = f"{before} is {item} ok {after}"
    assert redactor.redact(text) == f"{before} is {marker} ok {after}"
    assert redactor.counts[kind] == 1


def digits(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=size, max_size=size)


# Card networks: (issuer prefixes, length, grouping when written in groups).
NETWORKS = [
    (["4"], 16, (4, 4, 4, 4)),  # Visa
    (["4"], 19, (4, 4, 4, 4, 3)),
    (["51", "55", "2221", "2720"], 16, (4, 4, 4, 4)),  # Mastercard
    (["34", "37"], 15, (4, 6, 5)),  # Amex
    (["6011", "65"], 16, (4, 4, 4, 4)),  # Discover
    (["3528", "3589"], 16, (4, 4, 4, 4)),  # JCB
    (["36"], 14, (4, 6, 4)),  # Diners
]


@st.composite
def cards(draw: st.DrawFn) -> str:
    prefixes, length, grouping = draw(st.sampled_from(NETWORKS))
    prefix = draw(st.sampled_from(prefixes))
    body = prefix + draw(digits(length - len(prefix) - 1))
    number = body + luhn.calc_check_digit(body)
    sep = draw(st.sampled_from(["", " ", "-"]))
    if not sep:
        return number
    groups, at = [], 0
    for size in grouping:
        groups.append(number[at : at + size])
        at += size
    return sep.join(groups)


@FAST
@given(before=FILLER, card=cards(), expiry=st.sampled_from(["", " 12/25", " 01/2027", " exp 09/26"]), after=FILLER)
def test_a_card_with_or_without_separators_and_expiry(before, card, expiry, after):
    check(Redactor(), before, card + expiry, after, "[CARD]" + expiry, "card")


# Countries whose IBAN has no national check digit in python-stdnum, with their BBAN pattern.
BBANS = {
    "DE": r"[0-9]{18}",
    "GB": r"[A-Z]{4}[0-9]{14}",
    "NL": r"[A-Z]{4}[0-9]{10}",
    "FR": r"[0-9]{10}[A-Z0-9]{11}[0-9]{2}",
    "CH": r"[0-9]{5}[A-Z0-9]{12}",
}


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(sorted(BBANS)))
    bban = draw(st.from_regex(BBANS[country], fullmatch=True))
    number = country + iban.calc_check_digits(country + "00" + bban) + bban
    assert iban.is_valid(number)
    written = draw(st.sampled_from([number, iban.format(number)]))
    return draw(st.sampled_from([written, written.lower()]))


@FAST
@given(before=FILLER, number=ibans(), word=st.from_regex(r"[A-Z]{1,8}", fullmatch=True), after=FILLER)
def test_an_iban_upper_lower_or_spaced_followed_by_capitals(before, number, word, after):
    check(Redactor(), before, f"{number} {word}", after, f"[IBAN] {word}", "iban")


@st.composite
def ssns(draw: st.DrawFn) -> str:
    area = draw(st.integers(1, 899).filter(lambda a: a != 666))
    number = f"{area:03d}{draw(st.integers(1, 99)):02d}{draw(st.integers(1, 9999)):04d}"
    sep = draw(st.sampled_from(["-", " "]))
    return sep.join([number[:3], number[3:5], number[5:]])


@FAST
@given(before=FILLER, number=ssns().filter(ssn.is_valid), after=FILLER)
def test_a_social_security_number(before, number, after):
    check(Redactor(), before, number, after, "[SSN]", "ssn")


@FAST
@given(
    area=st.sampled_from(["000", "666"]) | st.integers(900, 999).map(str),
    group=st.integers(0, 99),
    serial=st.integers(0, 9999),
)
def test_an_impossible_ssn_is_kept(area, group, serial):
    text = f"is {area}-{group:02d}-{serial:04d} ok"
    assert Redactor().redact(text) == text


REGIONS = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "AU"]
FORMATS = [
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.E164,
]


@st.composite
def phones(draw: st.DrawFn) -> tuple[str, str]:
    """(region, a valid mobile number of that region as people write it)."""
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    example.national_number = int(national[:-4] + draw(digits(4)))
    assume(phonenumbers.is_valid_number(example))
    return region, phonenumbers.format_number(example, draw(st.sampled_from(FORMATS)))


@FAST
@given(before=FILLER, phone=phones(), after=FILLER)
def test_a_phone_number_in_several_regions(before, phone, after):
    region, number = phone
    check(Redactor(phone_region=region), before, number, after, "[PHONE]", "phone")


@FAST
@given(
    before=FILLER,
    user=st.from_regex(r"[A-Za-z][A-Za-z0-9._%+-]{0,20}", fullmatch=True),
    domain=st.from_regex(r"[a-z][a-z0-9-]{0,15}(\.[a-z]{2,6}){1,2}", fullmatch=True),
    after=FILLER,
)
def test_an_email(before, user, domain, after):
    check(Redactor(), before, f"{user}@{domain}", after, "[EMAIL]", "email")


SECRETS = [
    r"sk-(proj-|ant-)?[A-Za-z0-9_-]{20,40}",
    r"xox[abposr]-[A-Za-z0-9-]{10,40}",
    r"xapp-[A-Za-z0-9-]{10,40}",
    r"gh[pousr]_[A-Za-z0-9]{36}",
    r"github_pat_[A-Za-z0-9_]{30,60}",
    r"AKIA[0-9A-Z]{16}",
    r"AIza[0-9A-Za-z_-]{35}",
    r"(sk|pk|rk)_(live|test)_[A-Za-z0-9]{16,32}",
    r"eyJ[A-Za-z0-9_-]{8,20}\.[A-Za-z0-9_-]{8,40}\.[A-Za-z0-9_-]{8,40}",
    r"[Bb]earer [A-Za-z0-9._~+/=-]{16,40}",
]


@FAST
@given(before=FILLER, secret=st.sampled_from(SECRETS).flatmap(lambda p: st.from_regex(p, fullmatch=True)), after=FILLER)
def test_an_api_key_or_token(before, secret, after):
    check(Redactor(), before, secret, after, "[SECRET]", "secret")


@FAST
@given(
    before=FILLER,
    name=st.sampled_from(["password", "passwd", "api_key", "API-KEY", "access_token", "secret"]),
    value=st.from_regex(r"[A-Za-z0-9!#$%&*._-]{6,30}", fullmatch=True),
    after=FILLER,
)
def test_a_named_secret_keeps_its_name(before, name, value, after):
    check(Redactor(), before, f"{name}: {value}", after, f"{name}: [SECRET]", "secret")


@FAST
@given(
    before=FILLER,
    scheme=st.sampled_from(["https", "postgres", "redis", "amqp"]),
    user=st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True),
    password=st.from_regex(r"[A-Za-z0-9._!-]{1,16}", fullmatch=True),
    after=FILLER,
)
def test_credentials_in_a_url(before, scheme, user, password, after):
    url = f"{scheme}://{user}:{password}@db.example.com/x"
    check(Redactor(), before, url, after, f"{scheme}://[CREDENTIALS]@db.example.com/x", "url_credentials")


@FAST
@given(st.text(alphabet=st.characters(blacklist_categories=["Nd", "Cs"], blacklist_characters="@:=/"), max_size=200))
def test_text_without_digits_or_markers_is_unchanged(text):
    assert Redactor().redact(text) == text
