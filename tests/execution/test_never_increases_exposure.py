"""Property: whatever plan the executor is fed, nothing it sends can increase exposure, flip a side or exceed
the position.

Plans here are hostile: built with ``object.__new__`` past ``IntendedOrder``'s validation (not reduce-only,
wrong side, wrong leg, amounts above the position, negative, NaN or infinite), against positions that shrink
between the plan and the send, and a venue that times out, rejects and fills in part.  A fake venue records
every order as it arrives together with the position at that moment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskguard.execution.audit_store import AuditStore
from riskguard.execution.executor import Executor
from riskguard.execution.guard import LivePosition
from riskguard.execution.venue_client import OutcomeUnknown, VenueRejected
from riskguard.execution.venue_orders import OrderCall, hedge_leg
from riskguard.rules.plan import IntendedOrder, OrderKind, Outcome, Plan

SYMBOLS = ("AAA/USDT:USDT", "BBB/USDT:USDT")
STEP = 0.001


@dataclass
class Sent:
    call: OrderCall
    position: tuple[str, float] | None
    """(side, contracts) of the leg the order names, at the moment it arrived."""
    resting: float


@dataclass
class FakeVenue:
    venue: str
    legs: dict[tuple[str, str], tuple[str, float]]
    """(symbol, position_side) → (side, contracts)."""
    faults: list[str]
    sent: list[Sent] = field(default_factory=list)
    placed: dict[str, dict[str, Any]] = field(default_factory=dict)
    resting: dict[tuple[str, str], float] = field(default_factory=dict)

    async def positions(self, symbol: str) -> list[LivePosition]:
        return [LivePosition(s, side, leg, contracts, "cross", 100.0)
                for (s, leg), (side, contracts) in self.legs.items() if s == symbol and contracts > 0]

    async def create(self, call: OrderCall) -> dict[str, Any]:
        leg = hedge_leg(call.params) or "both"
        key = (call.symbol, leg)
        self.sent.append(Sent(call, self.legs.get(key), self.resting.get(key, 0.0)))
        fault = self.faults.pop(0) if self.faults else "ok"
        if fault == "reject":
            raise VenueRejected('{"code":-2022}', "-2022")
        if fault == "unknown_not_placed":
            raise OutcomeUnknown("RequestTimeout")
        answer = self._apply(call, key, partial=fault == "partial")
        cid = call.params.get("clientOrderId") or call.params.get("algoClOrdId")
        self.placed[cid] = answer
        if fault == "unknown_placed":
            raise OutcomeUnknown("RequestTimeout")
        return answer

    def _apply(self, call: OrderCall, key: tuple[str, str], partial: bool) -> dict[str, Any]:
        side, contracts = self.legs.get(key, ("none", 0.0))
        if call.stop or call.type == "limit":
            self.resting[key] = self.resting.get(key, 0.0) + call.amount
            return {"id": str(len(self.sent)), "status": "open", "filled": 0.0, "symbol": call.symbol}
        filled = math.floor(call.amount / 2 / STEP) * STEP if partial else call.amount
        self.legs[key] = (side, max(contracts - filled, 0.0))
        status = "expired" if partial else "closed"
        return {"id": str(len(self.sent)), "status": status, "filled": filled, "symbol": call.symbol}

    async def find(self, symbol: str, client_id: str, stop: bool) -> dict[str, Any] | None:
        return self.placed.get(client_id)

    async def cancel(self, order: dict[str, Any]) -> dict[str, Any]:
        return order

    async def open_orders(self, symbol: str) -> list[dict[str, Any]]:
        return []

    def amount_to_precision(self, symbol: str, amount: float) -> float:
        return math.floor(amount / STEP + 1e-9) * STEP

    def price_to_precision(self, symbol: str, price: float) -> float:
        return round(price, 2)

    def min_amount(self, symbol: str) -> float:
        return STEP


def hostile_order(symbol: str, side: str, kind: OrderKind, amount: float, position_side: str,
                  reduce_only: bool) -> IntendedOrder:
    """An IntendedOrder whose __post_init__ never ran: anything a buggy strategy could produce."""
    order = object.__new__(IntendedOrder)
    values = {"account": "acct", "symbol": symbol, "side": side, "kind": kind, "amount": amount,
              "strategy": "hostile", "rationale": "", "position_side": position_side, "position_contracts": 1.0,
              "price": 99.0, "trigger_price": 90.0, "reason_codes": (), "order_id": "1", "reduce_only": reduce_only}
    for name, value in values.items():
        object.__setattr__(order, name, value)
    return order


amounts = st.one_of(st.floats(min_value=-5, max_value=50), st.sampled_from([math.nan, math.inf, -math.inf, 0.0]))
orders = st.builds(
    hostile_order,
    st.sampled_from(SYMBOLS),
    st.sampled_from(["buy", "sell", "hold"]),
    st.sampled_from([OrderKind.MARKET, OrderKind.LIMIT, OrderKind.STOP_MARKET]),
    amounts,
    st.sampled_from(["both", "long", "short"]),
    st.booleans(),
)
legs = st.dictionaries(
    st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(["both", "long", "short"])),
    st.tuples(st.sampled_from(["long", "short"]), st.floats(min_value=0, max_value=20)),
    max_size=4,
).map(lambda d: {k: ((k[1] if k[1] != "both" else side), c) for k, (side, c) in d.items()})
faults = st.lists(st.sampled_from(["ok", "reject", "unknown_not_placed", "unknown_placed", "partial"]), max_size=12)


@pytest.mark.parametrize("venue", ["binanceusdm", "bybit", "okx", "hyperliquid"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan_orders=st.lists(orders, min_size=1, max_size=6), positions=legs, venue_faults=faults)
async def test_no_order_sent_increases_exposure(tmp_path: Path, venue: str, plan_orders: list[IntendedOrder],
                                                positions: dict, venue_faults: list[str]) -> None:
    if venue == "hyperliquid":  # one net position per coin
        positions = {k: v for k, v in positions.items() if k[1] == "both"}
    fake = FakeVenue(venue, dict(positions), list(venue_faults))
    plan = Plan("acct", venue, ("hostile",), tuple(plan_orders), Outcome((), ()), Outcome((), ()))

    async def no_wait(_: float) -> None:
        return None

    with AuditStore(tmp_path / f"{plan.content_hash}.sqlite3") as store:
        await Executor(fake, store, sleep=no_wait).execute(plan)
    for sent in fake.sent:
        call = sent.call
        assert call.reduce_only, call
        assert sent.position is not None, f"no position on the leg {call}"
        side, contracts = sent.position
        assert side == ("long" if call.side == "sell" else "short"), (call, sent.position)
        assert call.amount > 0, call
        assert call.amount + sent.resting <= contracts + 1e-12, (call, sent)
    for _side, contracts in fake.legs.values():
        assert contracts >= 0


raw_params = st.fixed_dictionaries({}, optional={
    "reduceOnly": st.booleans(),
    "positionSide": st.sampled_from(["LONG", "SHORT", "BOTH"]),
    "posSide": st.sampled_from(["long", "short", "net"]),
    "positionIdx": st.sampled_from([0, 1, 2]),
})
calls = st.builds(OrderCall, st.sampled_from(SYMBOLS[:1]), st.sampled_from(["market", "limit"]),
                  st.sampled_from(["buy", "sell", "hold"]), amounts, st.none(), raw_params, st.booleans())
live_positions = st.one_of(st.none(), st.builds(
    LivePosition, st.sampled_from(SYMBOLS), st.sampled_from(["long", "short"]),
    st.sampled_from(["both", "long", "short"]), st.one_of(st.floats(min_value=-1, max_value=60), st.just(math.nan))))


@settings(max_examples=3000)
@given(call=calls, position=live_positions, reserved=st.floats(min_value=0, max_value=20))
def test_the_final_guard_passes_only_orders_that_reduce(call: OrderCall, position: LivePosition | None,
                                                        reserved: float) -> None:
    from riskguard.execution.guard import refusal

    if refusal(call, position, reserved) is not None:
        return
    assert position is not None and position.symbol == call.symbol
    leg = hedge_leg(call.params) or "both"
    one_way_flag = call.params.get("reduceOnly") is True
    assert one_way_flag or leg == position.side, "not reduce-only at the venue"
    assert leg == position.position_side
    assert call.side == ("sell" if position.side == "long" else "buy")
    assert call.amount > 0 and call.amount + reserved <= position.contracts
