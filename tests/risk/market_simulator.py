"""A synthetic perpetual market whose liquidation clusters are known exactly.

Speculators open isolated positions with a known side, leverage and size against an unleveraged market
maker, so open interest is exactly the sum of open speculator positions (plus a constant stock opened
before the window, which no estimator can see and the truth excludes).  Each position closes after a
random lifetime or is liquidated when the mark (= last price here) reaches its liquidation price, solved
with the venue solver.  Openers and closers are takers, the market maker is the maker, and extra churn
volume with no open-interest effect adds noise to the taker imbalance.

Price is a random walk in 10 sub-ticks per bar that alternates between trending stretches and
mean-reverting ranges; ranges are where entries pile up, so clusters form as they do in real markets.
Openers move price (buying lifts it, selling presses it), so open interest against price carries the
side, as on a venue.  Funding sits at its floor (+0.01 % per 8 h) throughout, as it does on the venues
most of the time, and the venue's long/short *account* ratio is published every 5 bars, counting every
open account including the unseen stock opened before the window (split evenly).

Regimes (``REGIMES``):

* ``mixed``: the crowd leans long, then short (a slow sine), at a steady pace;
* ``short_squeeze``: longs lean slightly most of the time, but in a minority of 6-hour blocks shorts
  pile in at 2.5× the pace; the window ends with price squeezed up through the nearest short levels;
* ``long_flush``: the mirror image: longs pile in during a minority of blocks, price ends flushed down.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from riskguard.model.market import MarginTier
from riskguard.risk.liqlevels import EstimatorConfig, LevelProfile, MarketHistory, VenueTerms
from riskguard.risk.solver import solve_liquidation
from riskguard.risk.tiers import TierTable

TICKS_PER_BAR = 10
BASELINE_OI = 500.0  # base units held before the window; never changes
BLOCK = 360  # bars per price / crowd regime block (6 hours of 1-minute bars)
IMPACT = 3e-5  # log-price move per bar for one bar's average opening notional, net bought
FUNDING_FLOOR = 0.0001
RATIO_STEP = 5  # bars between long/short ratio samples
MEAN_NOTIONAL = 8_000.0
REGIMES = ("mixed", "short_squeeze", "long_flush")


def binance_like_venue() -> VenueTerms:
    floors = (0.0, 50e3, 250e3, 1e6, 10e6)
    mmrs = (0.004, 0.005, 0.01, 0.025, 0.05)
    cums = [0.0]
    for i in range(1, len(floors)):
        cums.append(cums[-1] + floors[i] * (mmrs[i] - mmrs[i - 1]))
    caps = (*floors[1:], float("inf"))
    tiers = [MarginTier(floor=f, cap=c, mmr=m, cum=k) for f, c, m, k in zip(floors, caps, mmrs, cums, strict=True)]
    return VenueTerms(TierTable.from_tiers([tiers]), inverse=False, contract_size=1.0, source="simulator brackets")


def _account_ratio(rng: np.random.Generator, side: np.ndarray, open_bar: np.ndarray, end_bar: np.ndarray,
                   bars: int, price: float) -> np.ndarray:
    """Long accounts / short accounts at each sample (held until the next), the unseen stock split evenly."""
    stock = 0.5 * BASELINE_OI * price / MEAN_NOTIONAL
    alive = [
        np.cumsum(np.bincount(open_bar[side == s], minlength=bars + 1)
                  - np.bincount(end_bar[side == s], minlength=bars + 1))[:bars] + stock
        for s in (1, -1)
    ]
    ratio = alive[0] / alive[1] * rng.lognormal(0.0, 0.01, bars)
    return ratio[(np.arange(bars) // RATIO_STEP) * RATIO_STEP]


@dataclass(frozen=True, eq=False)
class SimulatedMarket:
    history: MarketHistory
    venue: VenueTerms
    side: np.ndarray
    """+1 long / −1 short per speculator position."""
    leverage: np.ndarray
    entry: np.ndarray
    notional: np.ndarray
    """Quote notional at entry."""
    liquidation_price: np.ndarray
    open_bar: np.ndarray
    end_bar: np.ndarray
    """Bar at whose end the position closed or was liquidated; ``bars`` if still open."""
    liquidated: np.ndarray

    @property
    def alive(self) -> np.ndarray:
        return self.end_bar >= self.history.size

    @property
    def true_long_share(self) -> float:
        """Long share of the open speculator notional at the end: what the estimated profile should split."""
        alive = self.alive
        return float(self.notional[alive & (self.side > 0)].sum() / self.notional[alive].sum())

    def true_profile(self, edges: np.ndarray) -> LevelProfile:
        """Liquidation notional of the positions still open at the end, binned on ``edges``."""
        alive = self.alive
        long_ = alive & (self.side > 0)
        short = alive & (self.side < 0)
        return LevelProfile(
            edges,
            np.histogram(self.liquidation_price[long_], edges, weights=self.notional[long_])[0],
            np.histogram(self.liquidation_price[short], edges, weights=self.notional[short])[0],
            float(self.history.close[-1]),
        )


def _crowd(regime: str, bars: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bar: probability an opener is long, relative opening pace, and extra log drift per bar."""
    t = np.arange(bars)
    drift = np.zeros(bars)
    if regime == "mixed":
        return 0.5 + 0.15 * np.sin(t / 700.0), np.ones(bars), drift
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}, expected one of {REGIMES}")
    sign = 1.0 if regime == "short_squeeze" else -1.0  # the side the crowd is *not* on
    blocks = -(-bars // BLOCK)
    crowded = np.zeros(blocks, dtype=bool)
    # a third of the blocks, in the second half (the positions still open at the end), never the last
    late = np.arange(blocks // 2, blocks - 1)
    crowded[rng.choice(late, min(late.size, max(1, blocks // 3)), replace=False)] = True
    in_block = crowded[t // BLOCK]
    long_p = np.where(in_block, 0.5 - sign * 0.25, 0.5 + sign * 0.1)
    pace = np.where(in_block, 2.5, 1.0)
    tail = t >= bars - 240  # last 4 hours: the squeeze (up) or flush (down) through the crowd's levels
    drift[tail] = sign * 6e-5
    return long_p, pace, drift


def _price_path(rng: np.random.Generator, bars: int, bar_drift: np.ndarray) -> np.ndarray:
    """Log-price sub-ticks: 6-hour regimes, either trending or reverting to the regime's opening level,
    plus ``bar_drift`` (order-flow impact and the regime's own move) spread over each bar's ticks."""
    n = bars * TICKS_PER_BAR
    regime_len = BLOCK * TICKS_PER_BAR
    log_p = np.empty(n)
    x = np.log(60_000.0)
    tick_drift = np.repeat(bar_drift / TICKS_PER_BAR, TICKS_PER_BAR)
    for start in range(0, n, regime_len):
        stop = min(start + regime_len, n)
        shocks = rng.normal(0.0, 3e-4, stop - start) + tick_drift[start:stop]
        if rng.random() < 0.5:
            drift = rng.choice([-1.0, 1.0]) * 2e-5
            log_p[start:stop] = x + np.cumsum(shocks + drift)
        else:
            anchor = x
            for i in range(start, stop):
                x += 0.01 * (anchor - x) + shocks[i - start]
                log_p[i] = x
        x = log_p[stop - 1]
    return np.exp(log_p)


def simulate_market(
    seed: int = 0,
    bars: int = 3 * 24 * 60,
    opens_per_bar: float = 3.0,
    mean_life_bars: float = 1_440.0,
    config: EstimatorConfig | None = None,
    regime: str = "mixed",
) -> SimulatedMarket:
    """Speculators draw leverage from ``config``'s distribution, so the estimator's prior is the truth."""
    config = config or EstimatorConfig()
    rng = np.random.default_rng(seed)
    venue = binance_like_venue()
    long_bias, pace, drift = _crowd(regime, bars, rng)

    counts = rng.poisson(opens_per_bar * pace)
    open_bar = np.repeat(np.arange(bars), counts)
    n = open_bar.size
    side = np.where(rng.random(n) < long_bias[open_bar], 1, -1)
    leverage = rng.choice(np.asarray(config.leverages), n, p=np.asarray(config.weights))
    notional = rng.lognormal(np.log(MEAN_NOTIONAL), 0.8, n)
    net_bought = np.bincount(open_bar, weights=side * notional, minlength=bars)
    impact = IMPACT * net_bought / (opens_per_bar * MEAN_NOTIONAL)
    ticks = _price_path(rng, bars, impact + drift).reshape(bars, TICKS_PER_BAR)
    high, low, close = ticks.max(axis=1), ticks.min(axis=1), ticks[:, -1]
    entry = ticks[open_bar, rng.integers(0, TICKS_PER_BAR, n)]
    qty = notional / entry
    liq = solve_liquidation(
        inverse=np.zeros(n, dtype=bool), side=side, qty=qty, entry=entry, margin=notional / leverage,
        tiers=venue.tiers, table=np.zeros(n, dtype=np.int64),
    ).liquidation_price

    close_bar = open_bar + 1 + rng.geometric(1.0 / mean_life_bars, n)
    end_bar = np.minimum(close_bar, bars)
    liquidated = np.zeros(n, dtype=bool)
    for i in range(n):
        window = slice(open_bar[i] + 1, end_bar[i])
        hit = low[window] <= liq[i] if side[i] > 0 else high[window] >= liq[i]
        if hit.any():
            end_bar[i] = open_bar[i] + 1 + int(np.argmax(hit))
            liquidated[i] = True

    oi_change = np.bincount(open_bar, weights=qty, minlength=bars + 1)
    oi_change -= np.bincount(end_bar, weights=qty, minlength=bars + 1)
    open_interest = BASELINE_OI + np.cumsum(oi_change)[:bars]

    closing = end_bar < bars
    buy = np.bincount(open_bar[side > 0], weights=qty[side > 0], minlength=bars)
    sell = np.bincount(open_bar[side < 0], weights=qty[side < 0], minlength=bars)
    buy += np.bincount(end_bar[closing & (side < 0)], weights=qty[closing & (side < 0)], minlength=bars)[:bars]
    sell += np.bincount(end_bar[closing & (side > 0)], weights=qty[closing & (side > 0)], minlength=bars)[:bars]
    churn = rng.gamma(2.0, 0.5 * (buy + sell).mean(), bars)
    churn_buy = churn * rng.uniform(0.35, 0.65, bars)
    buy, sell = buy + churn_buy, sell + churn - churn_buy

    history = MarketHistory(
        times=np.arange(bars, dtype=np.int64) * 60_000,
        high=high, low=low, close=close, volume=buy + sell, open_interest=open_interest,
        vwap=ticks.mean(axis=1), taker_buy_volume=buy, taker_sell_volume=sell,
        funding_rate=np.full(bars, FUNDING_FLOOR),
        long_short_ratio=_account_ratio(rng, side, open_bar, end_bar, bars, close[0]),
    )
    return SimulatedMarket(history, venue, side, leverage, entry, notional, liq, open_bar, end_bar, liquidated)


def coarsen(market: SimulatedMarket, k: int) -> SimulatedMarket:
    """The same market as a venue serving ``k``-minute bars: candles, OI, taker volume and ratio at that step."""
    h = market.history
    n = h.size // k * k

    def per_bar(a: np.ndarray) -> np.ndarray:
        return a[:n].reshape(-1, k)

    volume = per_bar(h.volume).sum(axis=1)
    assert h.vwap is not None and h.taker_buy_volume is not None and h.taker_sell_volume is not None
    assert h.open_interest is not None and h.funding_rate is not None and h.long_short_ratio is not None
    history = MarketHistory(
        times=h.times[:n:k], high=per_bar(h.high).max(axis=1), low=per_bar(h.low).min(axis=1),
        close=per_bar(h.close)[:, -1], volume=volume, open_interest=per_bar(h.open_interest)[:, -1],
        vwap=(per_bar(h.vwap) * per_bar(h.volume)).sum(axis=1) / volume,
        taker_buy_volume=per_bar(h.taker_buy_volume).sum(axis=1),
        taker_sell_volume=per_bar(h.taker_sell_volume).sum(axis=1),
        funding_rate=per_bar(h.funding_rate)[:, -1], long_short_ratio=per_bar(h.long_short_ratio)[:, -1],
    )
    return replace(market, history=history, open_bar=market.open_bar // k, end_bar=market.end_bar // k)
