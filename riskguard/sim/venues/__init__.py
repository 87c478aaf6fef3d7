"""Venue dialects: the ``Dialect`` contract and the registry of venue id → dialect.

A dialect speaks one venue's REST wire format over the venue-neutral core: it authenticates
requests the way the venue signs them, parses parameters into ``SimExchange`` calls, renders
results with the venue's field names, and maps ``RejectReason`` to the venue's error codes.

The registry maps a ccxt exchange id to ``"module:attribute"`` of a ``Dialect`` instance and
imports it only when asked for, so a broken or slow dialect never affects the others. To add a
venue, add one line to ``_DIALECTS``.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from riskguard.sim.faults import Fault
    from riskguard.sim.scenario import Scenario, ScenarioPlayer

_DIALECTS: dict[str, str] = {
    "binanceusdm": "riskguard.sim.venues.binance:USDM",
    "binancecoinm": "riskguard.sim.venues.binance:COINM",
    "bybit": "riskguard.sim.venues.bybit:BYBIT",
    "okx": "riskguard.sim.venues.okx:OKX",
    "hyperliquid": "riskguard.sim.venues.hyperliquid:HYPERLIQUID",
}


class Dialect(ABC):
    """One venue's REST dialect on top of the emulator core.

    :param venue: the ccxt exchange id this dialect serves (``ccxt.async_support.<venue>``).
    """

    venue: str

    @abstractmethod
    def default_scenario(self) -> Scenario:
        """Instruments, marks and accounts (a few positions, one near liquidation) used when the
        user gives no scenario, or to fill in what theirs leaves out."""

    @abstractmethod
    def routes(self, player: ScenarioPlayer) -> list[web.RouteDef]:
        """aiohttp routes serving the venue's REST paths against ``player.exchange``."""

    @abstractmethod
    def fault_response(self, fault: Fault) -> web.Response:
        """The venue's own response for a throttling or server-error fault (status, headers, body)."""


@cache
def get_dialect(venue: str) -> Dialect:
    """The dialect registered for ``venue``; ``KeyError`` lists the known ones."""
    try:
        target = _DIALECTS[venue]
    except KeyError:
        raise KeyError(f"no emulator dialect for {venue!r}; known: {', '.join(sorted(_DIALECTS))}") from None
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def venues() -> tuple[str, ...]:
    return tuple(sorted(_DIALECTS))
