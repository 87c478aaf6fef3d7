"""Property: whatever plan the executor is fed, nothing it sends can increase exposure, flip a side or exceed
the position.

Plans here are hostile: built with ``object.__new__`` past ``IntendedOrder``'s validation (not reduce-only,
wrong side, wrong leg, amounts above the position, negative, NaN or infinite), against positions that shrink
between the plan and the send, and a venue that times out, rejects and fills in part.  A fake venue records
every order as it arrives together with the position at that moment.
"""

from __future__ import annotations

import math
import uuid
from fractions import Fraction
from pathlib import Path

import pytest
from exec_support import FakeVenue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskguard.execution.audit_store import AuditStore
from riskguard.execution.executor import Executor
from riskguard.execution.guard import LivePosition
from riskguard.execution.venue_orders import OrderCall, hedge_leg
from riskguard.rules.plan import IntendedOrder, OrderKind, Outcome, Plan

SYMBOLS = ("AAA/USDT:USDT", "BBB/USDT:USDT")


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

    with AuditStore(tmp_path / f"{uuid.uuid4().hex}.sqlite3") as store:
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


@settings(max_examples=1500)
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
    assert call.amount > 0 and call.amount <= position.contracts - reserved
    # in exact arithmetic the order and what rests exceed the position by at most the rounding of one subtraction
    excess = Fraction(call.amount) + Fraction(reserved) - Fraction(position.contracts)
    assert excess <= Fraction(math.ulp(position.contracts))
