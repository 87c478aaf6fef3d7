"""Keeping credentials out of everything riskguard prints, logs or records.

ccxt puts request URLs (with their signature), request bodies (Hyperliquid
sends the wallet address) and sometimes headers into its exception texts and
debug logs.  Those texts end up in check reports and audit logs, so every string
that leaves the live connector goes through a ``Redactor`` first.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
_SIGNATURE = re.compile(r"(?i)(signature[\"']?\s*[=:]\s*[\"']?)[^&\s\"',}]+")
_MIN_SECRET_LEN = 4
"""Shorter values would mask ordinary text; real keys are far longer."""


class Redactor:
    """Masks the given secret values (and their URL-encoded and lower-case spellings) and request signatures."""

    def __init__(self, secrets: Iterable[str]) -> None:
        variants = {
            form
            for secret in secrets
            if len(secret) >= _MIN_SECRET_LEN
            for form in (secret, secret.lower(), quote(secret, safe=""), quote_plus(secret))
        }
        # Longest first, so a secret that contains another is masked whole.
        self._variants = sorted(variants, key=len, reverse=True)
        self._in_json = [json.dumps(v)[1:-1] for v in self._variants]

    def text(self, value: str) -> str:
        for variant in self._variants:
            value = value.replace(variant, MASK)
        return _SIGNATURE.sub(rf"\g<1>{MASK}", value)

    def payload(self, value: Any) -> Any:
        """The same JSON-like value with every string redacted (keys included).

        A recorded account is mostly market data (books, candles) holding no
        secret; one scan of its JSON text settles that, and only a document that
        does hold one is walked string by string.
        """
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return self._walk(value)
        if any(v in text for v in self._in_json) or _SIGNATURE.search(text):
            return self._walk(value)
        return value

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self._walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._walk(v) for v in value]
        return value


class RedactingLogger(logging.LoggerAdapter):
    """Handed to ccxt as its ``logger``: ccxt logs request headers (API keys) at debug level."""

    def __init__(self, logger: logging.Logger, redactor: Redactor) -> None:
        super().__init__(logger, {})
        self.redactor = redactor

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, "%s", self.redactor.text(text), **kwargs)
