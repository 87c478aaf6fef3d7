"""``add_margin`` on a hedge-mode leg: the plan's what-if books the margin to that leg, not to a one-way position."""

from __future__ import annotations

import pytest
from plan_factory import account, market, position, venue_of

from riskguard.model import PositionSide
from riskguard.rules.plan import OrderKind
from riskguard.rules.strategy import StrategyContext, make_plan
from strategies.add_margin import AddMargin


def test_margin_added_to_an_isolated_hedge_leg_moves_that_legs_liquidation_price():
    # Long leg 1 BTC at 50 000, isolated margin 5 000, MMR 0.4%: 5 000 + (P − 50 000) = 0.004·P → P = 45 180.72
    # (buffer 9.64%).  A 20% buffer puts P at 40 000: M − 10 000 = 160 → M = 10 160, so 5 160 is added.
    btc = market("BTC/USDT:USDT", 0.004)
    acct = account(position(btc.symbol, 1.0, 50_000, isolated_margin=5_000.0, leg=PositionSide.LONG), hedge=True)
    plan = make_plan(StrategyContext.build(acct, venue_of(btc)), [AddMargin({"buffer_pct": 20, "max_amount": 1e6})])
    assert [(o.kind, o.amount, o.side, o.position_side) for o in plan.orders] == [
        (OrderKind.ADD_MARGIN, 5_160.0, "sell", "long")]
    (after,) = plan.after.positions
    assert (after.position_side, after.liquidation_price) == ("long", pytest.approx(40_000.0, rel=1e-12))
