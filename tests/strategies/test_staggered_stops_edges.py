"""``staggered_stops`` where prices are small or coarse: a coin priced under one unit (every level within a unit of
the mark), a tick that is not 1/n, and two levels a band moves onto the same trigger.

Binance USDⓈ-M math, one 0.4% tier, wallet as given, flat books whose best level is 5 bp from mark (slippage ×2 =
0.1%, gap 0.5%: the last level at LP·1.005/0.999), levels at 1/2, 3/4 and all of the way, sized 1:2:3.
"""

from __future__ import annotations

import pytest
from plan_factory import account, flat_book, market, position, venue_of

from riskguard.risk.bands import Band
from riskguard.rules.plan import OrderKind
from riskguard.rules.strategy import MarketSignals, StrategyContext, make_plan
from strategies.staggered_stops import StaggeredStops, _round_toward_mark


def _ladder(plan):
    return [(o.trigger_price, o.amount) for o in plan.orders if o.kind is OrderKind.STOP_MARKET]


def test_a_coin_under_one_unit_then_every_level_kept_though_each_is_within_a_unit_of_mark():
    # Long 10 000 DOGE at 0.2, wallet 400: 400 + 10 000·(P − 0.2) = 0.004·10 000·P → LP = 1 600/9 960 = 0.160643;
    # last level 0.160643·1.005/0.999 = 0.161607.  Levels at 0.180803, 0.171205, 0.161607, rounded up to the
    # 0.00001 tick; whole coins: 10 000/6 → 1 666, 3 333, and the rest 5 001.
    doge = market("DOGE/USDT:USDT", 0.004, step=1.0, tick=0.00001)
    acct = account(position(doge.symbol, 10_000, 0.2), open_orders=(), wallet=400.0)
    ctx = StrategyContext.build(acct, venue_of(doge),
                                signals={doge.symbol: MarketSignals(book=flat_book(0.2, amount=20_000))})
    plan = make_plan(ctx, [StaggeredStops()])
    assert _ladder(plan) == [(pytest.approx(0.18081, abs=1e-12), 1_666.0), (pytest.approx(0.17121, abs=1e-12), 3_333.0),
                             (pytest.approx(0.16161, abs=1e-12), 5_001.0)]


def test_two_levels_moved_onto_one_trigger_by_a_band_then_one_stop_for_the_whole():
    # Long 1 BTC at 50 000, wallet 10 000: levels at 45 200.8 and 40 401.7.  A long band at 40 000–46 000 holds
    # both; each moves 0.1% above it, to 46 046: the last level is then a duplicate of the first and joins it.
    btc = market("BTC/USDT:USDT", 0.004)
    band = Band("long", 40_000.0, 46_000.0, 1e6, 5.0, 43_000.0)
    acct = account(position(btc.symbol, 1.0, 50_000), open_orders=())
    ctx = StrategyContext.build(acct, venue_of(btc),
                                signals={btc.symbol: MarketSignals(book=flat_book(50_000), bands=(band,))})
    plan = make_plan(ctx, [StaggeredStops({"levels": 2})])
    assert _ladder(plan) == [(pytest.approx(46_046.0, rel=1e-12), 1.0)]


@pytest.mark.parametrize(
    ("price", "side", "tick", "rounded"),
    [(100.1, 1, 2.5, 102.5), (100.1, -1, 2.5, 100.0), (45_003.0, 1, 5.0, 45_005.0), (45_003.0, -1, 5.0, 45_000.0),
     (102.5, 1, 2.5, 102.5)],
)
def test_round_toward_mark_on_a_tick_that_is_not_one_nth(price, side, tick, rounded):
    # 2.5 and 5 are not 1/n of a unit: the grid is k·tick (up for a long's stop, down for a short's).
    assert _round_toward_mark(price, side, tick) == rounded
