"""``staggered_stops`` where prices are small or coarse: a coin priced under one unit (every level within a unit of
the mark), a tick that is not 1/n, and two levels a band moves onto the same trigger.

Binance USDⓈ-M math, one 0.4% tier, wallet as given, flat books whose best level is 5 bp from mark (slippage ×2 =
0.1%, gap 0.5%: the last level at LP·1.005/0.999), levels at 1/2, 3/4 and all of the way, sized 1:2:3.
"""

from __future__ import annotations

import pytest
from plan_factory import account, flat_book, market, position, venue_of

from riskguard.model import ContractKind, Order, OrderBook, OrderSide, PositionSide
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


# -- the long 1 BTC at 50 000 of tests/strategies/test_staggered_stops_boundaries.py: LP 40 000/0.996 = 40 160.64,
# -- levels at 45 201.0, 42 801.4 and 40 401.9 (10 bp of slippage: the last at LP·1.005/0.999 = 40 401.85)

BTC = market("BTC/USDT:USDT", 0.004)


def _btc_plan(params=None, *, open_orders=(), book=None, m=BTC, hedge=False, leg=PositionSide.BOTH):
    acct = account(position(m.symbol, 1.0, 50_000, leg=leg), open_orders=open_orders, hedge=hedge)
    ctx = StrategyContext.build(acct, venue_of(m), signals={m.symbol: MarketSignals(book=book or flat_book(50_000))})
    return make_plan(ctx, [StaggeredStops(params or {})])


def _stop(amount, trigger, level, leg="both"):
    return {"account": "acct", "symbol": BTC.symbol, "side": "sell", "kind": "stop_market", "amount": amount,
            "price": None, "trigger_price": trigger, "position_side": leg, "position_contracts": 1.0,
            "reduce_only": True, "strategy": "staggered_stops", "order_id": None, "reason_codes": ["PLAN_PLACES_STOPS"],
            "rationale": f"level {level}: {amount:g} contracts at mark {trigger:g} (liquidation 40160.6, last level "
                         "clear of 10.0 bp slippage + 0.5%)"}


def _cancel(order_id, amount, leg="both"):
    return {"account": "acct", "symbol": BTC.symbol, "side": "sell", "kind": "cancel", "amount": amount, "price": None,
            "trigger_price": None, "position_side": leg, "position_contracts": 1.0, "reduce_only": True,
            "strategy": "staggered_stops", "order_id": order_id, "reason_codes": ["PLAN_PLACES_STOPS"],
            "rationale": "replaced by the new ladder (trigger 45000)"}


def test_a_replaced_ladder_then_each_cancel_and_stop_field_by_field():
    old = (Order("s0", BTC.symbol, OrderSide.SELL, "STOP_MARKET", 0.4, 45_000.0, reduce_only=True),)
    plan = _btc_plan(open_orders=old)
    assert [o.to_dict() for o in plan.orders] == [
        _cancel("s0", 0.4), _stop(0.166, 45_201.0, "1/3"), _stop(0.333, 42_801.4, "2/3"), _stop(0.501, 40_401.9, "3/3")]


def test_a_hedge_leg_then_its_cancel_and_stop_name_the_leg():
    old = (Order("h0", BTC.symbol, OrderSide.SELL, "STOP_MARKET", 1.0, 45_000.0, reduce_only=True,
                 position_side=PositionSide.LONG),)
    plan = _btc_plan({"levels": 1}, open_orders=old, hedge=True, leg=PositionSide.LONG)
    assert [o.to_dict() for o in plan.orders] == [_cancel("h0", 1.0, "long"), _stop(1.0, 40_401.9, "1/1", "long")]


def test_a_book_with_no_slippage_then_the_last_level_only_the_gap_before_liquidation():
    # Best bid at the mark: 0 bp, so the last level is LP·1.005 = 40 361.446, up to the tick: 40 361.5.
    plan = _btc_plan({"levels": 1}, book=OrderBook(((50_000.0, 5.0),), ((50_010.0, 5.0),)))
    assert [(o.trigger_price, o.amount) for o in plan.orders] == [(40_361.5, 1.0)]


def test_a_fine_tick_then_the_last_level_to_a_thousandth():
    # Tick 0.001: LP·1.005/0.999 = 40 401.8476 goes up to 40 401.848 (10 bp of slippage exactly, not 9.999).
    plan = _btc_plan({"levels": 1}, m=market(BTC.symbol, 0.004, tick=0.001))
    assert [(o.trigger_price, o.amount) for o in plan.orders] == [(40_401.848, 1.0)]


def test_half_cover_then_the_fill_is_priced_for_the_ladder_not_the_whole_position():
    # 0.6 BTC at each 5 bp step of the book: the ladder's 0.5 fills at the best bid (5 bp, ×2 = 10 bp), where the
    # whole position would walk to the second level (7 bp, ×2 = 14 bp) and pull every level toward the mark.
    plan = _btc_plan({"cover": 0.5}, book=flat_book(50_000, amount=0.6))
    assert [(o.trigger_price, o.amount) for o in plan.orders] == [(45_201.0, 0.083), (42_801.4, 0.166),
                                                                  (40_401.9, 0.251)]


@pytest.mark.parametrize(("bid", "slippage"), [(25_000.0, "5000.0"), (20_000.0, "6000.0")])
def test_a_fill_slipping_100_percent_or_more_then_unreachable_not_a_division_by_zero(bid, slippage):
    # The only bid is at 25 000: 5 000 bp below mark, ×2 = 100% (at 20 000: 120%).  No stop can fill before
    # liquidation; the last level's formula LP·1.005/(1 − slippage) is not evaluated (at 100% it divided by 0).
    plan = _btc_plan(book=OrderBook(((bid, 10.0),), ((50_010.0, 10.0),)))
    assert plan.orders == () and plan.reason_codes == ("PLAN_TARGET_UNREACHABLE",)
    assert plan.notes == ("long BTC/USDT:USDT: liquidation at 40160.6 is too close to mark 50000 for a stop to fill "
                          f"before it (slippage {slippage} bp); reduce instead",)


@pytest.mark.parametrize(
    ("kwargs", "note"),
    [({"open_orders": None}, "open orders unknown (a new ladder could double existing stops)"),
     ({"signals": {}}, "no order book to price the stops' fill")],
)
def test_an_input_missing_then_the_note_word_for_word(kwargs, note):
    acct = account(position(BTC.symbol, 1.0, 50_000), open_orders=kwargs.get("open_orders", ()))
    signals = kwargs.get("signals", {BTC.symbol: MarketSignals(book=flat_book(50_000))})
    plan = make_plan(StrategyContext.build(acct, venue_of(BTC), signals=signals), [StaggeredStops()])
    assert plan.notes == (f"long BTC/USDT:USDT: {note}; no ladder",)


def test_two_positions_then_each_gets_its_own_ladder():
    # BTC and ETH longs in one pool: three stops each, each for its own position, none lost to the other.
    eth = market("ETH/USDT:USDT", 0.004, step=0.01)
    acct = account(position(BTC.symbol, 1.0, 50_000), position(eth.symbol, 10.0, 3_000), open_orders=())
    signals = {BTC.symbol: MarketSignals(book=flat_book(50_000)), eth.symbol: MarketSignals(book=flat_book(3_000))}
    plan = make_plan(StrategyContext.build(acct, venue_of(BTC, eth), signals=signals), [StaggeredStops()])
    assert [(o.symbol, o.amount, o.position_contracts) for o in plan.orders] == [
        (BTC.symbol, 0.166, 1.0), (BTC.symbol, 0.333, 1.0), (BTC.symbol, 0.501, 1.0),
        (eth.symbol, 1.66, 10.0), (eth.symbol, 3.33, 10.0), (eth.symbol, 5.01, 10.0)]


def test_liquidation_price_unknown_then_the_note_says_why():
    # Bybit counts the closing fee in the requirement: without the account's taker rate no price is computed.
    bybit = market("BTC/USDT:USDT", 0.004, venue="bybit")
    acct = account(position(bybit.symbol, 1.0, 50_000), open_orders=(), taker=None, venue="bybit")
    ctx = StrategyContext.build(acct, venue_of(bybit), signals={bybit.symbol: MarketSignals(book=flat_book(50_000))})
    plan = make_plan(ctx, [StaggeredStops()])
    assert plan.reason_codes == ("PLAN_INPUT_MISSING",)
    assert plan.notes == ("long BTC/USDT:USDT: liquidation price unknown (taker fee rate unavailable); no ladder",)


def test_an_inverse_ladder_prices_its_fill_coin_weighted():
    # Inverse BTC/USD, 100 USD a contract, long 10 at 50 000 on 1 BTC: 1 + 1 000·(1/50 000 − 1/P) = 0.004·1 000/P
    # → P = 1 004/1.02 = 984.31.  Selling 10 into bids of 5 at 49 950 and 5 at 40 000 fills at the coin-weighted
    # average 2/(1/49 950 + 1/40 000) = 44 424.68 (not the 44 975 of a linear contract): 1 115.06 bp, ×2 = 22.30%.
    # Last level 984.31·1.005/(1 − 0.2230128) = 1 273.17 → 1 273.2; the others at 1/2 and 3/4 of the way.
    inverse = market("BTC/USD:BTC", 0.004, kind=ContractKind.INVERSE, contract_size=100.0, settle="BTC", step=1.0)
    acct = account(position(inverse.symbol, 10, 50_000), open_orders=(), wallet=1.0, asset="BTC")
    book = OrderBook(((49_950.0, 5.0), (40_000.0, 5.0)), ((50_050.0, 10.0),))
    ctx = StrategyContext.build(acct, venue_of(inverse), signals={inverse.symbol: MarketSignals(book=book)})
    plan = make_plan(ctx, [StaggeredStops()])
    assert _ladder(plan) == [(25_636.6, 1.0), (13_454.9, 3.0), (1_273.2, 6.0)]
    assert all("clear of 2230.1 bp slippage" in o.rationale for o in plan.orders)
