"""Bybit v5 (Unified Trading Account) dialect: linear (USDT) and inverse (coin-margined) perpetuals.

Wire format: every answer is HTTP 200 with ``{"retCode", "retMsg", "result", "retExtInfo", "time"}``;
a non-zero ``retCode`` is the error, which ccxt maps through its ``exceptions.exact`` table. Private
calls carry ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-RECV-WINDOW`` and ``X-BAPI-SIGN`` =
hex HMAC-SHA256 of ``timestamp + key + recvWindow + (query string | JSON body)``.

Quantities: a linear ``qty`` is base coin and the engine counts contracts of ``contract_size`` base;
an inverse ``qty`` is USD contracts. ``tradeMode`` 0/1 = cross/isolated, ``positionIdx`` 0 = one-way,
1/2 = long/short leg of a hedge-mode account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

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
    SimExchange,
)
from riskguard.sim.faults import Fault, FaultKind
from riskguard.sim.margin import Instrument, Leg, MarginMode, tier_schedule
from riskguard.sim.market import (
    HOUR_MS,
    candles,
    funding_times,
    long_short_ratio_history,
    next_funding_ms,
    open_interest_history,
)
from riskguard.sim.scenario import Scenario, ScenarioPlayer
from riskguard.sim.venues import Dialect
from riskguard.sim.venues.wire import num, reported_liquidation_price, reported_time

Handler = Callable[[web.Request], Awaitable[web.Response]]

_ERRORS: dict[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_SYMBOL: (10001, "params error: symbol invalid"),
    RejectReason.UNKNOWN_ORDER: (110001, "order not exists or too late to cancel"),
    RejectReason.INVALID_AMOUNT: (10001, "Qty invalid"),
    RejectReason.INVALID_PRICE: (10001, "price invalid"),
    RejectReason.INVALID_LEVERAGE: (110013, "cannot set leverage due to risk limit level"),
    RejectReason.REDUCE_ONLY_WOULD_INCREASE: (110017, "Reduce-only rule not satisfied"),
    RejectReason.INSUFFICIENT_MARGIN: (110007, "ab not enough for new order"),
    RejectReason.WOULD_TRIGGER_IMMEDIATELY: (110092, "expect Rising, but trigger_price <= current"),
    RejectReason.POSITION_MODE_MISMATCH: (10001, "position idx not match position mode"),
    RejectReason.POSITION_OR_ORDER_EXISTS: (110024, "position or order exists"),
    RejectReason.NO_CHANGE: (110043, "Set leverage not modified"),
}
_INTERVALS_MS = {"1": 60_000, "3": 180_000, "5": 300_000, "15": 900_000, "30": 1_800_000, "60": HOUR_MS,
                 "120": 2 * HOUR_MS, "240": 4 * HOUR_MS, "360": 6 * HOUR_MS, "720": 12 * HOUR_MS,
                 "D": 24 * HOUR_MS, "W": 168 * HOUR_MS}
_OI_INTERVALS_MS = {"5min": 300_000, "15min": 900_000, "30min": 1_800_000, "1h": HOUR_MS, "4h": 4 * HOUR_MS,
                    "1d": 24 * HOUR_MS}
_LEG_IDX: dict[Leg, int] = {"both": 0, "long": 1, "short": 2}
_IDX_LEG: dict[int, Leg] = {v: k for k, v in _LEG_IDX.items()}


class BybitError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _envelope(request: web.Request, exchange: SimExchange, result: Any, code: int = 0, msg: str = "OK"
              ) -> web.Response:
    body = {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {},
            "time": reported_time(request, exchange.now_ms())}
    return web.json_response(body)


def _category(instrument: Instrument) -> str:
    return "inverse" if instrument.inverse else "linear"


def _qty(instrument: Instrument, contracts: float) -> str:
    """Contracts → Bybit ``qty`` (base coin for linear, USD contracts for inverse)."""
    return num(abs(contracts) if instrument.inverse else abs(contracts) * instrument.contract_size)


def _contracts(instrument: Instrument, qty: str) -> float:
    return float(qty) if instrument.inverse else float(qty) / instrument.contract_size


class _Api:
    """Request handlers bound to one running scenario."""

    def __init__(self, player: ScenarioPlayer) -> None:
        self.exchange = player.exchange

    # -- plumbing ------------------------------------------------------------------------------

    def public(self, handler: Callable[[web.Request], Any]) -> Handler:
        async def wrapped(request: web.Request) -> web.Response:
            try:
                return _envelope(request, self.exchange, handler(request))
            except BybitError as exc:
                return _envelope(request, self.exchange, {}, exc.code, str(exc))
            except OrderRejected as exc:
                code, msg = _ERRORS[exc.reason]
                return _envelope(request, self.exchange, {}, code, f"{msg} ({exc.detail})")
        return wrapped

    def private(self, handler: Callable[[web.Request, Account, dict[str, str]], Any]) -> Handler:
        async def wrapped(request: web.Request) -> web.Response:
            body = await request.text()
            try:
                account = self._authenticate(request, body)
                params = dict(request.query) if request.method == "GET" else json.loads(body or "{}")
                return _envelope(request, self.exchange, handler(request, account, params))
            except BybitError as exc:
                return _envelope(request, self.exchange, {}, exc.code, str(exc))
            except OrderRejected as exc:
                code, msg = _ERRORS[exc.reason]
                return _envelope(request, self.exchange, {}, code, f"{msg} ({exc.detail})")
        return wrapped

    def _authenticate(self, request: web.Request, body: str) -> Account:
        """Check the v5 HMAC signature; the signed payload is the raw query string or JSON body."""
        key = request.headers.get("X-BAPI-API-KEY", "")
        account = self.exchange.accounts.get(key)
        if account is None:
            raise BybitError(10003, "API key is invalid.")
        timestamp = request.headers.get("X-BAPI-TIMESTAMP", "")
        window = request.headers.get("X-BAPI-RECV-WINDOW", "5000")
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > int(window):
            raise BybitError(10002, "invalid request, please check your server timestamp or recv_window param")
        signed = body if request.method == "POST" else request.query_string
        expected = hmac.new(account.secret.encode(), f"{timestamp}{key}{window}{signed}".encode(),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-BAPI-SIGN", "")):
            raise BybitError(10004, "error sign! origin_string[...]")
        return account

    def _instruments(self, params: dict[str, str]) -> list[Instrument]:
        category = params.get("category", "linear")
        if category not in ("linear", "inverse"):
            raise BybitError(10001, f"category {category} not served by the emulator")
        symbol = params.get("symbol")
        if symbol:
            instrument = self.exchange.instrument(symbol)
            return [instrument] if _category(instrument) == category else []
        return [i for i in self.exchange.instruments.values() if _category(i) == category]

    def _instrument(self, params: dict[str, str]) -> Instrument:
        return self.exchange.instrument(params.get("symbol", ""))

    # -- market data ---------------------------------------------------------------------------

    def instruments_info(self, request: web.Request) -> dict:
        params = dict(request.query)
        listed = [] if params.get("status") == "PreLaunch" else self._instruments(params)
        return {"category": params.get("category", "linear"), "nextPageCursor": "",
                "list": [self._instrument_view(i) for i in listed]}

    @staticmethod
    def _instrument_view(i: Instrument) -> dict:
        return {
            "symbol": i.symbol, "contractType": "InversePerpetual" if i.inverse else "LinearPerpetual",
            "status": "Trading", "baseCoin": i.base, "quoteCoin": i.quote, "settleCoin": i.settle,
            "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "", "priceScale": "2",
            "leverageFilter": {"minLeverage": "1", "maxLeverage": num(i.tiers[0].max_leverage),
                               "leverageStep": "0.01"},
            "priceFilter": {"minPrice": num(i.price_tick), "maxPrice": "1999999", "tickSize": num(i.price_tick)},
            "lotSizeFilter": {"maxOrderQty": "1000000", "minOrderQty": _qty(i, max(i.min_amount, i.amount_step)),
                              "qtyStep": _qty(i, i.amount_step), "postOnlyMaxOrderQty": "1000000",
                              "minNotionalValue": "5"},
            "unifiedMarginTrade": True, "fundingInterval": i.funding_interval_hours * 60,
        }

    def tickers(self, request: web.Request) -> dict:
        params = dict(request.query)
        now = self.exchange.now_ms()
        rows = []
        for i in self._instruments(params):
            mark = self.exchange.mark(i.symbol)
            book = self.exchange.order_book(i.symbol, 1)
            oi_value = i.notional(i.open_interest, mark)
            rows.append({
                "symbol": i.symbol, "lastPrice": num(mark), "markPrice": num(mark), "indexPrice": num(mark),
                "prevPrice24h": num(mark), "price24hPcnt": "0", "highPrice24h": num(mark),
                "lowPrice24h": num(mark), "turnover24h": "0", "volume24h": "0",
                "bid1Price": num(book.bids[0][0]), "bid1Size": _qty(i, book.bids[0][1]),
                "ask1Price": num(book.asks[0][0]), "ask1Size": _qty(i, book.asks[0][1]),
                "openInterest": _qty(i, i.open_interest), "openInterestValue": num(oi_value),
                "fundingRate": num(i.funding_rate), "nextFundingTime": str(next_funding_ms(i, now)),
                "fundingIntervalHour": str(i.funding_interval_hours),
            })
        return {"category": params.get("category", "linear"), "list": rows}

    def orderbook(self, request: web.Request) -> dict:
        i = self._instrument(dict(request.query))
        book = self.exchange.order_book(i.symbol, int(request.query.get("limit", "25")))
        return {"s": i.symbol, "b": [[num(p), _qty(i, s)] for p, s in book.bids],
                "a": [[num(p), _qty(i, s)] for p, s in book.asks],
                "ts": reported_time(request, self.exchange.now_ms()), "u": 1, "seq": 1}

    def kline(self, request: web.Request) -> dict:
        params = dict(request.query)
        i = self._instrument(params)
        interval = params.get("interval", "1")
        if interval not in _INTERVALS_MS:
            raise BybitError(10001, f"interval {interval} invalid")
        start = int(params["start"]) if "start" in params else None
        bars = candles(self.exchange.mark_history[i.symbol], _INTERVALS_MS[interval], self.exchange.now_ms(),
                       start, min(int(params.get("limit", "200")), 1000))
        # Bybit lists newest first.
        rows = [[str(b.open_ms), num(b.open), num(b.high), num(b.low), num(b.close), num(b.volume),
                 num(b.volume * b.close)] for b in reversed(bars)]
        return {"category": _category(i), "symbol": i.symbol, "list": rows}

    def funding_history(self, request: web.Request) -> dict:
        params = dict(request.query)
        i = self._instrument(params)
        start = int(params["startTime"]) if "startTime" in params else None
        times = funding_times(i, self.exchange.now_ms(), start, int(params.get("limit", "200")))
        rows = [{"symbol": i.symbol, "fundingRate": num(i.funding_rate), "fundingRateTimestamp": str(t)}
                for t in reversed(times)]
        return {"category": _category(i), "list": rows}

    def open_interest(self, request: web.Request) -> dict:
        params = dict(request.query)
        i = self._instrument(params)
        period = _OI_INTERVALS_MS.get(params.get("intervalTime", ""))
        if period is None:
            raise BybitError(10001, "intervalTime invalid")
        start = int(params["startTime"]) if "startTime" in params else None
        points = open_interest_history(i, period, self.exchange.now_ms(), start,
                                       min(int(params.get("limit", "50")), 200))  # Bybit serves 200 a page
        rows = [{"openInterest": _qty(i, oi), "timestamp": str(t)} for t, oi in reversed(points)]
        return {"symbol": i.symbol, "category": _category(i), "list": rows, "nextPageCursor": ""}

    def account_ratio(self, request: web.Request) -> dict:
        params = dict(request.query)
        i = self._instrument(params)
        period = _OI_INTERVALS_MS.get(params.get("period", ""))
        if period is None:
            raise BybitError(10001, "period invalid")
        start = int(params["startTime"]) if "startTime" in params else None
        points = long_short_ratio_history(period, self.exchange.now_ms(), start,
                                          min(int(params.get("limit", "50")), 500))
        rows = [{"symbol": i.symbol, "buyRatio": num(round(r / (1 + r), 4)), "sellRatio": num(round(1 / (1 + r), 4)),
                 "timestamp": str(t)} for t, r in reversed(points)]
        return {"list": rows, "nextPageCursor": ""}

    def risk_limit(self, request: web.Request) -> dict:
        params = dict(request.query)
        rows = []
        for i in self._instruments(params):
            for n, tier in enumerate(i.tiers, start=1):
                rows.append({"id": n, "symbol": i.symbol, "riskLimitValue": num(tier.cap),
                             "maintenanceMargin": num(tier.mmr), "initialMargin": num(1 / tier.max_leverage),
                             "isLowestRisk": int(n == 1), "maxLeverage": num(tier.max_leverage),
                             "mmDeduction": num(tier.cum)})
        return {"category": params.get("category", "linear"), "list": rows}

    # -- account -------------------------------------------------------------------------------

    @staticmethod
    def query_api(request: web.Request, account: Account, params: dict[str, str]) -> dict:
        return {"id": "1", "apiKey": account.api_key, "readOnly": 0, "unified": 0, "uta": 1,
                "permissions": {"ContractTrade": ["Order", "Position"], "Wallet": ["AccountTransfer"]}}

    @staticmethod
    def account_info(request: web.Request, account: Account, params: dict[str, str]) -> dict:
        return {"marginMode": "REGULAR_MARGIN", "unifiedMarginStatus": 6, "updatedTime": "0",
                "dcpStatus": "OFF", "timeWindow": 10, "smpGroup": 0, "isMasterTrader": False,
                "spotHedgingStatus": "OFF"}

    @staticmethod
    def coin_info(request: web.Request, account: Account, params: dict[str, str]) -> dict:
        return {"rows": [{"name": coin, "coin": coin, "remainAmount": "1000000", "chains": []}
                         for coin in sorted(account.balances)]}

    def fee_rate(self, request: web.Request, account: Account, params: dict[str, str]) -> dict:
        symbol = params.get("symbol")
        listed = [self.exchange.instrument(symbol)] if symbol else list(self.exchange.instruments.values())
        return {"list": [{"symbol": i.symbol, "takerFeeRate": num(account.taker_fee),
                          "makerFeeRate": num(account.maker_fee)} for i in listed]}

    def wallet_balance(self, request: web.Request, account: Account, params: dict[str, str]) -> dict:
        if params.get("accountType", "UNIFIED") != "UNIFIED":
            raise BybitError(10001, "accountType only support UNIFIED")
        coins, equity_usd, margin_usd, im_usd, mm_usd = [], 0.0, 0.0, 0.0, 0.0
        for asset in sorted(account.balances):
            s = self.exchange.margin_summary(account, asset)
            usd = self._usd_price(asset)
            equity = s.margin_balance
            coins.append({"coin": asset, "walletBalance": num(s.wallet), "equity": num(equity),
                          "usdValue": num(equity * usd), "unrealisedPnl": num(s.unrealized_pnl),
                          "totalPositionIM": num(s.initial), "totalPositionMM": num(s.maintenance),
                          "totalOrderIM": "0", "locked": "0", "borrowAmount": "0", "accruedInterest": "0",
                          "availableToWithdraw": num(s.available), "cumRealisedPnl": "0", "bonus": "0"})
            equity_usd += equity * usd
            margin_usd += (s.cross_wallet + s.cross_unrealized_pnl) * usd
            im_usd += s.initial * usd
            mm_usd += s.maintenance * usd
        return {"list": [{
            "accountType": "UNIFIED", "totalEquity": num(equity_usd), "totalWalletBalance": num(equity_usd),
            "totalMarginBalance": num(margin_usd), "totalInitialMargin": num(im_usd),
            "totalMaintenanceMargin": num(mm_usd), "totalAvailableBalance": num(max(margin_usd - im_usd, 0)),
            "accountIMRate": num(im_usd / margin_usd if margin_usd else 0, 4),
            "accountMMRate": num(mm_usd / margin_usd if margin_usd else 0, 4),
            "totalPerpUPL": "0", "accountLTV": "0", "coin": coins,
        }]}

    def _usd_price(self, asset: str) -> float:
        """USD value of one unit of ``asset``: stablecoins at par, coins at their inverse contract's mark."""
        for i in self.exchange.instruments.values():
            if i.inverse and i.settle == asset:
                return self.exchange.mark(i.symbol)
        return 1.0

    def position_list(self, request: web.Request, account: Account, params: dict[str, str]) -> dict:
        category = params.get("category", "linear")
        settle = params.get("settleCoin")
        symbol = params.get("symbol")
        rows = []
        for p in account.positions.values():
            i = self.exchange.instruments[p.symbol]
            if _category(i) != category or (symbol and p.symbol != symbol) or (settle and i.settle != settle):
                continue
            rows.append(self._position_view(request, account, p))
        return {"category": category, "list": rows, "nextPageCursor": ""}

    def _position_view(self, request: web.Request, account: Account, p: Position) -> dict:
        i = self.exchange.instruments[p.symbol]
        mark = self.exchange.mark(p.symbol)
        tier_id = i.tiers.index(i.tier_for(p.size, mark)) + 1
        isolated = p.margin_mode is MarginMode.ISOLATED
        return {
            "positionIdx": _LEG_IDX[p.leg] if account.hedge_mode else 0, "riskId": tier_id,
            "riskLimitValue": num(i.tier_for(p.size, mark).cap), "symbol": p.symbol,
            "side": "Buy" if p.size > 0 else "Sell", "size": _qty(i, p.size), "avgPrice": num(p.entry),
            "positionValue": num(i.notional(p.size, p.entry)), "tradeMode": int(isolated),
            "autoAddMargin": 0, "positionStatus": "Normal", "leverage": num(p.leverage),
            "markPrice": num(mark),
            "liqPrice": num(reported_liquidation_price(request, self.exchange, account, p)),
            "bustPrice": "", "positionIM": num(self.exchange.initial_margin_of(p)),
            "positionMM": num(self.exchange.maintenance_of(p)),
            "positionBalance": num(p.isolated_margin) if isolated else "0",
            "unrealisedPnl": num(self.exchange.unrealized_pnl_of(p)), "cumRealisedPnl": "0",
            "curRealisedPnl": "0", "takeProfit": "", "stopLoss": "", "trailingStop": "0", "tpslMode": "Full",
            "adlRankIndicator": 2, "isReduceOnly": False,
            "createdTime": str(p.updated_ms), "updatedTime": str(reported_time(request, p.updated_ms)),
        }

    # -- orders --------------------------------------------------------------------------------

    def order_create(self, request: web.Request, account: Account, params: dict[str, Any]) -> dict:
        i = self.exchange.instrument(params.get("symbol", ""))
        if params.get("category") != _category(i):
            raise BybitError(10001, "params error: category invalid")
        side = str(params.get("side", "")).lower()
        order_type = str(params.get("orderType", ""))
        if side not in ("buy", "sell") or order_type not in ("Market", "Limit"):
            raise BybitError(10001, "params error: side or orderType invalid")
        trigger = params.get("triggerPrice")
        if trigger and order_type != "Market":
            raise BybitError(10001, "the emulator serves conditional orders as market only")
        idx = int(params.get("positionIdx", 0))
        order = self.exchange.place_order(account, OrderRequest(
            symbol=i.symbol, side=side,
            type=OrderType.STOP_MARKET if trigger else OrderType(order_type.lower()),
            amount=_contracts(i, str(params.get("qty", "0"))),
            price=float(params["price"]) if order_type == "Limit" else None,
            trigger_price=float(trigger) if trigger else None,
            reduce_only=bool(params.get("reduceOnly", False)), leg=_IDX_LEG.get(idx, "both"),
            client_id=params.get("orderLinkId"),
        ))
        return {"orderId": str(order.id), "orderLinkId": order.client_id}

    def order_cancel(self, request: web.Request, account: Account, params: dict[str, Any]) -> dict:
        order_id = params.get("orderId")
        order = self.exchange.cancel_order(account, str(params.get("symbol", "")),
                                           int(order_id) if order_id else None, params.get("orderLinkId"))
        return {"orderId": str(order.id), "orderLinkId": order.client_id}

    def order_realtime(self, request: web.Request, account: Account, params: dict[str, str]) -> dict:
        """Open orders of one category; without ``orderFilter`` plain and conditional (``StopOrder``) alike.

        A linear query must narrow to a symbol, base coin or settle coin, as on Bybit.
        """
        category = params.get("category", "linear")
        symbol, base, settle = params.get("symbol"), params.get("baseCoin"), params.get("settleCoin")
        if category == "linear" and not (symbol or base or settle):
            raise BybitError(10001, "params error: symbol, baseCoin or settleCoin is required for linear")
        kinds = {"Order": (False,), "StopOrder": (True,), None: (False, True)}.get(params.get("orderFilter"), ())
        wanted_id, wanted_link = params.get("orderId"), params.get("orderLinkId")
        if wanted_id or wanted_link:
            # By id Bybit answers for closed orders too (it keeps the most recent ones).
            found = [o for o in account.orders.values()
                     if (wanted_id and str(o.id) == wanted_id) or (wanted_link and o.client_id == wanted_link)]
            return {"category": category, "list": [self._order_view(o) for o in found], "nextPageCursor": ""}
        rows = []
        for o in account.open_orders(symbol or None):
            i = self.exchange.instruments[o.symbol]
            if (_category(i) == category and (o.type is OrderType.STOP_MARKET) in kinds
                    and base in (None, i.base) and settle in (None, i.settle)):
                rows.append(self._order_view(o))
        return {"category": category, "list": rows, "nextPageCursor": ""}

    def _order_view(self, o: Order) -> dict:
        i = self.exchange.instruments[o.symbol]
        status = {OrderStatus.OPEN: "Untriggered" if o.type is OrderType.STOP_MARKET else "New",
                  OrderStatus.FILLED: "Filled", OrderStatus.CANCELED: "Cancelled",
                  OrderStatus.EXPIRED: "Deactivated"}[o.status]
        return {
            "orderId": str(o.id), "orderLinkId": o.client_id, "symbol": o.symbol,
            "side": o.side.capitalize(), "orderType": "Limit" if o.type is OrderType.LIMIT else "Market",
            "price": num(o.price or 0), "qty": _qty(i, o.amount), "cumExecQty": _qty(i, o.filled),
            "leavesQty": _qty(i, o.amount - o.filled), "cumExecValue": "0", "avgPrice": num(o.average),
            "orderStatus": status, "timeInForce": "GTC" if o.type is OrderType.LIMIT else "IOC",
            "reduceOnly": o.reduce_only, "positionIdx": _LEG_IDX[o.leg],
            "triggerPrice": num(o.trigger_price or 0), "triggerBy": "MarkPrice" if o.trigger_price else "",
            "triggerDirection": (1 if o.side == "buy" else 2) if o.trigger_price else 0,
            "stopOrderType": "Stop" if o.trigger_price else "", "takeProfit": "", "stopLoss": "",
            "tpTriggerBy": "", "slTriggerBy": "", "tpLimitPrice": "0", "slLimitPrice": "0", "tpslMode": "",
            "closeOnTrigger": False, "createType": "CreateByUser", "cancelType": "UNKNOWN",
            "rejectReason": "EC_NoError", "placeType": "", "smpType": "None", "smpGroup": 0, "smpOrderId": "",
            "isLeverage": "", "orderIv": "", "blockTradeId": "",
            "createdTime": str(o.created_ms), "updatedTime": str(o.updated_ms),
        }


def _reserve_close_fee(exchange: SimExchange) -> None:
    """Bybit holds the estimated fee to close, at the taker rate and the bankruptcy price, in IM and MM.

    The solver takes the rate from the instrument, so each instrument without its own
    ``close_fee_rate`` gets the accounts' taker fee (the rate ``/v5/account/fee-rate`` reports).
    """
    rates = {account.taker_fee for account in exchange.accounts.values()}
    for symbol, instrument in exchange.instruments.items():
        if instrument.close_fee_rate is not None:
            continue
        if len(rates) > 1:
            raise ValueError(f"bybit: accounts pay different taker fees {sorted(rates)}, but the closing-fee "
                             f"reserve has one rate per instrument; set close_fee_rate on {symbol}")
        exchange.instruments[symbol] = replace(instrument, close_fee_rate=next(iter(rates), 0.0))


class BybitDialect(Dialect):
    venue = "bybit"

    def default_scenario(self) -> Scenario:
        linear = tier_schedule((2_000_000, 0.005, 100), (4_000_000, 0.0056, 90), (6_000_000, 0.0062, 80),
                               (1e12, 0.0125, 40))
        eth = tier_schedule((1_000_000, 0.01, 50), (2_000_000, 0.012, 40), (1e12, 0.02, 25))
        inverse = tier_schedule((150, 0.005, 100), (300, 0.01, 50), (1e9, 0.02, 25))
        instruments = (
            Instrument("BTCUSDT", "BTC", "USDT", "USDT", inverse=False, contract_size=1.0, price_tick=0.1,
                       amount_step=0.001, tiers=linear, min_amount=0.001, open_interest=52_000.0),
            Instrument("ETHUSDT", "ETH", "USDT", "USDT", inverse=False, contract_size=1.0, price_tick=0.01,
                       amount_step=0.01, tiers=eth, min_amount=0.01, open_interest=910_000.0),
            Instrument("BTCUSD", "BTC", "USD", "BTC", inverse=True, contract_size=1.0, price_tick=0.5,
                       amount_step=1.0, tiers=inverse, min_amount=1.0, open_interest=480_000_000.0),
        )
        accounts = (
            AccountSpec(api_key="bybit-key", secret="bybit-secret", balances={"USDT": 20_000.0, "BTC": 0.5},
                        taker_fee=0.00055, maker_fee=0.0002, positions=(
                            PositionSpec("BTCUSDT", 1.5, 62_000.0, leverage=20),
                            PositionSpec("ETHUSDT", -20.0, 3_100.0, leverage=10,
                                         margin_mode=MarginMode.ISOLATED, isolated_margin=6_200.0),
                            PositionSpec("BTCUSD", 30_000.0, 61_000.0, leverage=10,
                                         margin_mode=MarginMode.ISOLATED, isolated_margin=0.05),
                        )),
            AccountSpec(api_key="bybit-hedge", secret="bybit-hedge-secret", balances={"USDT": 5_000.0},
                        taker_fee=0.00055, maker_fee=0.0002, hedge_mode=True, positions=(
                            PositionSpec("BTCUSDT", 0.2, 60_000.0, leverage=10, leg="long"),
                            PositionSpec("BTCUSDT", -0.1, 61_000.0, leverage=10, leg="short"),
                        )),
        )
        return Scenario(instruments=instruments, accounts=accounts,
                        marks={"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "BTCUSD": 60_000.0})

    def routes(self, player: ScenarioPlayer) -> list[web.RouteDef]:
        _reserve_close_fee(player.exchange)
        api = _Api(player)
        return [
            web.get("/v5/market/instruments-info", api.public(api.instruments_info)),
            web.get("/v5/market/tickers", api.public(api.tickers)),
            web.get("/v5/market/orderbook", api.public(api.orderbook)),
            web.get("/v5/market/kline", api.public(api.kline)),
            web.get("/v5/market/mark-price-kline", api.public(api.kline)),
            web.get("/v5/market/funding/history", api.public(api.funding_history)),
            web.get("/v5/market/open-interest", api.public(api.open_interest)),
            web.get("/v5/market/account-ratio", api.public(api.account_ratio)),
            web.get("/v5/market/risk-limit", api.public(api.risk_limit)),
            web.get("/v5/user/query-api", api.private(api.query_api)),
            web.get("/v5/account/info", api.private(api.account_info)),
            web.get("/v5/asset/coin/query-info", api.private(api.coin_info)),
            web.get("/v5/account/fee-rate", api.private(api.fee_rate)),
            web.get("/v5/account/wallet-balance", api.private(api.wallet_balance)),
            web.get("/v5/position/list", api.private(api.position_list)),
            web.post("/v5/order/create", api.private(api.order_create)),
            web.post("/v5/order/cancel", api.private(api.order_cancel)),
            web.get("/v5/order/realtime", api.private(api.order_realtime)),
        ]

    def fault_response(self, fault: Fault) -> web.Response:
        """Per-key throttling is ``retCode`` 10006 on HTTP 200; an IP ban is HTTP 403, as on Bybit."""
        retry = {"Retry-After": str(fault.retry_after_s),
                 "X-Bapi-Limit-Reset-Timestamp": str(int(time.time() * 1000) + fault.retry_after_s * 1000)}
        if fault.kind is FaultKind.RATE_LIMIT:
            body = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {},
                    "time": int(time.time() * 1000)}
            return web.json_response(body, headers=retry)
        if fault.kind is FaultKind.BANNED:
            return web.Response(status=403, text="access too frequent", headers=retry)
        return web.Response(status=fault.status, text="<html><body>Bad Gateway</body></html>",
                            content_type="text/html")


BYBIT = BybitDialect()
