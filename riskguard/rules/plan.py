"""A deleveraging plan: what riskguard intends to do to one account, and what the account looks like after.

A :class:`Plan` is a pure value.  It is made from a snapshot and a policy without any I/O, it serializes to
JSON (``to_dict``) and it has a content hash (:attr:`Plan.content_hash`, sha256 of its canonical JSON) that
the executor turns into idempotent client order ids: re-running the same plan sends the same ids, and the
venue refuses the duplicates instead of closing twice.

Every :class:`IntendedOrder` reduces exposure: ``reduce_only`` is always true for orders and cannot be
switched off, and the ``add_margin`` kind moves collateral without trading.  The outcome after the plan is
recomputed by :func:`riskguard.risk.account_risk.evaluate_account` on the account as the what-if engine
(:mod:`riskguard.risk.whatif`) leaves it, the same exact venue math ``riskguard check`` uses: never a
second formula.

JSON: floats are written as Python's shortest repr; +inf (no price liquidates, equity ≤ 0) is the string
``"inf"`` so the document stays strict JSON.  Field names are documented in docs/strategies.md.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from riskguard.risk.account_risk import AccountRisk


class OrderKind(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    """Reduce-only stop that sends a market order when the mark price crosses ``trigger_price``."""
    ADD_MARGIN = "add_margin"
    """Move ``amount`` of the settle asset from free balance into an isolated position (ccxt ``addMargin``)."""
    CANCEL = "cancel"
    """Cancel the open order ``order_id`` (a stop a new ladder replaces); ``amount`` is what it held."""


@dataclass(frozen=True, slots=True)
class IntendedOrder:
    """One action of a plan, in execution order.

    ``amount`` is in the venue's order unit: contracts as ccxt counts them (``Market.contract_size`` base
    units, or USD for inverse, per contract) for orders, the settle asset for ``add_margin``.
    ``side`` is the order side (``sell`` closes a long); ``position_side`` names the hedge-mode leg
    (``both`` in one-way mode).  ``position_contracts`` is the size of the position the order acts on when
    the plan was made: it is what the invariants (never more than the position) are checked against.
    """

    account: str
    symbol: str
    side: str
    kind: OrderKind
    amount: float
    strategy: str
    rationale: str
    position_side: str = "both"
    position_contracts: float = 0.0
    price: float | None = None
    """Limit price (``limit``); the assumed fill price for ``market`` (mark), for the what-if only."""
    trigger_price: float | None = None
    """Mark-price trigger of a ``stop_market``."""
    reason_codes: tuple[str, ...] = ()
    order_id: str | None = None
    """The venue's id of the order a ``cancel`` removes."""
    reduce_only: bool = True

    def __post_init__(self) -> None:
        if self.side not in ("buy", "sell"):
            raise ValueError(f"{self.symbol}: order side must be buy or sell, got {self.side!r}")
        if not (math.isfinite(self.amount) and self.amount > 0):
            raise ValueError(f"{self.symbol}: order amount must be a finite number > 0, got {self.amount!r}")
        if not self.reduce_only:
            raise ValueError(f"{self.symbol}: a plan only holds reduce-only orders")
        if self.kind is OrderKind.STOP_MARKET and self.trigger_price is None:
            raise ValueError(f"{self.symbol}: a stop_market order needs a trigger_price")
        if self.kind is OrderKind.LIMIT and self.price is None:
            raise ValueError(f"{self.symbol}: a limit order needs a price")
        if self.kind is OrderKind.CANCEL and not self.order_id:
            raise ValueError(f"{self.symbol}: a cancel needs the order_id it cancels")

    @property
    def closes_side(self) -> str | None:
        """The position side this order reduces (``sell`` reduces a long); None for ``add_margin``/``cancel``."""
        if self.kind in (OrderKind.ADD_MARGIN, OrderKind.CANCEL):
            return None
        return "long" if self.side == "sell" else "short"

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "symbol": self.symbol,
            "side": self.side,
            "kind": self.kind.value,
            "amount": self.amount,
            "price": self.price,
            "trigger_price": self.trigger_price,
            "position_side": self.position_side,
            "position_contracts": self.position_contracts,
            "reduce_only": self.reduce_only,
            "strategy": self.strategy,
            "rationale": self.rationale,
            "reason_codes": list(self.reason_codes),
            "order_id": self.order_id,
        }


@dataclass(frozen=True, slots=True)
class PositionOutcome:
    """One position's figures before or after a plan (absent after a plan that closes it)."""

    symbol: str
    side: str
    position_side: str
    margin_mode: str
    contracts: float
    liquidation_price: float | None
    buffer_pct: float | None
    """Adverse move from mark to the liquidation price, % of mark; None when no price liquidates or unknown."""
    margin_ratio: float
    effective_leverage: float


@dataclass(frozen=True, slots=True)
class PoolOutcome:
    """A cross pool (one settle asset): the whole pool moves when any of its positions changes."""

    asset: str
    equity: float
    maintenance_margin: float
    margin_ratio: float
    buffer_pct: float
    """Margin headroom (1 − margin ratio)·100: ``CrossSummary.headroom_pct``, the share of equity above MM."""
    effective_leverage: float


@dataclass(frozen=True, slots=True)
class Outcome:
    positions: tuple[PositionOutcome, ...]
    cross: tuple[PoolOutcome, ...]

    @classmethod
    def of(cls, risk: AccountRisk) -> Outcome:
        return cls(
            tuple(
                PositionOutcome(
                    p.symbol, p.side, p.position_side, p.margin_mode, p.contracts, p.liquidation_price,
                    p.buffer_pct, p.margin_ratio, p.effective_leverage,
                )
                for p in risk.positions
            ),
            tuple(
                PoolOutcome(c.asset, c.equity, c.maintenance_margin, c.margin_ratio, c.headroom_pct,
                            c.effective_leverage)
                for c in risk.cross
            ),
        )

    @property
    def min_buffer_pct(self) -> float | None:
        """The smallest position buffer; None when no position has a finite liquidation price."""
        buffers = [p.buffer_pct for p in self.positions if p.buffer_pct is not None]
        return min(buffers) if buffers else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "positions": [_fields(p) for p in self.positions],
            "cross": [_fields(c) for c in self.cross],
            "min_buffer_pct": self.min_buffer_pct,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do to one account, in execution order, and the account before and after.

    ``reason_codes`` say what the plan does or could not do (``PLAN_*`` in riskguard/rules/codes.py);
    ``notes`` say why in words, e.g. why a target could not be met.  An empty ``orders`` with
    ``PLAN_NO_ACTION`` is a plan too: the policy was checked and nothing needs doing.
    """

    account: str
    venue: str
    strategies: tuple[str, ...]
    orders: tuple[IntendedOrder, ...]
    before: Outcome
    after: Outcome
    reason_codes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    content_hash: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "content_hash", hashlib.sha256(_canonical_body(self._body()).encode()).hexdigest())

    def _body(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "venue": self.venue,
            "strategies": list(self.strategies),
            "orders": [o.to_dict() for o in self.orders],
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "reason_codes": list(self.reason_codes),
            "notes": list(self.notes),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**_jsonable(self._body()), "content_hash": self.content_hash}

    def to_json(self) -> str:
        return canonical_json(self.to_dict())

    def client_order_id(self, index: int) -> str:
        """Idempotent id of ``orders[index]``: 28 letters and digits, within Binance's 36, Bybit's 36 and OKX's
        32 alphanumeric characters; the same plan always yields the same ids."""
        if not 0 <= index < len(self.orders):
            raise IndexError(f"plan has {len(self.orders)} orders, no index {index}")
        return f"rg{self.content_hash[:24]}{index:02d}"


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, strict JSON (non-finite floats as strings): equal values, equal bytes."""
    return json.dumps(_jsonable(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _canonical_body(body: dict[str, Any]) -> str:
    """``canonical_json`` of a body whose keys are all strings, without first copying it through ``_jsonable``
    when every number in it is finite: that copy then changes nothing json writes (tuples become lists, which
    json writes alike), so the text is the same."""
    try:
        return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError):  # a non-finite float (written as a string), or a type only _jsonable takes
        return canonical_json(body)


def _jsonable(value: Any) -> Any:
    # The exact built-in types a plan body is made of are settled first: the abstract-class checks below cost
    # most of a plan's hashing, and they give these types the same answers.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else _non_finite(value)
    if kind is dict:
        return {str(k): _jsonable(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return _non_finite(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_jsonable(v) for v in value]
    return value


def _non_finite(value: float) -> str:
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}
