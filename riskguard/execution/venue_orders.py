"""One plan order as the ccxt call each venue needs: its reduce-only, hedge-leg, stop and client-id parameters.

Pure: no ccxt import, no I/O.  The facts (and their sources) are in the execution notes; in short:

* reduce-only: Binance and OKX refuse the ``reduceOnly`` flag in hedge mode, where the leg is named instead
  (``positionSide`` LONG/SHORT, ``posSide`` long/short) and closing a leg is reduce-only by construction.
  Bybit names the leg (``positionIdx`` 1/2) and keeps ``reduceOnly``.  The leg is always named explicitly:
  ccxt's ``hedged`` shortcut derives it from ``reduceOnly`` and maps a stop sent without it to the wrong leg.
* stops trigger on the **mark** price: Binance ``workingType=MARK_PRICE`` (ccxt routes ``triggerPrice``
  stop-markets to the algo service, ``clientAlgoId``), Bybit ``triggerBy=MarkPrice`` with an explicit
  ``triggerDirection``, OKX ``slTriggerPxType=mark`` on a conditional algo order with ``algoClOrdId``,
  Hyperliquid on mark by design.
* Hyperliquid has no market order: ccxt sends an IOC limit at ``price × (1 ± slippage)``, so a market close
  carries the mark as its reference price.
* OKX: ccxt defaults ``tdMode`` to cross; the position's margin mode is passed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from riskguard.rules.plan import IntendedOrder, OrderKind

BINANCE = ("binanceusdm", "binancecoinm")
HYPERLIQUID_SLIPPAGE = "0.05"
"""ccxt's default, written out so the bound a market close accepts is visible in the audit store."""


@dataclass(frozen=True, slots=True)
class OrderCall:
    """The arguments of one ``create_order``; ``stop`` says where the venue keeps it (algo/conditional books)."""

    symbol: str
    type: str
    side: str
    amount: float
    price: float | None
    params: dict[str, Any] = field(default_factory=dict)
    stop: bool = False

    @property
    def reduce_only(self) -> bool:
        """Reduce-only as the venue sees it: the flag, or a hedge leg that this side can only close."""
        if self.params.get("reduceOnly") is True:
            return True
        leg = hedge_leg(self.params)
        return leg is not None and leg == ("long" if self.side == "sell" else "short")

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "type": self.type, "side": self.side, "amount": self.amount,
                "price": self.price, "params": self.params, "stop": self.stop}


def hedge_leg(params: dict[str, Any]) -> str | None:
    """The hedge-mode leg the parameters name, None in one-way mode."""
    if (side := params.get("positionSide")) in ("LONG", "SHORT"):
        return str(side).lower()
    if (side := params.get("posSide")) in ("long", "short"):
        return str(side)
    return {1: "long", 2: "short"}.get(params.get("positionIdx", 0))


def client_order_id(venue: str, plan_hash: str, index: int, attempt: int = 0) -> str:
    """A 128-bit id from the plan's hash and the order's index, in each venue's id rules.

    32 lowercase hex characters with an ``rg`` prefix cut to fit OKX's 32 alphanumerics (and Binance's and
    Bybit's 36); Hyperliquid wants ``0x`` + 32 hex (16 bytes).  The same plan always yields the same ids.
    ``attempt`` > 0 names the follow-up order for the unfilled rest of a partial fill.
    """
    seed = f"{plan_hash}:{index}" + (f":{attempt}" if attempt else "")
    digest = hashlib.sha256(seed.encode()).hexdigest()[:32]
    return f"0x{digest}" if venue == "hyperliquid" else f"rg{digest[:30]}"


def order_call(venue: str, order: IntendedOrder, amount: float, client_id: str, *, margin_mode: str = "cross",
               reference_price: float | None = None) -> OrderCall:
    """The ccxt call for ``order`` with its amount already capped and rounded by the caller.

    :param reference_price: the mark, for Hyperliquid's market-order slippage bound.
    """
    if order.kind not in (OrderKind.MARKET, OrderKind.LIMIT, OrderKind.STOP_MARKET):
        raise ValueError(f"{order.kind} is not an order")
    stop = order.kind is OrderKind.STOP_MARKET
    kind = "limit" if order.kind is OrderKind.LIMIT else "market"
    price = order.price if order.kind is OrderKind.LIMIT else None
    params: dict[str, Any] = {}
    leg = order.position_side if order.position_side in ("long", "short") else None
    if venue in BINANCE:
        params["clientOrderId"] = client_id
        if leg:
            params["positionSide"] = leg.upper()
        else:
            params["reduceOnly"] = True
        if stop:
            params |= {"triggerPrice": order.trigger_price, "workingType": "MARK_PRICE"}
    elif venue == "bybit":
        params |= {"clientOrderId": client_id, "reduceOnly": True}
        if leg:
            params["positionIdx"] = 1 if leg == "long" else 2
        if stop:
            direction = "ascending" if order.side == "buy" else "descending"
            params |= {"triggerPrice": order.trigger_price, "triggerDirection": direction, "triggerBy": "MarkPrice"}
    elif venue == "okx":
        params["marginMode"] = margin_mode
        if leg:
            params["posSide"] = leg
        else:
            params["reduceOnly"] = True
        if stop:
            params |= {"stopLossPrice": order.trigger_price, "slTriggerPxType": "mark", "algoClOrdId": client_id}
        else:
            params["clientOrderId"] = client_id
    elif venue == "hyperliquid":
        params |= {"clientOrderId": client_id, "reduceOnly": True}
        if stop:
            params["triggerPrice"] = order.trigger_price
            price = order.trigger_price
        elif kind == "market":
            if reference_price is None:
                raise ValueError(f"{order.symbol}: a Hyperliquid market order needs the mark as reference price")
            params["slippage"] = HYPERLIQUID_SLIPPAGE
            price = reference_price
    else:
        params |= {"clientOrderId": client_id, "reduceOnly": True}
        if stop:
            params["stopLossPrice"] = order.trigger_price
    return OrderCall(order.symbol, kind, order.side, amount, price, params, stop)


def lookup_params(venue: str, client_id: str, stop: bool) -> dict[str, Any]:
    """``fetch_order(None, symbol, params)`` parameters that find an order by its client id, stops included."""
    params: dict[str, Any] = {"clientOrderId": client_id}
    if stop:
        params["trigger"] = True
    if venue == "bybit":
        params["acknowledged"] = True
    return params


def open_order_params(venue: str) -> tuple[dict[str, Any], ...]:
    """The ``fetch_open_orders`` queries that list every open order of a symbol, plain and conditional."""
    if venue in BINANCE:
        return ({}, {"trigger": True})
    if venue == "okx":
        return ({}, {"trigger": True, "ordType": "conditional"})
    return ({},)
