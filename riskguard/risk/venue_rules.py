"""How each venue departs from the common "equity = maintenance margin" model.

The solver is shared; what differs between venues is data, not code paths:
which tier applies, whether the taker fee sits in the requirement, how extra
margin counts, whether maintenance margin is taken at entry, and how the venue
rounds the price it displays.  Keeping that as one frozen record per venue is
what lets a new venue be added without a new formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from riskguard.model import AccountType


class TierSelection(StrEnum):
    AT_LIQUIDATION = "at_liquidation"
    """Tier of the notional at the liquidation price (Binance states this; Hyperliquid's tables work so)."""
    CURRENT = "current"
    """The tier the position sits in now: OKX by contract count, Bybit by its risk limit."""


class MaintenanceBasis(StrEnum):
    AT_PRICE = "at_price"
    AT_ENTRY = "at_entry"
    """Bybit classic: MM = entry value·MMR − deduction, fixed while the position is open."""


class InitialMarginBasis(StrEnum):
    """Which position value the venue divides by leverage for the initial margin it reports."""

    MARK = "mark"
    """Binance, Hyperliquid: IM follows the mark."""
    ENTRY = "entry"
    """Bybit: positionIM is entry value ÷ leverage (plus the closing-fee reserve)."""
    ENTRY_WHEN_ISOLATED = "entry_when_isolated"
    """OKX: an isolated position's IM is its margin at entry; cross ``imr`` follows the mark."""


class PriceConvention(StrEnum):
    """How the venue turns the exact root into the number it displays.

    The order is the code the vectorized display step gathers by (``CONVENTIONS``).
    """

    EXACT = "exact"
    ROUND_TOWARD_ENTRY = "round_toward_entry"
    """Bybit classic/legacy: long LP and BP rounded up to the tick, short down (three official examples)."""
    ONE_TICK_TOWARD_ENTRY = "one_tick_toward_entry"
    """OKX isolated: liqPx is the exact root moved one tick toward the mark (real payloads, to 1e-12)."""
    NEAREST_8_DECIMALS = "nearest_8_decimals"
    """Hyperliquid isolated: liquidationPx rounded to the nearest 1e-8 (9 captured positions; down fails 7)."""

    @property
    def needs_tick(self) -> bool:
        return self in (PriceConvention.ROUND_TOWARD_ENTRY, PriceConvention.ONE_TICK_TOWARD_ENTRY)


CONVENTIONS: tuple[PriceConvention, ...] = tuple(PriceConvention)

ROUNDING_RULE: dict[PriceConvention, str] = {
    PriceConvention.EXACT: "exact root, unrounded",
    PriceConvention.ROUND_TOWARD_ENTRY: "rounded toward entry to the tick",
    PriceConvention.ONE_TICK_TOWARD_ENTRY: "exact root moved one tick toward entry",
    PriceConvention.NEAREST_8_DECIMALS: "rounded to the nearest 1e-8",
}
"""The rounding rule each result names next to its displayed price."""
UNKNOWN_DISPLAY = "unknown: the market has no price tick"


@dataclass(frozen=True, slots=True)
class VenueRules:
    tier_selection: TierSelection = TierSelection.AT_LIQUIDATION
    fee_in_maintenance: bool = False
    """OKX: the requirement is notional·(mmr + taker fee)."""
    close_fee_reserve: bool = False
    """Bybit: position margin and MM both hold an estimated fee to close.

    Only the collateral net of the fee paid at the bankruptcy price absorbs
    losses: M = (balance − fee·V)/(1 − d·fee) with V the entry value.  This is
    the UTA page's ``IM/Lev + Extra/(1 ∓ fee)`` and, for a classic account,
    its ``positionIM = M + fee·Q/BP``, in one expression.  The reported MM and
    IM add the reserve at the leverage's bankruptcy price, fee·V·(1 − d/Lev).
    """
    maintenance_basis: MaintenanceBasis = MaintenanceBasis.AT_PRICE
    initial_margin_basis: InitialMarginBasis = InitialMarginBasis.MARK
    shared_hedge_cross_price: bool = False
    """Binance: both cross legs of one symbol in hedge mode share one liquidation price."""
    venue_ratio_is_reciprocal: bool = False
    """OKX and Hyperliquid publish equity ÷ requirement (liquidated at ≤ 1) instead of requirement ÷ equity."""
    cross_is_estimate: bool = False
    """The venue liquidates cross accounts on an account-level ratio; a per-position price is an estimate."""
    price_convention: PriceConvention = PriceConvention.EXACT
    """Display of an isolated position's liquidation price."""
    cross_price_convention: PriceConvention = PriceConvention.EXACT
    """Display of a cross position's: only where the venue's own cross numbers show it (see docs/margin-math.md)."""
    bankruptcy_convention: PriceConvention = PriceConvention.EXACT
    """Display of the bankruptcy price: Bybit classic rounds it like the LP; no other venue's numbers show one."""
    method: str = "venue rules"
    """How the figures were derived; "generic estimate" for venues riskguard has no rules for."""

    @property
    def needs_taker_fee(self) -> bool:
        return self.fee_in_maintenance or self.close_fee_reserve


_BINANCE = VenueRules(shared_hedge_cross_price=True)
_RULES: dict[str, VenueRules] = {
    "binanceusdm": _BINANCE,
    "binancecoinm": _BINANCE,
    "okx": VenueRules(
        tier_selection=TierSelection.CURRENT,
        fee_in_maintenance=True,
        initial_margin_basis=InitialMarginBasis.ENTRY_WHEN_ISOLATED,
        venue_ratio_is_reciprocal=True,
        cross_is_estimate=True,
        price_convention=PriceConvention.ONE_TICK_TOWARD_ENTRY,
    ),
    "hyperliquid": VenueRules(venue_ratio_is_reciprocal=True, price_convention=PriceConvention.NEAREST_8_DECIMALS),
    # Gate USDT-margined perpetuals: MM = value·(mmr + taker fee) (help 27724, a real position payload),
    # tiered by position value since the 2025 risk-limit upgrade; liq_price shown at 2 decimals, direction
    # not determined by the one payload (tests/risk/vectors/gate.json).
    "gate": VenueRules(fee_in_maintenance=True, cross_is_estimate=True),
}
_BYBIT_UNIFIED = VenueRules(
    tier_selection=TierSelection.CURRENT,
    close_fee_reserve=True,
    initial_margin_basis=InitialMarginBasis.ENTRY,
    cross_is_estimate=True,
)
_BYBIT_CLASSIC = VenueRules(
    tier_selection=TierSelection.CURRENT,
    close_fee_reserve=True,
    initial_margin_basis=InitialMarginBasis.ENTRY,
    maintenance_basis=MaintenanceBasis.AT_ENTRY,
    cross_is_estimate=True,
    price_convention=PriceConvention.ROUND_TOWARD_ENTRY,
    cross_price_convention=PriceConvention.ROUND_TOWARD_ENTRY,  # the legacy inverse cross example (5,739.50)
    bankruptcy_convention=PriceConvention.ROUND_TOWARD_ENTRY,
)
GENERIC = VenueRules(cross_is_estimate=True, method="generic estimate")
"""Any other ccxt venue: the common model without the venue's own terms, so every figure is an estimate."""


VENUES: tuple[str, ...] = (*_RULES, "bybit")
"""Venues with their own rules; anything else gets ``GENERIC``."""


def rules_for(venue: str, account_type: AccountType = AccountType.STANDARD) -> VenueRules:
    if venue == "bybit":
        return _BYBIT_CLASSIC if account_type is AccountType.CLASSIC else _BYBIT_UNIFIED
    return _RULES.get(venue, GENERIC)
