"""The deleveraging strategy interface, its resolver, and the assembly of strategies into a :class:`Plan`.

A strategy is a class with a ``name``, a pydantic ``Params`` model (``extra="forbid"``: a typo in a
policy is an error, not a silently ignored key) and one method, :meth:`Strategy.propose`, that takes a
:class:`StrategyContext` and returns a :class:`Proposal`: reduce-only intended orders with their rationale,
reason codes and notes.  Strategies are pure; they never read the clock or the network.

Discovery follows freqtrade's resolver contract (classes defined in a module that subclass the interface):

* a bare name (``reduce_size``) is looked up among the strategies shipped in the top-level ``strategies``
  package;
* ``package.module:ClassName`` imports a user's module from the Python path;
* ``path/to/file.py`` or ``path/to/file.py:ClassName`` loads a user's file.

A name that resolves to nothing is a :class:`~riskguard.errors.ConfigError` (exit 3) with a "did you mean"
hint.  :func:`make_plan` runs strategies in the policy's order: each one sees the account as the previous
ones' immediate actions (market orders, added margin) leave it, so the cheap action (``add_margin``) can
go first and a reduction after it sizes only what is still needed.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import math
import pkgutil
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from riskguard.errors import ConfigError
from riskguard.model import Account, Market, OrderBook, Position, PositionSide, Side, VenueMarkets
from riskguard.risk.account_risk import AccountRisk, PositionRisk, evaluate_account
from riskguard.risk.bands import Band
from riskguard.risk.exit_liquidity import BookLadder, book_ladder
from riskguard.risk.volatility import DEFAULT_HORIZON_SECONDS, RealizedVolatility
from riskguard.risk.whatif import AddMargin, Fill, Reduce, apply_fills, on_grid
from riskguard.rules.codes import ReasonCode
from riskguard.rules.plan import IntendedOrder, OrderKind, Outcome, Plan

ASSUMED_TAKER_FEE = 0.001
"""Fee rate assumed when the account's own is unknown: above every listed venue's base taker rate, so the
what-if errs toward less collateral after a reduction, never more."""


# -- INPUTS ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionRef:
    """Names one position of an account: one-way positions by symbol, hedge legs by symbol and leg."""

    symbol: str
    side: Side
    position_side: PositionSide = PositionSide.BOTH

    @classmethod
    def of(cls, p: Position | PositionRisk) -> PositionRef:
        return cls(p.symbol, Side(p.side), PositionSide(p.position_side))

    def matches(self, p: Position | PositionRisk) -> bool:
        return p.symbol == self.symbol and p.side == self.side and p.position_side == self.position_side

    def __str__(self) -> str:
        leg = "" if self.position_side is PositionSide.BOTH else f" ({self.position_side.value} leg)"
        return f"{self.side.value} {self.symbol}{leg}"


@dataclass(frozen=True, slots=True)
class OrderLimits:
    """What the venue accepts as an order: amount step, minimum amount and minimum notional.

    ``min_notional`` is in the quote currency for linear contracts (ccxt ``limits.cost.min``) and in USD of
    face value for inverse ones.  :meth:`of` reads the market model, which carries ``amount_step`` only: the
    minimum is one step and there is no minimum notional.
    """

    amount_step: float | None
    min_amount: float
    min_notional: float = 0.0

    @classmethod
    def of(cls, market: Market) -> OrderLimits:
        return cls(market.amount_step, float(market.amount_step or 0.0))

    def floor(self, amount: float) -> float:
        """``amount`` rounded down to the step (the decimal the venue prints, not ``k·step`` noise)."""
        if not self.amount_step:
            return amount
        steps = math.floor(amount / self.amount_step + 1e-9)
        return on_grid(steps, self.amount_step)

    def ceil(self, amount: float) -> float:
        if not self.amount_step:
            return amount
        steps = math.ceil(amount / self.amount_step - 1e-9)
        return on_grid(steps, self.amount_step)

    def notional(self, market: Market, amount: float, price: float) -> float:
        face = amount * market.contract_size
        return face if market.inverse else face * price

    def accepts(self, market: Market, amount: float, price: float) -> bool:
        """The venue would take an order of ``amount`` contracts at ``price``."""
        on_step = self.amount_step is None or abs(self.floor(amount) - amount) <= 1e-9 * max(amount, 1.0)
        return (
            on_step
            and amount >= self.min_amount * (1 - 1e-12)
            and self.notional(market, amount, price) >= self.min_notional * (1 - 1e-12)
        )


@dataclass(frozen=True)
class MarketSignals:
    """What the market says about one symbol, where the snapshot had it (each field None when unknown).

    Built from ``riskguard.market_view.SymbolView`` by :meth:`of_view`; the strategies use the bands
    (stops sit ahead of them), the volatility (σ targets) and the book (slippage of a stop's fill).
    """

    bands: tuple[Band, ...] | None = None
    volatility: RealizedVolatility | None = None
    book: OrderBook | None = None

    @classmethod
    def of_view(cls, view: Any) -> MarketSignals:
        report = view.bands
        return cls(None if report.profile is None else tuple(report.bands), view.volatility, view.book)

    @cached_property
    def ladder(self) -> tuple[BookLadder | None, str | None]:
        """The book checked and sorted once (``book_ladder``): a strategy prices every trial cut into it, and
        sorting it again for each was an eighth of the daemon's planning."""
        return (None, "no order book") if self.book is None else book_ladder(self.book.bids, self.book.asks)


@dataclass(frozen=True)
class StrategyContext:
    """Everything a strategy may look at; it is read-only and built once per account evaluation.

    :param risk: ``evaluate_account(account, venue)``, the figures ``riskguard check`` reports.
    :param signals: market signals by symbol; a symbol absent here has none.
    :param scope: the positions the triggering rule fired for; None means the whole account.
    :param limits: order limits by symbol where known better than :meth:`OrderLimits.of` the market.
    """

    account: Account
    risk: AccountRisk
    venue: VenueMarkets
    signals: Mapping[str, MarketSignals] = field(default_factory=dict)
    scope: tuple[PositionRef, ...] | None = None
    horizon_seconds: float = DEFAULT_HORIZON_SECONDS
    limits: Mapping[str, OrderLimits] = field(default_factory=dict)
    evaluations: Evaluations = field(default_factory=lambda: Evaluations(), compare=False, repr=False)
    """Shared by every context derived from this one (``replace`` keeps it): see :class:`Evaluations`."""

    @classmethod
    def build(cls, account: Account, venue: VenueMarkets, **kwargs: Any) -> StrategyContext:
        return cls(account, evaluate_account(account, venue), venue, **kwargs)

    @property
    def taker_fee(self) -> float:
        return self.account.fees.taker if self.account.fees else ASSUMED_TAKER_FEE

    @property
    def fee_assumed(self) -> bool:
        return self.account.fees is None

    def market(self, symbol: str) -> Market:
        return self.venue.markets[symbol]

    def limits_for(self, symbol: str) -> OrderLimits:
        return self.limits.get(symbol) or OrderLimits.of(self.market(symbol))

    def in_scope(self, p: Position | PositionRisk) -> bool:
        return self.scope is None or any(ref.matches(p) for ref in self.scope)

    def position(self, ref: PositionRef) -> tuple[Position, PositionRisk]:
        for p, r in zip(self.account.positions, self.risk.positions, strict=True):
            if ref.matches(p):
                return p, r
        raise KeyError(f"{self.account.name}: no {ref} position")

    def evaluate(self, account: Account) -> AccountRisk:
        """``evaluate_account(account, venue)``, computed once for an account met again while the plan is made."""
        return self.evaluations.risk(account, self.venue)

    def with_account(self, account: Account) -> StrategyContext:
        """The same context around ``account`` (after some fills), its risk recomputed."""
        return replace(self, account=account, risk=self.evaluate(account))


class Evaluations:
    """The accounts evaluated last while one plan is made, with their figures.

    Why: a strategy evaluates the account after each cut it tries, and the plan then books the same orders
    on the same account again to carry on from where the strategy left it; that account is equal, field
    for field, to the one the strategy's last cut evaluated, so its figures are read back instead of being
    recomputed.  ``evaluate_account`` is a pure function of the account's values, so an equal account has
    equal figures; a miss only costs the evaluation.
    """

    KEEP = 4
    """The plan asks for the account right after the strategy's last cuts: a few recent ones suffice."""

    def __init__(self) -> None:
        self._recent: list[tuple[Account, VenueMarkets, AccountRisk]] = []

    def risk(self, account: Account, venue: VenueMarkets) -> AccountRisk:
        for seen, seen_venue, risk in self._recent:
            if seen_venue is venue and seen == account:
                return risk
        risk = evaluate_account(account, venue)
        self._recent.insert(0, (account, venue, risk))
        del self._recent[self.KEEP:]
        return risk


# -- OUTPUT ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Proposal:
    """A strategy's answer: intended orders (execution order), reason codes and notes in words."""

    orders: tuple[IntendedOrder, ...] = ()
    reason_codes: tuple[ReasonCode, ...] = ()
    notes: tuple[str, ...] = ()

    def __add__(self, other: Proposal) -> Proposal:
        return Proposal(self.orders + other.orders, self.reason_codes + other.reason_codes, self.notes + other.notes)


class StrategyParams(BaseModel):
    """Base of every strategy's parameters: strict, frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Strategy(ABC):
    """A deleveraging strategy.  Subclasses set ``name``, ``Params`` and implement :meth:`propose`.

    :meth:`propose` must only return reduce-only orders that never exceed or flip the position they act
    on (``IntendedOrder`` refuses ``reduce_only=False``; the property tests check the rest for the shipped
    strategies).  When it cannot reach its target it says so with ``PLAN_TARGET_UNREACHABLE`` and a note.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def __init__(self, params: Mapping[str, Any] | StrategyParams | None = None, *, where: str | None = None):
        if isinstance(params, StrategyParams):
            self.params = params
            return
        try:
            self.params = self.Params.model_validate(dict(params or {}))
        except ValidationError as exc:
            first = exc.errors()[0]
            path = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"strategy {self.name!r} parameter {path}: {first['msg']}", where) from None

    @abstractmethod
    def propose(self, ctx: StrategyContext) -> Proposal: ...


# -- DISCOVERY ---------------------------------------------------------------------------------------------


def builtin_strategies() -> dict[str, type[Strategy]]:
    """The strategies shipped in the top-level ``strategies`` package, by name."""
    import strategies

    found: dict[str, type[Strategy]] = {}
    for info in pkgutil.iter_modules(strategies.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"strategies.{info.name}")
        for cls in _strategy_classes(module):
            found[cls.name] = cls
    return found


def resolve_strategy(spec: str, *, where: str | None = None) -> type[Strategy]:
    """The class a policy's ``strategy:`` names (a shipped name, ``pkg.mod:Class`` or a file path)."""
    if ":" in spec or spec.endswith(".py") or "/" in spec:
        return _load_user_strategy(spec, where)
    known = builtin_strategies()
    if spec in known:
        return known[spec]
    close = difflib.get_close_matches(spec, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown strategy {spec!r}{hint} (shipped: {', '.join(sorted(known))})", where)


def create_strategy(spec: str, params: Mapping[str, Any] | None = None, *, where: str | None = None) -> Strategy:
    return resolve_strategy(spec, where=where)(params, where=where)


def _load_user_strategy(spec: str, where: str | None) -> type[Strategy]:
    target, _, class_name = spec.rpartition(":") if ":" in spec else (spec, "", "")
    try:
        is_file = target.endswith(".py") or "/" in target
        module = _load_file(Path(target), where) if is_file else importlib.import_module(target)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"cannot load strategy module {target!r}: {type(exc).__name__}: {exc}", where) from None
    classes = {cls.__name__: cls for cls in _strategy_classes(module)}
    if class_name:
        if class_name not in classes:
            close = difflib.get_close_matches(class_name, list(classes), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{target!r} defines no Strategy subclass {class_name!r}{hint}", where)
        return classes[class_name]
    if len(classes) != 1:
        listed = ", ".join(sorted(classes)) or "none"
        raise ConfigError(f"{target!r} must define exactly one Strategy subclass or name one (found: {listed})", where)
    return next(iter(classes.values()))


def _load_file(path: Path, where: str | None) -> ModuleType:
    if not path.is_file():
        raise ConfigError(f"strategy file {str(path)!r} does not exist", where)
    name = f"riskguard_user_strategy_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _strategy_classes(module: ModuleType) -> list[type[Strategy]]:
    """Concrete Strategy subclasses defined in ``module`` itself (not ones it imports)."""
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Strategy) and cls.__module__ == module.__name__ and not inspect.isabstract(cls)
    ]


# -- ASSEMBLY ----------------------------------------------------------------------------------------------


def immediate_fills(ctx: StrategyContext, orders: Sequence[IntendedOrder]) -> list[Fill]:
    """The fills of the orders that act now (market, marketable limit, add margin); stops wait for a trigger.

    A market order is assumed filled at the mark: the plan's after-figures are the account's state once the
    orders are done at today's prices, the same reference the buffers are measured from.
    """
    fills: list[Fill] = []
    for o in orders:
        side = Side(o.closes_side) if o.closes_side else None
        leg = PositionSide(o.position_side)
        if o.kind is OrderKind.ADD_MARGIN:
            # the order names its position by side as a reduce would (``sell``: the long): a cross position of
            # the other side can hold the same symbol and leg (OKX keeps cross and isolated apart in net mode)
            held = Side.LONG if o.side == "sell" else Side.SHORT
            fills.append(AddMargin(o.symbol, held, o.amount, leg))
        elif o.kind is OrderKind.MARKET:
            assert side is not None
            _, risk = ctx.position(PositionRef(o.symbol, side, leg))
            fills.append(Reduce(o.symbol, side, o.amount, o.price or risk.mark_price, leg))
    return fills


@dataclass(frozen=True, slots=True)
class StrategiesRun:
    """What :func:`run_strategies` returns: a plan's content, and the context its immediate actions leave."""

    orders: tuple[IntendedOrder, ...]
    reason_codes: tuple[str, ...]
    notes: tuple[str, ...]
    after: StrategyContext


def run_strategies(ctx: StrategyContext, strategies: Sequence[Strategy]) -> StrategiesRun:
    """Run ``strategies`` in order on ``ctx``, each on the account the previous ones' immediate actions leave."""
    proposal = Proposal()
    current = ctx
    for strategy in strategies:
        step = strategy.propose(current)
        proposal = proposal + step
        fills = immediate_fills(current, step.orders)
        if fills:
            current = current.with_account(apply_fills(current.account, current.venue, fills, current.taker_fee))
    codes = list(dict.fromkeys(proposal.reason_codes))
    if not proposal.orders and not codes:
        codes.append(ReasonCode.PLAN_NO_ACTION)
    notes = list(proposal.notes)
    if ctx.fee_assumed and proposal.orders:
        notes.append(f"taker fee unknown: {ASSUMED_TAKER_FEE:.2%} assumed for the figures after the plan")
    return StrategiesRun(proposal.orders, tuple(c.value for c in codes), tuple(notes), current)


def make_plan(ctx: StrategyContext, strategies: Sequence[Strategy]) -> Plan:
    """Run ``strategies`` in order on ``ctx`` and recompute the account after all their immediate actions."""
    run = run_strategies(ctx, strategies)
    return Plan(
        account=ctx.account.name,
        venue=ctx.account.venue,
        strategies=tuple(s.name for s in strategies),
        orders=run.orders,
        before=Outcome.of(ctx.risk),
        after=Outcome.of(run.after.risk),
        reason_codes=run.reason_codes,
        notes=run.notes,
    )
