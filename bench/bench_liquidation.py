"""Liquidation prices for 1,000,000 random tiered positions: one vectorized call vs a Python loop.

Mixed linear/inverse, long/short, four tier tables.  The loop is timed on a
smaller sample and extrapolated.  Target: ≥ 10 million positions/s on the
2-core reference machine.  Run: ``python bench/bench_liquidation.py``.
"""

import time

import numpy as np

from riskguard.model.market import MarginTier
from riskguard.risk.solver import solve_liquidation
from riskguard.risk.tiers import TierTable

N = 1_000_000
LOOP_N = 20_000
REPEATS = 5


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


def random_positions(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    table = rng.integers(0, 4, n)
    inverse = table == 2
    entry = rng.uniform(100, 100_000, n)
    notional = np.exp(rng.uniform(np.log(10), np.log(5e7), n))  # quote value at entry
    qty = np.where(inverse, notional, notional / entry)
    leverage = rng.uniform(1, 100, n)
    margin = np.where(inverse, notional / entry, notional) / leverage
    return {
        "inverse": inverse,
        "side": rng.choice(np.array([-1, 1]), n),
        "qty": qty,
        "entry": entry,
        "margin": margin,
        "table": table,
    }


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rng = np.random.default_rng(7)
    pos = random_positions(rng, N)
    vector_s = best_of(lambda: solve_liquidation(tiers=TABLES, **pos), REPEATS)

    sample = {k: v[:LOOP_N] for k, v in pos.items()}

    def loop() -> None:
        for i in range(LOOP_N):
            solve_liquidation(tiers=TABLES, **{k: v[i : i + 1] for k, v in sample.items()})

    loop_s = best_of(loop, 1)
    vector_rate, loop_rate = N / vector_s, LOOP_N / loop_s
    print(f"vectorized: {N:,} positions in {vector_s * 1e3:.1f} ms = {vector_rate / 1e6:.1f} M positions/s")
    print(f"python loop: {LOOP_N:,} positions in {loop_s:.2f} s = {loop_rate:,.0f} positions/s (extrapolated)")
    print(
        f"ratio: {vector_rate / loop_rate:,.0f}x; target 10 M positions/s {'met' if vector_rate >= 10e6 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
