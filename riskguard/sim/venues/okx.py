"""OKX v5 dialect: USDT-margined (linear) and coin-margined (inverse) perpetual swaps.

Wire format: ``{"code", "msg", "data": [...]}``; ``code`` "0" is success. Order calls that fail say
``code`` "1" with the real reason in ``data[i].sCode``/``sMsg`` (e.g. 51169), which is what ccxt
inspects first. Private calls carry ``OK-ACCESS-KEY``, ``OK-ACCESS-PASSPHRASE``,
``OK-ACCESS-TIMESTAMP`` (ISO-8601) and ``OK-ACCESS-SIGN`` = base64 HMAC-SHA256 of
``timestamp + METHOD + request path with query + body``.

Sizes are contracts (``sz``, ``pos``) of ``ctVal`` base coin (linear) or USD (inverse); position tiers
are by contract count and carry no deduction, so OKX instruments use ``TierBasis.CONTRACTS``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
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
from riskguard.sim.margin import Instrument, MarginMode, MarginTier, TierBasis
from riskguard.sim.market import HOUR_MS, candles, funding_times, long_short_ratio_history, next_funding_ms
from riskguard.sim.scenario import Scenario, ScenarioPlayer
from riskguard.sim.venues import Dialect
from riskguard.sim.venues.wire import num, reported_liquidation_price, reported_time

Handler = Callable[[web.Request], Awaitable[web.Response]]

_ERRORS: dict[RejectReason, tuple[str, str]] = {
    RejectReason.UNKNOWN_SYMBOL: ("51001", "Instrument ID does not exist"),
    RejectReason.UNKNOWN_ORDER: ("51400", "Order cancellation failed as the order has been filled, canceled "
                                          "or does not exist"),
    RejectReason.INVALID_AMOUNT: ("51121", "Order quantity must be a multiple of the lot size"),
    RejectReason.INVALID_PRICE: ("51000", "Parameter px error"),
    RejectReason.INVALID_LEVERAGE: ("51039", "Leverage cannot be adjusted"),
    RejectReason.REDUCE_ONLY_WOULD_INCREASE: ("51169", "Order placement failed because you don't have any "
                                                       "positions in this direction for this contract to "
                                                       "reduce or close"),
    RejectReason.INSUFFICIENT_MARGIN: ("51008", "Order failed. Insufficient USDT margin in account"),
    RejectReason.WOULD_TRIGGER_IMMEDIATELY: ("51052", "Stop loss trigger price must be lower than the mark "
                                                      "price"),
    RejectReason.POSITION_MODE_MISMATCH: ("51000", "Parameter posSide error"),
    RejectReason.POSITION_OR_ORDER_EXISTS: ("59000", "Settings failed. Close positions and orders first"),
    RejectReason.NO_CHANGE: ("59000", "Settings failed"),
}
_STATE = {OrderStatus.OPEN: "live", OrderStatus.FILLED: "filled", OrderStatus.CANCELED: "canceled",
          OrderStatus.EXPIRED: "canceled"}
_BARS_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1H": HOUR_MS,
            "2H": 2 * HOUR_MS, "4H": 4 * HOUR_MS, "6Hutc": 6 * HOUR_MS, "12Hutc": 12 * HOUR_MS,
            "1Dutc": 24 * HOUR_MS, "6H": 6 * HOUR_MS, "12H": 12 * HOUR_MS, "1D": 24 * HOUR_MS}


class OkxError(Exception):
    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _family(i: Instrument) -> str:
    return f"{i.base}-{i.quote}"


class _Api:
    def __init__(self, player: ScenarioPlayer) -> None:
        self.exchange: SimExchange = player.exchange

    # -- plumbing ------------------------------------------------------------------------------

    def _respond(self, call: Callable[[], Any]) -> web.Response:
        try:
            return web.json_response({"code": "0", "msg": "", "data": call()})
        except OkxError as exc:
            return web.json_response({"code": exc.code, "msg": str(exc), "data": []}, status=exc.status)
        except OrderRejected as exc:
            code, msg = _ERRORS[exc.reason]
            return web.json_response({"code": "1", "msg": "All operations failed",
                                      "data": [{"sCode": code, "sMsg": msg, "ordId": "", "clOrdId": ""}]})

    def public(self, handler: Callable[[web.Request], Any]) -> Handler:
        async def wrapped(request: web.Request) -> web.Response:
            return self._respond(lambda: handler(request))
        return wrapped

    def private(self, handler: Callable[[web.Request, Account, Any], Any]) -> Handler:
        async def wrapped(request: web.Request) -> web.Response:
            body = await request.text()

            def call() -> Any:
                account = self._authenticate(request, body)
                params = dict(request.query) if request.method == "GET" else json.loads(body or "{}")
                return handler(request, account, params)
            return self._respond(call)
        return wrapped

    def _authenticate(self, request: web.Request, body: str) -> Account:
        """Check key, passphrase and the base64 HMAC over timestamp, method, raw path+query and body."""
        account = self.exchange.accounts.get(request.headers.get("OK-ACCESS-KEY", ""))
        if account is None:
            raise OkxError("50111", "Invalid OK-ACCESS-KEY", status=401)
        if request.headers.get("OK-ACCESS-PASSPHRASE") != account.passphrase:
            raise OkxError("50105", "Invalid OK-ACCESS-PASSPHRASE", status=401)
        timestamp = request.headers.get("OK-ACCESS-TIMESTAMP", "")
        payload = f"{timestamp}{request.method}{request.raw_path}{body}".encode()
        expected = base64.b64encode(hmac.new(account.secret.encode(), payload, hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, request.headers.get("OK-ACCESS-SIGN", "")):
            raise OkxError("50113", "Invalid Sign", status=401)
        return account

    def _instrument(self, params: dict[str, str]) -> Instrument:
        return self.exchange.instrument(params.get("instId", ""))

    # -- public --------------------------------------------------------------------------------

    def instruments(self, request: web.Request) -> list[dict]:
        if request.query.get("instType") != "SWAP":
            return []
        return [{
            "instType": "SWAP", "instId": i.symbol, "uly": _family(i), "instFamily": _family(i),
            "baseCcy": "", "quoteCcy": "", "settleCcy": i.settle, "ctVal": num(i.contract_size),
            "ctMult": "1", "ctValCcy": i.quote if i.inverse else i.base,
            "ctType": "inverse" if i.inverse else "linear", "lotSz": num(i.amount_step),
            "minSz": num(max(i.min_amount, i.amount_step)), "tickSz": num(i.price_tick),
            "lever": num(i.tiers[0].max_leverage), "state": "live", "listTime": "1611916828000",
            "expTime": "", "alias": "", "maxMktSz": "10000", "maxLmtSz": "100000000",
        } for i in self.exchange.instruments.values()]

    def position_tiers(self, request: web.Request) -> list[dict]:
        family = request.query.get("instFamily", "")
        rows = []
        for i in self.exchange.instruments.values():
            if _family(i) != family:
                continue
            for n, tier in enumerate(i.tiers, start=1):
                rows.append({"tier": str(n), "instFamily": family, "uly": family, "instId": "",
                             "minSz": num(tier.floor), "maxSz": num(tier.cap), "mmr": num(tier.mmr),
                             "imr": num(1 / tier.max_leverage), "maxLever": num(tier.max_leverage),
                             "optMgnFactor": "0", "baseMaxLoan": "", "quoteMaxLoan": ""})
        return rows

    def mark_price(self, request: web.Request) -> list[dict]:
        i = self._instrument(dict(request.query))
        return [{"instType": "SWAP", "instId": i.symbol, "markPx": num(self.exchange.mark(i.symbol)),
                 "ts": str(reported_time(request, self.exchange.now_ms()))}]

    def ticker(self, request: web.Request) -> list[dict]:
        i = self._instrument(dict(request.query))
        mark = num(self.exchange.mark(i.symbol))
        book = self.exchange.order_book(i.symbol, 1)
        return [{"instType": "SWAP", "instId": i.symbol, "last": mark, "lastSz": "1",
                 "askPx": num(book.asks[0][0]), "askSz": num(book.asks[0][1]), "bidPx": num(book.bids[0][0]),
                 "bidSz": num(book.bids[0][1]), "open24h": mark, "high24h": mark, "low24h": mark,
                 "sodUtc0": mark, "sodUtc8": mark, "volCcy24h": "0", "vol24h": "0",
                 "ts": str(reported_time(request, self.exchange.now_ms()))}]

    def books(self, request: web.Request) -> list[dict]:
        i = self._instrument(dict(request.query))
        book = self.exchange.order_book(i.symbol, int(request.query.get("sz", "20")))
        return [{"asks": [[num(p), num(s), "0", "1"] for p, s in book.asks],
                 "bids": [[num(p), num(s), "0", "1"] for p, s in book.bids],
                 "ts": str(reported_time(request, self.exchange.now_ms()))}]

    def candles(self, request: web.Request) -> list[list[str]]:
        params = dict(request.query)
        i = self._instrument(params)
        bar = _BARS_MS.get(params.get("bar", "1m"))
        if bar is None:
            raise OkxError("51000", "Parameter bar error")
        since = int(params["before"]) + 1 if "before" in params else None
        bars = candles(self.exchange.mark_history[i.symbol], bar, self.exchange.now_ms(), since,
                       int(params.get("limit", "100")))
        return [[str(b.open_ms), num(b.open), num(b.high), num(b.low), num(b.close), num(b.volume),
                 num(b.volume), num(b.volume * b.close), "1"] for b in reversed(bars)]

    def funding_rate(self, request: web.Request) -> list[dict]:
        i = self._instrument(dict(request.query))
        upcoming = next_funding_ms(i, self.exchange.now_ms())
        return [{"instType": "SWAP", "instId": i.symbol, "fundingRate": num(i.funding_rate),
                 "nextFundingRate": "", "fundingTime": str(upcoming),
                 "nextFundingTime": str(upcoming + i.funding_interval_hours * HOUR_MS),
                 "method": "current_period", "ts": str(self.exchange.now_ms())}]

    def funding_rate_history(self, request: web.Request) -> list[dict]:
        params = dict(request.query)
        i = self._instrument(params)
        since = int(params["before"]) + 1 if "before" in params else None
        times = funding_times(i, self.exchange.now_ms(), since, int(params.get("limit", "100")))
        return [{"instType": "SWAP", "instId": i.symbol, "fundingRate": num(i.funding_rate),
                 "realizedRate": num(i.funding_rate), "fundingTime": str(t), "method": "current_period"}
                for t in reversed(times)]

    def open_interest(self, request: web.Request) -> list[dict]:
        i = self._instrument(dict(request.query))
        mark = self.exchange.mark(i.symbol)
        coins = i.open_interest * (i.contract_size / mark if i.inverse else i.contract_size)
        return [{"instType": "SWAP", "instId": i.symbol, "oi": num(i.open_interest), "oiCcy": num(coins),
                 "oiUsd": num(coins * mark), "ts": str(self.exchange.now_ms())}]

    def long_short_ratio(self, request: web.Request) -> list[list[str]]:
        """Account long/short ratio, newest first, as [ts, ratio] rows (OKX rubik trading statistics)."""
        params = dict(request.query)
        self._instrument({"instId": params.get("instId", "")})
        period = _BARS_MS.get(params.get("period", "5m"))
        if period is None:
            raise OkxError("51000", "Parameter period error")
        points = long_short_ratio_history(period, self.exchange.now_ms(), None, int(params.get("limit", "100")))
        return [[str(t), num(r)] for t, r in reversed(points)]

    # -- private -------------------------------------------------------------------------------

    @staticmethod
    def currencies(request: web.Request, account: Account, params: dict) -> list[dict]:
        return [{"ccy": ccy, "name": ccy, "chain": f"{ccy}-ERC20", "canDep": True, "canWd": True,
                 "canInternal": True, "minWd": "0.001", "minFee": "0.0001", "maxFee": "0.001",
                 "wdTickSz": "8", "mainNet": True} for ccy in sorted(account.balances)]

    @staticmethod
    def account_config(request: web.Request, account: Account, params: dict) -> list[dict]:
        """``GET /api/v5/account/config``: one row for the requesting key, field for field as OKX sends it.

        ``posMode`` is what ccxt's ``fetch_position_mode`` reads (``long_short_mode`` is hedged) and ``uid``/
        ``acctLv`` are what ``fetch_accounts`` reads. The account is a main account in Futures mode
        (``acctLv`` "2": single-currency margin, which is how the emulator pools margin: per settle coin).
        """
        uid = str(int.from_bytes(hashlib.sha256(account.api_key.encode()).digest()[:7], "big"))
        return [{
            "uid": uid, "mainUid": uid, "acctLv": "2", "acctStpMode": "cancel_maker",
            "posMode": "long_short_mode" if account.hedge_mode else "net_mode",
            "autoLoan": False, "greeksType": "PA", "feeType": "0", "level": "Lv1", "levelTmp": "",
            "ctIsoMode": "automatic", "mgnIsoMode": "automatic", "spotOffsetType": "", "stgyType": "0",
            "roleType": "0", "traderInsts": [], "spotRoleType": "0", "spotTraderInsts": [], "opAuth": "0",
            "kycLv": "2", "label": "riskguard-sim", "ip": "", "perm": "read_only,trade", "liquidationGear": "-1",
            "enableSpotBorrow": False, "spotBorrowAutoRepay": False, "type": "0", "settleCcy": "USDT",
            "settleCcyList": ["USD", "USDC", "USDG"],
        }]

    def trade_fee(self, request: web.Request, account: Account, params: dict) -> list[dict]:
        taker, maker = num(-account.taker_fee), num(-account.maker_fee)
        return [{"category": "1", "level": "Lv1", "instType": params.get("instType", "SWAP"),
                 "taker": taker, "maker": maker, "takerU": taker, "makerU": maker, "takerUSDC": taker,
                 "makerUSDC": maker, "ts": str(self.exchange.now_ms())}]

    def balance(self, request: web.Request, account: Account, params: dict) -> list[dict]:
        details = []
        total_eq = 0.0
        for ccy in sorted(account.balances):
            s = self.exchange.margin_summary(account, ccy)
            usd = self._usd_price(ccy)
            total_eq += s.margin_balance * usd
            details.append({
                "ccy": ccy, "eq": num(s.margin_balance), "cashBal": num(s.wallet), "availBal": num(s.available),
                "availEq": num(s.available), "frozenBal": num(s.initial), "upl": num(s.unrealized_pnl),
                "isoEq": num(s.wallet - s.cross_wallet), "imr": num(s.initial), "mmr": num(s.maintenance),
                "mgnRatio": num((s.cross_wallet + s.cross_unrealized_pnl) / s.maintenance
                                if s.maintenance else 0, 4),
                "eqUsd": num(s.margin_balance * usd), "uTime": str(self.exchange.now_ms()),
            })
        return [{"uTime": str(reported_time(request, self.exchange.now_ms())), "totalEq": num(total_eq),
                 "adjEq": num(total_eq), "imr": "", "mmr": "", "mgnRatio": "", "details": details}]

    def _usd_price(self, ccy: str) -> float:
        for i in self.exchange.instruments.values():
            if i.inverse and i.settle == ccy:
                return self.exchange.mark(i.symbol)
        return 1.0

    def positions(self, request: web.Request, account: Account, params: dict) -> list[dict]:
        wanted = set(params["instId"].split(",")) if params.get("instId") else None
        return [self._position_view(request, account, p) for p in account.positions.values()
                if wanted is None or p.symbol in wanted]

    def _position_view(self, request: web.Request, account: Account, p: Position) -> dict:
        i = self.exchange.instruments[p.symbol]
        mark = self.exchange.mark(p.symbol)
        upl = self.exchange.unrealized_pnl_of(p)
        mm = self.exchange.maintenance_of(p)
        isolated = p.margin_mode is MarginMode.ISOLATED
        if isolated:
            equity = p.isolated_margin + upl
        else:
            s = self.exchange.margin_summary(account, i.settle)
            equity = s.cross_wallet + s.cross_unrealized_pnl
        notional = i.notional(p.size, mark)
        return {
            "instType": "SWAP", "instId": p.symbol, "posId": f"{p.symbol}-{p.leg}", "mgnMode": str(p.margin_mode),
            "posSide": "net" if p.leg == "both" else p.leg,
            "pos": num(p.size if p.leg == "both" else abs(p.size)), "posCcy": "", "ccy": i.settle,
            "avgPx": num(p.entry), "markPx": num(mark), "last": num(mark), "idxPx": num(mark),
            "liqPx": num(reported_liquidation_price(request, self.exchange, account, p)),
            "margin": num(p.isolated_margin) if isolated else "", "lever": num(p.leverage),
            "imr": "" if isolated else num(self.exchange.initial_margin_of(p)), "mmr": num(mm),
            "mgnRatio": num(equity / mm if mm else 0, 4), "upl": num(upl),
            "uplRatio": num(upl / (notional / p.leverage) if notional else 0, 6),
            "notionalUsd": num(notional * self._usd_price(i.settle)), "adl": "2", "availPos": "",
            "realizedPnl": "0", "cTime": str(p.updated_ms), "uTime": str(reported_time(request, p.updated_ms)),
        }

    def batch_orders(self, request: web.Request, account: Account, params: list[dict]) -> list[dict]:
        return [self._place(account, entry) for entry in params]

    def order_algo(self, request: web.Request, account: Account, params: dict) -> list[dict]:
        return [self._place(account, params)]

    def _place(self, account: Account, entry: dict) -> dict:
        i = self.exchange.instrument(entry.get("instId", ""))
        if entry.get("tdMode") not in ("cross", "isolated"):
            raise OkxError("51000", "Parameter tdMode error")
        if entry["tdMode"] != str(self.exchange.margin_mode_of(account, i.symbol)):
            raise OkxError("51000", "Parameter tdMode error: does not match the position's margin mode")
        side = entry.get("side", "")
        ord_type = entry.get("ordType", "")
        trigger = entry.get("slTriggerPx") or entry.get("tpTriggerPx") or entry.get("triggerPx")
        if side not in ("buy", "sell") or ord_type not in ("market", "limit", "conditional", "trigger"):
            raise OkxError("51000", "Parameter ordType error")
        order_type = OrderType.STOP_MARKET if trigger else OrderType(ord_type)
        order = self.exchange.place_order(account, OrderRequest(
            symbol=i.symbol, side=side, type=order_type, amount=float(entry.get("sz", "0")),
            price=float(entry["px"]) if ord_type == "limit" else None,
            trigger_price=float(trigger) if trigger else None,
            reduce_only=str(entry.get("reduceOnly", "false")).lower() == "true",
            leg=entry.get("posSide", "both") if entry.get("posSide") in ("long", "short") else "both",
            client_id=entry.get("algoClOrdId") or entry.get("clOrdId"),
        ))
        key = "algoId" if trigger else "ordId"
        return {key: str(order.id), "clOrdId": order.client_id, "tag": entry.get("tag", ""),
                "sCode": "0", "sMsg": "Order placed"}

    def cancel_order(self, request: web.Request, account: Account, params: dict) -> list[dict]:
        order_id = params.get("ordId")
        order = self.exchange.cancel_order(account, params.get("instId", ""),
                                           int(order_id) if order_id else None, params.get("clOrdId"))
        return [{"ordId": str(order.id), "clOrdId": order.client_id, "sCode": "0", "sMsg": ""}]

    def cancel_algos(self, request: web.Request, account: Account, params: list[dict]) -> list[dict]:
        """Algo orders by ``algoId`` (a list of ``{algoId, instId}``), as a stop ladder is replaced."""
        rows = []
        for entry in params:
            order = self.exchange.cancel_order(account, entry.get("instId", ""), int(entry.get("algoId") or 0))
            rows.append({"algoId": str(order.id), "algoClOrdId": order.client_id, "sCode": "0", "sMsg": ""})
        return rows

    def order_details(self, request: web.Request, account: Account, params: dict) -> list[dict]:
        """One order in any status by ``ordId``/``clOrdId`` (``algoId``/``algoClOrdId`` for an algo order)."""
        wanted_id = params.get("ordId") or params.get("algoId")
        wanted_client = params.get("clOrdId") or params.get("algoClOrdId")
        for o in account.orders.values():
            if (wanted_id and str(o.id) == wanted_id) or (wanted_client and o.client_id == wanted_client):
                return [self._order_view(o)]
        raise OkxError("51603", "Order does not exist")

    def orders_pending(self, request: web.Request, account: Account, params: dict) -> list[dict]:
        return [self._order_view(o) for o in account.open_orders(params.get("instId") or None)
                if o.type is not OrderType.STOP_MARKET]

    def orders_algo_pending(self, request: web.Request, account: Account, params: dict) -> list[dict]:
        """Algo orders of the requested ``ordType`` (required, comma-separated); the emulator's stops are
        ``conditional``, so an ``ordType=trigger`` query does not list them."""
        kinds = {k for k in params.get("ordType", "").split(",") if k}
        if not kinds:
            raise OkxError("51000", "Parameter ordType error")
        if "conditional" not in kinds:
            return []
        return [self._order_view(o) for o in account.open_orders(params.get("instId") or None)
                if o.type is OrderType.STOP_MARKET]

    def _order_view(self, o: Order) -> dict:
        stop = o.type is OrderType.STOP_MARKET
        return {
            "instType": "SWAP", "instId": o.symbol, "ordId": str(o.id), "algoId": str(o.id) if stop else "",
            "clOrdId": o.client_id, "side": o.side, "posSide": "net" if o.leg == "both" else o.leg,
            "ordType": "conditional" if stop else str(o.type), "sz": num(o.amount), "px": num(o.price),
            "slTriggerPx": num(o.trigger_price) if stop else "", "slOrdPx": "-1" if stop else "",
            "slTriggerPxType": "mark" if stop else "", "accFillSz": num(o.filled), "avgPx": num(o.average),
            "state": _STATE[o.status], "reduceOnly": str(o.reduce_only).lower(), "fee": "0", "feeCcy": "",
            "tdMode": "cross", "cTime": str(o.created_ms), "uTime": str(o.updated_ms),
        }


def _contract_tiers(*rows: tuple[float, float, float]) -> tuple[MarginTier, ...]:
    """OKX tiers from ``(max contracts, mmr, max leverage)``: no deduction, the tier mmr applies whole."""
    tiers, floor = [], 0.0
    for cap, mmr, lever in rows:
        tiers.append(MarginTier(floor, cap, mmr, 0.0, lever))
        floor = cap
    return tuple(tiers)


class OkxDialect(Dialect):
    venue = "okx"

    def default_scenario(self) -> Scenario:
        btc = _contract_tiers((20_000, 0.004, 100), (40_000, 0.006, 75), (1e12, 0.01, 50))
        eth = _contract_tiers((10_000, 0.008, 50), (1e12, 0.015, 25))
        inverse = _contract_tiers((10_000, 0.005, 100), (1e12, 0.01, 50))
        instruments = (
            Instrument("BTC-USDT-SWAP", "BTC", "USDT", "USDT", inverse=False, contract_size=0.01, price_tick=0.1,
                       amount_step=0.01, tiers=btc, tier_basis=TierBasis.CONTRACTS, min_amount=0.01,
                       open_interest=2_800_000.0),
            Instrument("ETH-USDT-SWAP", "ETH", "USDT", "USDT", inverse=False, contract_size=0.1,
                       price_tick=0.01, amount_step=1.0, tiers=eth, tier_basis=TierBasis.CONTRACTS,
                       min_amount=1.0, open_interest=3_100_000.0),
            Instrument("BTC-USD-SWAP", "BTC", "USD", "BTC", inverse=True, contract_size=100.0, price_tick=0.1,
                       amount_step=1.0, tiers=inverse, tier_basis=TierBasis.CONTRACTS, min_amount=1.0,
                       open_interest=4_500_000.0),
        )
        accounts = (
            AccountSpec(api_key="okx-key", secret="okx-secret", passphrase="okx-pass",
                        balances={"USDT": 15_000.0, "BTC": 0.4}, taker_fee=0.0005, maker_fee=0.0002,
                        positions=(
                            PositionSpec("BTC-USDT-SWAP", 150.0, 61_500.0, leverage=20),
                            PositionSpec("ETH-USDT-SWAP", -300.0, 3_050.0, leverage=10,
                                         margin_mode=MarginMode.ISOLATED, isolated_margin=9_150.0),
                            PositionSpec("BTC-USD-SWAP", -200.0, 59_000.0, leverage=10,
                                         margin_mode=MarginMode.ISOLATED, isolated_margin=0.034),
                        )),
            AccountSpec(api_key="okx-hedge", secret="okx-hedge-secret", passphrase="okx-hedge-pass",
                        balances={"USDT": 5_000.0}, hedge_mode=True, positions=(
                            PositionSpec("BTC-USDT-SWAP", 30.0, 60_000.0, leverage=10, leg="long"),
                            PositionSpec("BTC-USDT-SWAP", -10.0, 61_000.0, leverage=10, leg="short"),
                        )),
        )
        return Scenario(instruments=instruments, accounts=accounts,
                        marks={"BTC-USDT-SWAP": 60_000.0, "ETH-USDT-SWAP": 3_000.0, "BTC-USD-SWAP": 60_000.0})

    def routes(self, player: ScenarioPlayer) -> list[web.RouteDef]:
        api = _Api(player)
        return [
            web.get("/api/v5/public/instruments", api.public(api.instruments)),
            web.get("/api/v5/public/position-tiers", api.public(api.position_tiers)),
            web.get("/api/v5/public/mark-price", api.public(api.mark_price)),
            web.get("/api/v5/public/funding-rate", api.public(api.funding_rate)),
            web.get("/api/v5/public/funding-rate-history", api.public(api.funding_rate_history)),
            web.get("/api/v5/rubik/stat/contracts/long-short-account-ratio-contract",
                    api.public(api.long_short_ratio)),
            web.get("/api/v5/public/open-interest", api.public(api.open_interest)),
            web.get("/api/v5/market/ticker", api.public(api.ticker)),
            web.get("/api/v5/market/books", api.public(api.books)),
            web.get("/api/v5/market/candles", api.public(api.candles)),
            web.get("/api/v5/market/history-candles", api.public(api.candles)),
            web.get("/api/v5/market/mark-price-candles", api.public(api.candles)),
            web.get("/api/v5/asset/currencies", api.private(api.currencies)),
            web.get("/api/v5/account/config", api.private(api.account_config)),
            web.get("/api/v5/account/trade-fee", api.private(api.trade_fee)),
            web.get("/api/v5/account/balance", api.private(api.balance)),
            web.get("/api/v5/account/positions", api.private(api.positions)),
            web.post("/api/v5/trade/batch-orders", api.private(api.batch_orders)),
            web.post("/api/v5/trade/order-algo", api.private(api.order_algo)),
            web.post("/api/v5/trade/cancel-order", api.private(api.cancel_order)),
            web.post("/api/v5/trade/cancel-algos", api.private(api.cancel_algos)),
            web.get("/api/v5/trade/orders-pending", api.private(api.orders_pending)),
            web.get("/api/v5/trade/order", api.private(api.order_details)),
            web.get("/api/v5/trade/order-algo", api.private(api.order_details)),
            web.get("/api/v5/trade/orders-algo-pending", api.private(api.orders_algo_pending)),
        ]

    def fault_response(self, fault: Fault) -> web.Response:
        """Throttling is HTTP 429 with code 50011; server trouble is the status with code 50013."""
        headers = {"Retry-After": str(fault.retry_after_s)}
        if fault.kind in (FaultKind.RATE_LIMIT, FaultKind.BANNED):
            return web.json_response({"msg": "Too Many Requests", "code": "50011"}, status=429, headers=headers)
        return web.json_response({"msg": "Systems are busy. Please try again later.", "code": "50013"},
                                 status=fault.status, headers=headers)


OKX = OkxDialect()
