"""Liquidation cascades: forced flow from one crowded band pushes price into the next.

Model (deterministic; every step is a stated assumption, not a fit):

1. Trigger. The scenario is "the mark reaches the nearest band on one side": long bands (long
   liquidations, below mark) for a fall, short bands (above mark) for a rise. The price starts at
   that band's near edge (``price_high`` for long bands, ``price_low`` for short), or at the mark if
   the band already straddles it.
2. Firing. A band fires *whole* once the price reaches its near edge. Real bands liquidate
   gradually and partly (tiered liquidation, ADL, Coinglass' own warning that levels overstate), so
   this is the conservative end: it overstates, never understates, the push.
3. Forced flow. The band's notional is sold (long bands) into the bids or bought (short bands) from
   the asks as a market order, walking the book's depth profile: each visible level is kept as its
   relative distance from the snapshot mid and its quote notional, and re-anchored at the price the
   band fires at (market makers quote around wherever the price is, with the depth they showed).
   The price after the band is the deepest level reached.
4. Depth memory. Depth a band consumed stays consumed, except that a fraction ``refill`` of it is
   restored before the next band fires (0: nothing comes back, the default, because makers pull
   quotes in a cascade; 1: every band meets the full book).
5. Beyond the book. When a band's flow outlasts the visible depth, the remainder moves the log price
   by remainder / density, where density = ``beyond_book`` × (visible notional / deepest visible
   offset), i.e. the visible book's average depth per unit of relative move extrapolated. With
   ``beyond_book=None`` the price stops at the deepest visible level and the remainder is reported
   as unabsorbed: the move is then a lower bound.
6. Chain. If the new price reaches the next band's near edge, that band fires from the new price;
   otherwise the cascade stops.

Bands are anything with ``side`` ("long"/"short"), ``price_low``, ``price_high`` and ``notional``
(quote currency), such as ``riskguard.risk.bands.Band``. The book is ccxt-shaped ``[[price, amount]]``
in contracts, like :mod:`riskguard.risk.exit_liquidity`.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from riskguard.risk.exit_liquidity import Levels, book_ladder, walk_levels
from riskguard.risk.stress import StressAccount, StressResult, stress

BandSide = Literal["long", "short"]


class BandLike(Protocol):
    """Read-only, so frozen bands (``riskguard.risk.bands.Band``) qualify."""

    @property
    def side(self) -> str: ...
    @property
    def price_low(self) -> float: ...
    @property
    def price_high(self) -> float: ...
    @property
    def notional(self) -> float: ...


@dataclass(frozen=True)
class CascadeStep:
    band_index: int
    """Position of the band in the caller's sequence."""
    trigger_price: float
    """Price when the band fired: its near edge, or lower/higher if the previous band overshot it."""
    forced_notional: float
    price_after: float
    unabsorbed_notional: float
    """Flow the visible book could not take (only with ``beyond_book=None``)."""


@dataclass(frozen=True)
class Cascade:
    status: Literal["ok", "unknown"]
    reason: str | None
    side: BandSide
    start_price: float
    steps: tuple[CascadeStep, ...]

    @property
    def path(self) -> tuple[float, ...]:
        """Price after each band that fired, in firing order."""
        return tuple(step.price_after for step in self.steps)

    @property
    def final_price(self) -> float:
        """Furthest price reached; the path is monotone, so the last one is also the extreme."""
        return self.steps[-1].price_after if self.steps else self.start_price

    @property
    def total_forced_notional(self) -> float:
        return sum(step.forced_notional for step in self.steps)

    @property
    def unabsorbed_notional(self) -> float:
        return sum(step.unabsorbed_notional for step in self.steps)

    @property
    def move_pct(self) -> float:
        """Signed move from the start (mark) to the final price, in percent."""
        return (self.final_price / self.start_price - 1) * 100


def _bad_band(band: BandLike) -> str | None:
    values = (band.price_low, band.price_high, band.notional)
    if not all(math.isfinite(v) for v in values):
        return "non-finite price or notional"
    if not 0 < band.price_low <= band.price_high:
        return f"price_low {band.price_low:g} must be > 0 and <= price_high {band.price_high:g}"
    if band.notional < 0:
        return f"negative notional {band.notional:g}"
    return None


def simulate_cascade(
    *,
    side: BandSide,
    mark: float,
    bands: Sequence[BandLike],
    bids: Levels,
    asks: Levels,
    contract_size: float,
    inverse: bool,
    refill: float = 0.0,
    beyond_book: float | None = 1.0,
) -> Cascade:
    """Walk the ``side`` bands from the nearest outwards (module doc); other-side bands are ignored.

    :param contract_size: base units (linear) or USD (inverse) per contract, to value book levels.
    :param refill: fraction of consumed depth restored between bands, in [0, 1].
    :param beyond_book: depth past the visible book as a multiple of its average density; None stops
        at the deepest visible level.
    """
    direction = -1.0 if side == "long" else 1.0

    def unknown(reason: str) -> Cascade:
        return Cascade("unknown", reason, side, mark, ())

    if side not in ("long", "short"):
        return unknown(f"BAD_INPUT: side must be 'long' or 'short', got {side!r}")
    if not (math.isfinite(mark) and mark > 0):
        return unknown(f"BAD_PRICE: mark must be > 0, got {mark!r}")
    if not 0 <= refill <= 1 or (beyond_book is not None and not beyond_book > 0):
        return unknown("BAD_INPUT: refill must be in [0, 1] and beyond_book > 0")
    ladder, reason = book_ladder(bids, asks)
    if ladder is None:
        return unknown(reason or "BAD_BOOK: the book cannot be priced against")
    chosen = [(i, b) for i, b in enumerate(bands) if b.side == side]
    for i, band in chosen:
        problem = _bad_band(band)
        if problem is not None:
            return unknown(f"BAD_BAND: band {i}: {problem}")

    levels = ladder.bids if side == "long" else ladder.asks
    offsets = np.abs(levels[:, 0] / ladder.mid - 1)
    capacity = levels[:, 1] * contract_size * (1.0 if inverse else levels[:, 0])
    density = None if beyond_book is None else beyond_book * capacity.sum() / offsets[-1]

    def near_edge(band: BandLike) -> float:
        return band.price_high if side == "long" else band.price_low

    chosen.sort(key=lambda item: direction * near_edge(item[1]))
    price = mark
    if chosen:
        edge = near_edge(chosen[0][1])
        price = min(mark, edge) if side == "long" else max(mark, edge)
    state = np.ones_like(capacity)
    steps: list[CascadeStep] = []
    for i, band in chosen:
        if direction * (price - near_edge(band)) < 0:
            break
        available = capacity * state
        taken = walk_levels(available, band.notional)
        remainder = max(band.notional - float(available.sum()), 0.0)
        reached = np.flatnonzero(taken > 0)
        deepest = offsets[reached[-1]] if reached.size else 0.0
        price_after = price * (1 + direction * deepest)
        unabsorbed = 0.0
        if remainder > 0:
            price_after = price * (1 + direction * offsets[-1])
            if density is None:
                unabsorbed = remainder
            else:
                price_after *= math.exp(direction * remainder / density)
        steps.append(CascadeStep(i, float(price), band.notional, float(price_after), unabsorbed))
        state = (available - taken) / capacity  # capacity > 0: book_ladder drops empty levels
        state += refill * (1 - state)
        price = price_after
    return Cascade("ok", None, side, mark, tuple(steps))


def cascade_survival(account: StressAccount, cascade: Cascade) -> StressResult:
    """Stress the account at the cascade's extreme price, as one shock applied to every mark.

    For a multi-symbol account this assumes the other symbols move by the same percentage, the
    same correlated-crash assumption as :mod:`riskguard.risk.stress`. An unknown cascade gives an
    unknown stress (and so no survival).
    """
    if cascade.status != "ok":
        return StressResult.unknown(cascade.reason or cascade.status, np.array([math.nan]), account.side.shape[0])
    return stress(account, [cascade.final_price / cascade.start_price - 1])
