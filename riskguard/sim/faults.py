"""Injected misbehaviour: the failure modes riskguard must survive without hiding risk.

Transport faults (latency, throttling, server errors, hangs, broken JSON) are applied by the
server middleware before or instead of the dialect's handler. Data faults (empty liquidation
price, stale timestamps) only change how a dialect renders an otherwise correct answer; dialects
ask ``FaultBook.data_faults(request)`` for them.
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace
from enum import StrEnum
from typing import Any

from pydantic.dataclasses import dataclass

from riskguard.sim.margin import STRICT


class FaultKind(StrEnum):
    LATENCY = "latency"
    """Delay the response by ``latency_ms``, then answer normally."""
    RATE_LIMIT = "rate_limit"
    """HTTP 429 with ``Retry-After``."""
    BANNED = "banned"
    """HTTP 418 with ``Retry-After`` (Binance's IP ban after ignoring 429s)."""
    SERVER_ERROR = "server_error"
    """HTTP ``status`` (5xx)."""
    TIMEOUT = "timeout"
    """Hang for ``hang_s`` before answering, longer than any sane client timeout."""
    MALFORMED_JSON = "malformed_json"
    """HTTP 200 whose body is truncated, unparseable JSON."""
    EMPTY_LIQUIDATION_PRICE = "empty_liquidation_price"
    """Liquidation-price fields rendered empty, as venues do while recomputing."""
    STALE_TIMESTAMPS = "stale_timestamps"
    """Mark-price and position update times rendered ``stale_ms`` in the past."""
    WRONG_SHAPE = "wrong_shape"
    """HTTP 200 whose JSON holds ``value`` at ``pointer`` (``null``, a string, an object where a list belongs);
    answers without that pointer pass untouched."""
    LOST_RESPONSE = "lost_response"
    """The request is executed (an order IS placed), then the answer is held for ``hang_s``: the client times out
    on a request that took effect, the failure that makes naive retries send an order twice."""
    PARTIAL_FILL = "partial_fill"
    """A market order fills only ``fill_ratio`` of its amount (rounded down to the step) and the rest expires, as
    an IOC close does when the book is thin."""
    HOLD = "hold"
    """Answer none of the next ``count`` matching requests until all of them have arrived, or ``hang_s`` has
    passed: requests sent side by side are answered together, a request sent only after an answer waits
    ``hang_s``. Without a count, each matching request is held ``hang_s``. Makes request rounds countable on a
    machine of any speed (see ``request_rounds``)."""
    ECHO_REQUEST = "echo_request"
    """HTTP ``status`` (4xx) whose JSON body echoes the request back: URL with its query, headers, body.
    Venue gateways and proxies do this; it puts every credential and signature into the client's error text."""


TRANSPORT_FAULTS = frozenset({FaultKind.LATENCY, FaultKind.RATE_LIMIT, FaultKind.BANNED,
                              FaultKind.SERVER_ERROR, FaultKind.TIMEOUT, FaultKind.MALFORMED_JSON,
                              FaultKind.WRONG_SHAPE, FaultKind.ECHO_REQUEST, FaultKind.LOST_RESPONSE,
                              FaultKind.HOLD})
DATA_FAULTS = frozenset({FaultKind.EMPTY_LIQUIDATION_PRICE, FaultKind.STALE_TIMESTAMPS, FaultKind.PARTIAL_FILL})


@dataclass(frozen=True, config=STRICT)
class Fault:
    """One armed fault.

    :param path: ``fnmatch`` pattern on the request path (``"*"`` = every venue path; admin
        ``/__sim/`` paths are never faulted).
    :param count: how many matching requests it affects; ``None`` = until cleared.
    """

    kind: FaultKind
    path: str = "*"
    count: int | None = None
    latency_ms: int = 200
    status: int = 503
    retry_after_s: int = 1
    hang_s: float = 30.0
    stale_ms: int = 600_000
    pointer: str = ""
    """``wrong_shape``: dot-separated keys into the answer (``result.list``); empty replaces the whole body."""
    value: Any = None
    fill_ratio: float = 0.5


class FaultBook:
    """The armed faults; each matching request consumes one use of every fault it triggers."""

    def __init__(self, faults: tuple[Fault, ...] = ()) -> None:
        self._faults: list[Fault] = list(faults)

    def arm(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear(self) -> None:
        self._faults.clear()

    @property
    def armed(self) -> tuple[Fault, ...]:
        return tuple(self._faults)

    def take(self, path: str) -> list[Fault]:
        """The faults that apply to a request for ``path``, counting the use."""
        hits: list[Fault] = []
        kept: list[Fault] = []
        for fault in self._faults:
            if fnmatch.fnmatchcase(path, fault.path):
                hits.append(fault)
                if fault.count is not None:
                    if fault.count > 1:
                        kept.append(replace(fault, count=fault.count - 1))
                    continue
            kept.append(fault)
        self._faults = kept
        return hits
