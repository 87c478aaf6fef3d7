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
