import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from riskguard.model.market import MarginTier
from riskguard.risk.solver import solve_liquidation
from riskguard.risk.stress import DEFAULT_SHOCKS, StressAccount, stress
from riskguard.risk.tiers import TierTable

FLAT_04 = TierTable.flat(0.004)
# Binance BTCUSDT-style brackets: cum_n = cum_{n-1} + floor_n·(mmr_n − mmr_{n-1})
BRACKETS = TierTable.from_tiers(
    [
        [
            MarginTier(0, 50_000, 0.004, 0),
            MarginTier(50_000, 250_000, 0.005, 50),
            MarginTier(250_000, math.inf, 0.01, 1_300),
        ]
    ]
)


def isolated_long(margin=1000.0, qty=1.0, entry=10_000.0, tiers=FLAT_04):
    return StressAccount.build(
        inverse=[False], side=[1], qty=[qty], entry=[entry], mark=[entry], cross=[False],
        isolated_margin=[margin], cross_wallet=0.0, tiers=tiers, table=[0],
    )


def test_stress_on_textbook_isolated_long_survives_9pct_and_liquidates_at_10pct():
    # long 1 BTC @ 10 000, margin 1 000, mmr 0.4 %, cum 0 → LP = (1000 − 10000)/(0.004 − 1) = 9 036.1446
    account = isolated_long()
    result = stress(account, [-0.09, -0.10])
    assert result.status == "ok"
    assert result.price[:, 0].tolist() == pytest.approx([9_100.0, 9_000.0])
    assert result.equity[:, 0].tolist() == pytest.approx([100.0, 0.0])  # 1 000 − 900, 1 000 − 1 000
    assert result.maintenance[:, 0].tolist() == pytest.approx([36.4, 36.0])  # 9 100·0.4 %, 9 000·0.4 %
    assert result.margin_left[:, 0].tolist() == pytest.approx([63.6, -36.0])
    assert result.liquidated[:, 0].tolist() == [False, True]
    assert result.survives.tolist() == [True, False]


def test_stress_agrees_with_solver_liquidation_price_either_side_of_it():
    account = isolated_long()
    lp = solve_liquidation(
        inverse=account.inverse, side=account.side, qty=account.qty, entry=account.entry,
        margin=account.isolated_margin, tiers=FLAT_04, table=account.table,
    ).liquidation_price[0]
    assert lp == pytest.approx(9036.144578313253, rel=1e-12)
    shock_at_lp = lp / 10_000 - 1
    result = stress(account, [shock_at_lp + 1e-9, shock_at_lp - 1e-9])
    assert result.survives.tolist() == [True, False]


def test_stress_picks_the_tier_of_the_notional_at_the_shocked_price():
    # 6 BTC @ 10 000 = 60 000 notional (tier 2); −20 % → 48 000 (tier 1)
    account = isolated_long(margin=20_000.0, qty=6.0, tiers=BRACKETS)
    result = stress(account, [0.0, -0.20])
    assert result.position_maintenance[:, 0].tolist() == pytest.approx([60_000 * 0.005 - 50, 48_000 * 0.004])
    assert result.position_maintenance[:, 0].tolist() == pytest.approx([250.0, 192.0])


def test_stress_on_isolated_short_inverse_position():
    # short 10 000 USD of BTCUSD (100 contracts × 100 USD) @ 10 000, 0.25 BTC margin, mmr 0.5 %
    account = StressAccount.build(
        inverse=[True], side=[-1], qty=[10_000.0], entry=[10_000.0], mark=[10_000.0], cross=[False],
        isolated_margin=[0.25], cross_wallet=0.0, tiers=TierTable.flat(0.005), table=[0],
    )
    result = stress(account, [0.25, 0.30])
    # +25 %: uPnL = −10 000·(1/10 000 − 1/12 500) = −0.2 BTC, MM = 10 000/12 500·0.5 % = 0.004 BTC
    assert result.unrealized_pnl[:, 0].tolist() == pytest.approx([-0.2, -10_000 * (1 / 10_000 - 1 / 13_000)])
    assert result.equity[0, 0] == pytest.approx(0.05)
    assert result.position_maintenance[0, 0] == pytest.approx(0.004)
    # +30 %: equity 0.25 − 0.230769 = 0.019231 > MM 0.003846 → still alive
    assert result.equity[1, 0] == pytest.approx(0.25 - 0.3 / 1.3)
    assert result.survives.tolist() == [True, True]
    lp = solve_liquidation(
        inverse=account.inverse, side=account.side, qty=account.qty, entry=account.entry,
        margin=account.isolated_margin, tiers=account.tiers, table=account.table,
    ).liquidation_price[0]
    assert stress(account, [lp / 10_000 - 1 + 1e-9]).survives.tolist() == [False]
    assert stress(account, [lp / 10_000 - 1 - 1e-9]).survives.tolist() == [True]


def cross_account(wallet):
    # long 1 BTC @ 10 000 and short 10 ETH @ 500, both cross on one USDT wallet
    return StressAccount.build(
        inverse=[False, False], side=[1, -1], qty=[1.0, 10.0], entry=[10_000.0, 500.0], mark=[10_000.0, 500.0],
        cross=[True, True], isolated_margin=[0.0, 0.0], cross_wallet=wallet,
        tiers=TierTable.from_tiers([[MarginTier(0, math.inf, 0.004)], [MarginTier(0, math.inf, 0.005)]]),
        table=[0, 1],
    )


def test_stress_on_cross_account_shares_equity_and_reports_account_survival():
    result = stress(cross_account(600.0), [-0.10])
    # BTC 9 000: uPnL −1 000; ETH 450: uPnL +500; pool equity 600 − 500 = 100
    assert result.unrealized_pnl[0].tolist() == pytest.approx([-1_000.0, 500.0])
    assert result.position_maintenance[0].tolist() == pytest.approx([36.0, 22.5])
    assert result.equity[0].tolist() == pytest.approx([100.0, 100.0])
    assert result.maintenance[0].tolist() == pytest.approx([58.5, 58.5])
    assert result.survives.tolist() == [True]
    # +10 %: BTC 11 000 uPnL +1 000, ETH 550 uPnL −500 → pool equity 1 100
    up = stress(cross_account(600.0), [0.10])
    assert up.equity[0].tolist() == pytest.approx([1_100.0, 1_100.0])


def test_stress_on_cross_account_liquidates_every_cross_position_together():
    result = stress(cross_account(540.0), [-0.10])
    # pool equity 40 ≤ MM 58.5
    assert result.liquidated[0].tolist() == [True, True]
    assert result.margin_left[0].tolist() == pytest.approx([-18.5, -18.5])


def test_stress_isolated_losses_do_not_touch_the_cross_pool():
    account = StressAccount.build(
        inverse=[False, False], side=[1, 1], qty=[1.0, 1.0], entry=[10_000.0, 10_000.0],
        mark=[10_000.0, 10_000.0], cross=[False, True], isolated_margin=[500.0, 0.0], cross_wallet=5_000.0,
        tiers=FLAT_04, table=[0, 0],
    )
    result = stress(account, [-0.10])
    assert result.liquidated[0].tolist() == [True, False]
    assert result.equity[0].tolist() == pytest.approx([-500.0, 4_000.0])
    assert result.survives.tolist() == [False]


def test_stress_default_shocks_run_both_directions():
    result = stress(isolated_long())
    assert result.shocks.tolist() == list(DEFAULT_SHOCKS)
    assert result.survives.tolist() == [False, False, False, True, True, True, True, True]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"mark": [math.nan]}, "BAD_INPUT: mark"),
        ({"entry": [0.0]}, "BAD_INPUT: entry"),
        ({"qty": [-1.0]}, "BAD_INPUT: qty"),
        ({"side": [0]}, "BAD_INPUT: side"),
        ({"isolated_margin": [math.nan]}, "BAD_INPUT: margin"),
        ({"cross": [True]}, "BAD_INPUT: a cross position"),
        ({"mark": [1.0, 2.0]}, "BAD_INPUT: position arrays"),
        ({"table": [1]}, "BAD_INPUT: tier table"),
    ],
)
def test_stress_when_input_is_bad_then_unknown_and_never_survives(change, code):
    fields = dict(
        inverse=[False], side=[1], qty=[1.0], entry=[10_000.0], mark=[10_000.0], cross=[False],
        isolated_margin=[1000.0], cross_wallet=0.0, tiers=FLAT_04, table=[0],
    ) | change
    result = stress(StressAccount.build(**fields), [-0.01])
    assert result.status == "unknown"
    assert result.reason.startswith(code)
    assert result.survives.tolist() == [False]
    assert np.isnan(result.equity).all()


def test_stress_of_an_account_without_positions_survives_every_shock():
    empty = StressAccount.build(
        inverse=[], side=[], qty=[], entry=[], mark=[], cross=[], isolated_margin=[], cross_wallet=100.0,
        tiers=FLAT_04, table=[],
    )
    result = stress(empty, [-0.5, 0.5])
    assert result.status == "ok"
    assert result.survives.tolist() == [True, True]
    assert stress(empty, [math.nan]).survives.tolist() == [False]  # nothing to liquidate, still unknown


def test_stress_when_shock_is_minus_100pct_or_nan_then_unknown():
    assert stress(isolated_long(), [-1.0]).reason.startswith("BAD_INPUT: shocks")
    assert stress(isolated_long(), [math.nan]).status == "unknown"


position = st.tuples(
    st.booleans(),  # inverse
    st.sampled_from([1, -1]),
    st.floats(1e-3, 1e4),  # qty
    st.floats(1.0, 1e5),  # entry
    st.floats(0.5, 2.0),  # mark / entry
    st.booleans(),  # cross
    st.floats(0.0, 1e4),  # isolated margin
)


@given(
    st.lists(position, min_size=1, max_size=6),
    st.floats(0.0, 1e5),
    st.lists(st.floats(-0.95, 3.0), min_size=1, max_size=5),
)
def test_stress_never_reports_survival_when_equity_is_below_maintenance(rows, wallet, shocks):
    inverse, side, qty, entry, ratio, cross, margin = (list(c) for c in zip(*rows, strict=True))
    account = StressAccount.build(
        inverse=inverse, side=side, qty=qty, entry=entry, mark=[e * r for e, r in zip(entry, ratio, strict=True)],
        cross=cross, isolated_margin=[0.0 if c else m for c, m in zip(cross, margin, strict=True)],
        cross_wallet=wallet, tiers=BRACKETS, table=[0] * len(rows),
    )
    result = stress(account, shocks)
    assert result.status == "ok"
    below = result.equity <= result.maintenance
    assert not (result.survives[:, None] & below).any()
    assert (result.liquidated == below).all()
    pool = np.array(cross)
    expected_pool = wallet + (result.unrealized_pnl * pool).sum(axis=1)
    if pool.any():
        assert result.equity[:, pool] == pytest.approx(np.repeat(expected_pool[:, None], pool.sum(), axis=1))


@given(st.sampled_from([1, -1]), st.booleans(), st.floats(10.0, 1e4), st.floats(0.005, 0.5), st.floats(-0.9, 2.0))
def test_stress_verdict_matches_the_solver_liquidation_price(side, inverse, entry, margin_ratio, shock):
    qty = 10.0
    margin = margin_ratio * (qty / entry if inverse else qty * entry)
    account = StressAccount.build(
        inverse=[inverse], side=[side], qty=[qty], entry=[entry], mark=[entry], cross=[False],
        isolated_margin=[margin], cross_wallet=0.0, tiers=FLAT_04, table=[0],
    )
    lp = solve_liquidation(
        inverse=account.inverse, side=account.side, qty=account.qty, entry=account.entry,
        margin=account.isolated_margin, tiers=FLAT_04, table=account.table,
    ).liquidation_price[0]
    price = entry * (1 + shock)
    if np.isnan(lp):
        beyond = False
    else:
        assume(abs(price / lp - 1) > 1e-9)  # on the boundary float rounding decides
        beyond = side * (price - lp) < 0
    assert stress(account, [shock]).liquidated[0, 0] == beyond
