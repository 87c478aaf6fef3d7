"""Binance USDⓈ-M / COIN-M websocket streams as ccxt.pro reads them.

* listenKey REST (``POST/PUT/DELETE /fapi/v1/listenKey``, key header only) → user-data stream at
  ``/private/ws?listenKey=…`` (also ``/ws/<listenKey>``): ``ACCOUNT_UPDATE`` (balances, positions; a closed
  position is sent with ``pa: "0"``) and ``ORDER_TRADE_UPDATE``;
* market streams at ``/market/ws/<n>`` and ``/public/ws/<n>``: ``SUBSCRIBE`` to ``<symbol>@markPrice[@1s]``,
  answered with ``{"result": null, "id": …}``; events ``markPriceUpdate``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from riskguard.sim.engine import Account, Order, OrderType, SimExchange
from riskguard.sim.margin import MarginMode
from riskguard.sim.market import next_funding_ms
from riskguard.sim.streams.hub import StreamHub, Subscriber

_STATUS = {"open": "NEW", "filled": "FILLED", "canceled": "CANCELED", "expired": "EXPIRED"}
_LEG = {"both": "BOTH", "long": "LONG", "short": "SHORT"}


def _num(value: float) -> str:
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class BinanceRenderer:
    def mark(self, exchange: SimExchange, symbol: str) -> dict[str, Any]:
        mark = exchange.mark(symbol)
        now = exchange.now_ms()
        return {"e": "markPriceUpdate", "E": now, "s": symbol, "p": _num(mark), "i": _num(mark), "P": _num(mark),
                "r": "0.0001", "T": next_funding_ms(exchange.instruments[symbol], now)}

    def positions(self, exchange: SimExchange, account: Account, keys: list[tuple[str, str]]) -> dict[str, Any]:
        now = exchange.now_ms()
        rows = []
        for symbol, leg in keys:
            p = account.positions.get((symbol, leg))  # type: ignore[arg-type]
            isolated = p is not None and p.margin_mode is MarginMode.ISOLATED
            rows.append({"s": symbol, "pa": _num(p.size) if p else "0", "ep": _num(p.entry) if p else "0",
                         "bep": _num(p.entry) if p else "0", "cr": "0",
                         "up": _num(exchange.unrealized_pnl_of(p)) if p else "0",
                         "mt": "isolated" if isolated else "cross",
                         "iw": _num(p.isolated_margin) if p and isolated else "0", "ps": _LEG[leg]})
        settles = sorted({exchange.instruments[s].settle for s, _ in keys})
        balances = [{"a": a, "wb": _num(account.balances.get(a, 0.0)), "cw": _num(account.balances.get(a, 0.0)),
                     "bc": "0"} for a in settles]
        return {"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": {"m": "ORDER", "B": balances, "P": rows}}

    def order(self, exchange: SimExchange, account: Account, order: Order) -> dict[str, Any]:
        now = exchange.now_ms()
        stop = order.type is OrderType.STOP_MARKET
        kind = "STOP_MARKET" if stop else order.type.name
        status = _STATUS[order.status.value]
        execution = "TRADE" if order.filled else ("NEW" if status == "NEW" else status)
        return {"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": {
            "s": order.symbol, "c": order.client_id, "S": order.side.upper(), "o": kind, "f": "GTC",
            "q": _num(order.amount), "p": _num(order.price or 0.0), "ap": _num(order.average),
            "sp": _num(order.trigger_price or 0.0), "x": execution, "X": status, "i": order.id,
            "l": _num(order.filled), "z": _num(order.filled), "L": _num(order.average), "n": "0", "N": "USDT",
            "T": order.updated_ms, "t": order.id, "b": "0", "a": "0", "m": False, "R": order.reduce_only,
            "wt": "MARK_PRICE" if stop else "CONTRACT_PRICE", "ot": kind, "ps": _LEG[order.leg], "cp": False,
            "rp": "0", "pP": False, "si": 0, "ss": 0}}


def listen_key(api_key: str) -> str:
    """Stable per API key, as Binance returns the same key while one is alive."""
    return hashlib.sha256(f"listenKey:{api_key}".encode()).hexdigest()[:60]


def routes(hub: StreamHub, api: str) -> list[web.RouteDef]:
    exchange = hub.exchange

    def account_of(key: str | None) -> str | None:
        return next((a for a in exchange.accounts if listen_key(a) == key), None)

    async def listen_key_rest(request: web.Request) -> web.Response:
        api_key = request.headers.get("X-MBX-APIKEY")
        if not api_key or api_key not in exchange.accounts:
            return web.json_response({"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
                                     status=401)
        return web.json_response({"listenKey": listen_key(api_key)} if request.method != "DELETE" else {})

    async def private(request: web.Request) -> web.StreamResponse:
        api_key = account_of(request.query.get("listenKey") or request.match_info.get("key"))
        if api_key is None:
            return web.json_response({"code": -1125, "msg": "This listenKey does not exist."}, status=400)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        return await hub.serve(Subscriber(ws, "private", api_key), lambda _s, _m: None)

    def on_public(sub: Subscriber, message: Any) -> dict[str, Any] | None:
        if not isinstance(message, dict) or message.get("method") not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return None
        for stream in message.get("params") or []:
            symbol = str(stream).split("@")[0].upper()
            if symbol in exchange.instruments:
                (sub.symbols.add if message["method"] == "SUBSCRIBE" else sub.symbols.discard)(symbol)
        return {"result": None, "id": message.get("id")}

    async def public(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        return await hub.serve(Subscriber(ws, "public"), on_public)

    return [
        web.post(f"/{api}/v1/listenKey", listen_key_rest),
        web.put(f"/{api}/v1/listenKey", listen_key_rest),
        web.delete(f"/{api}/v1/listenKey", listen_key_rest),
        web.get("/private/ws", private),
        web.get("/ws/{key}", private),
        web.get("/market/ws/{stream}", public),
        web.get("/public/ws/{stream}", public),
        web.get("/market/ws", public),
        web.get("/public/ws", public),
    ]


def ws_urls(ws_base: str) -> dict[str, Any]:
    return {"api": {"ws": {"linear": f"{ws_base}/ws", "inverse": f"{ws_base}/ws", "future": f"{ws_base}/ws",
                           "delivery": f"{ws_base}/ws"}}}
