"""Cascade edges: a band whose near edge is reached exactly fires, degenerate but valid bands are accepted,
and out-of-range inputs are refused with their reason.

The book here has one level per side at a binary-exact offset (bid 75, ask 125: mid 100, offset 25 %), so
every price on the path is exact and "reached" means equal, not close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from riskguard.risk.cascade import simulate_cascade


@dataclass(frozen=True)
class Band:
    side: str
    price_low: float
    price_high: float
    notional: float


BIDS, ASKS = [[75.0, 1_000.0]], [[125.0, 1_000.0]]


def run(bands, side="long", **overrides):
    kwargs = dict(side=side, mark=100.0, bids=BIDS, asks=ASKS, contract_size=1.0, inverse=False) | overrides
    return simulate_cascade(bands=bands, **kwargs)


def test_cascade_when_the_price_lands_exactly_on_the_next_near_edge_then_that_band_fires():
    # fires at 96 → 96 × 0.75 = 72 = the next band's high edge → fires at 72 → 54
    cascade = run([Band("long", 90, 96, 100), Band("long", 60, 72, 100)])
    assert [s.trigger_price for s in cascade.steps] == [96.0, 72.0]
    assert cascade.path == (72.0, 54.0)
    assert cascade.move_pct == -46.0


def test_short_cascade_when_the_price_lands_exactly_on_the_next_near_edge_then_that_band_fires():
    # fires at 104 → 104 × 1.25 = 130 = the next band's low edge → 162.5
    cascade = run([Band("short", 104, 110, 100), Band("short", 130, 140, 100)], side="short")
    assert cascade.path == (130.0, 162.5)


def test_cascade_when_the_price_stops_just_short_of_the_next_edge_then_it_stops():
    cascade = run([Band("long", 90, 96, 100), Band("long", 60, 71.99, 100)])
    assert cascade.path == (72.0,)


def test_cascade_accepts_a_one_price_band_and_a_band_with_no_notional():
    point = run([Band("long", 96, 96, 100)])
    assert point.status == "ok" and point.path == (72.0,)
    empty = run([Band("long", 90, 96, 0.0)])
    assert empty.status == "ok"
    assert [(s.trigger_price, s.price_after, s.forced_notional) for s in empty.steps] == [(96.0, 96.0, 0.0)]


def test_short_cascade_starts_at_mark_when_the_nearest_band_straddles_it():
    cascade = run([Band("short", 99, 104, 100)], side="short")
    assert cascade.steps[0].trigger_price == 100.0
    assert cascade.path == (125.0,)


def test_cascade_ignores_a_malformed_band_on_the_other_side():
    cascade = run([Band("long", 90, 96, 100), Band("short", math.nan, 97, -1.0)])
    assert cascade.status == "ok" and cascade.path == (72.0,)


def test_cascade_beyond_the_book_at_density_factor_one_half_moves_twice_as_far():
    # 75 000 visible at 25 %: density 300 000 per unit log move; 30 000 beyond → exp(−0.1), halved density exp(−0.2)
    full = run([Band("long", 90, 96, 105_000)])
    half = run([Band("long", 90, 96, 105_000)], beyond_book=0.5)
    assert full.final_price == pytest.approx(72 * math.exp(-0.1), rel=1e-12)
    assert half.final_price == pytest.approx(72 * math.exp(-0.2), rel=1e-12)
    assert full.unabsorbed_notional == 0.0


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"mark": 0.0}, "BAD_PRICE: mark must be > 0, got 0.0"),
        ({"mark": math.inf}, "BAD_PRICE: mark must be > 0, got inf"),
        ({"refill": -0.1}, "BAD_INPUT: refill must be in [0, 1] and beyond_book > 0"),
        ({"beyond_book": 0.0}, "BAD_INPUT: refill must be in [0, 1] and beyond_book > 0"),
        ({"side": "both"}, "BAD_INPUT: side must be 'long' or 'short', got 'both'"),
    ],
)
def test_cascade_when_an_input_is_out_of_range_then_unknown_with_the_exact_reason(overrides, reason):
    cascade = run([Band("long", 90, 96, 100)], **overrides)
    assert (cascade.status, cascade.reason, cascade.steps) == ("unknown", reason, ())
    # an unknown cascade still says which scenario it is and where it would have started
    assert cascade.side == overrides.get("side", "long")
    assert cascade.start_price == overrides.get("mark", 100.0)


@pytest.mark.parametrize(
    ("band", "reason"),
    [
        (Band("long", 90, math.inf, 1.0), "BAD_BAND: band 0: non-finite price or notional"),
        (Band("long", 90, 96, math.nan), "BAD_BAND: band 0: non-finite price or notional"),
        (Band("long", 0.0, 96, 1.0), "BAD_BAND: band 0: price_low 0 must be > 0 and <= price_high 96"),
        (Band("long", 97, 96, 1.0), "BAD_BAND: band 0: price_low 97 must be > 0 and <= price_high 96"),
        (Band("long", 90, 96, -1.0), "BAD_BAND: band 0: negative notional -1"),
    ],
)
def test_cascade_when_a_band_is_malformed_then_unknown_naming_it(band, reason):
    cascade = run([band])
    assert (cascade.status, cascade.reason) == ("unknown", reason)


def test_cascade_when_refill_is_at_its_bounds_then_accepted():
    assert run([Band("long", 90, 96, 100)], refill=0.0).status == "ok"
    assert run([Band("long", 90, 96, 100)], refill=1.0).status == "ok"


def test_short_cascade_walks_the_asks_not_the_bids():
    # asks hold 125 000 at +25 %; the bids are deeper (a second level at −50 %).  200 000 of forced buying takes
    # every ask and stops at +25 % with 75 000 unabsorbed: a walk of the bids would reach the −50 % offset
    cascade = run([Band("short", 104, 110, 200_000)], side="short", bids=[[75.0, 1_000.0], [50.0, 1_000.0]],
                  beyond_book=None)
    assert cascade.path == (130.0,)
    assert cascade.unabsorbed_notional == 75_000.0


def test_cascade_on_a_sub_dollar_coin_prices_like_any_other():
    # mark 0.5 (DOGE-like), bid 0.375 / ask 0.625: offsets 25 %, a band at 0.25–0.48 fires at 0.48 → 0.36
    cascade = run([Band("long", 0.25, 0.48, 10.0)], mark=0.5, bids=[[0.375, 1_000.0]], asks=[[0.625, 1_000.0]])
    assert cascade.status == "ok"
    assert cascade.path == (0.36,)


def test_cascade_when_a_band_is_smaller_than_one_unit_then_it_still_moves_the_price_to_the_level_it_hits():
    assert run([Band("long", 90, 96, 0.5)]).path == (72.0,)


def test_cascade_when_flow_outlasts_the_book_by_a_fraction_of_a_unit_then_that_fraction_is_unabsorbed():
    cascade = run([Band("long", 90, 96, 75_000.5)], beyond_book=None)
    assert cascade.path == (72.0,)
    assert cascade.unabsorbed_notional == 0.5


def test_cascade_refill_restores_that_fraction_of_the_consumed_depth_only():
    # bids 75 000 at −25 %, 50 000 at −50 %.  Band A (75 000) empties the first level; half refills (37 500).
    # Band B (100 000) then meets 37 500 + 50 000: 12 500 are left over at −50 % from 72 = 36
    bids = [[75.0, 1_000.0], [50.0, 1_000.0]]
    bands = [Band("long", 90, 96, 75_000), Band("long", 60, 72, 100_000)]
    cascade = run(bands, bids=bids, refill=0.5, beyond_book=None)
    assert cascade.path == (72.0, 36.0)
    assert [s.unabsorbed_notional for s in cascade.steps] == [0.0, 12_500.0]
