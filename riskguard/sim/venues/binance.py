"""Binance futures dialects: USDⓈ-M (``binanceusdm``, ``/fapi``) and COIN-M (``binancecoinm``, ``/dapi``).

Both speak the same protocol and differ in a handful of field names (``notional`` vs
``notionalValue``, ``cumQuote`` vs ``cumBase``, ``notionalFloor`` vs ``qtyFloor``), paths and
units, so one handler set serves both, switched by ``BinanceDialect.inverse``.

Wire rules copied from Binance: numbers are strings (bracket tables excepted), errors are
``{"code": -NNNN, "msg": "..."}``, private calls carry ``X-MBX-APIKEY`` and an HMAC-SHA256
``signature`` over query string + body, with ``timestamp`` inside ``recvWindow``. Conditional
(stop) orders live on the Algo service (``/algoOrder``, ``/openAlgoOrders``), as ccxt ≥ 4.5 routes them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from riskguard.sim.engine import (
    Account,
    AccountSpec,
    Order,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSpec,
    RejectReason,
)
from riskguard.sim.faults import Fault, FaultKind
from riskguard.sim.margin import Instrument, Leg, MarginMode, TierBasis, tier_schedule
from riskguard.sim.market import (
    candles,
    funding_times,
    long_short_ratio_history,
    next_funding_ms,
    open_interest_history,
    taker_volume_history,
)
from riskguard.sim.scenario import Scenario, ScenarioPlayer
from riskguard.sim.server import request_faults
from riskguard.sim.venues import Dialect

DEFAULT_API_KEY = "riskguard-sim-key"
DEFAULT_SECRET = "riskguard-sim-secret"

_TIMEFRAMES_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
                  "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
                  "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000}
_PERPETUAL_DELIVERY = 4133404800000
_LEG_TO_SIDE = {"both": "BOTH", "long": "LONG", "short": "SHORT"}
_SIDE_TO_LEG: dict[str, Leg] = {"BOTH": "both", "LONG": "long", "SHORT": "short"}
_STATUS = {OrderStatus.OPEN: "NEW", OrderStatus.FILLED: "FILLED", OrderStatus.CANCELED: "CANCELED",
           OrderStatus.EXPIRED: "EXPIRED"}
_ALGO_STATUS = {**_STATUS, OrderStatus.FILLED: "TRIGGERED"}

_REJECTIONS: dict[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    RejectReason.UNKNOWN_ORDER: (-2011, "Unknown order sent."),
    RejectReason.INVALID_AMOUNT: (-4003, "Quantity less than or equal to zero."),
    RejectReason.INVALID_PRICE: (-1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed."),
    RejectReason.INVALID_LEVERAGE: (-4028, "Leverage is not valid"),
    RejectReason.REDUCE_ONLY_WOULD_INCREASE: (-2022, "ReduceOnly Order is rejected."),
    RejectReason.INSUFFICIENT_MARGIN: (-2019, "Margin is insufficient."),
    RejectReason.WOULD_TRIGGER_IMMEDIATELY: (-2021, "Order would immediately trigger."),
    RejectReason.POSITION_MODE_MISMATCH: (-4061, "Order's position side does not match user's setting."),
    RejectReason.POSITION_OR_ORDER_EXISTS: (-4048, "Margin type cannot be changed if there exists position."),
    RejectReason.NO_CHANGE: (-4046, "No need to change margin type."),
}
_POSITION_MODE_REJECTIONS = {
    RejectReason.POSITION_OR_ORDER_EXISTS: (-4068, "Position side cannot be changed if there exists position."),
    RejectReason.NO_CHANGE: (-4059, "No need to change position side."),
}
_QUERY_REJECTIONS = {RejectReason.UNKNOWN_ORDER: (-2013, "Order does not exist.")}


class BinanceError(Exception):
    """A request the dialect itself refuses, rendered as Binance's ``{"code", "msg"}``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


def _error(code: int, msg: str, status: int = 400) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def _decimals(step: float) -> int:
    return max(-Decimal(repr(step)).normalize().as_tuple().exponent, 0)  # type: ignore[operator]


def _num(value: float, places: int = 8) -> str:
    return f"{value:.{places}f}"


def _price(instrument: Instrument, value: float) -> str:
    return _num(value, _decimals(instrument.price_tick))


def _qty(instrument: Instrument, value: float) -> str:
    return _num(value, _decimals(instrument.amount_step))


def _flag(params: dict[str, str], name: str) -> bool:
    return params.get(name, "false").lower() == "true"


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def _number(params: dict[str, str], name: str) -> float:
    try:
        return float(_required(params, name))
    except ValueError:
        raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")\
            from None


def _optional_int(params: dict[str, str], name: str) -> int | None:
    return int(params[name]) if params.get(name) else None


@dataclass(frozen=True)
class BinanceDialect(Dialect):
    """One Binance futures family. ``api`` is the path root (``fapi``/``dapi``)."""

    venue: str
    api: str
    inverse: bool
    scenario: Scenario

    def default_scenario(self) -> Scenario:
        return self.scenario

    def routes(self, player: ScenarioPlayer) -> list[web.RouteDef]:
        return _Handlers(self, player).routes()

    def fault_response(self, fault: Fault) -> web.Response:
        headers = {"Retry-After": str(fault.retry_after_s)}
        if fault.kind is FaultKind.RATE_LIMIT:
            return web.json_response({"code": -1003, "msg": "Too many requests; current limit of IP(127.0.0.1) "
                                      "is 2400 requests per minute. Please use the websocket for live updates "
                                      "to avoid polling the API."}, status=429, headers=headers)
        if fault.kind is FaultKind.BANNED:
            return web.json_response({"code": -1003, "msg": "Way too many requests; IP(127.0.0.1) banned. "
                                      "Please use the websocket for live updates to avoid bans."},
                                     status=418, headers=headers)
        return web.Response(status=fault.status, text="Service Unavailable.", headers=headers)

class _Handlers:
    """Request handlers bound to one emulator instance."""

    def __init__(self, dialect: BinanceDialect, player: ScenarioPlayer) -> None:
        self.dialect = dialect
        self.player = player
        self.exchange = player.exchange
        self.inverse = dialect.inverse

    def routes(self) -> list[web.RouteDef]:
        api = f"/{self.dialect.api}"
        public = self._public
        private = self._private
        position_risk = [web.get(f"{api}/v1/positionRisk", private(self.position_risk))] if self.inverse else [
            web.get(f"{api}/v2/positionRisk", private(self.position_risk)),
            web.get(f"{api}/v3/positionRisk", private(self.position_risk)),
        ]
        account_paths = [f"{api}/v1/account"] if self.inverse else [f"{api}/v2/account", f"{api}/v3/account"]
        balance_paths = [f"{api}/v1/balance"] if self.inverse else [f"{api}/v2/balance", f"{api}/v3/balance"]
        brackets = f"{api}/v2/leverageBracket" if self.inverse else f"{api}/v1/leverageBracket"
        return [
            web.get(f"{api}/v1/ping", public(lambda _r, _p: {})),
            web.get(f"{api}/v1/time", public(lambda _r, _p: {"serverTime": self.exchange.now_ms()})),
            web.get(f"{api}/v1/exchangeInfo", public(self.exchange_info)),
            web.get(f"{api}/v1/depth", public(self.depth)),
            web.get(f"{api}/v1/klines", public(self.klines)),
            web.get(f"{api}/v1/markPriceKlines", public(self.klines)),
            web.get(f"{api}/v1/indexPriceKlines", public(self.klines)),
            web.get(f"{api}/v1/ticker/24hr", public(self.ticker)),
            web.get(f"{api}/v1/premiumIndex", public(self.premium_index)),
            web.get(f"{api}/v1/fundingRate", public(self.funding_rate_history)),
            web.get(f"{api}/v1/openInterest", public(self.open_interest)),
            web.get("/futures/data/openInterestHist", public(self.open_interest_history)),
            web.get("/futures/data/globalLongShortAccountRatio", public(self.long_short_ratio)),
            web.get("/futures/data/takerBuySellVol" if self.inverse else "/futures/data/takerlongshortRatio",
                    public(self.taker_volume)),
            *position_risk,
            *(web.get(path, private(self.account)) for path in account_paths),
            *(web.get(path, private(self.balance)) for path in balance_paths),
            web.get(brackets, private(self.leverage_brackets)),
            web.get(f"{api}/v1/commissionRate", private(self.commission_rate)),
            web.post(f"{api}/v1/order", private(self.create_order)),
            web.get(f"{api}/v1/order", private(self.query_order, _QUERY_REJECTIONS)),
            web.delete(f"{api}/v1/order", private(self.cancel_order)),
            web.get(f"{api}/v1/openOrders", private(self.open_orders)),
            web.post(f"{api}/v1/algoOrder", private(self.create_algo_order)),
            web.delete(f"{api}/v1/algoOrder", private(self.cancel_algo_order)),
            web.get(f"{api}/v1/algoOrder", private(self.query_algo_order, _QUERY_REJECTIONS)),
            web.get(f"{api}/v1/openAlgoOrders", private(self.open_algo_orders)),
            web.get(f"{api}/v1/positionSide/dual", private(self.position_mode)),
            web.post(f"{api}/v1/positionSide/dual", private(self.set_position_mode, _POSITION_MODE_REJECTIONS)),
            web.post(f"{api}/v1/leverage", private(self.set_leverage)),
            web.post(f"{api}/v1/marginType", private(self.set_margin_type)),
        ]

    # -- plumbing ------------------------------------------------------------------------------

    @staticmethod
    async def _params(request: web.Request) -> dict[str, str]:
        body = await request.text() if request.can_read_body else ""
        return {**dict(parse_qsl(request.query_string)), **dict(parse_qsl(body))}

    def _respond(self, call: Callable[[], Any], rejections: dict[RejectReason, tuple[int, str]]) -> web.Response:
        try:
            return web.json_response(call())
        except BinanceError as exc:
            return _error(exc.code, exc.msg, exc.status)
        except OrderRejected as exc:
            code, msg = rejections.get(exc.reason) or _REJECTIONS[exc.reason]
            return _error(code, msg)

    def _public(self, handler: Callable[[web.Request, dict[str, str]], Any]
                ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            params = await self._params(request)
            return self._respond(lambda: handler(request, params), {})

        return serve

    def _private(self, handler: Callable[[web.Request, Account, dict[str, str]], Any],
                 rejections: dict[RejectReason, tuple[int, str]] | None = None
                 ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            body = await request.text() if request.can_read_body else ""
            try:
                account = self._authenticate(request, body)
            except BinanceError as exc:
                return _error(exc.code, exc.msg, exc.status)
            params = {**dict(parse_qsl(request.query_string)), **dict(parse_qsl(body))}
            return self._respond(lambda: handler(request, account, params), rejections or {})

        return serve

    def _authenticate(self, request: web.Request, body: str) -> Account:
        """Binance's SIGNED check: key header, HMAC-SHA256 over query + body, timestamp window."""
        key = request.headers.get("X-MBX-APIKEY")
        if not key:
            raise BinanceError(-2014, "API-key format invalid.", 401)
        account = self.exchange.accounts.get(key)
        if account is None:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        signatures: list[str] = []
        payload = ""
        for part in (request.query_string, body):
            pieces = [p for p in part.split("&") if p]
            signatures += [p.partition("=")[2] for p in pieces if p.startswith("signature=")]
            payload += "&".join(p for p in pieces if not p.startswith("signature="))
        if not signatures:
            raise BinanceError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
        expected = hmac.new(account.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signatures[0]):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        params = dict(parse_qsl(payload))
        timestamp = _optional_int(params, "timestamp")
        if timestamp is None:
            raise BinanceError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        window = min(_optional_int(params, "recvWindow") or 5000, 60_000)
        now = self.exchange.now_ms()
        if timestamp > now + 1000 or now - timestamp > window:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")
        return account

    def _instrument(self, params: dict[str, str]) -> Instrument:
        return self.exchange.instrument(_required(params, "symbol"))

    def _stale(self, request: web.Request, time_ms: int) -> int:
        fault = request_faults(request).get(FaultKind.STALE_TIMESTAMPS)
        return time_ms - fault.stale_ms if fault else time_ms

    def _pair_fields(self, instrument: Instrument) -> dict[str, str]:
        return {"pair": instrument.extra.get("pair", instrument.symbol)} if self.inverse else {}

    # -- public market data --------------------------------------------------------------------

    def exchange_info(self, _request: web.Request, _params: dict[str, str]) -> dict:
        return {"timezone": "UTC", "serverTime": self.exchange.now_ms(), "rateLimits": [], "exchangeFilters": [],
                "symbols": [self._symbol_info(i) for i in self.exchange.instruments.values()]}

    def _symbol_info(self, instrument: Instrument) -> dict:
        tick, step = _price(instrument, instrument.price_tick), _qty(instrument, instrument.amount_step)
        info: dict[str, Any] = {
            "symbol": instrument.symbol, "contractType": "PERPETUAL", "deliveryDate": _PERPETUAL_DELIVERY,
            "onboardDate": 1569398400000, "marginAsset": instrument.settle, "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000", "baseAsset": instrument.base, "quoteAsset": instrument.quote,
            "pricePrecision": _decimals(instrument.price_tick), "quantityPrecision": _decimals(instrument.amount_step),
            "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN", "underlyingSubType": [],
            "triggerProtect": "0.0500", "liquidationFee": "0.012500", "marketTakeBound": "0.05",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "4529764", "tickSize": tick},
                {"filterType": "LOT_SIZE", "stepSize": step, "maxQty": "1000000",
                 "minQty": _qty(instrument, instrument.min_amount or instrument.amount_step)},
                {"filterType": "MARKET_LOT_SIZE", "stepSize": step, "maxQty": "1000000",
                 "minQty": _qty(instrument, instrument.min_amount or instrument.amount_step)},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                           "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        }
        if self.inverse:
            info |= {"pair": instrument.extra.get("pair", instrument.symbol), "contractStatus": "TRADING",
                     "contractSize": int(instrument.contract_size), "equalQtyPrecision": 4}
        else:
            info |= {"pair": instrument.symbol, "status": "TRADING"}
            info["filters"].append({"filterType": "MIN_NOTIONAL", "notional": "5"})
        return info

    def depth(self, _request: web.Request, params: dict[str, str]) -> dict:
        instrument = self._instrument(params)
        book = self.exchange.order_book(instrument.symbol, _optional_int(params, "limit"))
        now = self.exchange.now_ms()
        levels = {side: [[_price(instrument, p), _qty(instrument, q)] for p, q in rows]
                  for side, rows in (("bids", book.bids), ("asks", book.asks))}
        extra = {"symbol": instrument.symbol, **self._pair_fields(instrument)} if self.inverse else {}
        return {"lastUpdateId": now, "E": now, "T": now, **extra, **levels}

    def klines(self, _request: web.Request, params: dict[str, str]) -> list:
        instrument = self._instrument(params)
        interval = _TIMEFRAMES_MS.get(_required(params, "interval"))
        if interval is None:
            raise BinanceError(-1120, "Invalid interval.")
        bars = candles(self.exchange.mark_history[instrument.symbol], interval, self.exchange.now_ms(),
                       _optional_int(params, "startTime"), min(_optional_int(params, "limit") or 500, 1500))
        price = partial(_price, instrument)
        return [[b.open_ms, price(b.open), price(b.high), price(b.low), price(b.close), _num(b.volume, 3),
                 b.open_ms + interval - 1, _num(b.volume * b.close, 4), int(b.volume), _num(b.volume / 2, 3),
                 _num(b.volume * b.close / 2, 4), "0"] for b in bars]

    def ticker(self, _request: web.Request, params: dict[str, str]) -> dict | list:
        instrument = self._instrument(params)
        now = self.exchange.now_ms()
        day = candles(self.exchange.mark_history[instrument.symbol], 86_400_000, now, limit=1)[0]
        mark = self.exchange.mark(instrument.symbol)
        price = partial(_price, instrument)
        ticker = {"symbol": instrument.symbol, "priceChange": price(mark - day.open),
                  "priceChangePercent": _num((mark / day.open - 1) * 100, 3), "weightedAvgPrice": price(mark),
                  "lastPrice": price(mark), "lastQty": "1", "openPrice": price(day.open),
                  "highPrice": price(day.high), "lowPrice": price(day.low), "volume": _num(day.volume, 3),
                  "openTime": day.open_ms, "closeTime": now, "firstId": 1, "lastId": int(day.volume),
                  "count": int(day.volume)}
        if self.inverse:
            return [ticker | self._pair_fields(instrument) | {"baseVolume": _num(day.volume / mark, 8)}]
        return ticker | {"quoteVolume": _num(day.volume * mark, 4)}

    def premium_index(self, request: web.Request, params: dict[str, str]) -> dict | list:
        symbols = [self._instrument(params)] if params.get("symbol") else list(self.exchange.instruments.values())
        now = self.exchange.now_ms()
        rows = [{"symbol": i.symbol, **self._pair_fields(i), "markPrice": _num(self.exchange.mark(i.symbol)),
                 "indexPrice": _num(self.exchange.mark(i.symbol)),
                 "estimatedSettlePrice": _num(self.exchange.mark(i.symbol)),
                 "lastFundingRate": _num(i.funding_rate), "interestRate": "0.00010000",
                 "nextFundingTime": next_funding_ms(i, now), "time": self._stale(request, now)}
                for i in symbols]
        return rows if self.inverse or not params.get("symbol") else rows[0]

    def funding_rate_history(self, _request: web.Request, params: dict[str, str]) -> list:
        instrument = self._instrument(params)
        times = funding_times(instrument, self.exchange.now_ms(), _optional_int(params, "startTime"),
                              min(_optional_int(params, "limit") or 100, 1000))
        mark = self.exchange.mark(instrument.symbol)
        return [{"symbol": instrument.symbol, "fundingTime": t, "fundingRate": _num(instrument.funding_rate),
                 "markPrice": _num(mark)} for t in times]

    def open_interest(self, _request: web.Request, params: dict[str, str]) -> dict:
        instrument = self._instrument(params)
        extra = {**self._pair_fields(instrument), "contractType": "PERPETUAL"} if self.inverse else {}
        return {"symbol": instrument.symbol, **extra, "openInterest": _qty(instrument, instrument.open_interest),
                "time": self.exchange.now_ms()}

    def _statistics(self, params: dict[str, str]) -> tuple[Instrument, int, int, dict[str, Any]]:
        """Instrument, period, limit and key fields of a /futures/data trading-statistics request."""
        if self.inverse:
            pair = _required(params, "pair")
            matches = [i for i in self.exchange.instruments.values() if i.extra.get("pair") == pair]
            if not matches:
                raise OrderRejected(RejectReason.UNKNOWN_SYMBOL, pair)
            instrument = matches[0]
        else:
            instrument = self._instrument(params)
        period = _TIMEFRAMES_MS.get(_required(params, "period"))
        if period is None or period < 300_000:
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        key = {"pair": instrument.extra.get("pair")} if self.inverse else {"symbol": instrument.symbol}
        return instrument, period, min(_optional_int(params, "limit") or 30, 500), key

    def long_short_ratio(self, _request: web.Request, params: dict[str, str]) -> list:
        _, period, limit, key = self._statistics(params)
        points = long_short_ratio_history(period, self.exchange.now_ms(), _optional_int(params, "startTime"), limit)
        return [{**key, "longShortRatio": _num(r, 4), "longAccount": _num(r / (1 + r), 4),
                 "shortAccount": _num(1 / (1 + r), 4), "timestamp": t} for t, r in points]

    def taker_volume(self, _request: web.Request, params: dict[str, str]) -> list:
        """USDⓈ-M ``takerlongshortRatio`` (base volume); COIN-M ``takerBuySellVol`` (contracts, with value)."""
        instrument, period, limit, key = self._statistics(params)
        rows = taker_volume_history(instrument, period, self.exchange.now_ms(), _optional_int(params, "startTime"),
                                    limit)
        if not self.inverse:
            return [{"buySellRatio": _num(buy / sell, 4), "buyVol": _qty(instrument, buy),
                     "sellVol": _qty(instrument, sell), "timestamp": t} for t, buy, sell in rows]
        mark = self.exchange.mark(instrument.symbol)
        contract_type = _required(params, "contractType")
        return [{**key, "contractType": contract_type, "takerBuyVol": _qty(instrument, buy),
                 "takerSellVol": _qty(instrument, sell), "takerBuyVolValue": _num(instrument.notional(buy, mark)),
                 "takerSellVolValue": _num(instrument.notional(sell, mark)), "timestamp": t} for t, buy, sell in rows]

    def open_interest_history(self, _request: web.Request, params: dict[str, str]) -> list:
        instrument, period, limit, _ = self._statistics(params)
        mark = self.exchange.mark(instrument.symbol)
        points = open_interest_history(instrument, period, self.exchange.now_ms(),
                                       _optional_int(params, "startTime"), limit)
        key = ({"pair": instrument.extra.get("pair"), "contractType": "PERPETUAL"} if self.inverse
               else {"symbol": instrument.symbol})
        return [{**key, "sumOpenInterest": _qty(instrument, oi),
                 "sumOpenInterestValue": _num(instrument.notional(oi, mark)), "timestamp": t} for t, oi in points]

    # -- account -------------------------------------------------------------------------------

    def _liquidation_field(self, request: web.Request, account: Account, position: Position) -> str:
        if FaultKind.EMPTY_LIQUIDATION_PRICE in request_faults(request):
            return ""
        price = self.exchange.liquidation_price(account, position)
        return _num(price) if price is not None else "0"

    def _position_row(self, request: web.Request, account: Account, position: Position) -> dict:
        """One ``positionRisk`` row; v3 (fapi) drops ``leverage``/``marginType``, which ccxt then infers."""
        instrument = self.exchange.instruments[position.symbol]
        mark = self.exchange.mark(position.symbol)
        upnl = self.exchange.unrealized_pnl_of(position)
        isolated = position.margin_mode is MarginMode.ISOLATED
        signed_notional = instrument.notional(position.size, mark) * (1 if position.size > 0 else -1)
        taker = account.taker_fee if position.size > 0 else -account.taker_fee
        row: dict[str, Any] = {
            "symbol": position.symbol, "positionSide": _LEG_TO_SIDE[position.leg],
            "positionAmt": _qty(instrument, position.size), "entryPrice": _num(position.entry),
            "breakEvenPrice": _num(position.entry * (1 + taker)), "markPrice": _num(mark),
            "unRealizedProfit": _num(upnl), "liquidationPrice": self._liquidation_field(request, account, position),
            "isolatedMargin": _num(position.isolated_margin + upnl if isolated else 0.0),
            "isolatedWallet": _num(position.isolated_margin if isolated else 0.0),
            "updateTime": self._stale(request, position.updated_ms),
        }
        versioned: dict[str, Any] = {"leverage": str(int(position.leverage)),
                                     "marginType": "isolated" if isolated else "cross",
                                     "isAutoAddMargin": "false"}
        if self.inverse:
            return row | versioned | {"notionalValue": _num(signed_notional), "maxQty": "1000000"}
        if request.path.startswith(f"/{self.dialect.api}/v2/"):
            return row | versioned | {"notional": _num(signed_notional), "maxNotionalValue": "1000000000",
                                      "isolated": isolated, "adlQuantile": 2}
        initial = self.exchange.initial_margin_of(position)
        return row | {"notional": _num(signed_notional), "marginAsset": instrument.settle,
                      "initialMargin": _num(initial), "maintMargin": _num(self.exchange.maintenance_of(position)),
                      "positionInitialMargin": _num(initial), "openOrderInitialMargin": "0", "adl": 2,
                      "bidNotional": "0", "askNotional": "0"}

    def position_risk(self, request: web.Request, account: Account, params: dict[str, str]) -> list:
        symbol = params.get("symbol")
        return [self._position_row(request, account, p) for p in account.positions.values()
                if symbol is None or p.symbol == symbol]

    def _assets(self, account: Account) -> list[str]:
        settles = {self.exchange.instruments[p.symbol].settle for p in account.positions.values()}
        return sorted(set(account.balances) | settles)

    def _asset_row(self, request: web.Request, account: Account, asset: str) -> dict:
        s = self.exchange.margin_summary(account, asset)
        return {"asset": asset, "walletBalance": _num(s.wallet), "unrealizedProfit": _num(s.unrealized_pnl),
                "marginBalance": _num(s.margin_balance), "maintMargin": _num(s.maintenance),
                "initialMargin": _num(s.initial), "positionInitialMargin": _num(s.initial),
                "openOrderInitialMargin": "0.00000000", "crossWalletBalance": _num(s.cross_wallet),
                "crossUnPnl": _num(s.cross_unrealized_pnl), "availableBalance": _num(s.available),
                "maxWithdrawAmount": _num(s.available), "marginAvailable": True,
                "updateTime": self._stale(request, self.exchange.now_ms())}

    def account(self, request: web.Request, account: Account, _params: dict[str, str]) -> dict:
        assets = [self._asset_row(request, account, a) for a in self._assets(account)]
        notional_key = "notionalValue" if self.inverse else "notional"
        positions = []
        for p in account.positions.values():
            row = self._position_row(request, account, p)
            positions.append({
                "symbol": p.symbol, "positionSide": row["positionSide"], "positionAmt": row["positionAmt"],
                "entryPrice": row["entryPrice"], "unrealizedProfit": row["unRealizedProfit"],
                "isolatedWallet": row["isolatedWallet"], notional_key: row[notional_key],
                "leverage": str(int(p.leverage)), "isolated": p.margin_mode is MarginMode.ISOLATED,
                "initialMargin": _num(self.exchange.initial_margin_of(p)),
                "maintMargin": _num(self.exchange.maintenance_of(p)), "updateTime": row["updateTime"],
            })
        body: dict[str, Any] = {"assets": assets, "positions": positions}
        if self.inverse:
            return body | {"canDeposit": True, "canTrade": True, "canWithdraw": True, "feeTier": 0,
                           "updateTime": self.exchange.now_ms()}
        totals = {name: _num(sum(float(a[field]) for a in assets)) for name, field in (
            ("totalInitialMargin", "initialMargin"), ("totalMaintMargin", "maintMargin"),
            ("totalWalletBalance", "walletBalance"), ("totalUnrealizedProfit", "unrealizedProfit"),
            ("totalMarginBalance", "marginBalance"), ("totalPositionInitialMargin", "positionInitialMargin"),
            ("totalOpenOrderInitialMargin", "openOrderInitialMargin"),
            ("totalCrossWalletBalance", "crossWalletBalance"), ("totalCrossUnPnl", "crossUnPnl"),
            ("availableBalance", "availableBalance"), ("maxWithdrawAmount", "maxWithdrawAmount"))}
        return totals | body

    def balance(self, request: web.Request, account: Account, _params: dict[str, str]) -> list:
        rows = []
        for asset in self._assets(account):
            row = self._asset_row(request, account, asset)
            rows.append({"accountAlias": "SgsR", "asset": asset, "balance": row["walletBalance"],
                         "crossWalletBalance": row["crossWalletBalance"], "crossUnPnl": row["crossUnPnl"],
                         "availableBalance": row["availableBalance"], "maxWithdrawAmount": row["maxWithdrawAmount"],
                         "marginAvailable": True, "updateTime": row["updateTime"]})
        return rows

    def leverage_brackets(self, _request: web.Request, _account: Account, params: dict[str, str]) -> list:
        instruments = [self._instrument(params)] if params.get("symbol") else self.exchange.instruments.values()
        floor_key, cap_key = ("qtyFloor", "qtyCap") if self.inverse else ("notionalFloor", "notionalCap")
        return [{"symbol": i.symbol, **({} if self.inverse else {"notionalCoef": 1.0}),
                 "brackets": [{"bracket": n, "initialLeverage": int(t.max_leverage), cap_key: t.cap,
                               floor_key: t.floor, "maintMarginRatio": t.mmr, "cum": t.cum}
                              for n, t in enumerate(i.tiers, start=1)]}
                for i in instruments]

    def commission_rate(self, _request: web.Request, account: Account, params: dict[str, str]) -> dict:
        instrument = self._instrument(params)
        return {"symbol": instrument.symbol, "makerCommissionRate": _num(account.maker_fee, 6),
                "takerCommissionRate": _num(account.taker_fee, 6)}

    def position_mode(self, _request: web.Request, account: Account, _params: dict[str, str]) -> dict:
        return {"dualSidePosition": account.hedge_mode}

    def set_position_mode(self, _request: web.Request, account: Account, params: dict[str, str]) -> dict:
        self.exchange.set_position_mode(account, _flag(params, "dualSidePosition"))
        return {"code": 200, "msg": "success"}

    def set_leverage(self, _request: web.Request, account: Account, params: dict[str, str]) -> dict:
        instrument = self._instrument(params)
        leverage = int(_number(params, "leverage"))
        self.exchange.set_leverage(account, instrument.symbol, leverage)
        cap = {"maxQty": "1000000"} if self.inverse else {"maxNotionalValue": _num(instrument.tiers[0].cap, 0)}
        return {"leverage": leverage, **cap, "symbol": instrument.symbol}

    def set_margin_type(self, _request: web.Request, account: Account, params: dict[str, str]) -> dict:
        instrument = self._instrument(params)
        mode = {"ISOLATED": MarginMode.ISOLATED, "CROSSED": MarginMode.CROSS}.get(_required(params, "marginType"))
        if mode is None:
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        self.exchange.set_margin_mode(account, instrument.symbol, mode)
        return {"code": 200, "msg": "success"}

    # -- orders --------------------------------------------------------------------------------

    def _order_request(self, account: Account, params: dict[str, str], order_type: OrderType,
                       client_id_key: str) -> OrderRequest:
        instrument = self._instrument(params)
        side = _required(params, "side").upper()
        if side not in ("BUY", "SELL"):
            raise BinanceError(-1117, "Invalid side.")
        leg = _SIDE_TO_LEG.get(params.get("positionSide", "BOTH").upper())
        if leg is None:
            raise BinanceError(-4006, "Position side is invalid.")
        reduce_only = _flag(params, "reduceOnly")
        if account.hedge_mode and "reduceOnly" in params:
            raise BinanceError(-1106, "Parameter 'reduceOnly' sent when not required.")
        if account.hedge_mode:
            # In hedge mode, selling the LONG leg (or buying the SHORT leg) can only close it.
            reduce_only = (leg == "long") == (side == "SELL")
        return OrderRequest(
            symbol=instrument.symbol, side=side.lower(), type=order_type, amount=_number(params, "quantity"),
            price=float(params["price"]) if params.get("price") else None,
            trigger_price=_number(params, "triggerPrice") if order_type is OrderType.STOP_MARKET else None,
            reduce_only=reduce_only, leg=leg, client_id=params.get(client_id_key),
        )

    def _order_view(self, order: Order) -> dict:
        instrument = self.exchange.instruments[order.symbol]
        filled_value = (instrument.notional(order.filled, order.average) if order.filled else 0.0)
        cumulative = {"cumBase": _num(filled_value)} if self.inverse else {"cumQuote": _num(filled_value)}
        type_name = order.type.name
        return {"orderId": order.id, "symbol": order.symbol, **self._pair_fields(instrument),
                "status": _STATUS[order.status], "clientOrderId": order.client_id,
                "price": _price(instrument, order.price or 0.0), "avgPrice": _num(order.average),
                "origQty": _qty(instrument, order.amount), "executedQty": _qty(instrument, order.filled),
                "cumQty": _qty(instrument, order.filled), **cumulative, "timeInForce": "GTC", "type": type_name,
                "reduceOnly": order.reduce_only, "closePosition": False, "side": order.side.upper(),
                "positionSide": _LEG_TO_SIDE[order.leg], "stopPrice": "0", "workingType": "CONTRACT_PRICE",
                "priceProtect": False, "origType": type_name, "priceMatch": "NONE",
                "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0, "time": order.created_ms,
                "updateTime": order.updated_ms}

    def _algo_view(self, order: Order) -> dict:
        instrument = self.exchange.instruments[order.symbol]
        return {"algoId": order.id, "clientAlgoId": order.client_id, "algoType": "CONDITIONAL",
                "orderType": "STOP_MARKET", "symbol": order.symbol, "side": order.side.upper(),
                "positionSide": _LEG_TO_SIDE[order.leg], "timeInForce": "GTC",
                "quantity": _qty(instrument, order.amount), "algoStatus": _ALGO_STATUS[order.status],
                "triggerPrice": _price(instrument, order.trigger_price or 0.0), "price": "0",
                "icebergQuantity": None, "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": "MARK_PRICE",
                "priceMatch": "NONE", "closePosition": False, "priceProtect": False,
                "reduceOnly": order.reduce_only, "createTime": order.created_ms, "updateTime": order.updated_ms,
                "triggerTime": order.updated_ms if order.status is OrderStatus.FILLED else 0, "goodTillDate": 0}

    def create_order(self, request: web.Request, account: Account, params: dict[str, str]) -> dict:
        kind = _required(params, "type").upper()
        if kind in ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"):
            raise BinanceError(-4120, "Order type not supported for this endpoint. "
                                      "Please use the Algo Order API endpoints instead.")
        order_type = {"MARKET": OrderType.MARKET, "LIMIT": OrderType.LIMIT}.get(kind)
        if order_type is None:
            raise BinanceError(-1116, "Invalid orderType.")
        order = self._order_request(account, params, order_type, "newClientOrderId")
        self._check_open_reduce_only(account, order)
        thin = request_faults(request).get(FaultKind.PARTIAL_FILL)
        return self._order_view(self.exchange.place_order(account, order, thin.fill_ratio if thin else 1.0))

    def _check_open_reduce_only(self, account: Account, order: OrderRequest) -> None:
        """Binance refuses a reduce-only order when the open reduce-only orders on the leg (stops included)
        would together close more than the position (-4118, the close a full-size take-profit blocks)."""
        if not order.reduce_only:
            return
        position = account.positions.get((order.symbol, order.leg))
        size = abs(position.size) if position else 0.0
        held = sum(o.amount - o.filled for o in account.open_orders(order.symbol)
                   if o.reduce_only and o.leg == order.leg and o.side == order.side)
        if held > 0 and held + order.amount > size + 1e-12:
            raise BinanceError(-4118, "ReduceOnly Order Failed. Please check your existing position and open orders")

    def create_algo_order(self, _request: web.Request, account: Account, params: dict[str, str]) -> dict:
        if params.get("algoType") != "CONDITIONAL" or params.get("type", "").upper() != "STOP_MARKET":
            raise BinanceError(-1116, "Invalid orderType.")
        request = self._order_request(account, params, OrderType.STOP_MARKET, "clientAlgoId")
        return self._algo_view(self.exchange.place_order(account, request))

    def _find(self, account: Account, params: dict[str, str], id_key: str, client_key: str) -> Order:
        instrument = self._instrument(params)
        return self.exchange.find_order(account, instrument.symbol, _optional_int(params, id_key),
                                        params.get(client_key))

    def query_order(self, _request: web.Request, account: Account, params: dict[str, str]) -> dict:
        return self._order_view(self._find(account, params, "orderId", "origClientOrderId"))

    def query_algo_order(self, _request: web.Request, account: Account, params: dict[str, str]) -> dict:
        order = self._find(account, params, "algoId", "clientAlgoId")
        if order.type is not OrderType.STOP_MARKET:
            raise OrderRejected(RejectReason.UNKNOWN_ORDER, "not an algo order")
        return self._algo_view(order)

    def cancel_order(self, _request: web.Request, account: Account, params: dict[str, str]) -> dict:
        order = self._find(account, params, "orderId", "origClientOrderId")
        if order.type is OrderType.STOP_MARKET:
            raise OrderRejected(RejectReason.UNKNOWN_ORDER, "algo orders cancel via /algoOrder")
        return self._order_view(self.exchange.cancel_order(account, order.symbol, order.id))

    def cancel_algo_order(self, _request: web.Request, account: Account, params: dict[str, str]) -> dict:
        order = self._find(account, params, "algoId", "clientAlgoId")
        if order.type is not OrderType.STOP_MARKET:
            raise OrderRejected(RejectReason.UNKNOWN_ORDER, "not an algo order")
        self.exchange.cancel_order(account, order.symbol, order.id)
        return {"algoId": order.id, "clientAlgoId": order.client_id, "code": "200", "msg": "success"}

    def open_orders(self, _request: web.Request, account: Account, params: dict[str, str]) -> list:
        return [self._order_view(o) for o in account.open_orders(params.get("symbol"))
                if o.type is not OrderType.STOP_MARKET]

    def open_algo_orders(self, _request: web.Request, account: Account, params: dict[str, str]) -> list:
        return [self._algo_view(o) for o in account.open_orders(params.get("symbol"))
                if o.type is OrderType.STOP_MARKET]


# -- default scenarios ---------------------------------------------------------------------------

def _linear(symbol: str, base: str, tick: float, step: float, brackets: tuple, open_interest: float,
            funding: float) -> Instrument:
    return Instrument(symbol=symbol, base=base, quote="USDT", settle="USDT", inverse=False, contract_size=1.0,
                      price_tick=tick, amount_step=step, tiers=tier_schedule(*brackets), min_amount=step,
                      open_interest=open_interest, funding_rate=funding)


def _inverse(base: str, contract_size: float, tick: float, brackets: tuple, open_interest: float,
             funding: float) -> Instrument:
    return Instrument(symbol=f"{base}USD_PERP", base=base, quote="USD", settle=base, inverse=True,
                      contract_size=contract_size, price_tick=tick, amount_step=1.0, tiers=tier_schedule(*brackets),
                      tier_basis=TierBasis.NOTIONAL, min_amount=1.0, open_interest=open_interest,
                      funding_rate=funding, extra={"pair": f"{base}USD"})


_USDM_SCENARIO = Scenario(
    instruments=(
        _linear("BTCUSDT", "BTC", 0.1, 0.001, ((50_000, 0.004, 125), (600_000, 0.005, 100), (3_000_000, 0.0065, 75),
                                               (12_000_000, 0.01, 50), (70_000_000, 0.02, 25),
                                               (1e12, 0.025, 20)), 85_000.0, 0.0001),
        _linear("ETHUSDT", "ETH", 0.01, 0.001, ((50_000, 0.005, 100), (600_000, 0.0065, 75), (3_000_000, 0.01, 50),
                                                (1e12, 0.02, 25)), 1_900_000.0, 0.0001),
        _linear("SOLUSDT", "SOL", 0.01, 1.0, ((10_000, 0.01, 50), (100_000, 0.015, 25), (1_000_000, 0.025, 20),
                                              (1e12, 0.05, 10)), 9_000_000.0, 0.00005),
    ),
    marks={"BTCUSDT": 61_250.0, "ETHUSDT": 2_910.0, "SOLUSDT": 146.0},
    accounts=(AccountSpec(
        api_key=DEFAULT_API_KEY, secret=DEFAULT_SECRET, balances={"USDT": 10_000.0},
        positions=(
            PositionSpec(symbol="BTCUSDT", size=0.5, entry=62_000.0, leverage=20),
            PositionSpec(symbol="ETHUSDT", size=-5.0, entry=2_850.0, leverage=10,
                         margin_mode=MarginMode.ISOLATED, isolated_margin=1_425.0),
            # Near liquidation: isolated long whose liquidation price sits ~1.5 % under the mark.
            PositionSpec(symbol="SOLUSDT", size=400.0, entry=150.0, leverage=20,
                         margin_mode=MarginMode.ISOLATED, isolated_margin=3_000.0),
        ),
    ),),
)

_COINM_SCENARIO = Scenario(
    instruments=(
        _inverse("BTC", 100.0, 0.1, ((5, 0.004, 125), (10, 0.005, 100), (20, 0.01, 50), (50, 0.025, 20),
                                     (100, 0.05, 10), (1e9, 0.1, 5)), 1_200_000.0, 0.0001),
        _inverse("ETH", 10.0, 0.01, ((50, 0.005, 100), (200, 0.01, 50), (1_000, 0.025, 20), (1e9, 0.05, 10)),
                 3_500_000.0, 0.0001),
    ),
    marks={"BTCUSD_PERP": 61_250.0, "ETHUSD_PERP": 2_910.0},
    accounts=(AccountSpec(
        api_key=DEFAULT_API_KEY, secret=DEFAULT_SECRET, balances={"BTC": 0.25, "ETH": 1.0},
        positions=(
            PositionSpec(symbol="BTCUSD_PERP", size=300.0, entry=60_000.0, leverage=20),
            # Near liquidation: isolated ETH long (coin-margined) a few percent above its liquidation price.
            PositionSpec(symbol="ETHUSD_PERP", size=1_000.0, entry=3_000.0, leverage=20,
                         margin_mode=MarginMode.ISOLATED, isolated_margin=0.2),
        ),
    ),),
)

USDM = BinanceDialect(venue="binanceusdm", api="fapi", inverse=False, scenario=_USDM_SCENARIO)
COINM = BinanceDialect(venue="binancecoinm", api="dapi", inverse=True, scenario=_COINM_SCENARIO)
