"""The shared hedge-leg price solved by hand: one root per tier segment, the one nearest mark chosen.

Two linear legs of one symbol, long 2 and short 1, both entered at 100, with tiers
[0, 300): mmr 1 %, cum 0 and [300, ∞): mmr 50 %, cum 147 (= 300 × 49 %), margin 50:

    f(z) = 50 + 2(z − 100) − (z − 100) − MM(z)
    z < 150        (both legs tier 1):  MM = 0.03 z            f = −50 + 0.97 z   → z = 51.546…
    150 ≤ z < 300  (long leg tier 2):   MM = z − 147 + 0.01 z  f = 97 − 0.01 z    → 9 700, outside
    z ≥ 300        (both legs tier 2):  MM = 1.5 z − 294       f = 244 − 0.5 z    → z = 488

f is continuous at the kinks (95.5 at 150, 94 at 300), so both roots are real liquidation prices and the
account hits the one nearer its mark first.
"""

from __future__ import annotations

import math

import pytest

from riskguard.model import MarginTier
from riskguard.risk.shared_price import Leg, shared_bankruptcy_price, shared_liquidation_price

TIERS = (MarginTier(0.0, 300.0, 0.01, 0.0), MarginTier(300.0, math.inf, 0.5, 147.0))
LEGS = (Leg(side=1, qty=2.0, entry=100.0, tiers=TIERS), Leg(side=-1, qty=1.0, entry=100.0, tiers=TIERS))


def test_shared_liquidation_price_when_mark_is_near_the_low_root_then_the_low_root():
    assert shared_liquidation_price(LEGS, 50.0, False, mark=100.0) == pytest.approx(50 / 0.97, rel=1e-12)


def test_shared_liquidation_price_when_mark_is_near_the_high_root_then_the_high_root():
    assert shared_liquidation_price(LEGS, 50.0, False, mark=300.0) == pytest.approx(488.0, rel=1e-12)


def test_shared_bankruptcy_price_ignores_the_tiers():
    # f = 50 + (z − 100): no maintenance term, one root
    assert shared_bankruptcy_price(LEGS, 50.0, False, mark=100.0) == pytest.approx(50.0, rel=1e-12)


def test_shared_price_adds_the_rate_surcharge_of_each_leg():
    # segment z < 150 with mmr_add 1 % on both legs: f = −50 + z − 3 z (0.01 + 0.01) = −50 + 0.94 z
    legs = tuple(Leg(leg.side, leg.qty, leg.entry, leg.tiers, mmr_add=0.01) for leg in LEGS)
    assert shared_liquidation_price(legs, 50.0, False, mark=100.0) == pytest.approx(50 / 0.94, rel=1e-12)


def test_shared_price_of_an_inverse_leg_solves_in_one_over_price():
    # long 100 USD at 100, 0.1 coin margin, mmr 1 %: 0.1 + 100 (1/100 − 1/P) = 100/P × 1 %  →  P = 101/1.1
    legs = (Leg(side=1, qty=100.0, entry=100.0, tiers=(MarginTier(0.0, math.inf, 0.01, 0.0),)),)
    assert shared_liquidation_price(legs, 0.1, True, mark=100.0) == pytest.approx(101 / 1.1, rel=1e-12)
    assert shared_bankruptcy_price(legs, 0.1, True, mark=100.0) == pytest.approx(100 / 1.1, rel=1e-12)


def test_shared_price_when_the_legs_cancel_and_carry_no_maintenance_then_none():
    # long 1 and short 1 at the same entry, no tiers' rate: equity is the margin at every price
    flat = (MarginTier(0.0, math.inf, 0.0, 0.0),)
    legs = (Leg(1, 1.0, 100.0, flat), Leg(-1, 1.0, 100.0, flat))
    assert shared_liquidation_price(legs, 10.0, False, mark=100.0) is None
    assert shared_bankruptcy_price(legs, 10.0, False, mark=100.0) is None


def test_shared_price_with_a_flat_stretch_between_two_roots():
    """Long 3 and short 1 at 100, margin 83; tiers [0, 150) 1 %, [150, 600) 50 % (cum 73.5), [600, ∞) 60 %
    (cum 133.5).  With z the price, f = 83 + 2z − 200 − MM(z):

        z < 50         f = −117 + 1.96 z      root 59.69 lies outside: not a price
        50 ≤ z < 150   f = −43.5 + 0.49 z     root 88.7755
        150 ≤ z < 200  f = 30                 both legs at 50 %: equity and maintenance move together
        200 ≤ z < 600  f = 90 − 0.3 z         root 300
        z ≥ 600        f = 150 − 0.4 z        root 375 lies outside

    The flat stretch has no root of its own, and the roots beyond it still count."""
    tiers = (MarginTier(0.0, 150.0, 0.01, 0.0), MarginTier(150.0, 600.0, 0.5, 73.5),
             MarginTier(600.0, math.inf, 0.6, 133.5))
    legs = (Leg(1, 3.0, 100.0, tiers), Leg(-1, 1.0, 100.0, tiers))
    assert shared_liquidation_price(legs, 83.0, False, mark=150.0) == pytest.approx(43.5 / 0.49, rel=1e-12)
    assert shared_liquidation_price(legs, 83.0, False, mark=200.0) == pytest.approx(300.0, rel=1e-12)
    # nearer 375 than 300, but 375 is not where f crosses zero
    assert shared_liquidation_price(legs, 83.0, False, mark=340.0) == pytest.approx(300.0, rel=1e-12)


def test_shared_price_probes_each_tier_segment_inside_it():
    # one long at 120, margin 10; tiers [0, 100) 1 %, [100, 120) 2 % (cum 1), [120, ∞) 5 % (cum 4.6).
    # Only the middle segment holds a root: 10 + z − 120 − (0.02 z − 1) = 0  ⇒  z = 109/0.98 = 111.22
    tiers = (MarginTier(0.0, 100.0, 0.01, 0.0), MarginTier(100.0, 120.0, 0.02, 1.0),
             MarginTier(120.0, math.inf, 0.05, 4.6))
    price = shared_liquidation_price((Leg(1, 1.0, 120.0, tiers),), 10.0, False, mark=120.0)
    assert price == pytest.approx(109 / 0.98, rel=1e-12)


def test_shared_price_with_tier_floors_below_one_unit():
    # the two-root example scaled down 1 000×: floors 0.3, cum 0.147, entries 0.1, margin 0.05
    tiers = (MarginTier(0.0, 0.3, 0.01, 0.0), MarginTier(0.3, math.inf, 0.5, 0.147))
    legs = (Leg(1, 2.0, 0.1, tiers), Leg(-1, 1.0, 0.1, tiers))
    assert shared_liquidation_price(legs, 0.05, False, mark=0.1) == pytest.approx(0.05 / 0.97, rel=1e-9)
    assert shared_liquidation_price(legs, 0.05, False, mark=0.3) == pytest.approx(0.488, rel=1e-9)


def test_shared_bankruptcy_price_of_a_fully_collateralized_long_is_none_not_zero():
    # margin 100 backs a long 1 at 100: equity reaches 0 only at a price of 0, which no market trades at
    legs = (Leg(1, 1.0, 100.0, (MarginTier(0.0, math.inf, 0.01, 0.0),)),)
    assert shared_bankruptcy_price(legs, 100.0, False, mark=100.0) is None
