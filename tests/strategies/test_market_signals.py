"""Strategies fed from a snapshot's own market data (riskguard.market_view), the way `check` will feed them."""

from __future__ import annotations

from dataclasses import replace

from market_factory import isolated_btc_doc

from riskguard.connectors.normalize import build_snapshot
from riskguard.connectors.snapshot_doc import parse_snapshot
from riskguard.market_view import symbol_view
from riskguard.rules.plan import OrderKind
from riskguard.rules.strategy import MarketSignals, StrategyContext, make_plan
from strategies.reduce_size import ReduceSize
from strategies.staggered_stops import StaggeredStops

BTC = "BTC/USDT:USDT"


def _context(margin: float) -> StrategyContext:
    snapshot = build_snapshot(parse_snapshot(isolated_btc_doc(margin), "t"), "t")
    venue = snapshot.venues["binanceusdm"]
    signals = {BTC: MarketSignals.of_view(symbol_view(venue, BTC, snapshot.taken_at_ms))}
    return StrategyContext.build(replace(snapshot.accounts[0], open_orders=()), venue, signals=signals)


def test_signals_of_view_when_snapshot_has_history_then_bands_volatility_and_book_present():
    signals = _context(1_000.0).signals[BTC]
    assert signals.bands is not None and signals.book is not None
    assert signals.volatility is not None and signals.volatility.status == "ok"


def test_staggered_stops_when_fed_from_snapshot_then_no_level_in_a_band_and_all_before_liquidation():
    ctx = _context(1_000.0)
    plan = make_plan(ctx, [StaggeredStops({"levels": 5})])
    lp = ctx.risk.positions[0].liquidation_price
    stops = [o for o in plan.orders if o.kind is OrderKind.STOP_MARKET]
    assert stops and sum(o.amount for o in stops) <= 1.0
    bands = ctx.signals[BTC].bands or ()
    for o in stops:
        assert lp < o.trigger_price < 10_000
        assert not any(b.side == "long" and b.contains(o.trigger_price) for b in bands)


def test_reduce_size_when_sigma_target_from_snapshot_volatility_then_target_met_after():
    ctx = _context(1_000.0)
    plan = make_plan(ctx, [ReduceSize({"target": "sigma_buffer", "value": 50})])
    # Isolated: a cut keeps margin per contract, so only closing the position meets a far σ target.
    assert [o.amount for o in plan.orders] == [1.0] and plan.after.positions == ()
