"""Liquidation prices for 1,000,000 random tiered positions, venue rules applied: one vectorized call vs a loop.

Mixed linear/inverse, long/short, isolated/cross, four tier tables, and every
venue's rules as ``check`` applies them (``riskguard/risk/venue_math.py``):
Binance tiers at the liquidation price, Bybit UTA and classic (current tier,
closing-fee reserve, MM at entry, tick rounding), OKX (fee in the requirement,
one tick on isolated), Hyperliquid, Gate and the generic estimate.  The timed
call is rule columns + requirement + roots + venue display.  The loop is timed
on a smaller sample and extrapolated.  Target: ≥ 10 million positions/s on
the 2-core reference machine; the script prints the best and the median of
its repeats, and the best CPU time, which on a shared machine leaves out the
time spent waiting for a core.  Run: ``python bench/bench_liquidation.py``.
"""

import statistics
import time

import numpy as np

from riskguard.model import AccountType
from riskguard.model.market import MarginTier
from riskguard.risk.solver import solve_liquidation
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_math import PositionArrays, RuleColumns, display, requirement, solve
from riskguard.risk.venue_rules import rules_for

N = 1_000_000
LOOP_N = 20_000
REPEATS = 7
VENUES = [
    rules_for("binanceusdm"),
    rules_for("binancecoinm"),
    rules_for("bybit", AccountType.UNIFIED),
    rules_for("bybit", AccountType.CLASSIC),
    rules_for("okx"),
    rules_for("hyperliquid"),
    rules_for("gate"),
    rules_for("kucoinfutures"),  # generic estimate
]


def tier_table(floors: tuple[float, ...], mmrs: tuple[float, ...]) -> list[MarginTier]:
    """Tax-bracket table: cum keeps MM continuous across floors."""
    cums = [0.0]
    for i in range(1, len(floors)):
        cums.append(cums[-1] + floors[i] * (mmrs[i] - mmrs[i - 1]))
    caps = (*floors[1:], float("inf"))
    return [MarginTier(f, c, m, k) for f, c, m, k in zip(floors, caps, mmrs, cums, strict=True)]


TABLES = TierTable.from_tiers(
    [
        tier_table(
            (0, 50e3, 250e3, 1e6, 10e6, 20e6, 50e6, 100e6, 200e6, 300e6),
            (0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25, 0.5),
        ),
        tier_table((0, 10e3, 100e3, 500e3, 1e6, 2e6, 5e6), (0.005, 0.0065, 0.01, 0.02, 0.05, 0.1, 0.125)),
        tier_table((0, 5, 10, 20, 50, 100, 200), (0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125)),  # coin quantity
        tier_table((0,), (0.01,)),
    ]
)


def random_positions(rng: np.random.Generator, n: int) -> tuple[PositionArrays, np.ndarray, np.ndarray, np.ndarray]:
    """Positions, the venue index of each, its collateral and its market's price tick."""
    table = rng.integers(0, 4, n)
    inverse = table == 2
    entry = rng.uniform(100, 100_000, n)
    notional = np.exp(rng.uniform(np.log(10), np.log(5e7), n))  # quote value at entry
    qty = np.where(inverse, notional, notional / entry)
    leverage = rng.uniform(1, 100, n)
    margin = np.where(inverse, notional / entry, notional) / leverage
    contracts = qty.copy()
    pos = PositionArrays(
        inverse=inverse,
        side=rng.choice(np.array([-1.0, 1.0]), n),
        qty=qty,
        contracts=contracts,
        entry=entry,
        mark=entry * rng.uniform(0.95, 1.05, n),
        table=table,
        tiers=TABLES,
        by_contracts=np.zeros(n, dtype=bool),
        reported_tier=np.full(n, -1, dtype=np.int64),
        taker=rng.choice(np.array([0.0002, 0.0005, 0.00055, 0.00075]), n),
        leverage=leverage,
        isolated=rng.random(n) < 0.5,
    )
    venue = rng.integers(0, len(VENUES), n)
    return pos, venue, margin, np.full(n, 0.1)


def venue_liquidation(pos: PositionArrays, venue: np.ndarray, margin: np.ndarray, tick: np.ndarray) -> np.ndarray:
    """What ``check`` and ``liquidation_frame`` do per position, minus the model objects and the frame."""
    cols = RuleColumns.build(VENUES, venue, pos.isolated)
    req = requirement(pos, cols)
    liq, _ = solve(pos, cols, req, margin)
    shown, _ = display(liq, pos.side, tick, cols.liquidation_convention)
    return shown


def timings(fn, repeats: int, cpu: list[float] | None = None) -> list[float]:
    """Wall time of each repeat; the process's CPU time of each is appended to ``cpu`` when given."""
    out = []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        out.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
    return out


def main() -> None:
    rng = np.random.default_rng(7)
    pos, venue, margin, tick = random_positions(rng, N)
    cpu: list[float] = []
    runs = timings(lambda: venue_liquidation(pos, venue, margin, tick), REPEATS, cpu)
    best, median = min(runs), statistics.median(runs)
    roots = dict(inverse=pos.inverse, side=pos.side, qty=pos.qty, entry=pos.entry, margin=margin, table=pos.table)
    bare = timings(lambda: solve_liquidation(tiers=TABLES, **roots), REPEATS)

    def loop() -> None:
        for i in range(LOOP_N):
            one = PositionArrays(**{f: getattr(pos, f)[i : i + 1] if f != "tiers" else TABLES for f in pos.__slots__})
            venue_liquidation(one, venue[i : i + 1], margin[i : i + 1], tick[i : i + 1])

    loop_s = timings(loop, 1)[0]
    best_rate, median_rate, loop_rate = N / best, N / median, LOOP_N / loop_s
    print(
        f"vectorized, venue rules applied: {N:,} positions, best {best * 1e3:.1f} ms = {best_rate / 1e6:.1f} M/s, "
        f"median {median * 1e3:.1f} ms = {median_rate / 1e6:.1f} M/s ({REPEATS} runs); "
        f"best CPU time {min(cpu) * 1e3:.1f} ms = {N / min(cpu) / 1e6:.1f} M/s"
    )
    print(
        f"for reference, roots alone (no venue rules, no display): best {N / min(bare) / 1e6:.1f} M/s, "
        f"median {N / statistics.median(bare) / 1e6:.1f} M/s"
    )
    print(f"python loop: {LOOP_N:,} positions in {loop_s:.2f} s = {loop_rate:,.0f} positions/s (extrapolated)")
    print(f"ratio: {best_rate / loop_rate:,.0f}x; target 10 M positions/s {'met' if best_rate >= 10e6 else 'MISSED'}")


if __name__ == "__main__":
    main()
