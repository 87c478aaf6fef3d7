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

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import cast

import numpy as np
import pandas as pd

from riskguard.errors import InputError
from riskguard.model import AccountType, MarginTier
from riskguard.risk.solver import pick
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_math import (
    RULE_NAMES,
    PositionArrays,
    Requirement,
    RuleColumns,
    display,
    requirement,
    shared_leg_prices,
    solve,
)
from riskguard.risk.venue_rules import GENERIC, UNKNOWN_DISPLAY, VenueRules, rules_for

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
_UNKNOWN_RULE = RULE_NAMES.index(UNKNOWN_DISPLAY)
_SIDES = {"long": 1, "short": -1, 1: 1, -1: -1}
_MODES = ("isolated", "cross")
_BASES = ("notional", "contracts")
_ACCOUNT_TYPES = tuple(t.value for t in AccountType)


def liquidation_frame(
    df: pd.DataFrame, tiers: Mapping[str, Sequence[MarginTier]], *, workers: int | None = None
) -> pd.DataFrame:
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
    :param workers: threads that solve the frame's blocks of rows side by side (numpy lets go of the
        interpreter inside each array operation, and every figure is row-wise, so the bits are the same on
        any number).  Default: one per core this process may use, at most four; 1 uses no thread.
    :returns: a frame on ``df``'s index (docs/api.md, "Output columns").
    :raises InputError: naming the row and column of the first bad value.
    """
    threads = _workers(workers)
    _validate_shape(df, tiers)
    symbols = sorted(tiers)
    row_of: dict[object, int] = {s: i for i, s in enumerate(symbols)}
    # Each label column is read once into codes; checks run on its few distinct values, and each block of rows
    # looks its codes up (on the worker threads, in cache) instead of the whole frame doing it here.
    symbol_codes, symbol_labels = _codes(df, "symbol", None)
    indices = [row_of.get(s, -1) for s in symbol_labels]
    _check(df, "symbol", symbol_codes, [i >= 0 for i in indices], "unknown symbol (no tier table given)")
    side_codes, side_labels = _codes(df, "side", None)
    signs = [_SIDES.get(s, 0) for s in side_labels]
    _check(df, "side", side_codes, [s != 0 for s in signs], "side must be 'long', 'short', +1 or −1")
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
            ok = [v in allowed for v in values]
            _check(df, column, codes, ok, f"must be one of {', '.join(allowed)}")
    numbers = _numbers(df)
    frame = _Rows(
        symbol=symbol_codes,
        side=side_codes,
        venue=venue_codes,
        kind=kind_codes,
        mode=mode_codes,
        basis=basis_codes,
        table_of=_table(indices, -1, np.int64),
        sign_of=_table(signs, 0, float),
        isolated_of=_table([m == "isolated" for m in modes], False, bool),
        by_contracts_of=_table([b == "contracts" for b in bases], False, bool),
        # One rule set per (venue, account type) pair present: rules_for runs a handful of times, not once a row.
        rules=[_rules(venue, kind) for venue in venues for kind in kinds],
        kinds=len(kinds),
        inverse=inverse,
        numbers=numbers,
        tiers=TierTable.from_tiers([tiers[s] for s in symbols]),
    )
    _require_rule_inputs(df, frame)
    margin, tick, n = numbers["margin"], numbers["price_tick"], len(df)
    out = _Figures.empty(n)

    def solve_block(rows: slice) -> None:  # writes its own rows of the output arrays, nothing else
        part, part_rules = frame.positions(rows), frame.rule_columns(rows)
        req = requirement(part, part_rules)
        roots = solve(part, part_rules, req, margin[rows])
        _fill(part, part_rules, margin[rows], tick[rows], req, roots, out, rows)

    def solve_hedged() -> list[tuple[np.ndarray, _Figures]]:
        """Hedge legs sharing one price, every figure from their own rows: nothing the blocks write, so it runs
        beside them, and its figures replace theirs on those rows afterwards."""
        solved = []
        for legs in _hedge_groups(df, frame):
            at = legs.ravel()  # group by group, each group's legs in row order
            part, part_rules, part_margin = frame.positions(at), frame.rule_columns(at), margin.take(at)
            req = requirement(part, part_rules)
            local = np.arange(at.size).reshape(legs.shape)
            shared = shared_leg_prices(part, req.mmr_add, local, margin.take(legs[:, 0]))
            roots = (np.repeat(shared[0], legs.shape[1]), np.repeat(shared[1], legs.shape[1]))
            figures = _Figures.empty(at.size)
            _fill(part, part_rules, part_margin, tick.take(at), req, roots, figures, slice(None))
            solved.append((at, figures))
        return solved

    tasks: list[Callable[[], object]] = [solve_hedged]  # first: the longest task
    tasks += [partial(solve_block, rows) for rows in _blocks(n)]
    hedged = cast(list[tuple[np.ndarray, _Figures]], _run(tasks, threads)[0])
    for at, figures in hedged:
        for name in _Figures.__slots__:
            getattr(out, name)[at] = getattr(figures, name)
    # Every column is a fresh array of this call: the frame takes them as they are, no copy, no consolidation.
    return pd.DataFrame(
        {
            "liquidation_price": out.liq,
            "liquidation_price_displayed": out.liq_shown,
            "display_rule": pd.Categorical.from_codes(out.rule, categories=list(RULE_NAMES), validate=False),
            "bankruptcy_price": out.bankrupt,
            "bankruptcy_price_displayed": out.bankrupt_shown,
            "maintenance_margin": out.mm,
            "tier": out.tier,
            "margin_ratio": out.ratio,
            "buffer_pct": out.buffer,
            "is_estimate": out.estimate,
            "method": pd.Categorical.from_codes(
                out.generic.view(np.int8), ["venue rules", "generic estimate"], validate=False
            ),
        },
        index=df.index,
        copy=False,
    )


@dataclass(frozen=True, slots=True)
class _Rows:
    """The frame's per-row inputs as label codes, lookup tables and numeric columns, checked.

    A block of rows (a slice, or the hedge legs' indices) gets its
    ``PositionArrays`` and ``RuleColumns`` when it is solved: a million-row
    lookup costs an 8-byte index per row for every column, a block's stays in
    cache and runs on the worker threads.
    """

    symbol: np.ndarray
    side: np.ndarray
    venue: np.ndarray
    kind: np.ndarray
    mode: np.ndarray
    basis: np.ndarray
    table_of: np.ndarray
    sign_of: np.ndarray
    isolated_of: np.ndarray
    by_contracts_of: np.ndarray
    rules: list[VenueRules]
    """Indexed by venue code × ``kinds`` + account-type code."""
    kinds: int
    inverse: np.ndarray
    numbers: dict[str, np.ndarray]
    tiers: TierTable

    def which(self, rows: slice | np.ndarray) -> np.ndarray:
        """Index into ``rules`` of each row."""
        which = _index(_at(self.venue, rows)) * self.kinds
        which += _index(_at(self.kind, rows))
        return which

    def isolated(self, rows: slice | np.ndarray) -> np.ndarray:
        return _lookup(_at(self.mode, rows), self.isolated_of)

    def rule_columns(self, rows: slice | np.ndarray) -> RuleColumns:
        return RuleColumns.build(self.rules, self.which(rows), self.isolated(rows))

    def positions(self, rows: slice | np.ndarray) -> PositionArrays:
        number = {name: _at(values, rows) for name, values in self.numbers.items()}
        contracts = number["contracts"]
        return PositionArrays(
            inverse=_at(self.inverse, rows),
            side=_lookup(_at(self.side, rows), self.sign_of),
            qty=_scaled(contracts, number["contract_size"]),
            contracts=contracts,
            entry=number["entry_price"],
            mark=number["mark_price"],
            table=_lookup(_at(self.symbol, rows), self.table_of),
            tiers=self.tiers,
            by_contracts=_lookup(_at(self.basis, rows), self.by_contracts_of),
            reported_tier=_whole(number["tier_index"]),
            taker=number["taker_fee"],
            leverage=number["leverage"],
            isolated=self.isolated(rows),
        )


_BLOCK = 1 << 17
"""Rows per pass: each step's temporaries for a block stay in cache, and a thread hands the interpreter over once
per array operation, a few hundred times a block.  Every figure is row-wise, so blocks change no bit of any
result."""

_MAX_WORKERS = 4
"""Past a few threads the blocks wait on each other for the interpreter between array operations."""


def _blocks(n: int) -> list[slice]:
    return [slice(start, start + _BLOCK) for start in range(0, n, _BLOCK)]


def _workers(workers: int | None) -> int:
    if workers is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return min(cores, _MAX_WORKERS)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a whole number >= 1, got {workers!r}", "liquidation_frame(workers=)")
    return workers


def _run(tasks: list[Callable[[], object]], workers: int) -> list[object]:
    """Each task's result in order; on ``workers`` threads where there is more than one task to share."""
    if workers == 1 or len(tasks) == 1:
        return [task() for task in tasks]
    with ThreadPoolExecutor(min(workers, len(tasks))) as pool:
        return list(pool.map(lambda task: task(), tasks))  # re-raises a task's error here


@dataclass(frozen=True, slots=True)
class _Figures:
    """The output columns, one entry per row."""

    liq: np.ndarray
    bankrupt: np.ndarray
    mm: np.ndarray
    tier: np.ndarray
    liq_shown: np.ndarray
    rule: np.ndarray
    bankrupt_shown: np.ndarray
    ratio: np.ndarray
    buffer: np.ndarray
    estimate: np.ndarray
    generic: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _Figures:
        typed = {"tier": np.int64, "rule": np.int8, "estimate": bool, "generic": bool}
        return cls(**{name: np.empty(n, dtype=typed.get(name, float)) for name in cls.__slots__})


def _fill(
    pos: PositionArrays,
    rules: RuleColumns,
    margin: np.ndarray,
    tick: np.ndarray,
    req: Requirement,
    roots: tuple[np.ndarray, np.ndarray],
    out: _Figures,
    rows: slice,
) -> None:
    """Every figure of ``rows`` from the requirement and the liquidation and bankruptcy roots, written into ``out``."""
    liq, bankrupt = roots
    out.liq[rows], out.bankrupt[rows] = liq, bankrupt
    mm = req.total
    out.mm[rows], out.tier[rows] = mm, req.tier
    shown, rule = display(liq, pos.side, tick, rules.liquidation_convention, out=out.liq_shown[rows])
    out.rule[rows] = rule
    display(bankrupt, pos.side, tick, rules.bankruptcy_convention, out=out.bankrupt_shown[rows])
    unknown = rule == _UNKNOWN_RULE
    if unknown.any():  # the buffer runs to the raw root where the display is unknown
        shown = pick(unknown, liq, shown)
    out.ratio[rows], out.buffer[rows] = _ratio_and_buffer(pos, margin, mm, shown)
    out.estimate[rows], out.generic[rows] = rules.estimate, rules.generic


def _ratio_and_buffer(
    pos: PositionArrays, margin: np.ndarray, mm: np.ndarray, price: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Requirement ÷ equity at mark, and the adverse move to the liquidation ``price``."""
    pnl = pos.side * pos.qty * (pos.mark - pos.entry)
    rows = np.flatnonzero(pos.inverse)  # the inverse PnL on those rows only: the same numbers as a select
    if rows.size:
        s, q, e, m = (x.take(rows) for x in (pos.side, pos.qty, pos.entry, pos.mark))
        pnl[rows] = s * q * (1 / e - 1 / m)
    equity = margin + pnl
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = pick(equity > 0, mm / equity, np.inf, reuse=True)
    return ratio, pos.side * (pos.mark - price) / pos.mark * 100


def _scaled(contracts: np.ndarray, contract_size: np.ndarray) -> np.ndarray:
    """Contracts × contract size; the contracts themselves where every size is 1 (x·1 is x, bit for bit)."""
    return contracts if bool((contract_size == 1.0).all()) else contracts * contract_size


def _whole(values: np.ndarray) -> np.ndarray:
    """Integer copy of a checked whole-number column; an absent one (one value broadcast) stays a broadcast."""
    if _one_value(values):
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

    A category column already holds its codes (kept in their own small integer
    type); any other label column costs one hash pass.  A missing optional
    column is ``default`` on every row.
    """
    if name not in df:
        return np.broadcast_to(np.intp(0), (len(df),)), [default]
    column = df[name]
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy(), list(column.cat.categories)
    try:
        codes, values = pd.factorize(column)
    except TypeError:  # a label that is a list, a dict …: it cannot be compared with anything
        _fail(df, ~column.map(_hashable).to_numpy(dtype=bool), name, "must be a label (text or a number)")
        raise
    return codes.astype(np.intp, copy=False), list(values)


def _table(values: Sequence[object], missing: object, dtype: type) -> np.ndarray:
    """Lookup table over a column's distinct labels, ``missing`` last: the entry code −1 reads."""
    return np.array([*values, missing], dtype=dtype)


def _index(codes: np.ndarray) -> np.ndarray:
    """Codes as numpy's own index type: ``take`` with any other integer type costs several times as much."""
    return codes.astype(np.intp, copy=False)


def _at(values: np.ndarray, rows: slice | np.ndarray) -> np.ndarray:
    """``values`` on a block of rows: a view for a slice, a gather for indices; a broadcast stays one."""
    if isinstance(rows, slice):
        return values[rows]
    if _one_value(values):
        return np.broadcast_to(values[:1], rows.shape)
    return values.take(rows)


def _lookup(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Each row's entry of ``table`` (one per distinct label, then the missing value)."""
    if _one_value(codes):
        return np.broadcast_to(table.take(_index(codes[:1])), codes.shape)
    return table.take(_index(codes))


def _check(df: pd.DataFrame, column: str, codes: np.ndarray, ok: Sequence[bool], problem: str) -> None:
    """Fail on the first row whose label is not ``ok`` or missing; rows are scanned only if such a label occurs."""
    if all(ok) and not (codes.size and codes.min() < 0):
        return
    _fail(df, ~_lookup(codes, _table(ok, False, bool)), column, problem)


def _inverse(df: pd.DataFrame) -> np.ndarray:
    column = df["inverse"]
    if column.dtype != bool:
        _fail(df, ~column.isin([True, False]), "inverse", "inverse must be a boolean")
    return column.to_numpy(dtype=bool)


def _hedge_groups(df: pd.DataFrame, frame: _Rows) -> list[np.ndarray]:
    """Rows sharing a ``hedge_group`` on a venue whose cross hedge legs share one price (Binance).

    One (groups × legs) matrix of rows per leg count.  The legs of one group
    must agree on venue, symbol, kind, margin and mark: one price is solved
    with the first leg's kind and mark.
    """
    shares = np.array([r.shared_hedge_cross_price for r in frame.rules], dtype=bool)  # bool with no rows too
    if "hedge_group" not in df or not shares.any():
        return []
    column = df["hedge_group"]
    if isinstance(column.dtype, pd.CategoricalDtype):  # integer codes, −1 where missing: the labelled rows first
        codes = column.cat.codes.to_numpy()
        rows = np.flatnonzero(codes >= 0)
        rows = rows[shares.take(frame.which(rows)) & ~frame.isolated(rows)]
        labels = codes.take(rows)
    else:  # a label column is slow to scan: read it on the rows that can share a price only
        every = slice(None)
        rows = np.flatnonzero(shares.take(frame.which(every)) & ~frame.isolated(every))
        labels = column.to_numpy().take(rows)
        given = pd.notna(labels)
        rows, labels = rows[given], labels[given]
    label, _ = pd.factorize(labels)  # numbered in order of first appearance
    rows = rows.take(np.argsort(label, kind="stable"))  # grouped, each group in row order
    count = np.bincount(label)
    start = np.cumsum(count) - count
    by_count = [rows.take(start[count == c][:, None] + np.arange(c)) for c in np.unique(count) if c > 1]
    if by_count:
        legs = np.concatenate([m.ravel() for m in by_count])
        first = np.concatenate([np.repeat(m[:, 0], m.shape[1]) for m in by_count])
        numbers = frame.numbers
        shared = (frame.venue, frame.symbol, frame.inverse, numbers["margin"], numbers["mark_price"])
        if any((v.take(legs) != v.take(first)).any() for v in shared):
            for g in np.flatnonzero(count > 1):  # name the first disagreement as a scan of the groups in order would
                idx = rows[start[g] : start[g] + count[g]]
                for name in ("venue", "symbol", "inverse", "margin", "mark_price"):
                    values = df[name].to_numpy()[idx]
                    _fail(df.iloc[idx], values != values[0], name, "hedge legs of one group must share it")
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
        got = got.item() if isinstance(got, np.generic) else got  # a numpy scalar shown as the number it holds
        raise InputError(f"{problem}, got {got!r}{more}", f"df[{row!r}].{column}")


def _require_rule_inputs(df: pd.DataFrame, frame: _Rows) -> None:
    """A venue rule needs its input on that row: a missing fee or leverage would silently drop a term.

    ``_numbers`` has refused negative fees and leverage ≤ 0 already, so only a
    NaN (not given) can be missing, and rows are looked at only when the
    column holds one.
    """
    per_rule = RuleColumns.build(frame.rules, np.arange(len(frame.rules)), np.zeros(len(frame.rules), dtype=bool))
    for column, needs, problem in (
        ("taker_fee", per_rule.needs_taker, "this venue counts the taker fee: give it (>= 0)"),
        ("leverage", per_rule.close_fee_reserve, "Bybit reserves the closing fee: give leverage > 0"),
    ):
        values = frame.numbers[column]
        if needs.any() and _has_nan(values):
            _fail(df, needs.take(frame.which(slice(None))) & np.isnan(values), column, problem)


def _has_nan(values: np.ndarray) -> bool:
    """One reduction (NaN propagates through ``minimum``), no per-row mask."""
    values = values[:1] if _one_value(values) else values
    return bool(values.size) and bool(np.isnan(np.minimum.reduce(values)))


def _one_value(values: np.ndarray) -> bool:
    """An absent column: one value broadcast to every row, no per-row memory."""
    return bool(values.ndim) and values.strides[0] == 0


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
