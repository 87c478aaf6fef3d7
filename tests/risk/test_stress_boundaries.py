"""Stress edges: equity exactly at maintenance liquidates, pinned tiers and rate surcharges reach the
maintenance figure, and inputs the main tests leave open are refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskguard.model.market import MarginTier
from riskguard.risk.stress import StressAccount, stress
from riskguard.risk.tiers import TierTable

FLAT_04 = TierTable.flat(0.004)
BRACKETS = TierTable.from_tiers(
    [[MarginTier(0, 50_000, 0.004, 0), MarginTier(50_000, 250_000, 0.005, 50),
      MarginTier(250_000, math.inf, 0.01, 1_300)]]
)


def _long(**change):
    fields = dict(
        inverse=[False], side=[1], qty=[1.0], entry=[10_000.0], mark=[10_000.0], cross=[False],
        isolated_margin=[1_036.0], cross_wallet=0.0, tiers=FLAT_04, table=[0],
    ) | change
    return StressAccount.build(**fields)


def test_stress_when_equity_equals_maintenance_then_liquidated():
    # −10 %: equity 1 036 − 1 000 = 36 = MM 9 000 × 0.4 %: the venues liquidate at equity ≤ MM
    result = stress(_long(), [-0.10])
    assert result.equity[0, 0] == 36.0 and result.maintenance[0, 0] == 36.0
    assert result.liquidated.tolist() == [[True]]
    assert result.survives.tolist() == [False]


def test_stress_when_tier_is_pinned_then_the_pinned_rate_applies_at_every_price():
    # 1 BTC at 10 000 is in the first bracket by notional (0.4 %); pinned to the second (index 1) it pays
    # notional × 0.5 % − 50 at every shocked price, as Bybit/OKX keep a position in its reported tier
    pinned = stress(_long(tiers=BRACKETS, fixed_tier=[1]), [0.0, -0.10])
    assert pinned.position_maintenance[:, 0].tolist() == pytest.approx([10_000 * 0.005 - 50, 9_000 * 0.005 - 50])
    by_price = stress(_long(tiers=BRACKETS, fixed_tier=[-1]), [0.0])
    assert by_price.position_maintenance[0, 0] == pytest.approx(40.0)  # 10 000 × 0.4 %


def test_stress_adds_the_rate_surcharge_to_the_maintenance():
    result = stress(_long(mmr_add=[0.0005]), [-0.10])
    assert result.position_maintenance[0, 0] == pytest.approx(9_000 * 0.0045)  # 40.5
    assert result.liquidated.tolist() == [[True]]  # equity 36 ≤ 40.5


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"table": [-1]}, "BAD_INPUT: tier table index out of range"),
        ({"cross_wallet": math.inf}, "BAD_INPUT: margin or cross wallet is not finite"),
        ({"mark": [math.inf]}, "BAD_INPUT: mark must be finite and > 0"),
        ({"qty": [0.0]}, "BAD_INPUT: qty must be finite and > 0"),
        ({"side": [2]}, "BAD_INPUT: side must be +1 or -1"),
        ({"inverse": [False, True]}, "BAD_INPUT: position arrays differ in length"),
        ({"isolated_margin": [1.0, 2.0]}, "BAD_INPUT: position arrays differ in length"),
        ({"table": [0, 0]}, "BAD_INPUT: position arrays differ in length"),
    ],
)
def test_stress_when_input_is_bad_then_unknown_with_the_exact_reason(change, code):
    result = stress(_long(**change), [-0.01])
    assert result.status == "unknown"
    assert result.reason == code
    assert result.liquidated.all() and np.isnan(result.maintenance).all()


def test_stress_when_a_shock_is_infinite_or_below_minus_100pct_then_unknown():
    assert stress(_long(), [math.inf]).reason == "BAD_INPUT: shocks must be finite and > -100%"
    assert stress(_long(), [-1.5]).reason == "BAD_INPUT: shocks must be finite and > -100%"
    assert stress(_long(), [-0.999]).status == "ok"


def test_an_unknown_stress_keeps_its_shocks_and_reports_no_number():
    result = stress(_long(side=[0]), [-0.05, 0.05])
    assert result.shocks.tolist() == [-0.05, 0.05]
    for figure in (result.price, result.unrealized_pnl, result.position_maintenance, result.equity,
                   result.maintenance):
        assert figure.shape == (2, 1) and np.isnan(figure).all()
    # the verdict is a boolean "liquidated", like a computed one, not a number that happens to be truthy
    assert result.liquidated.dtype == np.bool_ and result.liquidated.tolist() == [[True], [True]]


def test_stress_sums_the_cross_maintenance_per_shock_and_leaves_isolated_positions_out():
    # cross: long 1 BTC at 10 000 (0.4 %) and short 10 ETH at 500 (0.5 %); isolated: long 1 BTC, margin 5 000
    account = StressAccount.build(
        inverse=[False, False, False], side=[1, -1, 1], qty=[1.0, 10.0, 1.0], entry=[10_000.0, 500.0, 10_000.0],
        mark=[10_000.0, 500.0, 10_000.0], cross=[True, True, False], isolated_margin=[0.0, 0.0, 5_000.0],
        cross_wallet=600.0, tiers=TierTable.from_tiers([[MarginTier(0, math.inf, 0.004)],
                                                        [MarginTier(0, math.inf, 0.005)]]),
        table=[0, 1, 0],
    )
    result = stress(account, [-0.10, 0.10])
    # −10 %: 9 000 × 0.4 % + 4 500 × 0.5 % = 58.5; +10 %: 11 000 × 0.4 % + 5 500 × 0.5 % = 71.5
    assert result.maintenance[:, 0].tolist() == pytest.approx([58.5, 71.5])
    assert result.maintenance[:, 1].tolist() == pytest.approx([58.5, 71.5])
    # the isolated BTC long keeps its own: 36 and 44
    assert result.maintenance[:, 2].tolist() == pytest.approx([36.0, 44.0])
