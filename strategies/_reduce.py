"""What ``reduce_size`` and ``close_worst_first`` share: targets, and the smallest reduction that meets one.

The smallest reduction is found by bisection over whole amount steps, each trial replayed by the what-if
engine and re-evaluated by ``evaluate_account``: no shortcut formula, so tier changes as the size shrinks,
the taker fee, a Bybit closing-fee reserve or an OKX fee term, and in cross margin the whole pool moving,
are all in the answer.  The search first scans candidate sizes in batches (``evaluate_reductions``: the same
math as the one-by-one evaluation, row by row, so the same answer), then confirms the size it lands on with
the full evaluation.  Bisection needs the metric to improve as the reduction grows, which holds for
every target here: a smaller position needs less maintenance margin and the fee grows only in proportion.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from riskguard.model import Account, Side
from riskguard.risk.account_risk import AccountRisk, PositionRisk, PriceSource, Variants
from riskguard.risk.exit_liquidity import ladder_fill
from riskguard.risk.volatility import liquidation_distance
from riskguard.risk.whatif import Reduce, Reductions, apply_fills, on_grid, on_grid_array
from riskguard.rules.codes import ReasonCode
from riskguard.rules.plan import IntendedOrder, OrderKind
from riskguard.rules.strategy import PositionRef, StrategyContext


class Target(StrEnum):
    BUFFER_PCT = "buffer_pct"
    """Adverse move from mark to the liquidation price, % of mark; at least the value."""
    SIGMA_BUFFER = "sigma_buffer"
    """The same distance in σ of the symbol's realized volatility over the context's horizon; at least."""
    EFFECTIVE_LEVERAGE = "effective_leverage"
    """Notional ÷ the equity that backs it; at most the value."""


def position_metric(ctx: StrategyContext, r: PositionRisk, target: Target) -> float | None:
    """The position's value of ``target``; +inf when no price liquidates it; None when unknown."""
    if target is Target.EFFECTIVE_LEVERAGE:
        return r.effective_leverage
    if r.liquidation_source is PriceSource.NONE:
        return math.inf
    if r.liquidation_price is None or r.buffer_pct is None:
        return None
    if target is Target.BUFFER_PCT:
        return r.buffer_pct
    signals = ctx.signals.get(r.symbol)
    if signals is None or signals.volatility is None:
        return None
    side = 1 if r.side == "long" else -1
    return liquidation_distance(side, r.mark_price, r.liquidation_price, signals.volatility,
                                ctx.horizon_seconds).sigma_buffer


def meets(value: float, target: Target, threshold: float) -> bool:
    return margin(value, target, threshold) >= 0


def margin(value: float, target: Target, threshold: float) -> float:
    """By how much ``value`` beats ``threshold`` (≥ 0 meets it)."""
    return threshold - value if target is Target.EFFECTIVE_LEVERAGE else value - threshold


def find(risk: AccountRisk, ref: PositionRef) -> PositionRisk | None:
    return next((p for p in risk.positions if ref.matches(p)), None)


@dataclass(frozen=True, slots=True)
class Cut:
    """A reduction of one position and the account after it."""

    amount: float
    closes: bool
    met: bool
    """The target holds after the cut (False: even the whole position was not enough)."""
    price: float
    account: Account
    risk: AccountRisk
    why_not: str | None = None
    """Why no order could be placed at all (the position is below the venue's minimum order)."""

    def context(self, ctx: StrategyContext) -> StrategyContext:
        return replace(ctx, account=self.account, risk=self.risk)


def fill_price(ctx: StrategyContext, ref: PositionRef, r: PositionRisk, amount: float) -> float:
    """Where a market reduction of ``amount`` fills: the book's VWAP when the book can take it, else mark."""
    signals = ctx.signals.get(ref.symbol)
    if signals is None or signals.book is None:
        return r.mark_price
    market = ctx.market(ref.symbol)
    fill = ladder_fill(signals.ladder, side=ref.side.sign, contracts=amount, contract_size=market.contract_size,
                       inverse=market.inverse, mark=r.mark_price)
    return fill.vwap if fill.status == "ok" and fill.vwap is not None else r.mark_price


Slack = Callable[[AccountRisk], float]
"""How far a target is beaten on an evaluated account: ≥ 0 it holds (+inf once the position or pool is gone),
< 0 it misses, NaN unknown (a miss)."""


VariantSlack = Callable[[Variants, int], np.ndarray]
"""The same ``Slack`` for each row of :class:`Variants` (the int: the row of the position being cut)."""


def smallest_cut(ctx: StrategyContext, ref: PositionRef, slack: Slack, limit: float | None = None,
                 closing_meets: bool = False, rows_slack: VariantSlack | None = None,
                 guess: float | None = None) -> Cut:
    """The smallest venue-valid reduction of ``ref`` after which ``slack`` ≥ 0, looked for up to ``limit``
    contracts (the whole position when None); the cut of ``limit`` with ``met`` False when even that misses.
    ``closing_meets`` says a target on the position itself holds once it is gone: no need to evaluate that.
    ``rows_slack``, when given, lets the search scan many sizes in one vectorized evaluation, and ``guess``
    (an estimate of the answer, in contracts) lets it scan fewer times (:class:`Scan`)."""
    p, r = ctx.position(ref)
    market, limits = ctx.market(ref.symbol), ctx.limits_for(ref.symbol)
    memo: dict[float, tuple[Account, AccountRisk, float, float]] = {}

    def trial(amount: float) -> tuple[Account, AccountRisk, float, float]:
        if amount not in memo:
            price = fill_price(ctx, ref, r, amount)
            fills = [Reduce(ref.symbol, ref.side, amount, price, ref.position_side)]
            account = apply_fills(ctx.account, ctx.venue, fills, ctx.taker_fee)
            risk = ctx.evaluate(account)
            memo[amount] = (account, risk, price, slack(risk))
        return memo[amount]

    def cut(amount: float, met: bool) -> Cut:
        account, risk, price, _ = trial(amount)
        return Cut(amount, amount >= p.contracts, met, price, account, risk)

    def venue_valid(amount: float) -> float:
        """At least the minimum order; the whole position when the remainder would be under the minimum (it
        could not be reduced again later)."""
        amount = max(limits.ceil(amount), limits.ceil(limits.min_amount),
                     limits.ceil(limits.min_notional / max(limits.notional(market, 1.0, r.mark_price), 1e-300)))
        remainder = p.contracts - amount
        if remainder < limits.min_amount or limits.notional(market, remainder, r.mark_price) < limits.min_notional:
            return p.contracts
        return amount

    if not limits.accepts(market, p.contracts, r.mark_price):
        why = (f"{ref}: the whole position ({p.contracts:g} contracts) is below the venue's minimum order "
               f"({limits.min_amount:g} contracts, {limits.min_notional:g} notional)")
        return Cut(0.0, False, False, r.mark_price, ctx.account, ctx.risk, why)
    cap = p.contracts if limit is None else venue_valid(min(limit, p.contracts))
    if not (closing_meets and cap >= p.contracts) and not trial(cap)[3] >= 0:
        return cut(cap, False)
    scan: Scan | None = None
    row = next(i for i, q in enumerate(ctx.account.positions) if ref.matches(q))
    reductions = None if rows_slack is None else Reductions.of(ctx.account, ctx.venue, row, ctx.taker_fee,
                                                               ctx.risk.solved)
    if rows_slack is not None and reductions is not None:
        signals = ctx.signals.get(ref.symbol)
        # without a book every size fills at mark, so the scan is exact; with one it fills at the book's VWAP,
        # which the scan leaves out (priced at mark it only predicts, and the search checks around it)
        exact = signals is None or signals.book is None

        def rows(amounts: np.ndarray, reductions: Reductions = reductions, rows_slack: VariantSlack = rows_slack,
                 ) -> np.ndarray:
            prices = np.full(len(amounts), r.mark_price)
            return rows_slack(reductions.evaluate(amounts, prices, reductions.changed), row)

        scan = Scan(rows, exact, guess)
    amount = _search(cap, limits.amount_step, lambda a: trial(a)[3], slack(ctx.risk), scan)
    return cut(venue_valid(amount), True)


@dataclass(frozen=True, slots=True)
class Scan:
    """Slack of many sizes at once (None where the vectorized path does not apply); ``exact``: equal to the
    one-by-one slack, not a prediction."""

    rows: Callable[[np.ndarray], np.ndarray]
    exact: bool
    guess: float | None = None
    """An estimate of the answer (an amount), or None.  The first scan then takes, with the sizes up to the
    estimate, the sizes the second would take there, so a good estimate saves a vectorized evaluation.  A row's
    slack is the same whatever rows share its call, so the answer never depends on the estimate."""


SCAN_WIDTH = 256
"""Most sizes per vectorized scan: two scans narrow 65,536 steps to one."""

GUESS_MARGIN = 2
"""Steps past the estimate the first scan also covers (the estimates here land within a step)."""


def _grid(lo: int, hi: int, width: int) -> list[int]:
    """The step counts one scan takes in (lo, hi): up to ``width``, evenly spread, ascending (the inner points
    of ``np.linspace(lo, hi, width + 2)``, rounded; written out, as linspace's own overhead is most of it)."""
    if hi - lo <= width + 1:  # points at most a step apart: every step count in between
        return list(range(lo + 1, hi))
    ks = (np.arange(1, width + 1, dtype=float) * ((hi - lo) / (width + 1)) + lo).round().astype(np.int64)
    return ks[(np.diff(ks, prepend=lo) > 0) & (ks < hi)].tolist()  # ascending already: drop repeats and the ends


def _first_ok(ks: list[int], seen: dict[int, float]) -> int | None:
    """Index of the first of ``ks`` whose slack is ≥ 0, ``len(ks)`` when none is; None while a size before it
    is not scanned yet (only the sizes up to the first that meets decide the bracket)."""
    for i, k in enumerate(ks):
        value = seen.get(k)
        if value is None:
            return None
        if value >= 0:
            return i
    return len(ks)


def _ahead(ks: list[int], lo: int, hi: int, width: int, guess: float) -> list[int]:
    """The sizes to scan first when the answer is thought to be near ``guess`` (in steps): this scan's sizes up
    to the first past it, and those the next scan would take in the gap the estimate falls in, up to it."""
    reach = guess + GUESS_MARGIN
    below = bisect.bisect_left(ks, reach)  # ks ascending: ks[:below] are the sizes short of reach
    out = ks[:below + 1]
    # the gaps (bounds[j], bounds[j + 1]) that end past guess − margin and start short of reach: a run of them
    bounds = [lo, *ks, hi]
    first = bisect.bisect_right(bounds, guess - GUESS_MARGIN, 1) - 1
    for start, end in zip(bounds[first:below + 1], bounds[first + 1:below + 2], strict=True):
        if end - start > 1:
            out += [k for k in _grid(start, end, width) if k <= reach]
    return out


def _scan(scan: Scan, lo: int, hi: int, step: float) -> tuple[int, int]:
    """The bracket (k − 1, k) around the smallest k in (lo, hi) whose scanned slack is ≥ 0 (hi when none)."""
    width = min(SCAN_WIDTH, math.isqrt(hi - lo) + 2)  # two scans cover up to SCAN_WIDTH² steps
    seen: dict[int, float] = {}
    guess = None if scan.guess is None else scan.guess / step
    while hi - lo > 1:
        ks = _grid(lo, hi, width)
        first = _first_ok(ks, seen)
        if first is None:
            todo = [k for k in ks if k not in seen]
            if guess is not None and math.isfinite(guess):  # the first scan: the rest only if the estimate misses
                todo = _ahead(ks, lo, hi, width, min(max(guess, lo), hi))  # past the whole: near the whole
            while first is None:
                amounts = on_grid_array(np.array(todo, dtype=float), step)  # all < hi ≤ top: on the grid
                seen.update(zip(todo, scan.rows(amounts).tolist(), strict=True))
                first = _first_ok(ks, seen)
                todo = [k for k in ks if k not in seen]
        guess = None
        if first < len(ks):
            lo, hi = (ks[first - 1] if first > 0 else lo), ks[first]
        else:
            lo = ks[-1]
    return lo, hi


def _search(cap: float, step: float | None, g: Callable[[float], float], g0: float,
            scan: Scan | None = None) -> float:
    """Smallest amount in (0, cap] (whole steps, or ``cap`` itself) with g ≥ 0, given g(cap) ≥ 0 > g(0) = g0.

    With a ``scan``, the bracket comes from it and g is evaluated where it lands: an exact scan needs just
    that one evaluation (the cut itself), a predicting one its neighbour too, and the steps below resume if
    either disagrees.

    The slack is smooth in the amount between tier boundaries (and convex: the liquidation price runs away
    faster as the size shrinks), so a secant through the two latest points, then a look at the neighbouring
    step, lands on the answer in a handful of evaluations; bisection takes over whenever the secant leaves
    the bracket or the slack is not finite (+inf once no price liquidates).
    """
    if step is None:
        lo_x, hi_x = 0.0, cap
        for _ in range(48):
            mid = (lo_x + hi_x) / 2
            lo_x, hi_x = (lo_x, mid) if g(mid) >= 0 else (mid, hi_x)
        return hi_x
    top = max(1, math.floor(cap / step + 1e-9))

    def at(k: int) -> float:
        return cap if k >= top else on_grid(k, step)

    lo, hi = 0, top
    recent: list[tuple[int, float]] = [(0, g0)]

    def probe(k: int) -> float:
        nonlocal lo, hi
        value = g(at(k))
        if value >= 0:
            hi = min(hi, k)
        else:
            lo = max(lo, k)
        if math.isfinite(value):
            recent.append((k, value))
        return value

    bracket = _scan(scan, lo, hi, step) if scan is not None and top > 1 else None
    if bracket is not None:
        below, k = bracket
        if probe(k) >= 0 and scan is not None and scan.exact:
            lo = max(lo, below)  # the scan is the same computation: g(below) < 0 needs no second look
        elif lo < k - 1 < hi:
            probe(k - 1)
        elif lo < k + 1 < hi:
            probe(k + 1)
    elif top > 1:
        probe(1)
    for attempt in range(64):
        if hi - lo <= 1:
            break
        guess = _secant(recent)
        if guess is None or not lo < guess < hi or attempt >= 12:
            probe((lo + hi) // 2)
            continue
        k = min(max(math.ceil(guess - 1e-9), lo + 1), hi - 1)
        # the answer is usually k itself: settle it with the step on the other side of the root
        neighbour = k - 1 if probe(k) >= 0 else k + 1
        if lo < neighbour < hi:
            probe(neighbour)
    return at(hi)


def _secant(points: list[tuple[int, float]]) -> float | None:
    (k1, g1), (k2, g2) = points[-2:] if len(points) >= 2 else (points[0], points[0])
    if k1 == k2 or g1 == g2:
        return None
    return k2 - g2 * (k2 - k1) / (g2 - g1)


def reduce_order(ctx: StrategyContext, ref: PositionRef, cut: Cut, strategy: str, rationale: str) -> IntendedOrder:
    p, _ = ctx.position(ref)
    code = ReasonCode.PLAN_CLOSES_POSITION if cut.closes else ReasonCode.PLAN_REDUCES_POSITION
    return IntendedOrder(
        account=ctx.account.name,
        symbol=ref.symbol,
        side="sell" if ref.side is Side.LONG else "buy",
        kind=OrderKind.MARKET,
        amount=cut.amount,
        strategy=strategy,
        rationale=rationale,
        position_side=ref.position_side.value,
        position_contracts=p.contracts,
        price=cut.price,
        reason_codes=(code.value,),
    )
