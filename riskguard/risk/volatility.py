"""Realized volatility and what it says about the liquidation buffer.

A buffer of "4 %" means little on its own: 4 % is a quiet week for one coin and an hour for another.
Dividing the log distance to the liquidation price by the volatility expected over a horizon turns
it into a comparable number (σ units), and the driftless Brownian first-passage formula turns that
into the probability of the mark *touching* the liquidation price within the horizon.

Assumptions, stated once: log prices follow a driftless Brownian motion with the realized per-bar σ;
crypto trades every second of every day, so a year is 365 × 86 400 s; liquidation is triggered by the
mark price (venue-margin-math §0), so the σ must be measured on a series close to mark (mark-price
or last-trade candles, not spot on another venue).
"""

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

SECONDS_PER_YEAR = 365 * 86_400
DEFAULT_MIN_RETURNS = 20
DEFAULT_HORIZON_SECONDS = 86_400


@dataclass(frozen=True)
class RealizedVolatility:
    """Per-bar σ of log returns; ``sigma_per_bar`` is None exactly when ``status == "unknown"``."""

    status: Literal["ok", "unknown"]
    reason: str | None
    sigma_per_bar: float | None
    bar_seconds: float
    n_returns: int

    def over(self, horizon_seconds: float) -> float | None:
        """σ of the log price change over ``horizon_seconds`` (square-root-of-time scaling)."""
        if self.sigma_per_bar is None:
            return None
        return self.sigma_per_bar * math.sqrt(horizon_seconds / self.bar_seconds)

    @property
    def annualised(self) -> float | None:
        return self.over(SECONDS_PER_YEAR)


def _unknown_volatility(reason: str, bar_seconds: float, n_returns: int = 0) -> RealizedVolatility:
    return RealizedVolatility("unknown", reason, None, bar_seconds, n_returns)


def realized_volatility(
    ohlcv: ArrayLike, bar_seconds: float, min_returns: int = DEFAULT_MIN_RETURNS
) -> RealizedVolatility:
    """σ of close-to-close log returns (sample std, ddof=1) from ccxt-shaped candles.

    :param ohlcv: rows ``[timestamp_ms, open, high, low, close, volume]``, oldest first.
    :param bar_seconds: the candle interval; every timestamp step must equal it. A gap would make one
        return span several bars and inflate σ, so it is refused rather than silently averaged in.
    :param min_returns: fewer returns than this give a σ too noisy to rank buffers by.

    A zero-volume bar has a stale close (nothing traded), which understates σ; it is refused too.
    """
    candles = np.asarray(ohlcv, dtype=float)
    if candles.ndim != 2 or candles.shape[1] < 6:
        return _unknown_volatility("BAD_SHAPE: expected rows of [ts, o, h, l, c, v]", bar_seconds)
    n_returns = max(len(candles) - 1, 0)
    if n_returns < min_returns:
        return _unknown_volatility(
            f"TOO_FEW_CANDLES: {n_returns} returns, need {min_returns}", bar_seconds, n_returns
        )
    timestamps, closes, volumes = candles[:, 0], candles[:, 4], candles[:, 5]
    if not np.all(np.isfinite(closes)) or np.any(closes <= 0):
        return _unknown_volatility("BAD_PRICE: non-finite or non-positive close", bar_seconds, n_returns)
    steps_s = np.diff(timestamps) / 1000
    if np.any(steps_s != bar_seconds):
        i = int(np.flatnonzero(steps_s != bar_seconds)[0])
        return _unknown_volatility(
            f"GAP: candle {i + 1} is {steps_s[i]:g}s after the previous, expected {bar_seconds:g}s",
            bar_seconds,
            n_returns,
        )
    if not np.all(np.isfinite(volumes)) or np.any(volumes <= 0):
        return _unknown_volatility(
            "ZERO_VOLUME: a candle with no trades has a stale close", bar_seconds, n_returns
        )
    sigma = float(np.std(np.diff(np.log(closes)), ddof=1))
    return RealizedVolatility("ok", None, sigma, bar_seconds, n_returns)


def sigma_buffer(side: int, mark: float, liquidation_price: float | None, sigma_horizon: float) -> float:
    """Distance to the liquidation price in σ units: side·ln(mark/LP) / (σ·√h).

    Positive while the position is safe; ≤ 0 once the mark is at or past the liquidation price.
    ``liquidation_price`` None means no finite price liquidates the position (the solver's NaN for an
    over-collateralized position): +inf.
    """
    if liquidation_price is None:
        return math.inf
    return side * math.log(mark / liquidation_price) / sigma_horizon


def touch_probability(buffer_sigmas: float) -> float:
    """P(driftless Brownian motion touches a barrier ``d`` σ away within the horizon) = 2·Φ(−d).

    2·Φ(−d) = 1 − erf(d/√2); erfc is the same quantity without cancellation in the far tail.
    A barrier already reached (d ≤ 0) has been touched: 1.
    """
    if buffer_sigmas <= 0:
        return 1.0
    return math.erfc(buffer_sigmas / math.sqrt(2))


@dataclass(frozen=True)
class LiquidationDistance:
    """JSON ``sigma_buffer`` and ``touch_probability`` for one position; both None when unknown."""

    status: Literal["ok", "unknown"]
    reason: str | None
    horizon_seconds: float
    sigma_buffer: float | None
    touch_probability: float | None


def liquidation_distance(
    side: int,
    mark: float,
    liquidation_price: float | None,
    volatility: RealizedVolatility,
    horizon_seconds: float = DEFAULT_HORIZON_SECONDS,
) -> LiquidationDistance:
    """Buffer in σ units and touch probability over ``horizon_seconds``; unknown if any input is."""
    sigma_horizon = volatility.over(horizon_seconds)
    if sigma_horizon is None:
        return LiquidationDistance("unknown", volatility.reason, horizon_seconds, None, None)
    if not (math.isfinite(mark) and mark > 0) or (
        liquidation_price is not None and not (math.isfinite(liquidation_price) and liquidation_price > 0)
    ):
        return LiquidationDistance(
            "unknown", "BAD_PRICE: mark or liquidation price is missing", horizon_seconds, None, None
        )
    if sigma_horizon == 0:
        return LiquidationDistance(
            "unknown", "ZERO_VOLATILITY: every close was equal", horizon_seconds, None, None
        )
    buffer = sigma_buffer(side, mark, liquidation_price, sigma_horizon)
    return LiquidationDistance("ok", None, horizon_seconds, buffer, touch_probability(buffer))
