"""Synthetic public market data derived from the mark-price path.

Everything here is a pure function of an instrument, the recorded mark path and the time, so
two requests at the same moment see the same book, candles and histories.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from riskguard.sim.margin import Instrument

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class OrderBook:
    """Levels as (price, contracts), best first."""

    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Candle:
    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def synthetic_book(instrument: Instrument, mark: float, depth: int | None = None) -> OrderBook:
    """A symmetric book around the mark: ``book_step_bps`` apart, thicker further out."""
    levels = depth or instrument.book_depth
    step = max(mark * instrument.book_step_bps / 10_000, instrument.price_tick)

    def side(sign: int) -> tuple[tuple[float, float], ...]:
        return tuple(
            (instrument.round_price(mark + sign * (i + 0.5) * step),
             instrument.round_amount(instrument.book_level_size * (1 + i / 2)))
            for i in range(levels)
        )

    return OrderBook(bids=side(-1), asks=side(+1))


def candles(history: Sequence[tuple[int, float]], timeframe_ms: int, now_ms: int,
            since_ms: int | None = None, limit: int = 100) -> list[Candle]:
    """OHLC bars built from the recorded marks; a bar with no mark change is flat at the last mark."""
    current = now_ms - now_ms % timeframe_ms
    step = timeframe_ms
    first = current - (limit - 1) * step if since_ms is None else since_ms - since_ms % step
    bars: list[Candle] = []
    times = [t for t, _ in history]  # recorded in clock order
    for start in range(first, current + 1, timeframe_ms):
        if len(bars) == limit:
            break
        lo, hi = bisect.bisect_left(times, start), bisect.bisect_left(times, start + timeframe_ms)
        inside = [p for _, p in history[lo:hi]]
        opening = history[lo - 1][1] if lo else (inside[0] if inside else history[0][1])
        prices = [opening, *inside]
        bars.append(Candle(start, opening, max(prices), min(prices), prices[-1], 10.0 * (1 + len(inside))))
    return bars


def funding_times(instrument: Instrument, now_ms: int, since_ms: int | None, limit: int) -> list[int]:
    """Past funding settlement times (oldest first), on the instrument's funding interval."""
    interval = instrument.funding_interval_hours * HOUR_MS
    last = now_ms - now_ms % interval
    if since_ms is None:
        return [last - i * interval for i in reversed(range(limit))]
    first = since_ms + (-since_ms) % interval
    return list(range(first, last + 1, interval))[:limit]


def next_funding_ms(instrument: Instrument, now_ms: int) -> int:
    interval = instrument.funding_interval_hours * HOUR_MS
    return now_ms - now_ms % interval + interval


def open_interest_history(instrument: Instrument, period_ms: int, now_ms: int,
                          since_ms: int | None = None, limit: int = 30) -> list[tuple[int, float]]:
    """(time, contracts) points that wiggle ±5 % around the instrument's current open interest."""
    last = now_ms - now_ms % period_ms
    if since_ms is None:
        times = [last - i * period_ms for i in reversed(range(limit))]
    else:
        times = list(range(since_ms + (-since_ms) % period_ms, last + 1, period_ms))[:limit]
    return [(t, instrument.round_amount(instrument.open_interest * (1 + 0.05 * math.sin(t / period_ms))))
            for t in times]


def long_short_ratio_history(period_ms: int, now_ms: int, since_ms: int | None = None,
                             limit: int = 30) -> list[tuple[int, float]]:
    """(time, long accounts / short accounts): drifts between about 0.8 and 1.25, a pure function of time."""
    return [(t, round(math.exp(0.22 * math.sin(t / (7 * period_ms))), 4))
            for t in _period_times(period_ms, now_ms, since_ms, limit)]


def taker_volume_history(instrument: Instrument, period_ms: int, now_ms: int, since_ms: int | None = None,
                         limit: int = 30) -> list[tuple[int, float, float]]:
    """(period start, taker buy, taker sell) in contracts: the buy share swings between 0.4 and 0.6."""
    total = instrument.open_interest * 0.01
    rows = []
    for t in _period_times(period_ms, now_ms, since_ms, limit):
        buy_share = 0.5 + 0.1 * math.sin(t / (3 * period_ms))
        rows.append((t, instrument.round_amount(total * buy_share), instrument.round_amount(total * (1 - buy_share))))
    return rows


def _period_times(period_ms: int, now_ms: int, since_ms: int | None, limit: int) -> list[int]:
    last = now_ms - now_ms % period_ms
    if since_ms is None:
        return [last - i * period_ms for i in reversed(range(limit))]
    return list(range(since_ms + (-since_ms) % period_ms, last + 1, period_ms))[:limit]
