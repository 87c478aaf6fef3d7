"""Redaction, property-tested: whatever the secret (quotes, backslashes, unicode, ``%``, ``+``, spaces) and
whichever encoding carries it, the redacted text holds no spelling of it; signatures go wherever they sit.

The encodings below are written out here independently of ``riskguard.connectors.redact``, and the
base64 check decodes every run of base64 characters left in the output at every alignment.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from riskguard.connectors.redact import MASK, RedactingLogger, Redactor

ENCODINGS: dict[str, Callable[[str], str]] = {
    "raw": lambda s: s,
    "json": lambda s: json.dumps(s)[1:-1],
    "json-utf8": lambda s: json.dumps(s, ensure_ascii=False)[1:-1],
    "json-in-json": lambda s: json.dumps(json.dumps(s)[1:-1])[1:-1],
    "repr": lambda s: repr(s)[1:-1],
    "repr-in-dict": lambda s: repr({"k": s})[7:-2],
    "unicode-escape": lambda s: s.encode("unicode_escape").decode(),
    "percent": lambda s: quote(s, safe=""),
    "percent-lower-hex": lambda s: re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(s, safe="")),
    "percent-keep-slash": quote,
    "form-plus": quote_plus,
    "form-plus-no-slash": lambda s: quote_plus(s, safe=""),
    "percent-twice": lambda s: quote(quote(s, safe=""), safe=""),
    "hex": lambda s: s.encode().hex(),
    "hex-upper": lambda s: s.encode().hex().upper(),
}
ASCII_CASE = {"upper": str.upper, "lower": str.lower}
"""Case variants are claimed for ASCII secrets (ccxt lower-cases wallet addresses); ``ß``.upper() is not ``ß``."""

SECRET_CHARS = st.one_of(
    st.characters(blacklist_categories=("Cs",)),
    st.sampled_from(list("\"\\%+ '/&=é€😀\n\t")),
)
secrets = st.text(SECRET_CHARS, min_size=8, max_size=40)
context = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


def _leaks(secret: str, text: str) -> list[str]:
    found = [name for name, encode in ENCODINGS.items() if encode(secret) in text]
    if secret.isascii():
        found += [name for name, change in ASCII_CASE.items() if change(secret) in text]
    raw = secret.encode()
    for run in re.findall(r"[A-Za-z0-9+/_-]{6,}", text):  # every base64-looking run, both alphabets
        std = run.replace("-", "+").replace("_", "/")
        for start in range(4):
            body = std[start:]
            body = body[: len(body) // 4 * 4]
            try:
                decoded = base64.b64decode(body, validate=True)
            except binascii.Error:
                continue
            if len(raw) >= 6 and raw[1:-1] in decoded:  # the middle of the secret, at any alignment
                found.append(f"base64 run {run!r}")
    return found


@settings(max_examples=300, deadline=None)
@given(secret=secrets, before=context, after=context, encoding=st.sampled_from(sorted(ENCODINGS)))
@example(secret='pa"ss\\word', before='{"msg": "', after='"}', encoding="json")
@example(secret="p@ss word+%/x", before="?a=1&passphrase=", after="&b=2", encoding="form-plus")
@example(secret="p@ss word+%/x", before="?a=", after="", encoding="percent")
def test_redacted_text_holds_no_spelling_of_the_secret(secret, before, after, encoding):
    text = before + ENCODINGS[encoding](secret) + after
    assert _leaks(secret, Redactor([secret]).text(text)) == []


@settings(max_examples=200, deadline=None)
@given(secret=secrets, prefix=st.binary(max_size=5), suffix=st.binary(max_size=5), urlsafe=st.booleans())
def test_base64_blob_holding_the_secret_is_cut(secret, prefix, suffix, urlsafe):
    """E.g. HTTP basic auth ``base64(key:secret)`` in an echoed header: the secret sits at any byte alignment."""
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    blob = encode(prefix + secret.encode() + suffix).decode()
    assert _leaks(secret, Redactor([secret]).text(f"Authorization: Basic {blob}")) == []


@settings(max_examples=100, deadline=None)
@given(secret=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=30),
       case=st.sampled_from(sorted(ASCII_CASE)))
def test_ascii_secret_in_other_case_is_masked(secret, case):
    assert _leaks(secret, Redactor([secret]).text(f"user={ASCII_CASE[case](secret)}")) == []


signatures = st.one_of(
    st.binary(min_size=16, max_size=64).map(bytes.hex),
    st.binary(min_size=16, max_size=64).map(lambda b: b.hex().upper()),
    st.binary(min_size=16, max_size=64).map(lambda b: base64.b64encode(b).decode()),
)
PLACES = [
    "GET /fapi/v2/positionRisk?timestamp=1&recvWindow=5000&signature={sig}",
    "POST /x body=a=1&signature={sig}&b=2",
    '{{"signature": "{sig}", "nonce": 1}}',
    '{{\\"signature\\":\\"{sig}\\"}}',
    "{{'X-BAPI-SIGN': '{sig}', 'X-BAPI-API-KEY': 'k'}}",
    '"OK-ACCESS-SIGN": "{sig}"',
    "OK-ACCESS-SIGN: {sig}\r\n",
    "next=%2Fx%3Fsignature%3D{sig}",
    '{{"action": {{}}, "signature": {{"r": "0x{sig}", "s": "0x{sig}", "v": 27}}}}',
]


@settings(max_examples=200, deadline=None)
@given(sig=signatures, place=st.sampled_from(PLACES))
def test_signature_is_masked_wherever_it_sits(sig, place):
    text = place.format(sig=sig)
    masked = Redactor([]).text(text)
    assert sig not in masked and MASK in masked


def test_payload_masks_every_string_and_signature_fields_but_leaves_market_data_alone():
    secret = 'Pa"ss\\phrase'
    r = Redactor([secret])
    market = {"BTC/USDT:USDT": {"info": {"symbol": "BTCUSDT", "designated": "sign-up"}, "precision": {"price": 0.1}}}
    assert r.payload(market) is market
    dirty = {"info": {"echo": f"passphrase={quote(secret)}", "signature": {"r": "0x1", "s": "0x2"}}, "n": [1, secret]}
    assert r.payload(dirty) == {"info": {"echo": f"passphrase={MASK}", "signature": MASK}, "n": [1, MASK]}


def test_short_values_are_not_treated_as_secrets():
    assert Redactor(["abc"]).text("abc abcd") == "abc abcd"


def test_redacting_logger_masks_formatted_arguments(caplog):
    secret = 'k"e\\y-1234'
    caplog.set_level(logging.DEBUG)
    log = RedactingLogger(logging.getLogger("test.redact"), Redactor([secret]))
    log.debug("request %s %s", json.dumps({"headers": {"X-KEY": secret}}), quote(secret))
    assert caplog.records and _leaks(secret, caplog.text) == []


def test_masking_that_joins_text_into_the_secret_again_is_masked_too():
    secret = f"xy{MASK}zw1"
    assert Redactor([secret]).text(f"xy{secret}zw1") == MASK


FOLDING = {"s": "\u017f", "i": "\u0131", "I": "\u0130", "k": "\u212a"}
"""The non-ASCII letters ``re.IGNORECASE`` matches to ASCII ones: a secret holding them matches ASCII text."""


@settings(max_examples=300, deadline=None)
@given(secret=st.text(st.sampled_from([*"abcikIKsS09-_+/=%\"\\ é", *FOLDING.values()]), min_size=8, max_size=24),
       before=st.text(st.characters(max_codepoint=127), max_size=12),
       after=st.text(st.characters(max_codepoint=127), max_size=12),
       encoding=st.sampled_from(sorted(ENCODINGS)), case=st.sampled_from(["same", "upper", "lower", "fold"]))
@example(secret="pa\u017fsword1", before="x ", after="", encoding="raw", case="fold")
@example(secret="\u212aey-\u0130d-\u0131234", before="", after=" y", encoding="raw", case="fold")
def test_payload_of_market_data_masks_exactly_what_walking_it_masks(secret, before, after, encoding, case):
    """``payload`` first looks for the secret's spellings as plain lower-cased substrings of ASCII text;
    wherever the case-insensitive patterns match, that look must find it too (case variants, the four
    non-ASCII letters that match ASCII ones), or the document would be recorded unmasked."""
    spelled = ENCODINGS[encoding](secret)
    if case == "fold":
        for ascii_letter, other in FOLDING.items():
            spelled = spelled.replace(other, ascii_letter)
    elif case != "same":
        spelled = getattr(spelled, case)()
    note = before + spelled + after
    r = Redactor([secret])
    series = {"ohlcv": [[1_700_000_000_000, 1.5, 2, 1, 1.5, 10]] * 3, "info": {"note": note, "n": "0.1"}}
    assert r.payload(series) == {**series, "info": {"note": r.text(note), "n": "0.1"}}


@pytest.mark.parametrize("spell", [str, str.upper, lambda s: quote(json.dumps({"k": s})),
                                   lambda s: base64.b64encode(b"user:" + s.encode()).decode()])
def test_payload_when_a_public_series_row_holds_a_secret_then_the_row_is_masked(spell):
    secret = "RGsecret-Mb5Yc1Ue0Rw7Qa3Xg9Zp"
    rows = [{"timestamp": 1_700_000_000_000 + i * 300_000, "openInterestAmount": 5.0,
             "info": {"symbol": "BTCUSDT", "sumOpenInterest": "5"}} for i in range(2016)]
    rows[1000]["info"]["echo"] = f"?q={spell(secret)}&x=1"
    redacted = Redactor([secret]).payload({"open_interest_history": {"BTC/USDT:USDT": rows}})
    assert _leaks(secret, json.dumps(redacted)) == []
    assert redacted["open_interest_history"]["BTC/USDT:USDT"][999] == rows[999]
