"""What the executor needs from a venue, and its ccxt implementation.

The executor sees two outcomes of a write besides success: ``OutcomeUnknown`` (the request may or may not
have reached the venue: timeouts, 5xx, dropped connections, rate limits, ccxt's ``NetworkError`` family and the
venues' "status unknown" codes) and ``VenueRejected`` (the venue answered no).  Only the first is ever followed
by a lookup, and only a lookup that does not find the order allows a resend.

The ccxt client is the live connector's (same construction, credentials from the environment, redacting logger);
nothing here builds its own.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from riskguard.config import AccountSpec
from riskguard.connectors.redact import Redactor
from riskguard.connectors.retry import RetryPolicy, retry_after_s
from riskguard.errors import DataUnavailable
from riskguard.execution.guard import LivePosition
from riskguard.execution.venue_orders import OrderCall, lookup_params, open_order_params

BLOCKED_BY_OPEN_ORDERS = {"-4118", "51112"}
"""Venue codes for "your open reduce-only orders already cover the position" (Binance, OKX)."""
_CODE = re.compile(r'"(?:code|retCode|sCode)"\s*:\s*"?(-?\d+)')


class OutcomeUnknown(Exception):
    """The request may have been executed; look the order up by its client id before anything else."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class VenueRejected(Exception):
    """The venue refused the request; ``code`` is its own error code when the message carries one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code

    @property
    def blocked_by_open_orders(self) -> bool:
        return self.code in BLOCKED_BY_OPEN_ORDERS


class Venue(Protocol):
    venue: str

    async def positions(self, symbol: str) -> list[LivePosition]: ...
    async def create(self, call: OrderCall) -> dict[str, Any]: ...
    async def find(self, symbol: str, client_id: str, stop: bool) -> dict[str, Any] | None: ...
    async def cancel(self, order: dict[str, Any]) -> dict[str, Any]: ...
    async def open_orders(self, symbol: str) -> list[dict[str, Any]]: ...
    def amount_to_precision(self, symbol: str, amount: float) -> float: ...
    def price_to_precision(self, symbol: str, price: float) -> float: ...
    def min_amount(self, symbol: str) -> float: ...


def venue_code(text: str) -> str | None:
    """The venue's error code in a ccxt error text (Binance ``"code":-2022``, Bybit ``retCode``, OKX ``sCode``)."""
    match = _CODE.search(text)
    return match.group(1) if match else None


class CcxtVenue:
    """A venue through ccxt; every write and lookup raises ``OutcomeUnknown`` or ``VenueRejected`` on failure."""

    def __init__(self, exchange: Any, ccxt: Any, venue: str, redactor: Redactor) -> None:
        self.exchange = exchange
        self.venue = venue
        self._ccxt = ccxt
        self._redactor = redactor

    def _translate(self, exc: BaseException) -> Exception:
        text = self._redactor.text(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, self._ccxt.NetworkError):
            return OutcomeUnknown(text, retry_after_s(exc))
        return VenueRejected(text, venue_code(text))

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self.exchange, method)(*args, **kwargs)
        except self._ccxt.BaseError as exc:
            raise self._translate(exc) from None

    async def load(self) -> None:
        try:
            await self.exchange.load_markets()
        except self._ccxt.BaseError as exc:
            raise DataUnavailable(f"{self.venue} markets: {self._redactor.text(str(exc))}") from None

    async def positions(self, symbol: str) -> list[LivePosition]:
        """Every open leg of ``symbol``; a failed read raises ``DataUnavailable``, never an empty list."""
        try:
            rows = await self.exchange.fetch_positions([symbol])
        except self._ccxt.BaseError as exc:
            raise DataUnavailable(f"{self.venue} positions of {symbol}: {self._redactor.text(str(exc))}") from None
        if not isinstance(rows, list):
            raise DataUnavailable(f"{self.venue} positions of {symbol}: not a list")
        return [leg for leg in live_legs(self.venue, rows) if leg.symbol == symbol]

    async def create(self, call: OrderCall) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("create_order", call.symbol, call.type, call.side, call.amount,
                                                   call.price, dict(call.params))
        return result

    async def find(self, symbol: str, client_id: str, stop: bool) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await self._call("fetch_order", None, symbol,
                                                      lookup_params(self.venue, client_id, stop))
        except VenueRejected as exc:
            if exc.code in ("-2013", "-2011", "110001", "51603") or "OrderNotFound" in str(exc):
                return None
            raise
        if not found or (found.get("id") is None and found.get("clientOrderId") is None):
            return None  # Hyperliquid answers an unknown client id with {"status": "unknownOid"}
        return found

    async def cancel(self, order: dict[str, Any]) -> dict[str, Any]:
        params = {"trigger": True} if _is_stop(order) else {}
        result: dict[str, Any] = await self._call("cancel_order", order["id"], order["symbol"], params)
        return result

    async def open_orders(self, symbol: str) -> list[dict[str, Any]]:
        orders: list[dict[str, Any]] = []
        for params in open_order_params(self.venue):
            orders.extend(await self._call("fetch_open_orders", symbol, None, None, dict(params)))
        return orders

    def amount_to_precision(self, symbol: str, amount: float) -> float:
        """Rounded down to the amount step (ccxt truncates), so a close never exceeds what was read."""
        return float(self.exchange.amount_to_precision(symbol, amount))

    def price_to_precision(self, symbol: str, price: float) -> float:
        return float(self.exchange.price_to_precision(symbol, price))

    def min_amount(self, symbol: str) -> float:
        limits = self.exchange.market(symbol).get("limits", {}).get("amount", {})
        return float(limits.get("min") or 0.0)


def live_legs(venue: str, rows: list[dict[str, Any]]) -> list[LivePosition]:
    """The open legs in ccxt ``fetchPositions`` rows (a REST answer, or the rows of a full read)."""
    legs = []
    for row in rows:
        contracts = abs(float(row.get("contracts") or 0.0))
        side = row.get("side")
        if contracts <= 0 or side not in ("long", "short") or not row.get("symbol"):
            continue
        legs.append(LivePosition(str(row["symbol"]), side, _leg(venue, row.get("info") or {}), contracts,
                                 row.get("marginMode") or "cross", _float(row.get("markPrice"))))
    return legs


def _is_stop(order: dict[str, Any]) -> bool:
    return bool(order.get("triggerPrice") or order.get("stopPrice") or order.get("stopLossPrice"))


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _leg(venue: str, info: dict[str, Any]) -> str:
    """The hedge leg a raw position row is on, ``both`` in one-way mode."""
    raw = {"binanceusdm": "positionSide", "binancecoinm": "positionSide", "okx": "posSide"}.get(venue)
    if raw is not None:
        value = str(info.get(raw, "")).lower()
        return value if value in ("long", "short") else "both"
    if venue == "bybit":
        return {"1": "long", "2": "short"}.get(str(info.get("positionIdx", "0")), "both")
    return "both"


@asynccontextmanager
async def open_venue(spec: AccountSpec, retry: RetryPolicy | None = None) -> AsyncIterator[CcxtVenue]:
    """The account's ccxt client as the live connector builds it, markets loaded, closed on exit."""
    from riskguard.connectors import live

    ccxt = live._import_ccxt()
    credentials = {
        name: value.get_secret_value()
        for key, name in live._CREDENTIALS.items()
        if (value := spec.secret(key)) is not None
    }
    redactor = Redactor(credentials.values())
    exchange = live._client(ccxt, spec, credentials, redactor, retry or live.DEFAULT_RETRY)
    try:
        venue = CcxtVenue(exchange, ccxt, spec.config.venue or "", redactor)
        await venue.load()
        yield venue
    finally:
        await exchange.close()
