"""Is one side of the market crowded? Funding, open-interest growth and basis.

Liquidation bands are estimated, never observed (venue-margin-math §10). Funding and open interest are
observed, and together they say whether the estimate is likely to be loaded: funding far above its
own recent history means longs are paying up to stay in, and open interest rising at the same time
means new leveraged positions are still being added, which is what fills the bands below mark
(mirror image for shorts).

Every input here is a history with timestamps, and every window is measured in time, not rows:
venues settle funding every 1, 4 or 8 hours and open-interest feeds skip samples. A history that
is too short, stale or gappy gives ``"unknown"`` with a reason, never a zero that reads as calm.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from riskguard.risk.volatility import SECONDS_PER_YEAR

Status = Literal["ok", "unknown"]

DEFAULT_FUNDING_LOOKBACK_SECONDS = 30 * 86_400
DEFAULT_MIN_FUNDING_POINTS = 30
DEFAULT_OI_WINDOWS_SECONDS = (3_600, 4 * 3_600, 24 * 3_600)
DEFAULT_OI_TOLERANCE_SECONDS = 900


# -- FUNDING ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundingSignal:
    """Current funding rate against its own lookback; numbers are None exactly when unknown."""

    status: Status
    reason: str | None
    rate: float | None
    """Current rate per funding interval, as a fraction (0.0001 = 0.01 %)."""
    interval_seconds: float | None
    """Median spacing of the history: the venue's funding interval."""
    annualised_pct: float | None
    """rate × intervals per year × 100, simple (not compounded)."""
    zscore: float | None
    """(rate − mean) / sample std of the history inside the lookback."""
    n_points: int


def funding_signal(
    history_ms: ArrayLike,
    history_rates: ArrayLike,
    current_rate: float,
    as_of_ms: int,
    lookback_seconds: float = DEFAULT_FUNDING_LOOKBACK_SECONDS,
    min_points: int = DEFAULT_MIN_FUNDING_POINTS,
) -> FundingSignal:
    """Z-score of ``current_rate`` against settled rates with as_of − lookback ≤ t < as_of.

    The current rate itself is excluded from its own baseline (t < as_of), so pass the predicted rate
    with as_of = now, or the last settled rate with as_of = its settlement time.
    """
    ts = np.asarray(history_ms, dtype=float)
    rates = np.asarray(history_rates, dtype=float)

    def unknown(reason: str, n: int = 0) -> FundingSignal:
        return FundingSignal("unknown", reason, None, None, None, None, n)

    if ts.shape != rates.shape or ts.ndim != 1:
        return unknown("BAD_SHAPE: funding timestamps and rates differ in length")
    if not math.isfinite(current_rate):
        return unknown(f"BAD_VALUE: current funding rate is {current_rate!r}")
    window = (ts >= as_of_ms - lookback_seconds * 1000) & (ts < as_of_ms)
    ts, rates = ts[window], rates[window]
    n = int(ts.size)
    if n < min_points:
        return unknown(f"TOO_SHORT: {n} funding points in the lookback, need {min_points}", n)
    if not np.all(np.isfinite(rates)):
        return unknown("BAD_VALUE: funding history holds a non-finite rate", n)
    steps = np.diff(ts)
    if np.any(steps <= 0):
        return unknown("UNSORTED: funding timestamps must strictly increase", n)
    interval_s = float(np.median(steps)) / 1000
    age_s = (as_of_ms - ts[-1]) / 1000
    if age_s > 2 * interval_s:
        return unknown(f"STALE: newest funding point is {age_s:g}s old, interval {interval_s:g}s", n)
    if np.all(rates == rates[0]):
        return unknown("FLAT_HISTORY: every funding rate in the lookback is equal; z-score undefined", n)
    zscore = (current_rate - float(np.mean(rates))) / float(np.std(rates, ddof=1))
    annualised = current_rate * SECONDS_PER_YEAR / interval_s * 100
    return FundingSignal("ok", None, current_rate, interval_s, annualised, zscore, n)


# -- OPEN INTEREST ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenInterestChange:
    window_seconds: float
    status: Status
    reason: str | None
    change_pct: float | None
    """(OI at end / OI at start − 1) × 100, OI in contracts so price moves do not count as growth."""


def open_interest_changes(
    history_ms: ArrayLike,
    open_interest: ArrayLike,
    as_of_ms: int,
    windows_seconds: Sequence[float] = DEFAULT_OI_WINDOWS_SECONDS,
    tolerance_seconds: float = DEFAULT_OI_TOLERANCE_SECONDS,
) -> tuple[OpenInterestChange, ...]:
    """OI change over each window, ending at the newest sample at or before ``as_of_ms``.

    The end sample must be at most ``tolerance_seconds`` old and the start sample (the one nearest to
    end − window) at most ``tolerance_seconds`` from its target; otherwise that window is unknown.
    """
    ts = np.asarray(history_ms, dtype=float)
    oi = np.asarray(open_interest, dtype=float)
    tolerance_ms = tolerance_seconds * 1000

    def all_unknown(reason: str) -> tuple[OpenInterestChange, ...]:
        return tuple(OpenInterestChange(w, "unknown", reason, None) for w in windows_seconds)

    if ts.shape != oi.shape or ts.ndim != 1:
        return all_unknown("BAD_SHAPE: open-interest timestamps and values differ in length")
    if np.any(np.diff(ts) <= 0):
        return all_unknown("UNSORTED: open-interest timestamps must strictly increase")
    end = int(np.searchsorted(ts, as_of_ms, side="right")) - 1
    if end < 0 or as_of_ms - ts[end] > tolerance_ms:
        return all_unknown(f"STALE: no open-interest sample within {tolerance_seconds:g}s before as_of")

    def change(window_s: float) -> OpenInterestChange:
        target = ts[end] - window_s * 1000
        candidates = np.clip(np.searchsorted(ts, target) + np.array([-1, 0]), 0, end)
        start = int(candidates[np.argmin(np.abs(ts[candidates] - target))])
        if start == end or abs(ts[start] - target) > tolerance_ms:
            reason = f"NO_SAMPLE: nothing within {tolerance_seconds:g}s of {window_s:g}s before the last sample"
            return OpenInterestChange(window_s, "unknown", reason, None)
        first, last = oi[start], oi[end]
        if not (math.isfinite(first) and math.isfinite(last) and first > 0 and last >= 0):
            return OpenInterestChange(window_s, "unknown", "BAD_VALUE: open interest is not a finite amount", None)
        return OpenInterestChange(window_s, "ok", None, (last / first - 1) * 100)

    return tuple(change(w) for w in windows_seconds)


# -- BASIS ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Basis:
    status: Status
    reason: str | None
    basis_pct: float | None
    """(price / reference − 1) × 100: mark vs index, or perp vs spot."""
    annualised_pct: float | None
    """basis_pct × year / time to expiry, simple; None for a perpetual, whose premium is no carry
    (its cost of carry is funding, see ``FundingSignal.annualised_pct``)."""


def basis(price: float, reference: float, seconds_to_expiry: float | None = None) -> Basis:
    """Premium of ``price`` over ``reference``; ``seconds_to_expiry`` None means a perpetual."""
    if not (math.isfinite(price) and math.isfinite(reference) and price > 0 and reference > 0):
        return Basis("unknown", f"BAD_PRICE: price {price!r}, reference {reference!r}", None, None)
    basis_pct = (price / reference - 1) * 100
    if seconds_to_expiry is None:
        return Basis("ok", None, basis_pct, None)
    if not seconds_to_expiry > 0:
        return Basis("unknown", f"EXPIRED: seconds to expiry {seconds_to_expiry!r}", basis_pct, None)
    return Basis("ok", None, basis_pct, basis_pct * SECONDS_PER_YEAR / seconds_to_expiry)


# -- CROWDED FLAG -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrowdingThresholds:
    funding_z: float = 2.0
    """|z| at or above which funding counts as elevated (with the matching sign of the rate)."""
    oi_change_pct: float = 5.0
    """OI growth at or above which leverage counts as still being added."""
    oi_window_seconds: float = 4 * 3_600
    """Which of the ``open_interest_changes`` windows the flag reads."""


DEFAULT_THRESHOLDS = CrowdingThresholds()


@dataclass(frozen=True)
class CrowdingFlag:
    state: Literal["crowded_long", "crowded_short", "not_crowded", "unknown"]
    reason: str
    """Why: the missing input when unknown, otherwise the numbers the decision rests on."""


def crowding_flag(
    funding: FundingSignal,
    oi_changes: Sequence[OpenInterestChange],
    thresholds: CrowdingThresholds = DEFAULT_THRESHOLDS,
) -> CrowdingFlag:
    """crowded_long ⇔ z ≥ T and rate > 0 and ΔOI ≥ X; crowded_short ⇔ z ≤ −T and rate < 0 and ΔOI ≥ X.

    Both legs are required to decide either way: an unknown leg makes the flag unknown, even when
    the known leg alone would rule crowding out. The flag is an input to a risk decision, and a
    "not crowded" that rests on half the evidence would read as an all-clear.
    """
    window = next((c for c in oi_changes if c.window_seconds == thresholds.oi_window_seconds), None)
    if window is None:
        return CrowdingFlag("unknown", f"NO_OI_WINDOW: no {thresholds.oi_window_seconds:g}s open-interest change")
    if funding.zscore is None or funding.rate is None:
        return CrowdingFlag("unknown", f"funding {funding.reason}")
    if window.change_pct is None:
        return CrowdingFlag("unknown", f"open interest {window.reason}")
    evidence = (
        f"funding z {funding.zscore:+.2f} (rate {funding.rate:+.6f}), "
        f"OI {window.change_pct:+.2f}% over {window.window_seconds:g}s"
    )
    rising = window.change_pct >= thresholds.oi_change_pct
    if rising and funding.zscore >= thresholds.funding_z and funding.rate > 0:
        return CrowdingFlag("crowded_long", evidence)
    if rising and funding.zscore <= -thresholds.funding_z and funding.rate < 0:
        return CrowdingFlag("crowded_short", evidence)
    return CrowdingFlag("not_crowded", evidence)
