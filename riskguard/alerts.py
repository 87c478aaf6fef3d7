"""Alerts through apprise (Telegram, Slack, Discord, email, webhooks… one URL each), rate-limited and redacted.

In a cascade every account breaches, acts and fails at once; an alert channel that receives hundreds of
messages a minute is muted by its owner and then useless.  So each (account, kind) pair gets a small burst and
then at most one alert per ``min_interval_s``; what was held back is counted into the next message.  Every text
passes the redactor first: a venue error that echoes a key never reaches a chat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from riskguard.connectors.redact import redact_known

log = logging.getLogger("riskguard.alerts")


class AlertKind(StrEnum):
    BREACH = "breach"
    ACTION = "action"
    KILL_SWITCH = "kill_switch"
    FAILURE = "failure"
    UNKNOWN = "unknown"
    VANISHED = "vanished"


@dataclass
class _Bucket:
    tokens: float
    last: float
    held: int = 0


@dataclass
class Alerter:
    """Sends through ``notify`` (apprise's by default); ``clock`` in seconds, injected for tests."""

    urls: Sequence[str]
    min_interval_s: float
    burst: int
    clock: Callable[[], float]
    notify: Callable[[str, str], Any] | None = None
    sent: list[tuple[str, str]] = field(default_factory=list)
    suppressed: int = 0
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.notify is None and self.urls:
            import apprise

            apobj = apprise.Apprise()
            for url in self.urls:
                if not apobj.add(url):
                    from riskguard.errors import ConfigError

                    raise ConfigError(f"not an apprise URL: {redact_known(url)}", "daemon.alerts.urls")

            async def send(title: str, body: str) -> Any:
                return await apobj.async_notify(body=body, title=title)

            self.notify = send

    def _allow(self, key: tuple[str, str]) -> tuple[bool, int]:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        refill = (now - bucket.last) / self.min_interval_s if self.min_interval_s > 0 else float(self.burst)
        bucket.tokens = min(float(self.burst), bucket.tokens + refill)
        bucket.last = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            held, bucket.held = bucket.held, 0
            return True, held
        bucket.held += 1
        return False, 0

    async def alert(self, account: str, kind: AlertKind, message: str) -> bool:
        """Send one alert unless the (account, kind) budget is spent; True when it went out."""
        allowed, held = self._allow((account, kind.value))
        if not allowed:
            self.suppressed += 1
            return False
        title = redact_known(f"riskguard {kind.value}: {account}")
        body = redact_known(message + (f" ({held} similar alert(s) held back)" if held else ""))
        self.sent.append((title, body))
        if self.notify is not None:
            try:
                result = self.notify(title, body)
                if hasattr(result, "__await__"):
                    await result
            except Exception as exc:  # an alert channel failing must never stop the daemon
                log.warning("alert not delivered: %s", redact_known(str(exc)))
        return True
