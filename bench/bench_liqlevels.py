"""Wall time of the liquidation-level estimator on 30 days of 1-minute bars, 6 leverages × 2 sides, with every
side-attribution source present (OI vs price, taker flow, long/short ratio, funding at its floor) and the default
48-hour holding prior, under which nearly every bar opens positions (about twice the levels of ΔOI alone).

Target: under 50 ms on the 2-core reference machine.  Run: ``python bench/bench_liqlevels.py``.
"""

import time

import numpy as np

from riskguard.model.market import MarginTier
from riskguard.risk.liqlevels import EstimatorConfig, MarketHistory, VenueTerms, estimate_levels
from riskguard.risk.tiers import TierTable

BARS = 30 * 24 * 60
REPEATS = 7

# Binance BTCUSDT-shaped brackets (notional floor, mmr); cum follows the tax-bracket rule.
FLOORS = (0.0, 50e3, 250e3, 1e6, 10e6, 20e6, 50e6, 100e6, 200e6, 300e6)
MMRS = (0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25, 0.5)


def binance_like_tiers() -> TierTable:
    cums = [0.0]
    for i in range(1, len(FLOORS)):
        cums.append(cums[-1] + FLOORS[i] * (MMRS[i] - MMRS[i - 1]))
    caps = (*FLOORS[1:], float("inf"))
    return TierTable.from_tiers(
        [[MarginTier(floor=f, cap=c, mmr=m, cum=k) for f, c, m, k in zip(FLOORS, caps, MMRS, cums, strict=True)]]
    )


def synthetic_history(rng: np.random.Generator) -> MarketHistory:
    close = 60_000.0 * np.exp(np.cumsum(rng.normal(0, 8e-4, BARS)))
    wiggle = np.abs(rng.normal(0, 5e-4, BARS))
    oi = 50_000.0 + np.cumsum(rng.normal(0, 20.0, BARS))
    volume = rng.uniform(50, 500, BARS)
    buy = volume * rng.uniform(0.3, 0.7, BARS)
    return MarketHistory(
        times=np.arange(BARS, dtype=np.int64) * 60_000,
        high=close * (1 + wiggle),
        low=close * (1 - wiggle),
        close=close,
        volume=volume,
        open_interest=oi,
        taker_buy_volume=buy,
        taker_sell_volume=volume - buy,
        funding_rate=np.full(BARS, 0.0001),
        long_short_ratio=np.repeat(np.exp(rng.normal(0, 0.05, BARS // 5)), 5),
    )


def main() -> None:
    history = synthetic_history(np.random.default_rng(7))
    venue = VenueTerms(tiers=binance_like_tiers(), inverse=False, contract_size=1.0, source="bench brackets")
    config = EstimatorConfig()
    estimate_levels(history, venue, config)  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = estimate_levels(history, venue, config)
        times.append(time.perf_counter() - start)
    assert result.status == "ok"
    shape = result.heatmap.long_density.shape
    print(
        f"estimate_levels: {BARS} bars x {len(config.leverages)} leverages x 2 sides -> {shape[0]} columns x "
        f"{shape[1]} bins; best {min(times) * 1e3:.1f} ms, median {np.median(times) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
