"""What it costs to get out: closing a position by walking the visible order book.

The liquidation buffer is measured at mark, but a trader who decides to close pays the book: a long
sells into the bids, a short buys the asks. On a thin book that cost can eat a large part of the
buffer, so the buffer worth reporting is the one *net* of the exit slippage. When the visible book
cannot absorb the whole position the cost is not known; we report the unfilled remainder instead of
extrapolating a number nobody could trade at.

Book amounts are in contracts (ccxt's unit for derivatives books), the same unit as the position size.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

Levels = Sequence[Sequence[float]] | ArrayLike
"""ccxt shape: ``[[price, amount], ...]``; extra columns (ccxt's order count) are ignored."""


@dataclass(frozen=True)
class BookLadder:
    """Both sides of a validated book as (n, 2) ``[price, amount]`` arrays, best level first."""

    bids: np.ndarray
    asks: np.ndarray
    bids_ahead: np.ndarray = field(init=False, repr=False, compare=False)
    """:func:`depth_ahead` of the bids (and below, the asks): once per book, not once per position closing."""
    asks_ahead: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bids_ahead", depth_ahead(self.bids[:, 1]))
        object.__setattr__(self, "asks_ahead", depth_ahead(self.asks[:, 1]))

    @property
    def mid(self) -> float:
        return float((self.bids[0, 0] + self.asks[0, 0]) / 2)

    def closing_side(self, side: int) -> np.ndarray:
        """Levels a position of ``side`` closes into: a long sells to the bids, a short lifts the asks."""
        return self.bids if side > 0 else self.asks

    def closing_ahead(self, side: int) -> np.ndarray:
        return self.bids_ahead if side > 0 else self.asks_ahead


def _side_levels(levels: Levels, name: str, descending: bool) -> tuple[np.ndarray | None, str | None]:
    array = np.asarray(levels, dtype=float)
    if array.size == 0:
        return None, f"EMPTY_BOOK: no {name}"
    if array.ndim != 2 or array.shape[1] < 2:
        return None, f"BAD_LEVEL: {name} must be rows of [price, amount]"
    array = array[:, :2]
    prices, amounts = array[:, 0], array[:, 1]
    if not (np.all(np.isfinite(array)) and np.all(prices > 0) and np.all(amounts >= 0)):
        return None, f"BAD_LEVEL: {name} hold a non-finite, non-positive price or negative amount"
    array = array[amounts > 0]  # a zero amount is a deleted level in incremental feeds
    if len(array) == 0:
        return None, f"EMPTY_BOOK: no {name} with a positive amount"
    order = np.argsort(-array[:, 0] if descending else array[:, 0], kind="stable")
    return array[order], None


def book_ladder(bids: Levels, asks: Levels) -> tuple[BookLadder | None, str | None]:
    """Validate and sort a book; ``(None, reason)`` when it cannot be priced against.

    Both sides are required even though a close walks only one: a one-sided book is almost always a
    feed fault, and the mid (the fair reference for slippage) needs both. A crossed or locked book
    (best bid ≥ best ask) is a stale or broken snapshot, not a market anyone can trade.
    """
    bid_levels, reason = _side_levels(bids, "bids", descending=True)
    if bid_levels is None:
        return None, reason
    ask_levels, reason = _side_levels(asks, "asks", descending=False)
    if ask_levels is None:
        return None, reason
    if bid_levels[0, 0] >= ask_levels[0, 0]:
        return None, f"CROSSED_BOOK: best bid {bid_levels[0, 0]:g} >= best ask {ask_levels[0, 0]:g}"
    return BookLadder(bid_levels, ask_levels), None


def walk_levels(amounts: np.ndarray, quantity: float) -> np.ndarray:
    """Amount taken from each level, best first, when ``quantity`` is sent at market.

    The depth ahead of each level is an exclusive running sum, not ``cumsum − amount``: subtracting a
    large level from a running total that includes it cancels a tiny depth ahead of it to zero.
    """
    amounts = np.asarray(amounts, dtype=float)
    return np.clip(quantity - depth_ahead(amounts), 0.0, amounts)


def depth_ahead(amounts: np.ndarray) -> np.ndarray:
    """The amount on the levels before each one (an exclusive running sum: see :func:`walk_levels`)."""
    return np.concatenate(([0.0], np.cumsum(amounts)[:-1]))


@dataclass(frozen=True)
class ExitFill:
    """Result of closing ``contracts`` at market.

    ``status`` is ``"ok"`` (fully filled), ``"insufficient_depth"`` (the book ran out; ``vwap`` and
    ``worst_price`` describe only the filled part and every slippage field is None) or ``"unknown"``
    (no usable book or mark; nothing filled). Slippage is signed so that an adverse fill is positive.
    """

    status: Literal["ok", "insufficient_depth", "unknown"]
    reason: str | None
    filled_contracts: float
    unfilled_contracts: float
    vwap: float | None
    """Average fill price: contract-weighted for linear, harmonic (USD per coin) for inverse."""
    worst_price: float | None
    slippage_bp_vs_mark: float | None
    slippage_bp_vs_mid: float | None
    slippage_cost: float | None
    """Fill shortfall against closing at mark, in the settle asset (quote for linear, coin for inverse)."""


def _unknown_fill(reason: str, contracts: float) -> ExitFill:
    return ExitFill("unknown", reason, 0.0, contracts, None, None, None, None, None)


def exit_fill(
    *,
    side: int,
    contracts: float,
    contract_size: float,
    inverse: bool,
    mark: float,
    bids: Levels,
    asks: Levels,
) -> ExitFill:
    """Close ``contracts`` of a position of ``side`` (+1 long, −1 short) into the book.

    :param contract_size: base units per contract (linear) or USD per contract (inverse), as in
        ``Market.contract_size``; it scales only the settle-asset cost, not prices or bp.
    """
    return ladder_fill(book_ladder(bids, asks), side=side, contracts=contracts, contract_size=contract_size,
                       inverse=inverse, mark=mark)


def ladder_fill(
    book: tuple[BookLadder | None, str | None],
    *,
    side: int,
    contracts: float,
    contract_size: float,
    inverse: bool,
    mark: float,
) -> ExitFill:
    """:func:`exit_fill` on a book :func:`book_ladder` already checked and sorted (its result, as is).

    Many positions close into the same symbol's book; validating and sorting it once per symbol rather
    than once per position is what keeps `check` on thousands of accounts fast.
    """
    if not (math.isfinite(contracts) and contracts > 0):
        return _unknown_fill(f"BAD_SIZE: contracts must be > 0, got {contracts!r}", 0.0)
    if not (math.isfinite(mark) and mark > 0):
        return _unknown_fill(f"BAD_PRICE: mark must be > 0, got {mark!r}", contracts)
    ladder, reason = book
    if ladder is None:
        return _unknown_fill(reason or "BAD_BOOK: the book cannot be priced against", contracts)
    # walk_levels on the levels the close reaches: every ladder amount is > 0, so a level is used exactly
    # when the depth ahead of it is below the size, and those are the first ``reached``.
    levels, ahead = ladder.closing_side(side), ladder.closing_ahead(side)
    reached = int(np.searchsorted(ahead, contracts, side="left"))
    prices = levels[:reached, 0]
    taken = np.clip(contracts - ahead[:reached], 0.0, levels[:reached, 1])
    filled = float(taken.sum())
    vwap = float(filled / (taken / prices).sum()) if inverse else float((taken * prices).sum() / filled)
    unfilled = contracts - filled
    if unfilled > 1e-12 * contracts:
        return ExitFill(
            "insufficient_depth",
            f"INSUFFICIENT_DEPTH: book holds {filled:g} of {contracts:g} contracts",
            filled, unfilled, vwap, float(prices[-1]), None, None, None,
        )
    if inverse:
        cost = side * contracts * contract_size * (1 / vwap - 1 / mark)
    else:
        cost = side * contracts * contract_size * (mark - vwap)
    return ExitFill(
        "ok",
        None,
        contracts,
        0.0,
        vwap,
        float(prices[-1]),
        side * (mark - vwap) / mark * 1e4,
        side * (ladder.mid - vwap) / ladder.mid * 1e4,
        cost,
    )


@dataclass(frozen=True)
class ExitBuffer:
    """JSON ``exit_slippage_bp`` and ``buffer_net_of_slippage_pct`` for one position."""

    status: Literal["ok", "unknown"]
    reason: str | None
    buffer_pct: float | None
    exit_slippage_bp: float | None
    buffer_net_of_slippage_pct: float | None


def exit_buffer(side: int, mark: float, liquidation_price: float | None, fill: ExitFill) -> ExitBuffer:
    """Liquidation buffer left after paying to close now: side·(mark − LP)/mark·100 − slippage_bp/100.

    Slippage is taken against mark because the buffer is measured from mark. ``liquidation_price``
    None means no finite price liquidates (buffer +inf). A fill that is not ``"ok"`` makes the net
    buffer unknown, with the fill's reason: a partial fill has no honest cost.
    """
    if liquidation_price is not None and not (math.isfinite(liquidation_price) and liquidation_price > 0):
        return ExitBuffer("unknown", f"BAD_PRICE: liquidation price {liquidation_price!r}", None, None, None)
    if fill.slippage_bp_vs_mark is None:
        return ExitBuffer("unknown", fill.reason, None, None, None)
    buffer_pct = math.inf if liquidation_price is None else side * (mark - liquidation_price) / mark * 100
    slippage_bp = fill.slippage_bp_vs_mark
    return ExitBuffer("ok", None, buffer_pct, slippage_bp, buffer_pct - slippage_bp / 100)
