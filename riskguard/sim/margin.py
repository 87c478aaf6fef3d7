"""Instrument specs and the emulator's own margin arithmetic.

The emulator decides liquidations and reports ``liquidationPrice`` with a *numeric* root search on
``equity(P) - maintenance(P)``. It never uses the closed-form liquidation formulas that riskguard's
risk layer implements, so a test comparing the two cross-checks riskguard against an independent
implementation instead of against a copy of itself.

Closing-fee reserve (Bybit): an instrument with a ``close_fee_rate`` adds the estimated taker fee to
close the position *at its bankruptcy price* to the maintenance requirement. The bankruptcy price is
itself found numerically: the price at which the collateral, net of that same closing fee, is used up
(Bybit: "the 0% margin price level"). It depends on the collateral, not on the candidate price, so the
requirement stays a plain function of price and the bisection below is unchanged.

Units: a position's ``size`` is counted in contracts, signed (+ long, − short). For a linear
instrument one contract is ``contract_size`` units of base asset and everything settles in the
quote asset; for an inverse instrument one contract is ``contract_size`` units of quote currency
(USD) and everything settles in the base coin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import field
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

STRICT = ConfigDict(extra="forbid")
"""Scenario files are parsed straight into these dataclasses; unknown keys are typos, so fail."""

_BISECTION_STEPS = 200


class TierBasis(StrEnum):
    """What a margin tier's ``floor``/``cap`` are measured in.

    ``notional``: position value in the settle asset at the evaluated price (Binance USDⓈ-M, Bybit,
    Hyperliquid; for inverse instruments this is the coin value, as Binance COIN-M brackets are).
    ``contracts``: absolute contract count (OKX position tiers).
    """

    NOTIONAL = "notional"
    CONTRACTS = "contracts"


@dataclass(frozen=True, config=STRICT)
class MarginTier:
    """One bracket of a tiered maintenance schedule; ``cum`` is the maintenance amount (deduction)."""

    floor: float
    cap: float
    mmr: float
    cum: float
    max_leverage: float


@dataclass(frozen=True, config=STRICT)
class Instrument:
    """A perpetual contract as the emulator trades it; ``symbol`` is the venue-native id."""

    symbol: str
    base: str
    quote: str
    settle: str
    inverse: bool
    contract_size: float
    price_tick: float
    amount_step: float
    tiers: tuple[MarginTier, ...]
    tier_basis: TierBasis = TierBasis.NOTIONAL
    min_amount: float = 0.0
    funding_rate: float = 0.0001
    funding_interval_hours: int = 8
    open_interest: float = 0.0
    """Open interest in contracts; the synthetic history wiggles around it."""
    book_depth: int = 20
    book_step_bps: float = 1.0
    book_level_size: float = 5.0
    """Contracts resting at the best level; deeper levels hold progressively more."""
    extra: dict[str, str] = field(default_factory=dict)
    """Venue-specific passthrough strings a dialect may need (e.g. ``pair`` or ``contractType``)."""
    close_fee_rate: float | None = None
    """Taker fee rate of the estimated fee to close that the venue holds in the maintenance requirement,
    charged on the position's value at its bankruptcy price (Bybit). ``None``: the dialect decides (the
    Bybit dialect fills in its accounts' taker fee, every other venue reserves nothing)."""
    maintenance_fee_rate: float = 0.0
    """Taker fee rate the venue adds to every tier's maintenance rate (OKX, Gate): MM = value·(mmr + rate)."""
    tier_at_mark: bool = False
    """The venue keeps a position in the tier of its value at the current mark while the price moves (Bybit's
    risk limit); otherwise the tier follows the value at the evaluated price (Binance, Hyperliquid)."""

    def tier_for(self, size: float, price: float) -> MarginTier:
        """The tier whose [floor, cap) range contains this position at ``price``; the last tier beyond."""
        measure = self.tier_measure(size, price)
        for tier in self.tiers:
            if measure < tier.cap:
                return tier
        return self.tiers[-1]

    def tier_measure(self, size: float, price: float) -> float:
        """The quantity tiers are keyed on, for a position of ``size`` contracts at ``price``."""
        if self.tier_basis is TierBasis.CONTRACTS:
            return abs(size)
        return self.notional(size, price)

    def notional(self, size: float, price: float) -> float:
        """Absolute position value in the settle asset."""
        if self.inverse:
            return abs(size) * self.contract_size / price
        return abs(size) * self.contract_size * price

    def pnl(self, size: float, entry: float, price: float) -> float:
        """Profit in the settle asset of ``size`` contracts opened at ``entry`` and marked at ``price``."""
        if self.inverse:
            return size * self.contract_size * (1.0 / entry - 1.0 / price)
        return size * self.contract_size * (price - entry)

    def maintenance(self, size: float, price: float, mark: float | None = None) -> float:
        """Maintenance margin in the settle asset at ``price``: notional × (tier mmr + fee rate) − tier cum.

        ``mark``: where the position stands now; an instrument with ``tier_at_mark`` keeps that tier.
        """
        if size == 0:
            return 0.0
        tier = self.tier_for(size, mark if self.tier_at_mark and mark is not None else price)
        return max(self.notional(size, price) * (tier.mmr + self.maintenance_fee_rate) - tier.cum, 0.0)

    def round_price(self, price: float) -> float:
        """Snap to the price tick (half-up), trimming binary noise."""
        return round(round(price / self.price_tick) * self.price_tick, 12)

    def round_amount(self, amount: float) -> float:
        """Snap down to the amount step, so an order never exceeds what was asked."""
        steps = int(amount / self.amount_step + 1e-9)
        return round(steps * self.amount_step, 12)


def tier_schedule(*brackets: tuple[float, float, float]) -> tuple[MarginTier, ...]:
    """Tiers from ``(cap, mmr, max_leverage)`` rows, deriving floors and the maintenance amounts.

    ``cum_n = cum_{n-1} + floor_n · (mmr_n − mmr_{n-1})`` keeps maintenance margin continuous across
    tier boundaries, which is how every tiered venue defines its deduction.
    """
    tiers: list[MarginTier] = []
    floor, cum, previous_mmr = 0.0, 0.0, 0.0
    for cap, mmr, max_leverage in brackets:
        cum += floor * (mmr - previous_mmr)
        tiers.append(MarginTier(floor, cap, mmr, round(cum, 10), max_leverage))
        floor, previous_mmr = cap, mmr
    return tuple(tiers)


class MarginMode(StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"


Leg = Literal["both", "long", "short"]
"""Which position slot an order or position lives in: ``both`` in one-way mode, a side in hedge mode."""


@dataclass(frozen=True)
class Exposure:
    """What the margin math needs to know about one open position."""

    instrument: Instrument
    size: float
    entry: float
    mark: float


def _fee_rate(exposure: Exposure) -> float:
    return exposure.instrument.close_fee_rate or 0.0


def _close_fee(exposure: Exposure, price: float) -> float:
    """The taker fee of closing ``exposure`` at ``price``, in the settle asset (0 without a reserve)."""
    rate = _fee_rate(exposure)
    return rate * exposure.instrument.notional(exposure.size, price) if rate else 0.0


def _single_symbol(exposures: Sequence[Exposure]) -> bool:
    return len({e.instrument.symbol for e in exposures}) == 1


def _adverse_root(surplus: Callable[[float], float], mark: float, net: float) -> float | None:
    """Where ``surplus`` first reaches zero moving from ``mark`` against a position of net size ``net``.

    Bisection between the mark and the far end of the adverse direction, with geometric midpoints as
    the bracket spans decades; tier boundaries need no special handling. ``mark`` itself when the
    surplus is already gone there, ``None`` when no adverse move ever exhausts it.
    """
    if surplus(mark) <= 0:
        return mark
    far = mark * 1e-9 if net > 0 else mark * 1e9
    if surplus(far) > 0:
        return None
    safe, unsafe = mark, far
    for _ in range(_BISECTION_STEPS):
        middle = (safe * unsafe) ** 0.5
        if surplus(middle) > 0:
            safe = middle
        else:
            unsafe = middle
        if abs(safe - unsafe) <= 1e-12 * safe:
            break
    return (safe + unsafe) / 2


def solve_bankruptcy_price(collateral: float, moving: Sequence[Exposure]) -> float | None:
    """The price of ``moving``'s symbol at which ``collateral`` is used up, closing fee included.

    Equity net of the fee to close (``close_fee_rate`` × value at that price) is zero there; without a
    closing-fee reserve it is the plain zero-equity price. ``None`` when the position is flat or no
    adverse move ever exhausts the collateral.
    """
    net = sum(e.size for e in moving)
    if not moving or net == 0:
        return None

    def equity_after_close(price: float) -> float:
        return collateral + sum(e.instrument.pnl(e.size, e.entry, price) - _close_fee(e, price) for e in moving)

    return _adverse_root(equity_after_close, moving[0].mark, net)


def _closing_fee_reserve(collateral: float, moving: Sequence[Exposure]) -> float:
    """Fee to close ``moving`` at its bankruptcy price; 0 where the instrument reserves no fee."""
    if not any(_fee_rate(e) for e in moving):
        return 0.0
    bankruptcy = solve_bankruptcy_price(collateral, moving)
    if bankruptcy is None:  # flat hedge: close at the mark; never bankrupt: at the far end (value ~0)
        net = sum(e.size for e in moving)
        bankruptcy = moving[0].mark * (1.0 if net == 0 else 1e-9 if net > 0 else 1e9)
    return sum(_close_fee(e, bankruptcy) for e in moving)


def _equity_minus_maintenance(
    collateral: float, moving: Sequence[Exposure], frozen: Iterable[Exposure], price: float, reserve: float = 0.0
) -> float:
    """Equity minus the maintenance requirement with ``moving`` marked at ``price``.

    ``reserve`` is the closing fee of ``moving`` at its bankruptcy price (one symbol on its own
    collateral). Where several symbols share the collateral there is no single bankruptcy price, so
    each position's closing fee is counted at the price it is marked at, ``frozen`` ones included.
    """
    frozen = tuple(frozen)
    at_price = bool(frozen)
    frozen_total = sum(e.instrument.pnl(e.size, e.entry, e.mark) - e.instrument.maintenance(e.size, e.mark)
                       - _close_fee(e, e.mark) for e in frozen)
    moving_total = sum(e.instrument.pnl(e.size, e.entry, price) - e.instrument.maintenance(e.size, price, e.mark)
                       - (_close_fee(e, price) if at_price else 0.0) for e in moving)
    return collateral + frozen_total + moving_total - reserve


def margin_surplus(collateral: float, exposures: Iterable[Exposure]) -> float:
    """Equity minus maintenance margin at the current marks; negative means liquidatable.

    With a closing-fee reserve, exposures of one symbol (an isolated position, or a cross pool of one
    symbol) reserve the fee at their bankruptcy price, exactly as ``solve_liquidation_price`` does, so
    the mark that liquidates is the price reported.
    """
    exposures = tuple(exposures)
    if exposures and _single_symbol(exposures):
        mark = exposures[0].mark
        return _equity_minus_maintenance(collateral, exposures, (), mark, _closing_fee_reserve(collateral, exposures))
    return _equity_minus_maintenance(collateral, (), exposures, 0.0)


def solve_liquidation_price(
    collateral: float, moving: Sequence[Exposure], frozen: Sequence[Exposure] = ()
) -> float | None:
    """The mark price of ``moving``'s instrument at which equity first equals maintenance margin.

    ``collateral`` is the isolated margin, or the cross wallet balance of the settle asset. The
    ``moving`` exposures (one symbol: a one-way position, or both legs of a hedge, which share one
    price) are revalued at the candidate price; ``frozen`` ones (other symbols in the same cross pool)
    stay at their own marks. The root is found by bisection (see ``_adverse_root``). With a
    closing-fee reserve the requirement also holds the fee to close at the bankruptcy price (Bybit's
    "estimated fee to close"), or at each position's price when other symbols share the collateral.
    Returns ``None`` when no adverse move ever liquidates (net flat, or over-collateralised).
    """
    if not moving:
        return None
    net = sum(e.size for e in moving)
    if net == 0:
        return None
    reserve = 0.0 if frozen else _closing_fee_reserve(collateral, moving)

    def surplus(price: float) -> float:
        return _equity_minus_maintenance(collateral, moving, frozen, price, reserve)

    return _adverse_root(surplus, moving[0].mark, net)
