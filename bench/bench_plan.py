"""Strategies + plan for one cross account of 50 positions (target: under 5 ms per account).

Prints the median and best of repeated runs for: evaluate_account alone (the floor every plan pays), a plan
with nothing to do, ``reduce_size`` cutting the 5 worst positions, ``close_worst_first`` restoring the
pool, and ``staggered_stops`` laddering every position.  The 10,000-position / 1,000-account figure with
rules is the rule engine's benchmark.

    python bench/bench_plan.py [REPEATS]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from riskguard.model import (
    Account,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    OrderBook,
    Position,
    Side,
    VenueMarkets,
)
from riskguard.rules.strategy import MarketSignals, StrategyContext, make_plan
from strategies.close_worst_first import CloseWorstFirst
from strategies.reduce_size import ReduceSize
from strategies.staggered_stops import StaggeredStops

N = 50


def cross_account(seed: int = 7) -> tuple[Account, VenueMarkets, dict[str, MarketSignals]]:
    rng = np.random.default_rng(seed)
    markets, positions, signals = {}, [], {}
    for i in range(N):
        symbol = f"C{i:02d}/USDT:USDT"
        mark = float(rng.uniform(1, 50_000))
        mmr = float(rng.choice([0.004, 0.01, 0.025]))
        tiers = (MarginTier(0, 50_000, mmr, 0.0), MarginTier(50_000, 1e12, 2 * mmr, 50_000 * mmr))
        notional = float(rng.uniform(2_000, 120_000))
        step = 10.0 ** np.floor(np.log10(notional / mark / 10_000))  # ~10^4 steps per position, like real lots
        markets[symbol] = Market("binanceusdm", symbol, ContractKind.LINEAR, "USDT", 1.0, None, float(step),
                                 tiers)
        side = Side.LONG if rng.random() < 0.6 else Side.SHORT
        contracts = round(notional / mark / step) * step
        entry = mark * float(rng.uniform(0.95, 1.05))
        positions.append(Position(symbol, side, contracts, entry, mark, MarginMode.CROSS, leverage=20))
        levels = tuple((mark * (1 - 0.0005 * (k + 1)), 1e6 / mark) for k in range(20))
        asks = tuple((mark * (1 + 0.0005 * (k + 1)), 1e6 / mark) for k in range(20))
        signals[symbol] = MarketSignals(book=OrderBook(levels, asks))
    account = Account("bench", "binanceusdm", {"USDT": AssetBalance("USDT", 150_000, 150_000)}, tuple(positions),
                      FeeRates(0.0002, 0.0004), open_orders=())
    return account, VenueMarkets("binanceusdm", markets), signals


def timed(fn, repeat: int = 30) -> tuple[float, float]:
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(runs), min(runs)


def main(repeat: int = 30) -> None:
    account, venue, signals = cross_account()
    ctx = StrategyContext.build(account, venue, signals=signals)
    pool = ctx.risk.cross[0]
    worst = sorted(p.buffer_pct for p in ctx.risk.positions if p.buffer_pct is not None)
    print(f"one cross account, {N} positions: pool buffer {pool.headroom_pct:.2f}%, worst position buffer "
          f"{worst[0]:.2f}%, 5th worst {worst[4]:.2f}%")
    cases = {
        "evaluate_account only": lambda: StrategyContext.build(account, venue, signals=signals),
        "plan, nothing to do (reduce_size 1%)": lambda: make_plan(
            StrategyContext.build(account, venue, signals=signals),
            [ReduceSize({"target": "buffer_pct", "value": 1})]),
        "reduce_size (up to the 5th worst buffer)": lambda: make_plan(
            StrategyContext.build(account, venue, signals=signals),
            [ReduceSize({"target": "buffer_pct", "value": worst[4] + 0.01})]),
        "close_worst_first (pool +1 pt)": lambda: make_plan(
            StrategyContext.build(account, venue, signals=signals),
            [CloseWorstFirst({"target": "buffer_pct", "value": pool.headroom_pct + 1})]),
        "staggered_stops (50 ladders)": lambda: make_plan(
            StrategyContext.build(account, venue, signals=signals), [StaggeredStops()]),
    }
    for name, fn in cases.items():
        median, best = timed(fn, repeat)
        plan = fn()
        orders = len(plan.orders) if hasattr(plan, "orders") else 0
        print(f"{name:42s} median {median:7.2f} ms  best {best:7.2f} ms  orders {orders}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
