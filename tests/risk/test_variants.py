"""The vectorized paths against the straightforward one, ``evaluate_account`` on the what-if account, on random
accounts: ``Reductions`` (many cut sizes as rows of one call), the funding-drain buffers, and the cut search
that scans with them.  Equal, not close."""

from __future__ import annotations

import math
from unittest.mock import patch

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from riskguard.model import (
    Account,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    Position,
    PositionSide,
    Quote,
    Side,
    VenueMarkets,
)
from riskguard.risk.account_risk import AccountRisk, PriceSource, evaluate_account
from riskguard.risk.whatif import Reduce, Reductions, apply_fills
from riskguard.rules.metrics import MetricTable
from riskguard.rules.strategy import PositionRef, StrategyContext, make_plan
from strategies._reduce import Target, find, margin, position_metric, smallest_cut
from strategies.close_worst_first import CloseWorstFirst
from strategies.reduce_size import _rows_slack

VENUES = ("binanceusdm", "bybit", "okx", "hyperliquid")


def _tiers(mmr: float) -> tuple[MarginTier, ...]:
    return (MarginTier(0, 20_000, mmr, 0.0), MarginTier(20_000, 1e12, 2 * mmr, 20_000 * mmr))


@st.composite
def accounts(draw: st.DrawFn) -> tuple[Account, VenueMarkets, int, list[float], list[float]]:
    venue = draw(st.sampled_from(VENUES))
    n = draw(st.integers(1, 6))
    markets, positions = {}, []
    for i in range(n):
        inverse = draw(st.booleans())
        mark = draw(st.floats(10, 60_000))
        mmr = draw(st.sampled_from([0.004, 0.01, 0.025]))
        symbol = f"S{i}/USD:BTC" if inverse else f"S{i}/USDT:USDT"
        kind, settle, size = (ContractKind.INVERSE, "BTC", 100.0) if inverse else (ContractKind.LINEAR, "USDT", 1.0)
        tick = draw(st.sampled_from([0.1, 0.01, None]))
        markets[symbol] = Market(venue, symbol, kind, settle, size, tick, 1.0 if inverse else 0.001, _tiers(mmr))
        contracts = float(draw(st.integers(2, 400))) if inverse else draw(st.integers(2, 40_000)) * 0.001
        isolated = draw(st.booleans())
        value = contracts * size / mark if inverse else contracts * mark
        positions.append(Position(
            symbol, draw(st.sampled_from([Side.LONG, Side.SHORT])), contracts, mark * draw(st.floats(0.9, 1.1)), mark,
            MarginMode.ISOLATED if isolated else MarginMode.CROSS, leverage=draw(st.sampled_from([5.0, 20.0])),
            isolated_margin=value * draw(st.floats(0.03, 0.5)) if isolated else None,
            tier_index=draw(st.sampled_from([None, 0, 1])),
        ))
    usdt, btc = draw(st.floats(100, 200_000)), draw(st.floats(0.01, 5))
    account = Account("acct", venue, {"USDT": AssetBalance("USDT", usdt, usdt), "BTC": AssetBalance("BTC", btc, btc)},
                      tuple(positions), FeeRates(0.0002, 0.0005))
    index = draw(st.integers(0, n - 1))
    p = positions[index]
    step = markets[p.symbol].amount_step
    ks = draw(st.lists(st.integers(1, round(p.contracts / step)), min_size=1, max_size=5))
    amounts = [k * step for k in ks]
    prices = [p.mark_price * draw(st.floats(0.98, 1.02)) for _ in ks]
    return account, VenueMarkets(venue, markets), index, amounts, prices


def _same(a: float | None, b: float) -> bool:
    return (a is None and math.isnan(b)) or (a is not None and (a == b or (math.isnan(a) and math.isnan(b))))


@settings(max_examples=150, deadline=None)
@given(accounts())
def test_each_row_equals_evaluate_account_on_the_what_if_account(case):
    account, venue, index, amounts, prices = case
    taker = 0.0005
    reductions = Reductions.of(account, venue, index, taker)
    assert reductions is not None  # one-way accounts with every input: the vectorized path applies
    rows = reductions.evaluate(np.array(amounts), np.array(prices))
    p = account.positions[index]
    for k, (amount, price) in enumerate(zip(amounts, prices, strict=True)):
        after = apply_fills(account, venue, [Reduce(p.symbol, p.side, amount, price, p.position_side)], taker)
        risk = evaluate_account(after, venue)
        kept = [i for i in range(len(account.positions)) if rows.present[k, i]]
        assert len(kept) == len(risk.positions)
        for i, r in zip(kept, risk.positions, strict=True):
            assert _same(r.liquidation_price, rows.price[k, i]), (k, i, r.liquidation_price, rows.price[k, i])
            if r.buffer_pct is not None:
                assert r.buffer_pct == rows.buffer_pct[k, i]
            assert r.effective_leverage == rows.effective_leverage[k, i]
        for c in risk.cross:
            pool = rows.pools[c.asset]
            assert pool.present[k]
            assert c.headroom_pct == pool.headroom_pct[k] and c.effective_leverage == pool.effective_leverage[k]
        assert {c.asset for c in risk.cross} == {a for a, pool in rows.pools.items() if pool.present[k]}


def test_binance_hedge_legs_sharing_a_price_take_the_one_by_one_path():
    m = Market("binanceusdm", "BTC/USDT:USDT", ContractKind.LINEAR, "USDT", 1.0, 0.1, 0.001, _tiers(0.004))
    legs = tuple(Position(m.symbol, side, 1.0, 50_000, 50_000, MarginMode.CROSS, position_side=leg, leverage=20)
                 for side, leg in ((Side.LONG, PositionSide.LONG), (Side.SHORT, PositionSide.SHORT)))
    account = Account("h", "binanceusdm", {"USDT": AssetBalance("USDT", 5_000, 5_000)}, legs, FeeRates(0.0002, 0.0004))
    venue = VenueMarkets("binanceusdm", {m.symbol: m})
    assert Reductions.of(account, venue, 0, 0.0004) is None
    assert Reductions.of(account, VenueMarkets("binanceusdm", {m.symbol: m}), 0, 0.0004) is None


@settings(max_examples=100, deadline=None)
@given(accounts(), st.floats(-0.003, 0.003))
def test_buffer_after_funding_when_one_row_then_equals_evaluate_account_on_the_paid_account(case, rate):
    account, venue, *_ = case
    quotes = {s: Quote(1.0, None, funding_rate=rate) for s, m in venue.markets.items()}
    venue = VenueMarkets(venue.venue, venue.markets, quotes)
    risk = evaluate_account(account, venue)
    table = MetricTable(account, venue, risk, None, 0)
    paid = table.paid_funding()
    assert paid is not None
    full = evaluate_account(paid, venue)  # the straightforward path: the whole venue math on the paid account
    for i, r in enumerate(full.positions):
        expected = math.inf if r.liquidation_source is PriceSource.NONE else r.buffer_pct
        assert table.position("buffer_after_funding_pct", i) == (expected, None)


@settings(max_examples=60, deadline=None)
@given(accounts(), st.sampled_from([Target.BUFFER_PCT, Target.EFFECTIVE_LEVERAGE]), st.floats(0.5, 1.5))
def test_reduce_size_cut_when_scanned_then_same_as_the_one_by_one_search(case, target, scale):
    account, venue, index, *_ = case
    ctx = StrategyContext.build(account, venue)
    r = ctx.risk.positions[index]
    now = position_metric(ctx, r, target)
    if now is None or not math.isfinite(now):
        return
    # A target within rounding of the metric now is ill-posed: a pro-rata cut of an isolated position leaves its
    # effective leverage where it was, so whether a cut "meets" 64·(1 − 1e-12) depends on the last bit of each
    # trial, and the scan and the bisection may rightly stop at different cuts (found by Hypothesis: 39.983 and
    # 39.995 of 39.999 contracts).
    assume(abs(scale - 1) > 1e-9)
    value = now * (2 - scale) if target is Target.EFFECTIVE_LEVERAGE else now * (1 + scale)
    ref = PositionRef.of(r)

    def slack(risk: AccountRisk) -> float:
        after = find(risk, ref)
        if after is None:
            return math.inf
        m = position_metric(ctx, after, target)
        return math.nan if m is None else margin(m, target, value)

    if not slack(ctx.risk) < 0:
        return
    plain = smallest_cut(ctx, ref, slack, closing_meets=True)
    fast = smallest_cut(ctx, ref, slack, closing_meets=True, rows_slack=_rows_slack(target, value))
    assert (fast.amount, fast.met, fast.closes) == (plain.amount, plain.met, plain.closes)


@settings(max_examples=40, deadline=None)
@given(accounts(), st.floats(1, 30))
def test_close_worst_first_plan_when_scanned_then_same_orders_as_the_one_by_one_search(case, points):
    account, venue, *_ = case
    ctx = StrategyContext.build(account, venue)
    if not ctx.risk.cross:
        return
    value = min(max(ctx.risk.cross[0].headroom_pct + points, 1), 99)
    strategy = CloseWorstFirst({"target": "buffer_pct", "value": value})
    fast = make_plan(StrategyContext.build(account, venue), [strategy])
    with patch.object(Reductions, "of", return_value=None):  # no scan: every size evaluated one by one
        plain = make_plan(StrategyContext.build(account, venue), [strategy])
    assert [(o.symbol, o.side, o.amount) for o in fast.orders] == [(o.symbol, o.side, o.amount) for o in plain.orders]
    assert fast.reason_codes == plain.reason_codes
