"""``staggered_stops`` at its edges: one level, equal grading, partial cover, a level at the mark, the venue's
minimum, the tolerance that keeps an existing ladder, and every input whose absence means no ladder.

The position is the one of tests/strategies/test_worked_cases.py: long 1 BTC at 50 000, wallet 10 000, one 0.4%
tier: LP 40 000/0.996; a flat book whose best bid is 5 bp under mark, so the last level sits at
LP·1.005/0.999 (slippage ×2 = 0.1%, gap 0.5%), levels rounded up to the 0.1 tick (toward the mark).
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from plan_factory import account, flat_book, market, position, venue_of

from riskguard.model import Order, OrderBook, OrderSide
from riskguard.risk.bands import Band
from riskguard.rules.plan import OrderKind
from riskguard.rules.strategy import MarketSignals, OrderLimits, StrategyContext, make_plan
from strategies.staggered_stops import StaggeredStops, _ahead_of_bands, _round_toward_mark

BTC = market("BTC/USDT:USDT", 0.004)
VENUE = venue_of(BTC)
LP = 40_000 / 0.996
LAST = LP * 1.005 / 0.999


def _up(price: float) -> float:
    return math.ceil(price * 10 - 1e-9) / 10


def _trigger(fraction: float) -> float:
    return _up(50_000 + (LAST - 50_000) * fraction)


def _plan(params=None, *, open_orders=(), book=None, wallet=10_000.0, limits=None, signals=True):
    acct = account(position(BTC.symbol, 1.0, 50_000), open_orders=open_orders, wallet=wallet)
    sig = {BTC.symbol: MarketSignals(book=book or flat_book(50_000))} if signals else {}
    ctx = StrategyContext.build(acct, VENUE, signals=sig, limits=limits or {})
    return make_plan(ctx, [StaggeredStops(params or {})])


def _ladder(plan):
    return [(o.trigger_price, o.amount) for o in plan.orders if o.kind is OrderKind.STOP_MARKET]


def test_one_level_then_the_whole_cover_at_the_last_trigger():
    plan = _plan({"levels": 1})
    assert _ladder(plan) == [(pytest.approx(_trigger(1.0), abs=1e-9), 1.0)]
    assert plan.reason_codes == ("PLAN_PLACES_STOPS",) and plan.orders[0].side == "sell"


def test_equal_grading_then_equal_steps_and_the_last_takes_the_rest():
    # 1/3 floored to 0.001 is 0.333 twice; the last level closes 1 − 0.666 = 0.334.
    plan = _plan({"grading": "equal"})
    assert [a for _, a in _ladder(plan)] == [0.333, 0.333, 0.334]


def test_cover_half_then_the_ladder_closes_half_the_position():
    # 0.5 by weights 1:2:3: 0.083, 0.166, and 0.5 − 0.249 = 0.251.
    plan = _plan({"cover": 0.5})
    assert [a for _, a in _ladder(plan)] == [0.083, 0.166, 0.251]
    assert [t for t, _ in _ladder(plan)] == pytest.approx([_trigger(f) for f in (0.5, 0.75, 1.0)], abs=1e-9)


def test_first_level_at_the_mark_then_merged_into_the_next_one():
    # first_fraction 0 puts level 1 on the mark, where a stop would fire at once: its 0.166 joins level 2.
    plan = _plan({"first_fraction": 0.0})
    assert _ladder(plan) == [(pytest.approx(_trigger(0.5)), 0.499), (pytest.approx(_trigger(1.0)), 0.501)]


def test_levels_under_the_minimum_order_then_merged_outward_and_the_whole_under_it_then_no_ladder():
    # Minimum 0.3 contracts: level 1 (0.166) joins level 2 → 0.499, level 3 keeps 0.501.
    plan = _plan(limits={BTC.symbol: OrderLimits(0.001, 0.3)})
    assert [a for _, a in _ladder(plan)] == [0.499, 0.501]
    plan = _plan(limits={BTC.symbol: OrderLimits(0.001, 0.6)})  # 0.499 still under: all in the last level
    assert _ladder(plan) == [(pytest.approx(_trigger(1.0)), 1.0)]
    plan = _plan(limits={BTC.symbol: OrderLimits(0.001, 1.001)})
    assert plan.orders == () and plan.reason_codes == ("PLAN_TARGET_UNREACHABLE",)
    assert plan.notes == ("long BTC/USDT:USDT: 1 contracts is below the venue's minimum order; no ladder",)


def test_liquidation_too_close_for_a_stop_to_fill_then_unreachable_and_no_ladder():
    # Wallet 300: LP 49 700/0.996 = 49 899.6; the last level would be LP·1.005/0.999 = 50 199.3, past the mark.
    plan = _plan(wallet=300.0)
    assert plan.orders == () and plan.reason_codes == ("PLAN_TARGET_UNREACHABLE",)
    assert plan.notes[0].startswith("long BTC/USDT:USDT: liquidation at 49899.6 is too close to mark 50000")


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [({"open_orders": None}, "open orders unknown (a new ladder could double existing stops)"),
     ({"signals": False}, "no order book to price the stops' fill"),
     ({"book": OrderBook(((49_990.0, 0.5),), ((50_010.0, 0.5),))}, "the book cannot price the ladder's fill")],
)
def test_input_missing_then_no_ladder_and_says_which(kwargs, why):
    plan = _plan(**kwargs)
    assert plan.orders == () and plan.reason_codes == ("PLAN_INPUT_MISSING",)
    assert plan.notes[0].startswith("long BTC/USDT:USDT: ") and why in plan.notes[0]
    assert plan.notes[0].endswith("; no ladder")


def _existing(shift: float = 0.0, grow: float = 0.0, levels=(0.5, 0.75, 1.0), amounts=(0.166, 0.333, 0.501)):
    return tuple(Order(f"s{i}", BTC.symbol, OrderSide.SELL, "STOP_MARKET", a + grow, _trigger(f) + shift,
                       reduce_only=True) for i, (f, a) in enumerate(zip(levels, amounts, strict=True)))


def test_existing_ladder_identical_with_zero_tolerance_then_kept():
    plan = _plan({"tolerance_pct": 0}, open_orders=_existing())
    assert plan.orders == () and plan.reason_codes == ("PLAN_STOPS_UNCHANGED",)
    assert plan.notes == ("long BTC/USDT:USDT: 3 existing stops match the ladder; kept",)
    # One tick off with zero tolerance: cancelled and placed again.
    plan = _plan({"tolerance_pct": 0}, open_orders=_existing(shift=-0.1))
    assert [o.kind for o in plan.orders] == [OrderKind.CANCEL] * 3 + [OrderKind.STOP_MARKET] * 3


def test_existing_triggers_one_tick_inside_or_outside_the_tolerance():
    # 0.25% of 50 000 = 125: 124.9 away is kept, 125.1 away is replaced.
    assert _plan(open_orders=_existing(shift=124.9)).reason_codes == ("PLAN_STOPS_UNCHANGED",)
    assert _plan(open_orders=_existing(shift=125.1)).reason_codes == ("PLAN_PLACES_STOPS",)


def test_existing_sizes_within_five_percent_kept_beyond_replaced():
    # 5% of the smallest level (0.166) is 0.0083: 0.008 more is kept, 0.009 more is replaced.
    assert _plan(open_orders=_existing(grow=0.008)).reason_codes == ("PLAN_STOPS_UNCHANGED",)
    assert _plan(open_orders=_existing(grow=0.009)).reason_codes == ("PLAN_PLACES_STOPS",)


def test_existing_ladder_with_another_level_count_then_replaced_and_each_cancel_says_what_it_held():
    old = _existing(levels=(0.5, 1.0), amounts=(0.4, 0.6))
    plan = _plan(open_orders=old)
    cancels = [o for o in plan.orders if o.kind is OrderKind.CANCEL]
    assert [(o.order_id, o.amount, o.side, o.position_contracts) for o in cancels] == [
        ("s0", 0.4, "sell", 1.0), ("s1", 0.6, "sell", 1.0)]
    assert len(_ladder(plan)) == 3


def test_existing_stop_closing_the_whole_position_then_its_cancel_holds_the_position():
    whole = (Order("all", BTC.symbol, OrderSide.SELL, "STOP_MARKET", None, 45_000.0, reduce_only=True),)
    plan = _plan(open_orders=whole)
    assert [(o.kind, o.order_id, o.amount) for o in plan.orders[:1]] == [(OrderKind.CANCEL, "all", 1.0)]


def test_round_toward_mark_on_the_tick_grid():
    assert _round_toward_mark(45_000.01, 1, 0.1) == 45_000.1  # long: up, toward the mark above
    assert _round_toward_mark(45_000.09, -1, 0.1) == 45_000.0  # short: down, toward the mark below
    assert _round_toward_mark(45_000.1, 1, 0.1) == 45_000.1  # on the grid (binary noise): unchanged
    assert _round_toward_mark(45_000.1, -1, 0.1) == 45_000.1
    assert _round_toward_mark(7.3, 1, 0.25) == 7.5  # a tick that is not 1/n: k·tick


# -- moving a level out of a crowded band -------------------------------------------------------------------

def _band(side, low, high):
    return Band(side, low, high, 1e6, 5.0, (low + high) / 2)


def test_level_on_a_long_band_edge_then_moved_above_it_by_the_clearance():
    # Long: a band at 44 000–45 000 holds the trigger at its very edges; 0.1% clearance puts it at 45 045.
    bands = (_band("long", 44_000, 45_000),)
    for trigger in (44_000.0, 44_500.0, 45_000.0):
        assert _ahead_of_bands(trigger, 1, bands, 0.001) == pytest.approx(45_045.0, rel=1e-12)
    assert _ahead_of_bands(math.nextafter(44_000.0, 0), 1, bands, 0.001) == math.nextafter(44_000.0, 0)  # outside
    assert _ahead_of_bands(44_500.0, 1, (_band("short", 44_000, 45_000),), 0.001) == 44_500.0  # other side's band


def test_level_in_a_short_band_then_moved_below_it():
    bands = (_band("short", 55_000, 56_000),)
    assert _ahead_of_bands(55_500.0, -1, bands, 0.001) == pytest.approx(54_945.0, rel=1e-12)
    assert _ahead_of_bands(55_500.0, -1, (_band("long", 55_000, 56_000),), 0.001) == 55_500.0


def test_level_moved_with_a_clearance_too_small_to_show_then_still_strictly_outside():
    assert _ahead_of_bands(45_000.0, 1, (_band("long", 44_000, 45_000),), 1e-20) == math.nextafter(45_000.0, math.inf)
    assert _ahead_of_bands(55_000.0, -1, (_band("short", 55_000, 56_000),), 1e-20) == math.nextafter(55_000.0, 0)


def test_level_in_two_bands_of_its_side_then_out_of_both_and_not_into_a_third_beyond():
    # Long bands 44 000–45 000 and 44 900–46 000 (nested order given farthest first or not): out above 46 000.
    # A band above the landing point (47 000–48 000) is never entered.
    bands = (_band("long", 44_900, 46_000), _band("long", 47_000, 48_000), _band("long", 44_000, 45_000))
    assert _ahead_of_bands(44_500.0, 1, bands, 0.001) == pytest.approx(46_046.0, rel=1e-12)
    shorts = (_band("short", 54_000, 55_100), _band("short", 52_000, 53_000), _band("short", 55_000, 56_000))
    assert _ahead_of_bands(55_500.0, -1, shorts, 0.001) == pytest.approx(53_946.0, rel=1e-12)


def _one_level(m, contracts: float, existing_amount: float):
    # One level holding the whole position at the last trigger; an existing stop there of another size.
    acct = account(position(m.symbol, contracts, 50_000), open_orders=())
    ctx = StrategyContext.build(acct, venue_of(m), signals={m.symbol: MarketSignals(book=flat_book(50_000))})
    (stop,) = make_plan(ctx, [StaggeredStops({"levels": 1})]).orders
    existing = (Order("s0", m.symbol, OrderSide.SELL, "STOP_MARKET", existing_amount, stop.trigger_price,
                      reduce_only=True),)
    ctx = StrategyContext.build(replace(acct, open_orders=existing), venue_of(m),
                                signals={m.symbol: MarketSignals(book=flat_book(50_000))})
    return make_plan(ctx, [StaggeredStops({"levels": 1})])


def test_existing_stop_one_whole_step_off_then_kept_two_steps_then_replaced():
    # Whole contracts: 4 held, one level of 4.  A stop of 5 is one venue step off (more than 5%): kept.
    whole = market("ONE/USDT:USDT", 0.004, step=1.0)
    assert _one_level(whole, 4, 5.0).reason_codes == ("PLAN_STOPS_UNCHANGED",)
    assert _one_level(whole, 4, 6.0).reason_codes == ("PLAN_PLACES_STOPS",)


def test_existing_stop_without_an_amount_step_then_only_five_percent_is_tolerated():
    free = market("FREE/USDT:USDT", 0.004, step=None)
    assert _one_level(free, 1.0, 1.04).reason_codes == ("PLAN_STOPS_UNCHANGED",)
    assert _one_level(free, 1.0, 0.5).reason_codes == ("PLAN_PLACES_STOPS",)


def test_last_level_under_the_minimum_notional_then_merged_into_the_level_before():
    # Equal halves: 0.5 at ~45 200 is 22 600 of notional, 0.5 at the last trigger (~40 400) only 20 200: with a
    # 21 000 minimum the last level is refused and its half joins level 1, which then closes the whole cover.
    plan = _plan({"levels": 2, "grading": "equal"}, limits={BTC.symbol: OrderLimits(0.001, 0.001, 21_000.0)})
    assert _ladder(plan) == [(pytest.approx(_trigger(0.5), abs=1e-9), 1.0)]
    assert plan.reason_codes == ("PLAN_PLACES_STOPS",)
