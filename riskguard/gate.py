"""The pre-trade gate: may this order be placed, and how large may it be?  (docs/policies.md, "Pre-trade gate")

A bot calls it before sending an order.  The account is evaluated *as if the order were filled*
(``riskguard.risk.whatif``: entry averaged, fee paid, isolated margin posted) with exactly what
``riskguard check`` runs: the venue's liquidation math, the built-in limits, every rule of the account's
policy.  The verdict's exit code is the gate: 0 place it, 1 place it with a warning, 2 do not, 3 unknown.

Before that, the trading state decides: a HALTED account refuses every exposure-increasing order, and a
REDUCING one refuses an order that grows a position a firing rule is reducing.  Reducing orders always go
through to the evaluation.  docs/policies.md shows the Python API with an example a test runs.

:func:`Gate.size` is the largest order on the amount grid whose gate exits 0, with what binds one step more.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from riskguard.check import Evaluated, evaluate_loaded
from riskguard.config import AccountSpec, load_config
from riskguard.connectors.source import Loaded, load_accounts
from riskguard.errors import InputError
from riskguard.market_view import LazySignals, PositionSignals, SymbolViews, position_signals, source_key
from riskguard.model import Account, MarginMode, Order, PositionSide, Side, Snapshot
from riskguard.order_text import ProposedOrder, parse_order
from riskguard.risk.account_risk import PositionRisk
from riskguard.risk.whatif import Increase, WhatIfError, apply_fills
from riskguard.rules.codes import ReasonCode, Severity, Status
from riskguard.rules.policy_check import Finding
from riskguard.rules.state import TradingState
from riskguard.rules.strategy import ASSUMED_TAKER_FEE, OrderLimits

MAX_DOUBLINGS = 60
"""``size`` doubles the amount until the gate fails; 2^60 steps without failing means no rule bounds it."""
SIGNAL_MEMO_SIZE = 256
"""Positions whose signals one gate remembers (cleared when full): an order that moves a cross pool leaves a new
set each time, and the daemon keeps a gate per account."""


@dataclass(frozen=True, slots=True)
class GateResult:
    order: ProposedOrder
    increases_exposure: bool
    state_before: TradingState
    refusal: Finding | None
    """Set when the trading state refused the order before any evaluation."""
    after: Evaluated | None
    """The account as if filled; None when refused by the state."""
    margin: Finding | None = None
    """Set when the filled account could not fund its initial margin (or that margin is unknown)."""

    @property
    def status(self) -> Status:
        if self.refusal is not None:
            return Status.of(self.refusal.severity)
        assert self.after is not None
        margin = self.margin.severity if self.margin is not None else Severity.INFO
        return Status.of(max(self.after.verdict.status.severity, margin))

    @property
    def exit_code(self) -> int:
        return int(self.status.exit_code)

    @property
    def findings(self) -> list[Finding]:
        """Every finding of warning or worse after the fill, account level first."""
        if self.refusal is not None:
            return [self.refusal]
        assert self.after is not None
        v = self.after.verdict
        every = [*([self.margin] if self.margin else []), *v.findings, *(f for p in v.positions for f in p.findings)]
        return [f for f in every if f.severity >= Severity.WARNING]

    @property
    def position_after(self) -> PositionRisk | None:
        """The position the order trades, once filled; None when refused or when the order closed it.

        In hedge mode that is the leg of the order's side; in one-way mode the symbol's one position."""
        if self.after is None or self.after.verdict.risk is None:
            return None
        side = "long" if self.order.side == "buy" else "short"
        return next((p for p in self.after.verdict.risk.positions if p.symbol == self.order.symbol
                     and (p.position_side == "both" or p.side == side)), None)


@dataclass(frozen=True, slots=True)
class SizeResult:
    account: str
    symbol: str
    side: str
    amount: float
    """The largest amount on the venue's grid whose gate exits 0; 0 when not even the minimum passes."""
    step: float
    binding: list[Finding]
    """What fails at ``amount`` + one step (or at the minimum when ``amount`` is 0)."""

    @property
    def binding_rule(self) -> str:
        """The rule's name for a policy rule, else the built-in limit's reason code."""
        if not self.binding:
            return "none"
        worst = max(self.binding, key=lambda f: (f.severity, f.code.value.startswith("RULE_")))
        match = re.match(r"rule '([^']+)'", worst.message)
        return match.group(1) if match else worst.code.value


class Gate:
    """One account, read once, gated many times: the in-process API for a bot.

    Every order is evaluated from the account as read; what does not depend on the order is kept for the
    next one: the symbols' market views, and the signals of positions an order leaves exactly as they were
    (``position_signals`` is a function of the view, the position's figures and the open orders only).
    A gate is bound to one read: a new read needs a new gate."""

    def __init__(self, spec: AccountSpec, snapshot: Snapshot, account: Account) -> None:
        self.spec, self.snapshot, self.account = spec, snapshot, account
        self.venue = snapshot.venues[account.venue]
        self.views = SymbolViews()
        self._source = source_key(Loaded(spec, snapshot, account, None))
        self._signal_memo: dict[PositionRisk, PositionSignals] = {}
        self.before = self._evaluate(account)
        self._taker = account.fees.taker if account.fees else ASSUMED_TAKER_FEE

    @classmethod
    def load(cls, config: Path, account: str) -> Gate:
        """Read ``account`` of ``config`` (its snapshot, or the venue for a live account)."""
        (loaded,) = load_accounts(load_config(config).select(account))
        if loaded.error is not None:
            raise loaded.error
        assert loaded.snapshot is not None and loaded.account is not None
        return cls(loaded.spec, loaded.snapshot, loaded.account)

    def _evaluate(self, account: Account) -> Evaluated:
        orders = account.open_orders
        return evaluate_loaded(Loaded(self.spec, self.snapshot, account, None), self.views, with_plan=False,
                               signals_of=lambda risk: LazySignals(risk.positions, lambda p: self._signal(p, orders)))

    def _signal(self, risk: PositionRisk, orders: Sequence[Order] | None) -> PositionSignals:
        remembered = orders is self.account.open_orders  # a fill keeps the account's orders; anything else is new
        hit = self._signal_memo.get(risk) if remembered else None
        if hit is None:
            view = self.views.get(self._source, self.venue, risk.symbol, self.snapshot.taken_at_ms)
            hit = position_signals(view, risk, orders)
            if remembered:
                if len(self._signal_memo) >= SIGNAL_MEMO_SIZE:
                    self._signal_memo.clear()
                self._signal_memo[risk] = hit
        return hit

    def _increases(self, order: ProposedOrder) -> bool:
        """Anything but a one-way order against an opposite position at least as large adds exposure."""
        if self.account.hedge_mode:
            return True
        opposite = Side.SHORT if order.side == "buy" else Side.LONG
        held = next((p for p in self.account.positions if p.symbol == order.symbol and p.side is opposite), None)
        return held is None or order.amount > held.contracts * (1 + 1e-12)

    def _refusal(self, order: ProposedOrder) -> Finding | None:
        state = self.before.rules.state
        if state is TradingState.HALTED:
            return Finding(ReasonCode.ORDER_REFUSED_HALTED,
                           f"account {self.spec.name} is HALTED: only orders that reduce exposure pass", order.symbol)
        if state is TradingState.REDUCING:
            side = "long" if order.side == "buy" else "short"
            for hit in self.before.rules.hits:
                if hit.rule.state is not TradingState.REDUCING:
                    continue
                if hit.index < 0 or (hit.symbol == order.symbol and hit.side == side):
                    return Finding(ReasonCode.ORDER_REFUSED_REDUCING,
                                   f"rule {hit.rule.name!r} is reducing {hit.symbol or 'the account'}", order.symbol)
        return None

    def fill(self, order: ProposedOrder) -> Account:
        """The account as if ``order`` were filled (at mark for a market order)."""
        if order.symbol not in self.venue.markets:
            raise InputError(f"no market {order.symbol!r} on {self.venue.venue} in account {self.spec.name}",
                             "--order")
        quote = self.venue.quotes.get(order.symbol)
        if quote is None:
            raise InputError(f"no mark price for {order.symbol!r}: the gate cannot value the fill", "--order")
        market = self.venue.markets[order.symbol]
        limits = OrderLimits.of(market)
        price = order.price or quote.mark_price
        if not (_on_step(order.amount, limits.amount_step) and order.amount >= limits.min_amount * (1 - 1e-12)
                and limits.notional(market, order.amount, price) >= limits.min_notional * (1 - 1e-12)):
            raise InputError(
                f"size {order.amount:g} is not an order the venue takes (amount step {limits.amount_step}, "
                f"minimum {limits.min_amount:g}, minimum notional {limits.min_notional:g})", "--order")
        side = Side.LONG if order.side == "buy" else Side.SHORT
        held = [p for p in self.account.positions if p.symbol == order.symbol]
        modes = {p.margin_mode for p in (held or self.account.positions)}
        mode = modes.pop() if len(modes) == 1 else MarginMode.CROSS
        leg = PositionSide(side.value) if self.account.hedge_mode else PositionSide.BOTH
        fill = Increase(order.symbol, side, order.amount, order.price or quote.mark_price, quote.mark_price,
                        order.leverage, mode, leg, quote.timestamp_ms)
        try:
            return apply_fills(self.account, self.venue, [fill], self._taker)
        except WhatIfError as exc:
            raise InputError(f"{exc} (give LEVx for an isolated position)", "--order") from None

    def check(self, order: str | ProposedOrder) -> GateResult:
        if isinstance(order, str):
            order = parse_order(order)
        if order.account != self.spec.name:
            raise InputError(f"the order names account {order.account!r}, the gate holds {self.spec.name!r}",
                             "--order")
        increases = self._increases(order)
        refusal = self._refusal(order) if increases else None
        state = self.before.rules.state
        if refusal is not None:
            return GateResult(order, increases, state, refusal, None)
        filled = self.fill(order)
        after = self._evaluate(filled)
        margin = _margin_shortfall(filled, after, order.symbol, self.venue.markets[order.symbol].settle)
        return GateResult(order, increases, state, None, after, margin if increases else None)

    def _grid(self, symbol: str) -> tuple[float, float]:
        if symbol not in self.venue.markets:
            raise InputError(f"no market {symbol!r} on {self.venue.venue} in account {self.spec.name}")
        limits = OrderLimits.of(self.venue.markets[symbol])
        step = limits.amount_step or limits.min_amount
        if not step:
            raise InputError(f"{symbol}: the market records no amount step; size cannot step through amounts")
        return step, limits.min_amount

    def size(self, symbol: str, side: str, leverage: float | None = None) -> SizeResult:
        """The largest amount k·step whose gate exits 0, found by doubling then bisection on k, so that
        k passes and k + 1 fails by construction (the gate need not be monotone for that to hold)."""
        if side not in ("buy", "sell"):
            raise InputError(f"side must be buy or sell, got {side!r}")
        step, minimum = self._grid(symbol)
        first = max(1, math.ceil(minimum / step - 1e-9))

        def amount(k: int) -> float:
            return _grid_amount(k, step)

        def at(k: int) -> GateResult:
            return self.check(ProposedOrder(self.spec.name, symbol, side, amount(k), None, leverage))

        result = at(first)
        if result.exit_code == int(Status.UNKNOWN.exit_code):
            reasons = "; ".join(f.message for f in result.findings if f.severity is Severity.UNKNOWN)
            raise InputError(f"cannot size a {side} of {symbol} on {self.spec.name}: {reasons}")
        if result.exit_code != 0:
            return SizeResult(self.spec.name, symbol, side, 0.0, step, result.findings)
        lo, hi = first, 2 * first
        for _ in range(MAX_DOUBLINGS):
            result = at(hi)
            if result.exit_code != 0:
                break
            lo, hi = hi, 2 * hi
        else:
            raise InputError(f"no rule of {self.spec.name}'s policy bounds a {side} of {symbol}: size is unbounded")
        failing = result
        while hi - lo > 1:
            mid = (lo + hi) // 2
            probe = at(mid)
            if probe.exit_code == 0:
                lo = mid
            else:
                hi, failing = mid, probe
        return SizeResult(self.spec.name, symbol, side, amount(lo), step, failing.findings)


def _on_step(amount: float, step: float | None) -> bool:
    """``amount`` is a whole number of steps, to a tolerance relative to the amount (large counts of small
    steps are not exact in binary)."""
    if not step:
        return True
    return abs(round(amount / step) * step - amount) <= 1e-9 * max(amount, step)


def _grid_amount(k: int, step: float) -> float:
    """k steps as the decimal the venue prints (0.1 + 0.2 noise rounded away)."""
    decimals = max(0, -math.floor(math.log10(step))) + 6
    return round(k * step, decimals)


def _margin_shortfall(account: Account, after: Evaluated, symbol: str, settle: str) -> Finding | None:
    """The venue refuses an order it cannot margin: after the fill, the cross wallet plus unrealized losses
    must cover the initial margin of the cross positions (isolated margin has left the wallet already).
    Unrealized profit is not counted, so the gate never allows more than the venue would."""
    risk = after.verdict.risk
    assert risk is not None
    cross = [p for p in risk.positions if p.settle == settle and p.margin_mode == "cross"]
    unknown = [p.symbol for p in cross if p.initial_margin is None]
    if unknown:
        return Finding(ReasonCode.DATA_MISSING, f"initial margin of {', '.join(unknown)} unknown (no leverage): "
                       "give LEVx", symbol)
    balance = account.balances.get(settle)
    wallet = balance.cross_wallet if balance else 0.0
    available = wallet + sum(min(p.unrealized_pnl, 0.0) for p in cross) - sum(p.initial_margin or 0.0 for p in cross)
    if available >= 0:
        return None
    return Finding(ReasonCode.ORDER_EXCEEDS_AVAILABLE_MARGIN,
                   f"the fill needs {-available:,.2f} {settle} more margin than the account has free", symbol,
                   available, 0.0)


def check_order(config: Path, order: str) -> GateResult:
    """``riskguard check --config FILE --order "..."`` in-process."""
    parsed = parse_order(order)
    return Gate.load(config, parsed.account).check(parsed)


def size(config: Path, account: str, symbol: str, side: str, leverage: float | None = None) -> SizeResult:
    """``riskguard size`` in-process."""
    return Gate.load(config, account).size(symbol, side, leverage)

