"""``smallest_cut`` at two edges: a cap whose slack is exactly 0 meets the target, and a book whose fill beats the
mark makes the vectorized scan (priced at mark) only a prediction, checked below where it lands.

Markets have one tier (Binance USDⓈ-M math); wallet 10 000, taker 0.04%.
"""

from __future__ import annotations

from plan_factory import account, flat_book, market, position, venue_of

from riskguard.rules.strategy import MarketSignals, PositionRef, StrategyContext, make_plan
from strategies._reduce import find, smallest_cut
from strategies.reduce_size import ReduceSize

BTC = market("BTC/USDT:USDT", 0.004)
ONE = market("ONE/USDT:USDT", 0.004, step=1.0)


def test_a_cap_whose_slack_is_exactly_zero_then_met():
    # 10 contracts in whole steps, a cap of 4 and a target of at most 6 left: cutting 4 leaves exactly 6 (slack 0,
    # which meets), so the answer is 4 and it is met, not "even the cap was not enough".
    ctx = StrategyContext.build(account(position(ONE.symbol, 10, 100)), venue_of(ONE))
    ref = PositionRef.of(ctx.risk.positions[0])
    cut = smallest_cut(ctx, ref, lambda risk: 6.0 - find(risk, ref).contracts, limit=4)
    assert (cut.amount, cut.met, cut.closes) == (4.0, True, False)


def test_a_book_whose_bid_beats_the_mark_then_the_cut_is_smaller_than_at_mark():
    # Long 1 BTC at 50 000 (mark), leverage 5, target ≤ 1.5.  At mark the cut would be 0.701 (35 000/49 970).
    # The book's best bid is 52 000·0.9995 = 51 974 (5 BTC deep): selling b there books 1 974·b of profit and
    # 20.7896·b of fee, so (50 000 − 50 000b)/(10 000 + 1 953.2104b) ≤ 1.5 → b ≥ 35 000/52 929.8156 = 0.66125
    # → 0.662.  The scan, priced at mark, lands on 0.701; the full evaluation of the steps below it finds 0.662.
    acct = account(position(BTC.symbol, 1.0, 50_000))
    ctx = StrategyContext.build(acct, venue_of(BTC), signals={BTC.symbol: MarketSignals(book=flat_book(52_000))})
    plan = make_plan(ctx, [ReduceSize({"target": "effective_leverage", "value": 1.5})])
    assert [(o.amount, o.price) for o in plan.orders] == [(0.662, 51_974.0)]
