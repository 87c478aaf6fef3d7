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
from riskguard.risk.solver import pick
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_math import (
    RULE_NAMES,
    PositionArrays,
    RuleColumns,
    display,
    requirement,
    shared_leg_prices,
    solve,
)
from riskguard.risk.venue_rules import GENERIC, VenueRules, rules_for

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
    _validate_shape(df, tiers)
    symbols = sorted(tiers)
    row_of: dict[object, int] = {s: i for i, s in enumerate(symbols)}
    # Each label column is read once into codes; checks and mappings then run on its few distinct values.
    symbol_codes, symbol_labels = _codes(df, "symbol", None)
    indices = [row_of.get(s, -1) if _hashable(s) else -1 for s in symbol_labels]
    _check(df, "symbol", symbol_codes, [i >= 0 for i in indices], "unknown symbol (no tier table given)")
    table = _lookup(symbol_codes, indices, -1, np.int64)
    side_codes, side_labels = _codes(df, "side", None)
    signs = [_SIDES.get(s, 0) if _hashable(s) else 0 for s in side_labels]
    _check(df, "side", side_codes, [s != 0 for s in signs], "side must be 'long', 'short', +1 or −1")
    side = _lookup(side_codes, signs, 0, float)
    inverse = _inverse(df)
    venue_codes, venues = _codes(df, "venue", None)
    _check(df, "venue", venue_codes, [isinstance(v, str) and v != "" for v in venues], "venue must be a ccxt id")
    kind_codes, kinds = _codes(df, "account_type", "standard")
    mode_codes, modes = _codes(df, "margin_mode", "isolated")
    basis_codes, bases = _codes(df, "tier_basis", "notional")
    for column, codes, values, allowed in (
        ("account_type", kind_codes, kinds, _ACCOUNT_TYPES),
        ("margin_mode", mode_codes, modes, _MODES),
        ("tier_basis", basis_codes, bases, _BASES),
    ):
        if column in df:
            ok = [_hashable(v) and v in allowed for v in values]
            _check(df, column, codes, ok, f"must be one of {', '.join(allowed)}")
    numbers = _numbers(df)
    isolated = _lookup(mode_codes, [m == "isolated" for m in modes], False, bool)
    # One rule set per (venue, account type) pair present: rules_for runs a handful of times, not once a row.
    rules = [_rules(venue, kind) for venue in venues for kind in kinds]
    which = venue_codes * len(kinds)
    which += kind_codes
    cols = RuleColumns.build(rules, which, isolated)
    contracts = numbers["contracts"]
    pos = PositionArrays(
        inverse=inverse,
        side=side,
        qty=_scaled(contracts, numbers["contract_size"]),
        contracts=contracts,
        entry=numbers["entry_price"],
        mark=numbers["mark_price"],
        table=table,
        tiers=TierTable.from_tiers([tiers[s] for s in symbols]),
        by_contracts=_lookup(basis_codes, [b == "contracts" for b in bases], False, bool),
        reported_tier=_whole(numbers["tier_index"]),
        taker=numbers["taker_fee"],
        leverage=numbers["leverage"],
        isolated=isolated,
    )
    _require_rule_inputs(df, pos, cols)
    margin, tick, n = numbers["margin"], numbers["price_tick"], len(df)
    liq, bankrupt, mm, mmr_add, liq_shown, bankrupt_shown, ratio, buffer = (np.empty(n) for _ in range(8))
    tier = np.empty(n, dtype=np.int64)
    rule = np.empty(n, dtype=np.int8)
    shown = (liq, bankrupt, liq_shown, rule, bankrupt_shown, ratio, buffer)
    for rows in _blocks(n):
        part, part_rules = pos.block(rows), cols.block(rows)
        req = requirement(part, part_rules)
        liq[rows], bankrupt[rows] = solve(part, part_rules, req, margin[rows])
        mm[rows], tier[rows], mmr_add[rows] = req.total, req.tier, req.mmr_add
        _show(part, part_rules, margin[rows], tick[rows], mm[rows], rows, *shown)
    for legs in _hedge_groups(df, rules, which, isolated, (venue_codes, table, inverse, margin, pos.mark)):
        shared, shared_bankrupt = shared_leg_prices(pos, mmr_add, legs, margin.take(legs[:, 0]))
        liq[legs], bankrupt[legs] = shared[:, None], shared_bankrupt[:, None]
        at = legs.ravel()  # the legs' figures that follow their price, again
        _show(pos.take(at), cols.take(at), margin.take(at), tick.take(at), mm.take(at), at, *shown)
    # Every column is a fresh array of this call: the frame takes them as they are, no copy, no consolidation.
    return pd.DataFrame(
        {
            "liquidation_price": liq,
            "liquidation_price_displayed": liq_shown,
            "display_rule": pd.Categorical.from_codes(rule, categories=list(RULE_NAMES), validate=False),
            "bankruptcy_price": bankrupt,
            "bankruptcy_price_displayed": bankrupt_shown,
            "maintenance_margin": mm,
            "tier": tier,
            "margin_ratio": ratio,
            "buffer_pct": buffer,
            "is_estimate": cols.estimate,
            "method": pd.Categorical.from_codes(
                cols.generic.view(np.int8), ["venue rules", "generic estimate"], validate=False
            ),
        },
        index=df.index,
        copy=False,
    )


_BLOCK = 1 << 16
"""Rows per pass: each step's temporaries for a block stay in cache.  Every figure is row-wise, so blocks change
no bit of any result."""


def _blocks(n: int) -> list[slice]:
    return [slice(start, start + _BLOCK) for start in range(0, n, _BLOCK)]


def _show(
    pos: PositionArrays,
    rules: RuleColumns,
    margin: np.ndarray,
    tick: np.ndarray,
    mm: np.ndarray,
    rows: slice | np.ndarray,
    liq: np.ndarray,
    bankrupt: np.ndarray,
    liq_shown: np.ndarray,
    rule: np.ndarray,
    bankrupt_shown: np.ndarray,
    ratio: np.ndarray,
    buffer: np.ndarray,
) -> None:
    """The displayed prices, ratio and buffer of ``rows`` from their roots, written into the output columns."""
    raw, raw_bankrupt = liq[rows], bankrupt[rows]
    shown, shown_rule = display(raw, pos.side, tick, rules.liquidation_convention)
    liq_shown[rows], rule[rows] = shown, shown_rule
    bankrupt_shown[rows], _ = display(raw_bankrupt, pos.side, tick, rules.bankruptcy_convention)
    ratio[rows], buffer[rows] = _ratio_and_buffer(pos, margin, mm, raw, shown)


def _ratio_and_buffer(
    pos: PositionArrays, margin: np.ndarray, mm: np.ndarray, liq: np.ndarray, liq_shown: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Requirement ÷ equity at mark, and the adverse move to the displayed price (the raw root where unknown)."""
    pnl = pos.side * pos.qty * (pos.mark - pos.entry)
    rows = np.flatnonzero(pos.inverse)  # the inverse PnL on those rows only: the same numbers as a select
    if rows.size:
        s, q, e, m = (x.take(rows) for x in (pos.side, pos.qty, pos.entry, pos.mark))
        pnl[rows] = s * q * (1 / e - 1 / m)
    equity = margin + pnl
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = pick(equity > 0, mm / equity, np.inf, reuse=True)
    price = pick(np.isnan(liq_shown), liq, liq_shown)
    return ratio, pos.side * (pos.mark - price) / pos.mark * 100


def _scaled(contracts: np.ndarray, contract_size: np.ndarray) -> np.ndarray:
    """Contracts × contract size; the contracts themselves where every size is 1 (x·1 is x, bit for bit)."""
    return contracts if bool((contract_size == 1.0).all()) else contracts * contract_size


def _whole(values: np.ndarray) -> np.ndarray:
    """Integer copy of a checked whole-number column; an absent one (one value broadcast) stays a broadcast."""
    if values.ndim and values.strides[0] == 0:
        return np.broadcast_to(values[:1].astype(np.int64), values.shape)
    return values.astype(np.int64)


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _rules(venue: object, kind: object) -> VenueRules:
    """Rules of one (venue, account type) pair; a pair no row holds (an unused category) gets the generic ones."""
    if isinstance(venue, str) and kind in _ACCOUNT_TYPES:
        return rules_for(venue, AccountType(kind))
    return GENERIC


def _codes(df: pd.DataFrame, name: str, default: object) -> tuple[np.ndarray, list[object]]:
    """Per-row codes into the column's distinct values; −1 (the last entry of any lookup built on them) is missing.

    A category column already holds its codes; any other label column costs
    one hash pass.  A missing optional column is ``default`` on every row.
    """
    if name not in df:
        return np.broadcast_to(np.intp(0), (len(df),)), [default]
    column = df[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.intp), list(column.cat.categories)
    try:
        codes, values = pd.factorize(column)
    except TypeError:  # a list, dict or set in a label column: name its row like any other bad label
        _fail(df, ~column.map(_hashable).to_numpy(dtype=bool), name, "must be a label (text or a number)")
        raise
    return codes.astype(np.intp, copy=False), list(values)


def _lookup(codes: np.ndarray, values: Sequence[object], missing: object, dtype: type) -> np.ndarray:
    """Each row's entry of ``values`` (one per distinct label), ``missing`` where the row has no label."""
    lut: np.ndarray = np.array([*values, missing], dtype=dtype)
    if codes.ndim and codes.strides[0] == 0:  # an absent column: one label on every row, no per-row memory
        return np.broadcast_to(lut.take(codes[:1]), codes.shape)
    return lut.take(codes)


def _check(df: pd.DataFrame, column: str, codes: np.ndarray, ok: Sequence[bool], problem: str) -> None:
    """Fail on the first row whose label is not ``ok`` or missing; rows are scanned only if such a label occurs."""
    if all(ok) and not (codes.size and codes.min() < 0):
        return
    _fail(df, ~_lookup(codes, ok, False, bool), column, problem)


def _inverse(df: pd.DataFrame) -> np.ndarray:
    column = df["inverse"]
    if column.dtype != bool:
        _fail(df, ~column.isin([True, False]), "inverse", "inverse must be a boolean")
    return column.to_numpy(dtype=bool)


def _hedge_groups(
    df: pd.DataFrame,
    rules: list[VenueRules],
    which: np.ndarray,
    isolated: np.ndarray,
    shared: tuple[np.ndarray, ...],
) -> list[np.ndarray]:
    """Rows sharing a ``hedge_group`` on a venue whose cross hedge legs share one price (Binance).

    One (groups × legs) matrix of rows per leg count.  ``shared`` holds the
    per-row venue code, symbol row, kind, margin and mark the legs of one group
    must agree on: one price is solved with the first leg's kind and mark.
    """
    if "hedge_group" not in df:
        return []
    shares = np.array([r.shared_hedge_cross_price for r in rules], dtype=bool)  # bool even with no rows, no rules
    rows = np.flatnonzero(shares.take(which) & ~isolated)
    labels = df["hedge_group"].to_numpy().take(rows)  # read on those rows only: a label column is slow to scan
    given = pd.notna(labels)
    rows = rows[given]
    label, _ = pd.factorize(labels[given])  # numbered in order of first appearance
    rows = rows.take(np.argsort(label, kind="stable"))  # grouped, each group in row order
    count = np.bincount(label)
    start = np.cumsum(count) - count
    by_count = [rows.take(start[count == c][:, None] + np.arange(c)) for c in np.unique(count) if c > 1]
    if by_count:
        legs = np.concatenate([m.ravel() for m in by_count])
        first = np.concatenate([np.repeat(m[:, 0], m.shape[1]) for m in by_count])
        if any((v.take(legs) != v.take(first)).any() for v in shared):
            for g in np.flatnonzero(count > 1):  # name the first disagreement as a scan of the groups in order would
                idx = rows[start[g] : start[g] + count[g]]
                for column in ("venue", "symbol", "inverse", "margin", "mark_price"):
                    values = df[column].to_numpy()[idx]
                    _fail(df.iloc[idx], values != values[0], column, "hedge legs of one group must share it")
    return by_count


def _fail(df: pd.DataFrame, mask: np.ndarray | pd.Series, column: str, problem: str) -> None:
    mask = np.asarray(mask)
    if not mask.any():  # the usual case: no row scan
        return
    bad = np.flatnonzero(mask)
    if bad.size:
        row = df.index[bad[0]]
        more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
        got = df[column].iloc[bad[0]] if column in df else "no such column"
        got = got.item() if isinstance(got, np.generic) else got  # a numpy scalar reads as its Python value
        raise InputError(f"{problem}, got {got!r}{more}", f"df[{row!r}].{column}")


def _require_rule_inputs(df: pd.DataFrame, pos: PositionArrays, cols: RuleColumns) -> None:
    """A venue rule needs its input on that row: a missing fee or leverage would silently drop a term."""
    _fail(df, cols.needs_taker & ~(pos.taker >= 0), "taker_fee", "this venue counts the taker fee: give it (>= 0)")
    needs_leverage = cols.close_fee_reserve & ~(pos.leverage > 0)
    _fail(df, needs_leverage, "leverage", "Bybit reserves the closing fee: give leverage > 0")


def _validate_shape(df: pd.DataFrame, tiers: Mapping[str, Sequence[MarginTier]]) -> None:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}", "df")
    for name, rows in tiers.items():
        if not rows:
            raise InputError("empty tier table: every symbol needs at least one margin tier", f"tiers[{name!r}]")


_OPTIONAL_NUMBERS = {"taker_fee": np.nan, "leverage": np.nan, "price_tick": np.nan, "tier_index": -1.0}
"""Numeric optional columns and the value of each on a row that lacks it (NaN: not known)."""


def _numbers(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every numeric column as float, checked; an absent optional column is its default on every row.

    Two reductions per column show a clean column clean; only a column that
    fails them is scanned row by row to name the first bad value.
    """
    out = {}
    for column in (*_POSITIVE, "margin", *_OPTIONAL_NUMBERS):
        if column not in df:
            out[column] = np.broadcast_to(np.float64(_OPTIONAL_NUMBERS[column]), (len(df),))  # no per-row memory
            continue
        given = df[column]
        if given.dtype.kind in "fiu":  # numpy numbers already: no parse
            values = given.to_numpy(dtype=float)
        else:
            values = pd.to_numeric(given, errors="coerce").to_numpy(dtype=float)
        optional = column in ("taker_fee", "leverage", "price_tick")  # NaN: not known for this row
        low, high = (np.fmin, np.fmax) if optional else (np.minimum, np.maximum)
        lo, hi = (float(f.reduce(values)) if values.size else 0.0 for f in (low, high))
        floor = 0.0 if column == "taker_fee" else -np.inf
        strict = column in _POSITIVE or column in ("leverage", "price_tick")
        clean = not (lo == -np.inf or hi == np.inf or (not optional and np.isnan(lo + hi)))
        clean = clean and not (lo <= 0 if strict else lo < floor)
        if not clean:
            _fail(df, ~np.isfinite(values) & ~(optional & np.isnan(values)), column, "must be a finite number")
            if strict:
                _fail(df, values <= 0, column, "must be > 0")
            if column == "taker_fee":
                _fail(df, values < 0, column, "must be >= 0")
        out[column] = values
    whole = out["tier_index"]
    if "tier_index" in df:
        _fail(df, (whole != np.floor(whole)) | (whole < -1), "tier_index", "must be an integer tier index or -1")
    return out


__all__ = ["OPTIONAL", "REQUIRED", "liquidation_frame"]
