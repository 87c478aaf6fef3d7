"""Liquidation figures for a whole DataFrame of positions, venue rules applied, in one vectorized call.

For research and bulk screening (a book of positions, a backtest, a heatmap),
where building Account objects per row would be the bottleneck.  Each row
names its venue and account type; the venue rules are applied by the same
functions ``check`` uses (``venue_math``), so the two agree on every position.
This module only validates the frame and maps columns onto those arrays.  It
is the one place in the risk core that imports pandas, so the ``check`` path
stays free of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskguard.errors import InputError
from riskguard.model import AccountType, MarginTier
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_math import (
    RULE_NAMES,
    PositionArrays,
    RuleColumns,
    display,
    requirement,
    solve,
    solve_shared_legs,
)
from riskguard.risk.venue_rules import VenueRules, rules_for

REQUIRED = (
    "venue",
    "symbol",
    "side",
    "contracts",
    "contract_size",
    "entry_price",
    "mark_price",
    "margin",
    "inverse",
)
OPTIONAL = (
    "account_type",
    "margin_mode",
    "taker_fee",
    "leverage",
    "price_tick",
    "tier_basis",
    "tier_index",
    "hedge_group",
)
_POSITIVE = ("contracts", "contract_size", "entry_price", "mark_price")
_SIDES = {"long": 1, "short": -1, 1: 1, -1: -1}
_MODES = ("isolated", "cross")
_BASES = ("notional", "contracts")
_ACCOUNT_TYPES = tuple(t.value for t in AccountType)


def liquidation_frame(df: pd.DataFrame, tiers: Mapping[str, Sequence[MarginTier]]) -> pd.DataFrame:
    """Liquidation and bankruptcy price (raw and as the venue shows it), maintenance margin, ratio and buffer.

    :param df: one row per position; see docs/api.md for every column.
        Required: ``venue`` (ccxt id; venues without rules get the generic
        estimate), ``symbol`` (a key of ``tiers``), ``side``, ``contracts``,
        ``contract_size``, ``entry_price``, ``mark_price``, ``margin`` (the
        collateral backing the position without its own uPnL: isolated margin,
        or the cross wallet + other positions' uPnL − their requirement) and
        ``inverse``.  Optional: ``account_type``, ``margin_mode``, ``taker_fee``
        (required on rows whose venue counts the fee), ``leverage`` (required on
        Bybit rows), ``price_tick``, ``tier_basis`` and ``tier_index``.
    :param tiers: margin tiers per symbol, in the symbol's tier basis.
    :returns: a frame on ``df``'s index (docs/api.md, "Output columns").
    :raises InputError: naming the row and column of the first bad value.
    """
    _validate(df, tiers)
    symbols = sorted(tiers)
    table = df["symbol"].map({s: i for i, s in enumerate(symbols)}).to_numpy(dtype=np.int64)
    isolated = _column(df, "margin_mode", "isolated").to_numpy() == "isolated"
    keys = pd.MultiIndex.from_arrays([df["venue"].astype(str), _column(df, "account_type", "standard").astype(str)])
    which, uniques = pd.factorize(keys)
    rules = [rules_for(venue, AccountType(kind)) for venue, kind in uniques]
    cols = RuleColumns.build(rules, which, isolated)
    contracts = df["contracts"].to_numpy(dtype=float)
    pos = PositionArrays(
        inverse=df["inverse"].to_numpy(dtype=bool),
        side=df["side"].map(_SIDES).to_numpy(dtype=float),
        qty=contracts * df["contract_size"].to_numpy(dtype=float),
        contracts=contracts,
        entry=df["entry_price"].to_numpy(dtype=float),
        mark=df["mark_price"].to_numpy(dtype=float),
        table=table,
        tiers=TierTable.from_tiers([tiers[s] for s in symbols]),
        by_contracts=_column(df, "tier_basis", "notional").to_numpy() == "contracts",
        reported_tier=_column(df, "tier_index", -1).to_numpy(dtype=np.int64),
        taker=_column(df, "taker_fee", np.nan).to_numpy(dtype=float),
        leverage=_column(df, "leverage", np.nan).to_numpy(dtype=float),
        isolated=isolated,
    )
    _require_rule_inputs(df, pos, cols)
    margin = df["margin"].to_numpy(dtype=float)
    req = requirement(pos, cols)
    liq, bankrupt = solve(pos, cols, req, margin)
    groups = _hedge_groups(df, rules, which, isolated)
    if groups:
        liq, bankrupt = liq.copy(), bankrupt.copy()
        symbol = df["symbol"].to_numpy()
        margins = [float(margin[idx[0]]) for idx in groups]
        solve_shared_legs(pos, req, groups, lambda i: tiers[symbol[i]], margins, liq, bankrupt)
    tick = _column(df, "price_tick", np.nan).to_numpy(dtype=float)
    liq_shown, rule = display(liq, pos.side, tick, cols.liquidation_convention)
    bankrupt_shown, _ = display(bankrupt, pos.side, tick, cols.bankruptcy_convention)

    mm = req.total
    linear_pnl = pos.side * pos.qty * (pos.mark - pos.entry)
    pnl = np.where(pos.inverse, pos.side * pos.qty * (1 / pos.entry - 1 / pos.mark), linear_pnl)
    equity = margin + pnl
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(equity > 0, mm / equity, np.inf)
    price = np.where(np.isnan(liq_shown), liq, liq_shown)  # the raw root stands where the display is unknown
    return pd.DataFrame(
        {
            "liquidation_price": liq,
            "liquidation_price_displayed": liq_shown,
            "display_rule": pd.Categorical.from_codes(rule, categories=list(RULE_NAMES)),
            "bankruptcy_price": bankrupt,
            "bankruptcy_price_displayed": bankrupt_shown,
            "maintenance_margin": mm,
            "tier": req.tier,
            "margin_ratio": ratio,
            "buffer_pct": pos.side * (pos.mark - price) / pos.mark * 100,
            "is_estimate": cols.estimate,
            "method": pd.Categorical.from_codes(cols.generic.astype(np.int8), ["venue rules", "generic estimate"]),
        },
        index=df.index,
    )


def _hedge_groups(
    df: pd.DataFrame, rules: list[VenueRules], which: np.ndarray, isolated: np.ndarray
) -> list[list[int]]:
    """Rows sharing a ``hedge_group`` on a venue whose cross hedge legs share one price (Binance)."""
    if "hedge_group" not in df:
        return []
    shares = np.array([r.shared_hedge_cross_price for r in rules]).take(which) & ~isolated
    shares &= df["hedge_group"].notna().to_numpy()
    rows: dict[object, list[int]] = {}
    for i, key in zip(np.flatnonzero(shares), df["hedge_group"].to_numpy()[shares], strict=True):
        rows.setdefault(key, []).append(int(i))
    groups = [idx for idx in rows.values() if len(idx) > 1]
    for idx in groups:
        for column in ("venue", "symbol", "margin", "mark_price"):
            values = df[column].to_numpy()[idx]
            _fail(df.iloc[idx], values != values[0], column, "hedge legs of one group must share it")
    return groups


def _column(df: pd.DataFrame, name: str, default: object) -> pd.Series:
    if name in df:
        return df[name]
    return pd.Series(np.full(len(df), default), index=df.index)


def _fail(df: pd.DataFrame, mask: np.ndarray | pd.Series, column: str, problem: str) -> None:
    bad = np.flatnonzero(np.asarray(mask))
    if bad.size:
        row = df.index[bad[0]]
        more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
        got = df[column].iloc[bad[0]] if column in df else "no such column"
        raise InputError(f"{problem}, got {np.asarray(got).item()!r}{more}", f"df[{row!r}].{column}")


def _require_rule_inputs(df: pd.DataFrame, pos: PositionArrays, cols: RuleColumns) -> None:
    """A venue rule needs its input on that row: a missing fee or leverage would silently drop a term."""
    _fail(df, cols.needs_taker & ~(pos.taker >= 0), "taker_fee", "this venue counts the taker fee: give it (>= 0)")
    needs_leverage = cols.close_fee_reserve & ~(pos.leverage > 0)
    _fail(df, needs_leverage, "leverage", "Bybit reserves the closing fee: give leverage > 0")


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
    _fail(df, ~df["venue"].map(lambda v: isinstance(v, str) and v != ""), "venue", "venue must be a ccxt id")
    for column, allowed in (("account_type", _ACCOUNT_TYPES), ("margin_mode", _MODES), ("tier_basis", _BASES)):
        if column in df:
            _fail(df, ~df[column].isin(allowed), column, f"must be one of {', '.join(allowed)}")
    numeric = (*_POSITIVE, "margin", *(c for c in ("taker_fee", "leverage", "price_tick", "tier_index") if c in df))
    for column in numeric:
        values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
        optional = column in ("taker_fee", "leverage", "price_tick")  # NaN: not known for this row
        _fail(df, ~np.isfinite(values) & ~(optional & np.isnan(values)), column, "must be a finite number")
        if column in _POSITIVE or column in ("leverage", "price_tick"):
            _fail(df, values <= 0, column, "must be > 0")
        if column == "taker_fee":
            _fail(df, values < 0, column, "must be >= 0")
    if "tier_index" in df:
        whole = df["tier_index"].to_numpy(dtype=float)
        _fail(df, (whole != np.floor(whole)) | (whole < -1), "tier_index", "must be an integer tier index or -1")


__all__ = ["OPTIONAL", "REQUIRED", "liquidation_frame"]
