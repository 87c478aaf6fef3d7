"""Wall time of the uniform adverse move (down and up) of one cross pool of 10 to 100 000 positions with
Binance-style 10-tier tables, mixed long/short: what ``riskguard check`` adds per cross account.

Run: ``python bench/bench_uniform_move.py``.
"""

import time

import numpy as np

from riskguard.model.market import MarginTier
from riskguard.risk.tiers import TierTable
from riskguard.risk.uniform_move import CrossPool, Direction, solve_uniform_move

REPEATS = 5


def tiers(tables: int) -> TierTable:
    rows = []
    for t in range(tables):
        floors = [0, 50_000, 250_000, 1e6, 5e6, 2e7, 5e7, 1e8, 2e8, 5e8]
        rates = [0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25, 0.5]
        cum, out = 0.0, []
        for k, (floor, rate) in enumerate(zip(floors, rates, strict=True)):
            cum += floor * (rate - rates[k - 1]) if k else 0.0
            cap = floors[k + 1] if k + 1 < len(floors) else np.inf
            out.append(MarginTier(floor * (1 + t % 3), cap * (1 + t % 3), rate, cum * (1 + t % 3)))
        rows.append(out)
    return TierTable.from_tiers(rows)


def pool(n: int, rng: np.random.Generator) -> CrossPool:
    table = tiers(50)
    mark = rng.uniform(1, 70_000, n)
    qty = rng.uniform(1e3, 5e6, n) / mark
    side = rng.choice([-1.0, 1.0], n, p=[0.3, 0.7])
    return CrossPool(
        inverse=np.zeros(n, bool), side=side, qty=qty, entry=mark * rng.uniform(0.95, 1.05, n), mark=mark,
        tiers=table, table=rng.integers(0, 50, n), fixed_tier=np.full(n, -1), mmr_add=np.zeros(n),
        fixed_mm=np.full(n, np.nan), constant=float((qty * mark).sum() * 0.15),
    )


def main() -> None:
    rng = np.random.default_rng(1)
    for n in (10, 100, 1_000, 10_000, 100_000):
        p = pool(n, rng)
        best = np.inf
        for _ in range(REPEATS):
            start = time.perf_counter()
            down = solve_uniform_move(p, Direction.DOWN)
            up = solve_uniform_move(p, Direction.UP)
            best = min(best, time.perf_counter() - start)
        print(f"{n:>7,} positions: {best * 1e3:8.2f} ms for down and up (down {down:.2%}, up {up:.2%})")


if __name__ == "__main__":
    main()
