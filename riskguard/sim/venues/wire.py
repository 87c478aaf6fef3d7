"""Wire helpers shared by the Bybit, OKX and Hyperliquid dialects.

Venues send numbers as decimal strings; a float's ``repr`` can come out in exponent form
(``1e-05``), which some ccxt parsers turn into garbage, so every number goes through ``num``.
"""

from __future__ import annotations

from aiohttp import web

from riskguard.sim.engine import Account, Position, SimExchange
from riskguard.sim.faults import FaultKind
from riskguard.sim.server import request_faults


def num(value: float | None, places: int = 10) -> str:
    """A plain decimal string (no exponent, no trailing zeros); ``""`` for ``None``."""
    if value is None:
        return ""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def reported_liquidation_price(request: web.Request, exchange: SimExchange, account: Account,
                               position: Position) -> float | None:
    """What the venue shows as liquidation price: the solver's root snapped to the price tick,
    or nothing while an ``empty_liquidation_price`` fault is armed."""
    if FaultKind.EMPTY_LIQUIDATION_PRICE in request_faults(request):
        return None
    price = exchange.liquidation_price(account, position)
    return None if price is None else exchange.instruments[position.symbol].round_price(price)


def reported_time(request: web.Request, time_ms: int) -> int:
    """``time_ms`` as the venue stamps it, pushed into the past while ``stale_timestamps`` is armed."""
    stale = request_faults(request).get(FaultKind.STALE_TIMESTAMPS)
    return time_ms - stale.stale_ms if stale else time_ms
