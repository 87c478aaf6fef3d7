"""Keeping credentials out of everything riskguard prints, logs or records.

ccxt puts request URLs (with their signature), request bodies (Hyperliquid
sends the wallet address) and sometimes headers into its exception texts and
debug logs, and a venue's error body may echo the whole request back.  Those
texts end up in check reports and audit logs, so every string that leaves the
live connector goes through a ``Redactor`` first.

A credential can reach a text in many spellings, and each is masked (matching
ignores case, so upper/lower hex and percent-escapes are covered too):

* as written;
* JSON-escaped (``"`` → ``\\"``, ``\\`` → ``\\\\``, non-ASCII → ``\\u00e9``), and
  JSON-escaped twice (a JSON body quoted inside a JSON error);
* repr-escaped (Python's ``repr``/``unicode_escape``, as in a logged dict);
* URL-encoded (percent-encoding with or without ``/`` kept, ``+`` for space,
  and encoded twice);
* base64 (standard and URL-safe alphabet, at any byte alignment inside a larger
  encoded blob) and hex of its UTF-8 bytes.

Request signatures are not known in advance; they are masked by where they
appear: ``signature=…``, ``"signature": "…"`` or ``{"r": …, "s": …}``, and the
``X-BAPI-SIGN`` / ``OK-ACCESS-SIGN`` headers.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
_MIN_SECRET_LEN = 4
"""Shorter values would mask ordinary text; real keys are far longer."""
_MIN_ENCODED_LEN = 6
"""A base64 fragment shorter than this would match ordinary words."""

_SIGN_NAMES = r"(?:signature|sign|x-bapi-sign|ok-access-sign)\b"
_START = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f][0-9A-Fa-f]))"
"""A name starts a word, or follows a percent-escape (``%3Fsignature%3D…`` in an encoded URL)."""
_SEP = r"(?:\\*[\"'])?\s*(?:[=:]|%3[dD])\s*(?:\\*[\"'])?"
_SIGNATURE = re.compile(rf"(?i)({_START}{_SIGN_NAMES}{_SEP})([^&\s\"'\\,}}\]{{]+)")
"""``signature=ab12``, ``"signature": "ab12"``, ``X-BAPI-SIGN: ab12``, JSON-escaped quotes included."""
_SIGNATURE_OBJECT = re.compile(rf"(?i)({_START}{_SIGN_NAMES}(?:\\*[\"'])?\s*[=:]\s*)\{{[^{{}}]*\}}")
"""Hyperliquid's ``"signature": {"r": "0x…", "s": "0x…", "v": 27}``: the whole object goes."""
_SIGNATURE_KEY = re.compile(rf"(?i){_SIGN_NAMES}")
"""A mapping key whose value is a signature (``sign`` as Gate and others name it, too)."""
_SIGN_HINT = re.compile(r"sign(?:ature)?\b")
"""In lower-cased ASCII text, where every match of the two signature patterns starts: each name ends so."""
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
"""The four non-ASCII letters ``re.IGNORECASE`` matches to ASCII ones (İ ı ſ and the Kelvin sign)."""


def spellings(secret: str) -> set[str]:
    """Every spelling of ``secret`` that the redactor masks (compared ignoring case)."""
    json_escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms = {secret, *json_escaped}
    forms |= {json.dumps(form)[1:-1] for form in json_escaped}
    forms |= {repr(secret)[1:-1], secret.encode("unicode_escape").decode("ascii"), secret.replace("'", "\\'")}
    url = {quote(secret, safe=""), quote(secret), quote_plus(secret, safe=""), quote_plus(secret)}
    forms |= url | {quote(form, safe="") for form in url}
    raw = secret.encode("utf-8")
    forms.add(raw.hex())
    forms |= _base64_cores(raw)
    return {f for f in forms if len(f) >= _MIN_SECRET_LEN}


def _base64_cores(raw: bytes) -> set[str]:
    """The base64 characters that depend on ``raw`` alone, for each of the three byte alignments."""
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + raw).decode("ascii")
        start = -(-8 * shift // 6)  # first character made only of raw's bits
        end = 8 * (shift + len(raw)) // 6  # past the last one
        core = encoded[start:end]
        if len(core) >= _MIN_ENCODED_LEN:
            cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


def _forms(secrets: Iterable[str]) -> set[str]:
    return {form for secret in secrets for form in spellings(secret)}


def _pattern(forms: Iterable[str]) -> re.Pattern[str] | None:
    # Longest first, so a secret that contains another is masked whole.
    ordered = sorted(forms, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE) if ordered else None


def _ascii_hints(forms: Iterable[str]) -> tuple[str, ...]:
    """Lower-cased ASCII strings, at least one of which is in the lower-cased text of any ASCII text that
    matches one of ``forms`` ignoring case: each form folded the way ``re.IGNORECASE`` matches it to ASCII,
    those that contain a shorter one dropped (finding the shorter one is enough)."""
    folded = {form.translate(_FOLD).lower() for form in forms}
    hints: list[str] = []
    for form in sorted((f for f in folded if f.isascii()), key=len):
        if not any(hint in form for hint in hints):
            hints.append(form)
    return tuple(hints)


def _mask(secrets: re.Pattern[str] | None, value: str) -> str:
    # Repeat until nothing matches: masking can join the text around a secret into a new occurrence.
    while True:
        masked = value if secrets is None else secrets.sub(MASK, value)
        masked = _SIGNATURE_OBJECT.sub(rf"\g<1>{MASK}", masked)
        masked = _SIGNATURE.sub(rf"\g<1>{MASK}", masked)
        if masked == value:
            return masked
        value = masked


class Redactor:
    """Masks the given secret values in every spelling listed in the module docstring, and request signatures."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = _forms(secret for secret in secrets if len(secret) >= _MIN_SECRET_LEN)
        self._secrets = _pattern(forms)
        # A string of a document appears in its JSON text escaped, character by character, so a spelling
        # inside it appears escaped too (a JSON-escaped-twice spelling turns into a thrice-escaped one).
        in_json = forms | {json.dumps(form, ensure_ascii=False)[1:-1] for form in forms}
        self._in_json = _pattern(in_json)
        self._hints = _ascii_hints(in_json)

    def text(self, value: str) -> str:
        return _mask(self._secrets, value)

    def payload(self, value: Any) -> Any:
        """The same JSON-like value with every string redacted (keys included) and signature fields masked.

        A recorded account is mostly market data (books, candles) holding no
        secret; one scan of its JSON text settles that, and only a document that
        does hold one is walked string by string.
        """
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return self._walk(value)
        return self._walk(value) if self._may_hold(text) else value

    def _may_hold(self, text: str) -> bool:
        """Whether walking the document whose JSON text is ``text`` could mask anything.

        The patterns' case-insensitive alternation costs about 0.2 µs a character: 1.6 s on a week of
        5-minute history, against 25 ms this way.  ASCII text (market data is) is first searched,
        lower-cased, for the literal strings every match must contain (``_ascii_hints``, ``_SIGN_HINT``):
        a few fast substring scans that can only say "no" where the patterns would say no too.  Anything
        else takes the patterns.
        """
        if text.isascii():
            low = text.lower()
            if not any(hint in low for hint in self._hints) and not ("sign" in low and _SIGN_HINT.search(low)):
                return False
        return bool(
            (self._in_json is not None and self._in_json.search(text))
            or _SIGNATURE.search(text)
            or _SIGNATURE_OBJECT.search(text)
        )

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                self.text(str(k)): MASK if _is_signature_key(k) else self._walk(v) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._walk(v) for v in value]
        return value


_known: set[str] = set()
_known_pattern: list[re.Pattern[str] | None] = []
"""Every credential this process has resolved, for the paths that hold no ``Redactor`` of their own:
the CLI's last-resort error message and the log record factory below."""


def remember_secret(value: str) -> None:
    """Called where a credential enters the process (``AccountSpec.secret``), so no later text can show it."""
    if len(value) >= _MIN_SECRET_LEN and value not in _known:
        _known.add(value)
        _known_pattern.clear()


def redact_known(text: str) -> str:
    """``text`` with every credential this process has resolved masked, and signatures."""
    if not _known_pattern:
        _known_pattern.append(_pattern(_forms(_known)))
    return _mask(_known_pattern[0], text)


def install_log_redaction() -> None:
    """Redact every log record created from now on, whichever library logs it (ccxt, aiohttp, asyncio).

    A record factory rather than a handler filter: it covers handlers
    configured later and Python's last-resort stderr handler alike.
    """
    make = logging.getLogRecordFactory()
    if getattr(make, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it for logging's own error report
            return record
        record.msg, record.args = redact_known(message), None
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _is_signature_key(key: object) -> bool:
    return isinstance(key, str) and _SIGNATURE_KEY.fullmatch(key) is not None


class RedactingLogger(logging.LoggerAdapter):
    """Handed to ccxt as its ``logger``: ccxt logs request headers (API keys) at debug level."""

    def __init__(self, logger: logging.Logger, redactor: Redactor) -> None:
        super().__init__(logger, {})
        self.redactor = redactor

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, "%s", self.redactor.text(text), **kwargs)
