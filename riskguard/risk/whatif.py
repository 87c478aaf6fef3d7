"""The account as it would be after some fills: the input for re-running the exact venue math.

Pure: an :class:`~riskguard.model.Account` and fills in, a new ``Account`` out; pass it to
:func:`riskguard.risk.account_risk.evaluate_account` and every liquidation price, buffer and margin ratio is
recomputed with the same code ``riskguard check`` uses.  Nothing here computes a risk figure.

How a fill moves the books (as Binance, Bybit, OKX and Hyperliquid settle them):

* a reduction of ``amount`` contracts at ``price`` realizes PnL on that share of the position at its entry
  price (the entry of the remainder does not change) and pays the taker fee on the traded value; both settle
  into the wallet.  In cross margin that wallet is the collateral of every cross position of the asset, so
  the whole pool moves.  In isolated margin the position's margin is released pro rata to the cross wallet;
  the remainder keeps the rest;
* adding margin moves collateral from the cross wallet into one isolated position; nothing trades;
* an exposure-increasing fill (for the pre-trade gate) averages the entry price (by base quantity for linear
  contracts, harmonically for inverse ones), pays the taker fee, and for an isolated position posts the
  initial margin ``value ÷ leverage`` from the cross wallet.  In one-way mode an opposite fill first reduces,
  and what is left opens the other side.

A changed position drops the venue-reported figures (liquidation price, margins, tier): they described the
position before the fill.  A reported tier is what pins Bybit and OKX positions to a bracket; once the size
changes the tier is the one the new size falls in.  Cross positions of a pool whose wallet changed also
drop the venue's liquidation price.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from riskguard.model import (
    Account,
    AssetBalance,
    MarginMode,
    Market,
    Position,
    PositionSide,
    Side,
    VenueMarkets,
)
from riskguard.risk.account_risk import AccountRisk, SolvedInputs, VariantEvaluator, Variants, evaluate_account


class WhatIfError(ValueError):
    """A fill that cannot apply to the account (no such position, more than the position, wrong mode)."""


@dataclass(frozen=True, slots=True)
class Reduce:
    """Close ``amount`` contracts of the (``symbol``, ``side``, ``position_side``) position at ``price``."""

    symbol: str
    side: Side
    amount: float
    price: float
    position_side: PositionSide = PositionSide.BOTH


@dataclass(frozen=True, slots=True)
class AddMargin:
    """Move ``amount`` of the settle asset from the cross wallet into an isolated position."""

    symbol: str
    side: Side
    amount: float
    position_side: PositionSide = PositionSide.BOTH


@dataclass(frozen=True, slots=True)
class Increase:
    """Buy (``side`` long) or sell (short) ``amount`` contracts at ``price``: the gate's proposed order.

    ``leverage`` sets an isolated position's initial margin (an existing position's own leverage when
    None); ``mark_price`` values a position that does not exist yet (an existing one keeps its mark).
    """

    symbol: str
    side: Side
    amount: float
    price: float
    mark_price: float
    leverage: float | None = None
    margin_mode: MarginMode = MarginMode.CROSS
    position_side: PositionSide = PositionSide.BOTH
    timestamp_ms: int | None = None
    """As-of time of a position the fill opens (the mark it is valued at): a new position is as fresh as its
    price, and one without a time would read as data of unknown age."""


Fill = Reduce | AddMargin | Increase


def _changed(p: Position, **changes: Any) -> Position:
    """``p`` with ``changes``, without the venue figures that described it before."""
    return replace(
        p,
        venue_liquidation_price=None,
        venue_bankruptcy_price=None,
        venue_maintenance_margin=None,
        venue_initial_margin=None,
        venue_unrealized_pnl=None,
        tier_index=None,
        **changes,
    )


def apply_fills(account: Account, venue: VenueMarkets, fills: Iterable[Fill], taker: float) -> Account:
    """``account`` after ``fills`` in order; ``taker`` is the fee rate paid on every traded value."""
    if not (math.isfinite(taker) and 0 <= taker < 1):
        raise WhatIfError(f"taker fee rate must be in [0, 1), got {taker!r}")
    book = _Book(account, venue, taker)
    for fill in fills:
        if isinstance(fill, Reduce):
            book.reduce(fill.symbol, fill.side, fill.position_side, fill.amount, fill.price)
        elif isinstance(fill, AddMargin):
            book.add_margin(fill)
        else:
            book.increase(fill)
    return book.account()


def evaluate_after(
    account: Account, venue: VenueMarkets, fills: Iterable[Fill], taker: float
) -> tuple[Account, AccountRisk]:
    after = apply_fills(account, venue, fills, taker)
    return after, evaluate_account(after, venue)


class Reductions:
    """What ``evaluate_account`` reports after ``Reduce`` of each of many amounts of one position, as
    :func:`apply_fills` books it, evaluated as the rows of one vectorized call.

    Why: a search for the smallest cut tries many sizes; this prices them together.  The books move as in
    :meth:`_Book.reduce`, in the same floating-point order, so each row equals the one-by-one evaluation.
    :meth:`of` is None where :class:`~riskguard.risk.account_risk.VariantEvaluator` does not apply.
    """

    def __init__(self, account: Account, venue: VenueMarkets, index: int, taker: float,
                 evaluator: VariantEvaluator) -> None:
        self.position, self.market = account.positions[index], venue.markets[account.positions[index].symbol]
        self.index, self.taker, self.evaluator = index, taker, evaluator
        self.contracts = np.array([q.contracts for q in account.positions], dtype=float)
        self.margins = np.array([np.nan if q.isolated_margin is None else q.isolated_margin
                                 for q in account.positions], dtype=float)
        self.wallets = {asset: b.cross_wallet for asset, b in account.balances.items()}
        self.changed = np.arange(len(account.positions)) == index

    @classmethod
    def of(cls, account: Account, venue: VenueMarkets, index: int, taker: float,
           solved: SolvedInputs | None = None) -> Reductions | None:
        evaluator = VariantEvaluator.of(account, venue, solved)
        return None if evaluator is None else cls(account, venue, index, taker, evaluator)

    def evaluate(self, amounts: np.ndarray, prices: np.ndarray, solve_for: np.ndarray | None = None) -> Variants:
        """Row k: the account after reducing ``amounts[k]`` contracts at ``prices[k]``; liquidation prices of
        the ``solve_for`` mask of positions (all when None)."""
        p, market = self.position, self.market
        sign = p.side.sign
        qty = amounts * market.contract_size
        if market.inverse:
            pnl = sign * qty * (1 / p.entry_price - 1 / prices)
            value = qty / prices
        else:
            pnl = sign * qty * (prices - p.entry_price)
            value = qty * prices
        cash = pnl - self.taker * value
        remaining = _on_step_array(p.contracts - amounts, market.amount_step)
        closed = remaining <= p.contracts * 1e-12
        released = np.zeros_like(amounts)
        if p.margin_mode is MarginMode.ISOLATED:
            assert p.isolated_margin is not None
            released = np.where(closed, p.isolated_margin, p.isolated_margin * amounts / p.contracts)
        k = len(amounts)
        contracts = np.repeat(self.contracts[None, :], k, axis=0)
        contracts[:, self.index] = np.where(closed, 0.0, remaining)
        margins = np.repeat(self.margins[None, :], k, axis=0)
        margins[:, self.index] = margins[:, self.index] - released
        wallets = {asset: np.full(k, w) for asset, w in self.wallets.items()}
        wallets[market.settle] = wallets.get(market.settle, np.zeros(k)) + (cash + released)
        return self.evaluator.evaluate(contracts, margins, wallets, self.changed, solve_for)


def traded_value(market: Market, contracts: float, price: float) -> float:
    """Value of ``contracts`` at ``price`` in the settle asset: the base for fees and initial margin."""
    qty = contracts * market.contract_size
    return qty / price if market.inverse else qty * price


class _Book:
    """Mutable working copy used only inside :func:`apply_fills`; the result is a new frozen Account."""

    def __init__(self, account: Account, venue: VenueMarkets, taker: float) -> None:
        self.base = account
        self.venue = venue
        self.taker = taker
        self.positions: list[Position] = list(account.positions)
        self.balances: dict[str, AssetBalance] = dict(account.balances)
        self.touched_pools: set[str] = set()

    def account(self) -> Account:
        positions = []
        for p in self.positions:
            stale = p.venue_liquidation_price is not None or p.venue_bankruptcy_price is not None
            if stale and p.margin_mode is MarginMode.CROSS and self._market(p.symbol).settle in self.touched_pools:
                p = replace(p, venue_liquidation_price=None, venue_bankruptcy_price=None)
            positions.append(p)
        return replace(self.base, positions=tuple(positions), balances=self.balances)

    def _market(self, symbol: str) -> Market:
        try:
            return self.venue.markets[symbol]
        except KeyError:
            raise WhatIfError(f"no market {symbol!r} on {self.venue.venue}") from None

    def _find(self, symbol: str, side: Side | None, position_side: PositionSide) -> int | None:
        for i, p in enumerate(self.positions):
            if p.symbol == symbol and p.position_side is position_side and (side is None or p.side is side):
                return i
        return None

    def _credit(self, asset: str, wallet: float, cross: float) -> None:
        b = self.balances.get(asset, AssetBalance(asset, 0.0, 0.0))
        self.balances[asset] = AssetBalance(asset, b.wallet + wallet, b.cross_wallet + cross)
        self.touched_pools.add(asset)

    def reduce(self, symbol: str, side: Side, position_side: PositionSide, amount: float, price: float) -> None:
        _positive(symbol, amount=amount, price=price)
        i = self._find(symbol, side, position_side)
        if i is None:
            raise WhatIfError(f"no {side.value} {symbol} position ({position_side.value}) to reduce")
        p = self.positions[i]
        if amount > p.contracts * (1 + 1e-12):
            raise WhatIfError(f"{symbol}: cannot reduce {amount:g} contracts of a {p.contracts:g}-contract position")
        market = self._market(symbol)
        qty = amount * market.contract_size
        if market.inverse:
            pnl = p.side.sign * qty * (1 / p.entry_price - 1 / price)
        else:
            pnl = p.side.sign * qty * (price - p.entry_price)
        cash = pnl - self.taker * traded_value(market, amount, price)
        remaining = _on_step(p.contracts - amount, market.amount_step)
        closed = remaining <= p.contracts * 1e-12
        released = 0.0
        if p.margin_mode is MarginMode.ISOLATED:
            assert p.isolated_margin is not None
            released = p.isolated_margin if closed else p.isolated_margin * amount / p.contracts
        self._credit(market.settle, cash, cash + released)
        if closed:
            del self.positions[i]
            return
        margin = None if p.isolated_margin is None else p.isolated_margin - released
        self.positions[i] = _changed(p, contracts=remaining, isolated_margin=margin)

    def add_margin(self, fill: AddMargin) -> None:
        _positive(fill.symbol, amount=fill.amount)
        i = self._find(fill.symbol, fill.side, fill.position_side)
        if i is None:
            raise WhatIfError(f"no {fill.side.value} {fill.symbol} position to add margin to")
        p = self.positions[i]
        if p.margin_mode is not MarginMode.ISOLATED or p.isolated_margin is None:
            raise WhatIfError(f"{fill.symbol}: margin can only be added to an isolated position")
        self._credit(self._market(fill.symbol).settle, 0.0, -fill.amount)
        self.positions[i] = _changed(p, isolated_margin=p.isolated_margin + fill.amount)

    def increase(self, fill: Increase) -> None:
        _positive(fill.symbol, amount=fill.amount, price=fill.price, mark_price=fill.mark_price)
        amount = fill.amount
        if fill.position_side is PositionSide.BOTH:
            other = Side.SHORT if fill.side is Side.LONG else Side.LONG
            j = self._find(fill.symbol, other, PositionSide.BOTH)
            if j is not None:
                held = self.positions[j].contracts
                self.reduce(fill.symbol, other, PositionSide.BOTH, min(amount, held), fill.price)
                amount -= min(amount, held)
                if amount <= fill.amount * 1e-12:
                    return
        elif fill.position_side.value != fill.side.value:
            raise WhatIfError(f"{fill.symbol}: a {fill.side.value} fill cannot open the {fill.position_side} leg")
        market = self._market(fill.symbol)
        value = traded_value(market, amount, fill.price)
        i = self._find(fill.symbol, fill.side, fill.position_side)
        existing = None if i is None else self.positions[i]
        mode = existing.margin_mode if existing else fill.margin_mode
        leverage = fill.leverage or (existing.leverage if existing else None)
        posted = 0.0
        if mode is MarginMode.ISOLATED:
            if leverage is None:
                raise WhatIfError(f"{fill.symbol}: an isolated fill needs a leverage to post initial margin")
            posted = value / leverage
        self._credit(market.settle, -self.taker * value, -self.taker * value - posted)
        if existing is None:
            self.positions.append(
                Position(
                    symbol=fill.symbol,
                    side=fill.side,
                    contracts=amount,
                    entry_price=fill.price,
                    mark_price=fill.mark_price,
                    margin_mode=mode,
                    position_side=fill.position_side,
                    leverage=leverage,
                    isolated_margin=posted if mode is MarginMode.ISOLATED else None,
                    timestamp_ms=fill.timestamp_ms,
                )
            )
            return
        assert i is not None
        total = existing.contracts + amount
        if market.inverse:
            entry = total / (existing.contracts / existing.entry_price + amount / fill.price)
        else:
            entry = (existing.contracts * existing.entry_price + amount * fill.price) / total
        margin = None if existing.isolated_margin is None else existing.isolated_margin + posted
        self.positions[i] = _changed(
            existing, contracts=total, entry_price=entry, isolated_margin=margin, leverage=leverage
        )


def on_grid(k: int, step: float) -> float:
    """``k`` steps as the decimal the venue prints: 0.66, not 66·0.01 = 0.6600000000000001."""
    per_unit = round(1 / step)
    return k / per_unit if abs(per_unit * step - 1) < 1e-12 else k * step


def _on_step(contracts: float, step: float | None) -> float:
    """Undo binary noise (1 − 0.34 = 0.6599999999999999) when the size is a whole number of steps."""
    if not step:
        return contracts
    k = round(contracts / step)
    return contracts if abs(k - contracts / step) > 1e-6 else on_grid(k, step)


def on_grid_array(k: np.ndarray, step: float) -> np.ndarray:
    """:func:`on_grid` for an array of step counts, with the same values."""
    per_unit = round(1 / step)
    return k / per_unit if abs(per_unit * step - 1) < 1e-12 else k * step


def _on_step_array(contracts: np.ndarray, step: float | None) -> np.ndarray:
    """:func:`_on_step` for an array, with the same rounding."""
    if not step:
        return contracts
    k = np.round(contracts / step)
    return np.where(np.abs(k - contracts / step) > 1e-6, contracts, on_grid_array(k, step))


def _positive(symbol: str, **values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0):
            raise WhatIfError(f"{symbol}: {name} must be a finite number > 0, got {value!r}")
