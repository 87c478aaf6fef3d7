"""Hyperliquid dialect: USDC perpetuals behind ``POST /info`` (reads) and ``POST /exchange`` (actions).

Reads are unauthenticated and name the account by ``user`` (wallet address). Actions are EIP-712
signed "L1 actions": keccak(msgpack(action) ‖ nonce ‖ vault flag) becomes the ``connectionId`` of a
phantom ``Agent{source, connectionId}`` struct in domain ``Exchange``/chainId 1337; the recovered
signer must be the account's wallet. Hashing here is written from the spec, not borrowed from ccxt,
so a ccxt signing regression fails the test instead of being mirrored.

Accounts: ``api_key`` is the lower-case wallet address and ``secret`` its private key (hex).
Instrument symbols are the coin names (``BTC``); an asset's index in ``meta.universe`` is its id.
"""

from __future__ import annotations

import json

import coincurve
from aiohttp import web
from ccxt.static_dependencies import keccak
from ccxt.static_dependencies.msgpack import packb

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
from riskguard.sim.margin import Instrument, MarginMode, tier_schedule
from riskguard.sim.market import HOUR_MS, candles, funding_times
from riskguard.sim.scenario import Scenario, ScenarioPlayer
from riskguard.sim.venues import Dialect
from riskguard.sim.venues.wire import num, reported_liquidation_price, reported_time

_ERRORS: dict[RejectReason, str] = {
    RejectReason.UNKNOWN_SYMBOL: "Invalid asset.",
    RejectReason.UNKNOWN_ORDER: "Order was never placed, already canceled, or filled.",
    RejectReason.INVALID_AMOUNT: "Order has invalid size.",
    RejectReason.INVALID_PRICE: "Price must be divisible by tick size.",
    RejectReason.INVALID_LEVERAGE: "Invalid leverage value.",
    RejectReason.REDUCE_ONLY_WOULD_INCREASE: "Reduce only order would increase position.",
    RejectReason.INSUFFICIENT_MARGIN: "Insufficient margin to place order.",
    RejectReason.WOULD_TRIGGER_IMMEDIATELY: "Invalid TP/SL price.",
    RejectReason.POSITION_MODE_MISMATCH: "Invalid position side.",
    RejectReason.POSITION_OR_ORDER_EXISTS: "Cannot switch margin mode with open position.",
    RejectReason.NO_CHANGE: "No change.",
}
_INTERVALS_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": HOUR_MS, "4h": 4 * HOUR_MS,
                 "1d": 24 * HOUR_MS}


def _keccak(data: bytes) -> bytes:
    return bytes(keccak.SHA3(data))


_AGENT_TYPEHASH = _keccak(b"Agent(string source,bytes32 connectionId)")
_DOMAIN_TYPEHASH = _keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")


def action_signer(action: dict, nonce: int, signature: dict, vault: str | None, mainnet: bool = True) -> str:
    """The wallet address that signed an L1 action (lower-case ``0x…``)."""
    payload = packb(action) + nonce.to_bytes(8, "big")
    payload += b"\x00" if vault is None else b"\x01" + bytes.fromhex(vault.removeprefix("0x"))
    connection_id = _keccak(payload)
    domain = _keccak(_DOMAIN_TYPEHASH + _keccak(b"Exchange") + _keccak(b"1") + (1337).to_bytes(32, "big")
                     + bytes(32))
    struct = _keccak(_AGENT_TYPEHASH + _keccak(b"a" if mainnet else b"b") + connection_id)
    digest = _keccak(b"\x19\x01" + domain + struct)
    rs = b"".join(int(signature[k], 16).to_bytes(32, "big") for k in ("r", "s"))
    public = coincurve.PublicKey.from_signature_and_message(rs + bytes([int(signature["v"]) - 27]), digest,
                                                             hasher=None)
    return "0x" + _keccak(public.format(compressed=False)[1:])[-20:].hex()


def wallet_of(private_key: str) -> str:
    """Lower-case address of a hex private key, for building accounts."""
    public = coincurve.PrivateKey(bytes.fromhex(private_key.removeprefix("0x"))).public_key
    return "0x" + _keccak(public.format(compressed=False)[1:])[-20:].hex()


class _Api:
    def __init__(self, player: ScenarioPlayer) -> None:
        self.exchange: SimExchange = player.exchange
        self.assets = list(self.exchange.instruments.values())

    def _account(self, user: str) -> Account:
        account = self.exchange.accounts.get(user.lower())
        if account is None:
            raise web.HTTPUnprocessableEntity(text="Failed to deserialize the JSON body into the target type")
        return account

    # -- /info ---------------------------------------------------------------------------------

    async def info(self, request: web.Request) -> web.Response:
        body = await request.json()
        handler = getattr(self, f"info_{body.get('type')}", None)
        if handler is None:
            raise web.HTTPUnprocessableEntity(text="Failed to deserialize the JSON body into the target type")
        return web.json_response(handler(request, body))

    def _universe(self) -> list[dict]:
        return [{"name": i.symbol, "szDecimals": max(0, -int(f"{i.amount_step:e}".split("e")[1])),
                 "maxLeverage": int(i.tiers[0].max_leverage), "marginTableId": 100 + n}
                for n, i in enumerate(self.assets)]

    def info_meta(self, request: web.Request, body: dict) -> dict:
        tables = [[100 + n, {"description": f"tiered {i.symbol}", "marginTiers": [
            {"lowerBound": num(t.floor), "maxLeverage": int(t.max_leverage)} for t in i.tiers]}]
            for n, i in enumerate(self.assets)]
        return {"universe": self._universe(), "marginTables": tables}

    def info_metaAndAssetCtxs(self, request: web.Request, body: dict) -> list:
        contexts = []
        for i in self.assets:
            mark = num(self.exchange.mark(i.symbol))
            book = self.exchange.order_book(i.symbol, 1)
            contexts.append({"funding": num(i.funding_rate), "openInterest": num(i.open_interest),
                             "prevDayPx": mark, "dayNtlVlm": "0", "premium": "0", "oraclePx": mark,
                             "markPx": mark, "midPx": num((book.bids[0][0] + book.asks[0][0]) / 2),
                             "impactPxs": [num(book.bids[0][0]), num(book.asks[0][0])], "dayBaseVlm": "0"})
        return [self.info_meta(request, body), contexts]

    @staticmethod
    def info_spotMeta(request: web.Request, body: dict) -> dict:
        """Only the settle token: ccxt reads currencies from here, the emulator lists no spot pairs."""
        return {"tokens": [{"name": "USDC", "index": 0, "szDecimals": 8, "weiDecimals": 8, "isCanonical": True,
                            "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054", "fullName": None}],
                "universe": []}

    @staticmethod
    def info_userAbstraction(request: web.Request, body: dict) -> str:
        return "default"

    def info_clearinghouseState(self, request: web.Request, body: dict) -> dict:
        account = self._account(body.get("user", ""))
        s = self.exchange.margin_summary(account, "USDC")
        positions = [self._position_view(request, account, p) for p in account.positions.values()]
        cross = [p for p in account.positions.values() if p.margin_mode is MarginMode.CROSS]
        cross_value = s.cross_wallet + s.cross_unrealized_pnl
        ntl = sum(self.exchange.instruments[p.symbol].notional(p.size, self.exchange.mark(p.symbol))
                  for p in account.positions.values())
        cross_ntl = sum(self.exchange.instruments[p.symbol].notional(p.size, self.exchange.mark(p.symbol))
                        for p in cross)
        cross_used = sum(self.exchange.initial_margin_of(p) for p in cross)
        return {
            "marginSummary": {"accountValue": num(s.margin_balance), "totalNtlPos": num(ntl),
                              "totalRawUsd": num(s.margin_balance - ntl), "totalMarginUsed": num(s.initial)},
            "crossMarginSummary": {"accountValue": num(cross_value), "totalNtlPos": num(cross_ntl),
                                   "totalRawUsd": num(cross_value - cross_ntl),
                                   "totalMarginUsed": num(cross_used)},
            "crossMaintenanceMarginUsed": num(sum(self.exchange.maintenance_of(p) for p in cross)),
            "withdrawable": num(s.available), "assetPositions": positions,
            "time": reported_time(request, self.exchange.now_ms()),
        }

    def _position_view(self, request: web.Request, account: Account, p: Position) -> dict:
        i = self.exchange.instruments[p.symbol]
        mark = self.exchange.mark(p.symbol)
        upnl = self.exchange.unrealized_pnl_of(p)
        if p.margin_mode is MarginMode.ISOLATED:
            # Hyperliquid keeps an isolated position's USD ledger as rawUsd = margin − szi·entryPx.
            leverage = {"type": "isolated", "value": int(p.leverage),
                        "rawUsd": num(p.isolated_margin - p.size * p.entry)}
            used = p.isolated_margin + upnl
        else:
            leverage = {"type": "cross", "value": int(p.leverage)}
            used = self.exchange.initial_margin_of(p)
        return {"type": "oneWay", "position": {
            "coin": p.symbol, "szi": num(p.size), "entryPx": num(p.entry),
            "positionValue": num(i.notional(p.size, mark)), "unrealizedPnl": num(upnl),
            "returnOnEquity": num(upnl / (i.notional(p.size, p.entry) / p.leverage), 6),
            "liquidationPx": num(reported_liquidation_price(request, self.exchange, account, p)) or None,
            "marginUsed": num(used), "leverage": leverage, "maxLeverage": int(i.tiers[0].max_leverage),
            "cumFunding": {"allTime": "0", "sinceOpen": "0", "sinceChange": "0"},
        }}

    def info_l2Book(self, request: web.Request, body: dict) -> dict:
        i = self.exchange.instrument(body.get("coin", ""))
        book = self.exchange.order_book(i.symbol)
        return {"coin": i.symbol, "time": reported_time(request, self.exchange.now_ms()), "levels": [
            [{"px": num(p), "sz": num(s), "n": 1} for p, s in book.bids],
            [{"px": num(p), "sz": num(s), "n": 1} for p, s in book.asks]]}

    def info_candleSnapshot(self, request: web.Request, body: dict) -> list[dict]:
        req = body.get("req", {})
        i = self.exchange.instrument(req.get("coin", ""))
        step = _INTERVALS_MS[req.get("interval", "1m")]
        now = self.exchange.now_ms()
        start = int(req.get("startTime", 0))
        limit = min(max(int((int(req.get("endTime", now)) - start) // step) + 1, 1), 500)
        bars = candles(self.exchange.mark_history[i.symbol], step, now, start or None, limit)
        return [{"t": b.open_ms, "T": b.open_ms + step - 1, "s": i.symbol, "i": req.get("interval"),
                 "o": num(b.open), "h": num(b.high), "l": num(b.low), "c": num(b.close), "v": num(b.volume),
                 "n": 1} for b in bars]

    def info_fundingHistory(self, request: web.Request, body: dict) -> list[dict]:
        i = self.exchange.instrument(body.get("coin", ""))
        times = funding_times(i, self.exchange.now_ms(), int(body.get("startTime", 0)), 500)
        return [{"coin": i.symbol, "fundingRate": num(i.funding_rate), "premium": "0", "time": t} for t in times]

    def info_userFees(self, request: web.Request, body: dict) -> dict:
        account = self._account(body.get("user", ""))
        return {"userCrossRate": num(account.taker_fee), "userAddRate": num(account.maker_fee),
                "activeReferralDiscount": "0", "dailyUserVlm": []}

    def info_frontendOpenOrders(self, request: web.Request, body: dict) -> list[dict]:
        """Resting and trigger orders; a stop reads "Price below <px>" (sell) or "Price above <px>" (buy),
        the trigger condition the engine applies to the mark."""
        account = self._account(body.get("user", ""))
        return [self._frontend_order(o) for o in account.open_orders()]

    @staticmethod
    def _frontend_order(o: Order) -> dict:
        trigger = o.type is OrderType.STOP_MARKET
        condition = f"Price {'below' if o.side == 'sell' else 'above'} {num(o.trigger_price)}" if trigger else "N/A"
        return {"coin": o.symbol, "side": "B" if o.side == "buy" else "A",
                "limitPx": num(o.price or o.trigger_price), "sz": num(o.amount - o.filled), "oid": o.id,
                "timestamp": o.created_ms, "triggerCondition": condition, "isTrigger": trigger,
                "triggerPx": num(o.trigger_price or 0), "children": [], "isPositionTpsl": False,
                "reduceOnly": o.reduce_only, "orderType": "Stop Market" if trigger else "Limit",
                "origSz": num(o.amount), "tif": None if trigger else "Gtc",
                "cloid": o.client_id if str(o.client_id).startswith("0x") else None}

    def info_orderStatus(self, request: web.Request, body: dict) -> dict:
        """One order in any status, by ``oid`` (number) or client id (``0x`` + 32 hex)."""
        account = self._account(body.get("user", ""))
        oid = body.get("oid")
        for o in account.orders.values():
            if o.client_id == oid or o.id == oid:
                status = {OrderStatus.OPEN: "open", OrderStatus.FILLED: "filled", OrderStatus.CANCELED: "canceled",
                          OrderStatus.EXPIRED: "canceled"}[o.status]
                return {"status": "order", "order": {"order": self._frontend_order(o), "status": status,
                                                     "statusTimestamp": o.updated_ms}}
        return {"status": "unknownOid"}

    # -- /exchange -----------------------------------------------------------------------------

    async def exchange_action(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        action = body.get("action", {})
        try:
            signer = action_signer(action, int(body["nonce"]), body["signature"], body.get("vaultAddress"))
        except (KeyError, ValueError, TypeError):
            return web.json_response({"status": "err", "response": "Invalid signature"})
        account = self.exchange.accounts.get(signer)
        if account is None:
            return web.json_response({"status": "err",
                                      "response": f"User or API Wallet {signer} does not exist."})
        kind = action.get("type")
        if kind == "order":
            statuses = [self._order(account, entry) for entry in action.get("orders", [])]
        elif kind == "cancel":
            statuses = [self._cancel(account, entry) for entry in action.get("cancels", [])]
        elif kind == "setReferrer":
            return web.json_response({"status": "ok", "response": {"type": "default"}})
        else:
            return web.json_response({"status": "err", "response": f"Unsupported action type {kind}"})
        return web.json_response({"status": "ok", "response": {"type": kind, "data": {"statuses": statuses}}})

    def _asset(self, index: int) -> Instrument:
        if not 0 <= index < len(self.assets):
            raise OrderRejected(RejectReason.UNKNOWN_SYMBOL, str(index))
        return self.assets[index]

    def _order(self, account: Account, entry: dict) -> dict | str:
        try:
            i = self._asset(int(entry["a"]))
            trigger = entry.get("t", {}).get("trigger")
            limit = entry.get("t", {}).get("limit", {})
            market = bool(trigger and trigger.get("isMarket")) or limit.get("tif") == "Ioc"
            order = self.exchange.place_order(account, OrderRequest(
                symbol=i.symbol, side="buy" if entry["b"] else "sell",
                type=OrderType.STOP_MARKET if trigger else (OrderType.MARKET if market else OrderType.LIMIT),
                amount=float(entry["s"]), price=None if market else float(entry["p"]),
                trigger_price=float(trigger["triggerPx"]) if trigger else None,
                reduce_only=bool(entry.get("r")), client_id=entry.get("c"),
            ))
        except OrderRejected as exc:
            return {"error": f"{_ERRORS[exc.reason]} asset={entry.get('a')}"}
        if trigger:
            return "waitingForTrigger"
        if order.filled:
            return {"filled": {"totalSz": num(order.filled), "avgPx": num(order.average), "oid": order.id}}
        return {"resting": {"oid": order.id}}

    def _cancel(self, account: Account, entry: dict) -> dict | str:
        try:
            self.exchange.cancel_order(account, self._asset(int(entry["a"])).symbol, int(entry["o"]))
        except OrderRejected as exc:
            return {"error": _ERRORS[exc.reason]}
        return "success"


class HyperliquidDialect(Dialect):
    venue = "hyperliquid"

    def default_scenario(self) -> Scenario:
        key = "0x" + "4c" * 32
        btc = tier_schedule((150_000_000, 0.0125, 40), (1e15, 0.025, 20))
        eth = tier_schedule((100_000_000, 0.02, 25), (1e15, 0.05, 10))
        instruments = (
            Instrument("BTC", "BTC", "USDC", "USDC", inverse=False, contract_size=1.0, price_tick=1.0,
                       amount_step=0.00001, tiers=btc, open_interest=31_000.0, funding_interval_hours=1),
            Instrument("ETH", "ETH", "USDC", "USDC", inverse=False, contract_size=1.0, price_tick=0.1,
                       amount_step=0.0001, tiers=eth, open_interest=640_000.0, funding_interval_hours=1),
        )
        accounts = (AccountSpec(api_key=wallet_of(key), secret=key, balances={"USDC": 12_000.0},
                                taker_fee=0.00045, maker_fee=0.00015, positions=(
                                    PositionSpec("BTC", 2.0, 61_000.0, leverage=20),
                                    PositionSpec("ETH", -15.0, 2_950.0, leverage=10,
                                                 margin_mode=MarginMode.ISOLATED, isolated_margin=4_425.0),
                                )),)
        return Scenario(instruments=instruments, accounts=accounts, marks={"BTC": 60_000.0, "ETH": 3_000.0})

    def routes(self, player: ScenarioPlayer) -> list[web.RouteDef]:
        api = _Api(player)
        return [web.post("/info", api.info), web.post("/exchange", api.exchange_action)]

    def fault_response(self, fault: Fault) -> web.Response:
        """Hyperliquid throttles with a bare HTTP 429; server trouble is a bare status too."""
        status = 429 if fault.kind in (FaultKind.RATE_LIMIT, FaultKind.BANNED) else fault.status
        return web.Response(status=status, text="", headers={"Retry-After": str(fault.retry_after_s)})


HYPERLIQUID = HyperliquidDialect()
