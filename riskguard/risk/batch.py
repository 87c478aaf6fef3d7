"""Liquidation figures for a whole DataFrame of positions in one vectorized call.

For research and bulk screening (a book of positions, a backtest, a heatmap),
where building Account objects per row would be the bottleneck.  The math is
the solver's; this module only validates the frame and maps columns onto it.
It is the one place in the risk core that imports pandas, so the ``check``
path stays free of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskguard.errors import InputError
from riskguard.model import MarginTier
from riskguard.risk.solver import maintenance_margin, solve_liquidation
from riskguard.risk.tiers import TierTable

REQUIRED = ("symbol", "side", "contracts", "contract_size", "entry_price", "mark_price", "margin", "inverse")
OPTIONAL = ("mmr_add", "fixed_tier")
_POSITIVE = ("contracts", "contract_size", "entry_price", "mark_price")
_SIDES = {"long": 1, "short": -1, 1: 1, -1: -1}


def liquidation_frame(df: pd.DataFrame, tiers: Mapping[str, Sequence[MarginTier]]) -> pd.DataFrame:
    """Liquidation and bankruptcy price, maintenance margin, margin ratio and buffer for each row.

    :param df: one row per position.  ``symbol`` (a key of ``tiers``); ``side``
        ("long"/"short" or +1/−1); ``contracts`` and ``contract_size`` (base per
        contract for linear, quote per contract for inverse); ``entry_price``;
        ``mark_price``; ``margin`` (collateral excluding the position's own uPnL,
        in the settle asset); ``inverse`` (bool).  Optional: ``mmr_add`` (a rate
        added to every tier, e.g. OKX's taker fee) and ``fixed_tier`` (pins a
        tier; −1 picks it at the liquidation price).
    :param tiers: margin tiers per symbol, in the symbol's tier basis.
    :returns: a frame on ``df``'s index with ``liquidation_price``,
        ``bankruptcy_price`` (NaN where none exists), ``maintenance_margin`` and
        ``tier`` at mark, ``margin_ratio`` (MM ÷ equity at mark, liquidation at 1)
        and ``buffer_pct`` (adverse move from mark to the liquidation price).
    :raises InputError: naming the row and column of the first bad value.
    """
    _validate(df, tiers)
    symbols = sorted(tiers)
    table = df["symbol"].map({s: i for i, s in enumerate(symbols)}).to_numpy(dtype=np.int64)
    tier_table = TierTable.from_tiers([tiers[s] for s in symbols])
    inverse = df["inverse"].to_numpy(dtype=bool)
    side = df["side"].map(_SIDES).to_numpy(dtype=float)
    qty = df["contracts"].to_numpy(dtype=float) * df["contract_size"].to_numpy(dtype=float)
    entry = df["entry_price"].to_numpy(dtype=float)
    mark = df["mark_price"].to_numpy(dtype=float)
    margin = df["margin"].to_numpy(dtype=float)
    extra = {k: df[k].to_numpy(dtype=np.int64 if k == "fixed_tier" else float) for k in OPTIONAL if k in df}

    sol = solve_liquidation(
        inverse=inverse, side=side, qty=qty, entry=entry, margin=margin, tiers=tier_table, table=table, **extra
    )
    mm, tier = maintenance_margin(inverse=inverse, qty=qty, price=mark, tiers=tier_table, table=table, **extra)
    pnl = np.where(inverse, side * qty * (1 / entry - 1 / mark), side * qty * (mark - entry))
    equity = margin + pnl
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(equity > 0, mm / equity, np.inf)
    return pd.DataFrame(
        {
            "liquidation_price": sol.liquidation_price,
            "bankruptcy_price": sol.bankruptcy_price,
            "maintenance_margin": mm,
            "tier": tier,
            "margin_ratio": ratio,
            "buffer_pct": side * (mark - sol.liquidation_price) / mark * 100,
        },
        index=df.index,
    )


def _fail(df: pd.DataFrame, mask: np.ndarray | pd.Series, column: str, problem: str) -> None:
    bad = np.flatnonzero(np.asarray(mask))
    if bad.size:
        row = df.index[bad[0]]
        more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
        raise InputError(f"{problem}, got {df[column].iloc[bad[0]]!r}{more}", f"df[{row!r}].{column}")


def _validate(df: pd.DataFrame, tiers: Mapping[str, Sequence[MarginTier]]) -> None:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}", "df")
    for name, rows in tiers.items():
        if not rows:
            raise InputError("empty tier table: every symbol needs at least one margin tier", f"tiers[{name!r}]")
    _fail(df, ~df["symbol"].isin(list(tiers)), "symbol", "unknown symbol (no tier table given)")
    _fail(df, ~df["side"].isin(list(_SIDES)), "side", "side must be 'long', 'short', +1 or −1")
    _fail(df, ~df["inverse"].isin([True, False]), "inverse", "inverse must be a boolean")
    for column in (*_POSITIVE, "margin", *(c for c in OPTIONAL if c in df)):
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
        _fail(df, ~np.isfinite(values), column, "must be a finite number")
        if column in _POSITIVE:
            _fail(df, values <= 0, column, "must be > 0")
    if "mmr_add" in df:
        _fail(df, df["mmr_add"].to_numpy(dtype=float) < 0, "mmr_add", "must be >= 0")
    if "fixed_tier" in df:
        whole = df["fixed_tier"].to_numpy(dtype=float)
        _fail(df, (whole != np.floor(whole)) | (whole < -1), "fixed_tier", "must be an integer tier index or -1")


__all__ = ["OPTIONAL", "REQUIRED", "liquidation_frame"]
