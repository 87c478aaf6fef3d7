"""Venue reads with retries, all spending from one deadline.

A check that gates a trade has to answer in bounded time, so every read of one
account shares a single deadline: retries of transient failures (throttling,
network trouble, an overloaded venue) spend from it, and when it runs out the
read fails as ``DataUnavailable`` naming the venue, the call and the last error.
There is no partial answer: a read that did not succeed never becomes an empty
list, because an empty position list means "flat".

Nothing here knows ccxt; the connector passes in which exception classes are
transient and which are venue errors.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from riskguard.connectors.redact import Redactor
from riskguard.errors import DataUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)

_MAX_REASON = 300
"""Venue error texts can carry whole HTML pages; the reason keeps the start."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: ``first_s · factor^n``, at most ``max_s``, never beyond the deadline."""

    first_s: float = 0.05
    factor: float = 2.0
    max_s: float = 2.0
    jitter: float = 0.2
    """Fraction of each delay drawn at random, so concurrent reads do not retry in lockstep."""
    attempt_share: float = 0.4
    """Per-request timeout as a share of the deadline, leaving room to retry a hung request."""
    max_in_flight: int = 96
    """Concurrent requests per account; a burst wider than this only queues.  A warm read of three symbols
    with a week of 5-minute history is 74 requests on Binance USDⓈ-M, 81 on Bybit (11 pages of open
    interest a symbol); ccxt's HTTP client opens at most 100 connections."""

    def delay(self, attempt: int) -> float:
        base = min(self.first_s * self.factor**attempt, self.max_s)
        return base * (1 - self.jitter * random.random())


@dataclass(frozen=True, slots=True)
class VenueErrors:
    """Exception classes of the venue client: ``transient`` ones are retried, other ``failure``s are not.

    ccxt files HTTP 404 under ExchangeNotAvailable; a path the venue does not
    serve will not appear by asking again, so ``permanent_statuses`` are not retried.
    """

    transient: tuple[type[BaseException], ...]
    failure: type[BaseException]
    permanent_statuses: frozenset[int] = frozenset({404, 405, 410})


class Retrier:
    """Runs named venue calls until they succeed, fail for good, or the shared deadline passes."""

    def __init__(
        self,
        venue: str,
        timeout_s: float,
        errors: VenueErrors,
        redactor: Redactor,
        policy: RetryPolicy = RetryPolicy(),
    ) -> None:
        loop = asyncio.get_running_loop()
        self.venue = venue
        self.timeout_s = timeout_s
        self.deadline = loop.time() + timeout_s
        self.errors = errors
        self.redactor = redactor
        self.policy = policy
        self._slots = asyncio.Semaphore(policy.max_in_flight)

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()

    def _failure(self, label: str, exc: BaseException, attempts: int, why: str = "") -> DataUnavailable:
        detail = self.redactor.text(str(exc)).strip()
        if len(detail) > _MAX_REASON:
            detail = detail[:_MAX_REASON] + "…"
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return DataUnavailable(f"{self.venue} {label} failed{tries}: {type(exc).__name__}{why}: {detail}".rstrip(": "),
                               retry_after_s(exc))

    async def __call__(self, label: str, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        last: BaseException | None = None
        while True:
            attempt += 1
            try:
                async with asyncio.timeout_at(self.deadline), self._slots:
                    return await call()
            except TimeoutError:
                after = f" (last error: {type(last).__name__})" if last is not None else ""
                raise DataUnavailable(
                    f"{self.venue} {label} failed: no answer within the {self.timeout_s:g} s deadline{after}"
                ) from None
            except self.errors.transient as exc:
                if getattr(exc, "http_status", None) in self.errors.permanent_statuses:
                    raise self._failure(label, exc, attempt) from None
                last = exc
                wait = max(self.policy.delay(attempt - 1), retry_after_s(exc) or 0.0)
                if wait >= self.remaining():
                    asked = retry_after_s(exc)
                    why = f" (venue asks to wait {asked:g} s)" if asked and asked >= self.remaining() else ""
                    reached = f", deadline of {self.timeout_s:g} s reached{why}"
                    raise self._failure(label, exc, attempt, reached) from None
                log.info("%s %s: %s, retrying in %.2f s", self.venue, label, type(exc).__name__, wait)
                await asyncio.sleep(wait)
            except self.errors.failure as exc:
                raise self._failure(label, exc, attempt) from None


def retry_after_s(exc: BaseException) -> float | None:
    """The venue's Retry-After, which the connector's client attaches to the exceptions it raises."""
    value = getattr(exc, "retry_after_s", None)
    return float(value) if isinstance(value, int | float) and value >= 0 else None


def parse_retry_after(headers: object) -> float | None:
    """Seconds from a ``Retry-After`` header (the HTTP-date form is not used by crypto venues)."""
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if str(key).lower() == "retry-after":
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                return None
    return None
