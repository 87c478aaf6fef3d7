"""The batch API against ``check`` on the same positions: every vector test routes its account through here.

``liquidation_frame`` is fed what a user of the batch API would give it for
the account's positions (no hidden inputs): the venue, account type, margin
mode, fee, leverage, tick and tiers from the model objects, and as ``margin``
the documented collateral: isolated margin, or for cross the wallet plus the
other positions' uPnL minus their requirement, read from ``check``'s own rows.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskguard.model import Account, MarginMode, PositionSide, TierBasis, VenueMarkets
from riskguard.risk.account_risk import AccountRisk, PriceSource
from riskguard.risk.batch import liquidation_frame
from riskguard.risk.venue_rules import rules_for


def batch_frame(account: Account, venue: VenueMarkets, risk: AccountRisk) -> pd.DataFrame:
    rows = []
    for i, (p, r) in enumerate(zip(account.positions, risk.positions, strict=True)):
        m = venue.markets[p.symbol]
        group = _shared_group(account, i)
        if p.margin_mode is MarginMode.ISOLATED:
            margin = p.isolated_margin
        else:
            others = [
                o
                for j, o in enumerate(risk.positions)
                if j != i and j not in group and o.margin_mode == "cross" and o.settle == r.settle
            ]
            wallet = account.balances[r.settle].cross_wallet
            margin = wallet + sum(o.unrealized_pnl for o in others) - sum(o.maintenance_margin for o in others)
        rows.append(
            {
                "venue": account.venue,
                "account_type": account.account_type.value,
                "margin_mode": p.margin_mode.value,
                "symbol": p.symbol,
                "side": p.side.value,
                "contracts": p.contracts,
                "contract_size": m.contract_size,
                "entry_price": p.entry_price,
                "mark_price": p.mark_price,
                "margin": margin,
                "inverse": m.inverse,
                "taker_fee": account.fees.taker if account.fees else math.nan,
                "leverage": p.leverage or math.nan,
                "price_tick": m.price_tick or math.nan,
                "tier_basis": "contracts" if m.tier_basis is TierBasis.CONTRACTS else "notional",
                "tier_index": -1 if p.tier_index is None else p.tier_index,
                "hedge_group": p.symbol if group else None,
            }
        )
    return pd.DataFrame(rows)


def _shared_group(account: Account, i: int) -> list[int]:
    """Binance hedge-mode cross legs of one symbol share one price: the batch gets them as one ``hedge_group``,
    with the collateral behind both legs (their own uPnL and requirement left out) as each leg's ``margin``."""
    p = account.positions[i]
    if not rules_for(account.venue).shared_hedge_cross_price or p.margin_mode is not MarginMode.CROSS:
        return []
    legs = [
        j
        for j, q in enumerate(account.positions)
        if q.symbol == p.symbol and q.margin_mode is MarginMode.CROSS and q.position_side is not PositionSide.BOTH
    ]
    return legs if len(legs) > 1 else []


def assert_batch_matches_check(account: Account, venue: VenueMarkets, risk: AccountRisk) -> int:
    """Raw root, displayed value, rounding rule, bankruptcy price, requirement and tier, row by row.

    Returns how many positions were compared, so a caller can assert it compared something.
    """
    if not account.positions or risk.missing:
        return 0
    tiers = {p.symbol: venue.markets[p.symbol].tiers for p in account.positions}
    out = liquidation_frame(batch_frame(account, venue, risk), tiers)
    compared = 0
    for i, r in enumerate(risk.positions):
        if r.liquidation_source not in (PriceSource.COMPUTED, PriceSource.NONE):
            continue
        row = out.iloc[i]
        raw = None if np.isnan(row.liquidation_price) else float(row.liquidation_price)
        assert raw == (None if r.liquidation_price_raw is None else pytest.approx(r.liquidation_price_raw, rel=1e-12))
        if r.liquidation_source is PriceSource.COMPUTED:
            shown = float(row.liquidation_price_displayed)
            expected = r.liquidation_price_displayed
            assert (None if np.isnan(shown) else shown) == (
                None if expected is None else pytest.approx(expected, rel=1e-12)
            )
            assert row.display_rule == r.display_rule
            shown_or_raw = raw if np.isnan(shown) else shown
            assert shown_or_raw == pytest.approx(r.liquidation_price, rel=1e-12)
        bankrupt = row.bankruptcy_price_displayed
        bankrupt = row.bankruptcy_price if np.isnan(bankrupt) else bankrupt
        assert (None if np.isnan(bankrupt) else bankrupt) == (
            None if r.bankruptcy_price is None else pytest.approx(r.bankruptcy_price, rel=1e-12)
        )
        assert row.maintenance_margin == pytest.approx(r.maintenance_margin, rel=1e-12)
        assert row.tier == r.tier
        assert bool(row.is_estimate) == r.is_estimate
        assert row.method == r.method
        if r.margin_mode == "isolated":
            assert row.margin_ratio == pytest.approx(r.margin_ratio, rel=1e-12)
        compared += 1
    return compared
