"""Each venue's parameters for reduce-only closes and mark-price stops, and client ids within each venue's rules."""

from __future__ import annotations

import re

import pytest
from exec_support import order

from riskguard.execution.guard import LivePosition, refusal
from riskguard.execution.venue_orders import client_order_id, lookup_params, order_call
from riskguard.rules.plan import OrderKind

S = "BTC/USDT:USDT"
ID_RULES = {
    "binanceusdm": r"^[\.A-Z\:/a-z0-9_-]{1,36}$",
    "binancecoinm": r"^[\.A-Z\:/a-z0-9_-]{1,36}$",
    "bybit": r"^[A-Za-z0-9_-]{1,36}$",
    "okx": r"^[A-Za-z0-9]{1,32}$",
    "hyperliquid": r"^0x[0-9a-f]{32}$",
}


@pytest.mark.parametrize("venue", sorted(ID_RULES))
def test_client_ids_fit_the_venue_and_are_stable(venue: str) -> None:
    ids = {client_order_id(venue, "a" * 64, i, attempt) for i in range(50) for attempt in range(3)}
    assert len(ids) == 150 and all(re.match(ID_RULES[venue], i) for i in ids)
    assert client_order_id(venue, "a" * 64, 3) == client_order_id(venue, "a" * 64, 3)
    assert client_order_id(venue, "a" * 64, 3) != client_order_id(venue, "b" * 64, 3)


CASES = [
    # venue, position_side, kind, expected params
    ("binanceusdm", "both", OrderKind.MARKET, {"clientOrderId": "X", "reduceOnly": True}),
    ("binanceusdm", "long", OrderKind.MARKET, {"clientOrderId": "X", "positionSide": "LONG"}),
    ("binancecoinm", "both", OrderKind.STOP_MARKET,
     {"clientOrderId": "X", "reduceOnly": True, "triggerPrice": 50_000.0, "workingType": "MARK_PRICE"}),
    ("binanceusdm", "long", OrderKind.STOP_MARKET,
     {"clientOrderId": "X", "positionSide": "LONG", "triggerPrice": 50_000.0, "workingType": "MARK_PRICE"}),
    ("bybit", "both", OrderKind.MARKET, {"clientOrderId": "X", "reduceOnly": True}),
    ("bybit", "long", OrderKind.STOP_MARKET,
     {"clientOrderId": "X", "reduceOnly": True, "positionIdx": 1, "triggerPrice": 50_000.0,
      "triggerDirection": "descending", "triggerBy": "MarkPrice"}),
    ("okx", "both", OrderKind.MARKET, {"clientOrderId": "X", "reduceOnly": True, "marginMode": "isolated"}),
    ("okx", "long", OrderKind.STOP_MARKET,
     {"marginMode": "isolated", "posSide": "long", "stopLossPrice": 50_000.0, "slTriggerPxType": "mark",
      "algoClOrdId": "X"}),
    ("hyperliquid", "both", OrderKind.MARKET,
     {"clientOrderId": "X", "reduceOnly": True, "slippage": "0.05"}),
    ("hyperliquid", "both", OrderKind.STOP_MARKET, {"clientOrderId": "X", "reduceOnly": True,
                                                    "triggerPrice": 50_000.0}),
]


@pytest.mark.parametrize(("venue", "leg", "kind", "params"), CASES)
def test_parameters_per_venue(venue: str, leg: str, kind: OrderKind, params: dict) -> None:
    planned = order(S, "sell", 0.5, kind, contracts=1, position_side=leg, trigger=50_000.0)
    call = order_call(venue, planned, 0.5, "X", margin_mode="isolated", reference_price=60_000.0)
    assert call.params == params
    assert call.reduce_only and call.stop is (kind is OrderKind.STOP_MARKET)
    expected_price = {("hyperliquid", OrderKind.MARKET): 60_000.0, ("hyperliquid", OrderKind.STOP_MARKET): 50_000.0}
    assert call.price == expected_price.get((venue, kind))
    assert refusal(call, LivePosition(S, "long", leg, 1.0)) is None
    assert refusal(call, LivePosition(S, "short", leg, 1.0)) == f"{S}: a sell does not reduce a short position"


def test_a_buy_stop_protects_a_short_and_triggers_rising_on_bybit() -> None:
    call = order_call("bybit", order(S, "buy", 1, OrderKind.STOP_MARKET, trigger=70_000.0), 1, "X")
    assert call.params["triggerDirection"] == "ascending"


def test_hyperliquid_market_close_needs_the_mark() -> None:
    with pytest.raises(ValueError, match="needs the mark as reference price"):
        order_call("hyperliquid", order(S, "sell", 1), 1, "0x" + "0" * 32)


def test_lookup_parameters() -> None:
    assert lookup_params("binanceusdm", "X", True) == {"clientOrderId": "X", "trigger": True}
    assert lookup_params("bybit", "X", False) == {"orderLinkId": "X", "acknowledged": True}
    assert lookup_params("okx", "X", True) == {"clientOrderId": "X", "trigger": True}


def test_guard_refusals_name_what_is_wrong() -> None:
    call = order_call("binanceusdm", order(S, "sell", 2), 2, "X")
    assert refusal(call, None) == f"{S}: no open position to reduce"
    assert refusal(call, LivePosition(S, "long", "both", 1.5)) == (
        f"{S}: amount 2 exceeds the position's 1.5 contracts")
    assert refusal(call, LivePosition(S, "long", "both", 3.0), reserved=1.5) == (
        f"{S}: amount 2 with 1.5 already held by resting orders exceeds the position's 3 contracts")
    assert refusal(call, LivePosition(S, "long", "long", 3.0)) == (
        f"{S}: the order names leg both, the position is on long")
    hedge = order_call("binanceusdm", order(S, "sell", 1, position_side="short"), 1, "X")
    assert refusal(hedge, LivePosition(S, "long", "long", 3.0)) == f"{S}: not reduce-only"
