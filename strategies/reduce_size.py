"""``reduce_size``: the smallest reduction that restores a position's target buffer, σ-buffer or leverage.

Each position in the rule's scope that misses the target is cut by the smallest whole number of amount
steps after which the exact venue math (what-if + ``evaluate_account``) says the target holds.  Positions
are taken worst first, and each cut is solved on the account as the previous cuts leave it: in cross margin
one reduction moves every liquidation price of the pool, and the next position may then need less.

The cut respects the venue's minimum order (amount and notional): it is at least the minimum, and when
what would remain is below the minimum the position is closed instead (a remainder that small could not
be reduced again later).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from riskguard.risk.account_risk import AccountRisk, PositionRisk, Variants
from riskguard.rules.codes import ReasonCode
from riskguard.rules.strategy import PositionRef, Proposal, Strategy, StrategyContext, StrategyParams
from strategies._reduce import (
    Target,
    VariantSlack,
    find,
    margin,
    meets,
    position_metric,
    reduce_order,
    smallest_cut,
)


class ReduceSizeParams(StrategyParams):
    target: Target = Field(description="buffer_pct, sigma_buffer (at least value) or effective_leverage (at most)")
    value: float = Field(gt=0, description="the threshold the position must meet after the reduction")


class ReduceSize(Strategy):
    name = "reduce_size"
    description = "Smallest reduce-only market order per position that restores the target, solved exactly."
    Params = ReduceSizeParams
    params: ReduceSizeParams

    def propose(self, ctx: StrategyContext) -> Proposal:
        target = self.params.target
        worst_first = sorted(
            (r for r in ctx.risk.positions if ctx.in_scope(r)),
            key=lambda r: _badness(position_metric(ctx, r, target), target),
            reverse=True,
        )
        out, current = Proposal(), ctx
        given_up: set[PositionRef] = set()
        # A cut in cross pays a fee from the pool's equity, which can push a position already passed just over
        # the line (leverage = notional ÷ that equity): scan again until a pass changes nothing.
        for _ in range(len(worst_first) + 1):
            step, current = self._pass(ctx, current, [PositionRef.of(r) for r in worst_first], given_up)
            out += step
            if not step.orders:
                break
        else:
            out += Proposal(reason_codes=(ReasonCode.PLAN_TARGET_UNREACHABLE,),
                            notes=(f"cuts did not settle after {len(worst_first) + 1} passes",))
        return out

    def _pass(self, ctx: StrategyContext, current: StrategyContext, refs: list[PositionRef],
              given_up: set[PositionRef]) -> tuple[Proposal, StrategyContext]:
        target, value = self.params.target, self.params.value
        out = Proposal()
        for ref in refs:
            r = find(current.risk, ref)
            if r is None or ref in given_up:
                continue
            metric = position_metric(current, r, target)
            if metric is None:
                given_up.add(ref)
                out += Proposal(reason_codes=(ReasonCode.PLAN_INPUT_MISSING,),
                                notes=(f"{ref}: {target.value} unknown ({r.unavailable_reason or 'no volatility'}); "
                                       "nothing planned for it",))
                continue
            if meets(metric, target, value):
                continue

            def slack(risk: AccountRisk, ref: PositionRef = ref) -> float:
                after = find(risk, ref)
                if after is None:
                    return math.inf
                m = position_metric(ctx, after, target)
                return math.nan if m is None else margin(m, target, value)

            cut = smallest_cut(current, ref, slack, closing_meets=True, rows_slack=_rows_slack(target, value),
                               guess=_guess(current, r, target, value))
            if cut.why_not:
                given_up.add(ref)
                out += Proposal(reason_codes=(ReasonCode.PLAN_TARGET_UNREACHABLE,), notes=(cut.why_not,))
                continue
            after = find(cut.risk, ref)
            shown = "closed" if after is None else f"{position_metric(current, after, target):.4g}"
            rationale = (f"{target.value} {metric:.4g} misses {value:g}; cutting {cut.amount:g} of "
                         f"{r.contracts:g} contracts ({'closes' if cut.closes else 'smallest cut'}) -> {shown}")
            order = reduce_order(current, ref, cut, self.name, rationale)
            out += Proposal((order,), tuple(ReasonCode(c) for c in order.reason_codes))
            current = cut.context(current)
        return out, current


def _rows_slack(target: Target, value: float) -> VariantSlack | None:
    """``slack`` above for each row of :class:`Variants`: +inf once the position is gone or no price
    liquidates it, NaN when its price is unknown.  None for σ-buffers (they need the volatility model)."""
    if target is Target.SIGMA_BUFFER:
        return None

    def rows(v: Variants, row: int) -> np.ndarray:
        if target is Target.EFFECTIVE_LEVERAGE:
            out = value - v.effective_leverage[:, row]
        else:
            liquidates = ~np.isnan(v.price[:, row])
            out = np.where(liquidates, v.buffer_pct[:, row] - value, np.where(v.known[:, row], math.inf, math.nan))
        return np.where(v.present[:, row], out, math.inf)

    return rows


def _guess(ctx: StrategyContext, r: PositionRisk, target: Target, value: float) -> float | None:
    """Where the search should look first: the cut that meets the target if nothing but this position's size
    changed its tier-free figures (one cross position of a linear market, cut at mark).  Only an estimate for
    :class:`~strategies._reduce.Scan`; None where it does not apply."""
    market = ctx.market(r.symbol)
    pool = next((c for c in ctx.risk.cross if c.asset == r.settle), None)
    if r.margin_mode != "cross" or market.inverse or pool is None or target is Target.SIGMA_BUFFER:
        return None
    s, mark, fee = (1 if r.side == "long" else -1), r.mark_price, ctx.taker_fee
    size = r.contracts * market.contract_size
    if target is Target.EFFECTIVE_LEVERAGE:
        # (size − x)·mark ÷ (equity − fee·x·mark) = value
        above, below = size * mark - value * pool.equity, mark * (1 - value * fee)
    elif r.liquidation_price is not None:
        # the position's collateral solves collateral + s·size·(P − entry) = mmr·size·P at P = its price; a cut
        # of x at mark books s·x·(mark − entry) − fee·x·mark into it, and P is to be mark·(1 − s·value %)
        lp, entry, mmr = r.liquidation_price, r.entry_price, r.mmr
        collateral = mmr * size * lp - s * size * (lp - entry)
        k = s * entry - mark * (1 - s * value / 100) * (s - mmr)
        above, below = size * k - collateral, s * (mark - entry) - fee * mark + k
    else:
        return None
    cut = above / below if below else math.nan
    return cut / market.contract_size if math.isfinite(cut) else None


def _badness(metric: float | None, target: Target) -> float:
    """Larger is worse; unknown first, so it is reported rather than skipped."""
    if metric is None:
        return math.inf
    return metric if target is Target.EFFECTIVE_LEVERAGE else -metric
