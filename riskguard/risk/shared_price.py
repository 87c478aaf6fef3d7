"""One liquidation price for several legs that share collateral and a symbol.

Binance states that the long and short cross legs of one symbol in hedge mode
share a liquidation price.  With two legs, each in its own tier, equity − MM is
piecewise affine in z (z = price for linear, 1/price for inverse) with kinks at
every tier floor of every leg, so each segment is solved exactly and the root
nearest the current mark is the one the account would hit first.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from riskguard.model import MarginTier


@dataclass(frozen=True, slots=True)
class Leg:
    side: int
    qty: float
    """Base units (linear) or quote units (inverse)."""
    entry: float
    tiers: Sequence[MarginTier]
    mmr_add: float = 0.0


def _tier(tiers: Sequence[MarginTier], size: float) -> MarginTier:
    chosen = tiers[0]
    for t in tiers:
        if t.floor <= size:
            chosen = t
    return chosen


def _affine(legs: Sequence[Leg], margin: float, inverse: bool, z: float, with_mm: bool) -> tuple[float, float]:
    """(α, β) of f(z) = α + β·z on the segment containing z."""
    alpha, beta = margin, 0.0
    for leg in legs:
        if inverse:
            alpha += leg.side * leg.qty / leg.entry
            beta -= leg.side * leg.qty
        else:
            alpha -= leg.side * leg.qty * leg.entry
            beta += leg.side * leg.qty
        if with_mm:
            tier = _tier(leg.tiers, leg.qty * z)
            alpha += tier.cum
            beta -= leg.qty * (tier.mmr + leg.mmr_add)
    return alpha, beta


def _roots(legs: Sequence[Leg], margin: float, inverse: bool, with_mm: bool) -> list[float]:
    kinks = sorted({t.floor / leg.qty for leg in legs for t in leg.tiers if t.floor > 0} if with_mm else set())
    edges = [0.0, *kinks, math.inf]
    roots = []
    for lo, hi in itertools.pairwise(edges):
        probe = lo + 1.0 if math.isinf(hi) else (lo + hi) / 2
        alpha, beta = _affine(legs, margin, inverse, probe, with_mm)
        if beta == 0:
            continue
        z = -alpha / beta
        if lo <= z <= hi and z > 0:
            roots.append(z)
    return roots


def _nearest_price(roots: list[float], inverse: bool, mark: float) -> float | None:
    prices = [1 / z if inverse else z for z in roots]
    return min(prices, key=lambda p: abs(p - mark)) if prices else None


def shared_liquidation_price(legs: Sequence[Leg], margin: float, inverse: bool, mark: float) -> float | None:
    """Price nearest ``mark`` where the legs' combined equity equals their maintenance margin."""
    return _nearest_price(_roots(legs, margin, inverse, with_mm=True), inverse, mark)


def shared_bankruptcy_price(legs: Sequence[Leg], margin: float, inverse: bool, mark: float) -> float | None:
    return _nearest_price(_roots(legs, margin, inverse, with_mm=False), inverse, mark)
