"""Apply an account's policy to its risk figures: findings with reason codes, then a status.

Pure and clock-free: the evaluation instant is the snapshot's own timestamp,
so replaying a recorded snapshot gives the verdict it would have had live.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from riskguard.config import Policy
from riskguard.model import Account, Snapshot
from riskguard.risk.account_risk import AccountRisk, PositionRisk, PriceSource
from riskguard.risk.uniform_move import UniformMove, uniform_moves
from riskguard.rules.codes import SEVERITY, ReasonCode, Severity, Status

MARK_DIVERGENCE_LIMIT = 0.005
"""Position mark vs ticker mark: beyond 0.5% one of the two reads is wrong or from another moment."""
CLOCK_SKEW_MS = 5_000
"""A venue timestamp this far after the snapshot's own is a clock or data error, not a fresh read."""


@dataclass(frozen=True, slots=True)
class Finding:
    code: ReasonCode
    message: str
    symbol: str | None = None
    value: float | None = None
    limit: float | None = None

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.code]


@dataclass(frozen=True, slots=True)
class PositionVerdict:
    risk: PositionRisk
    findings: tuple[Finding, ...]

    @property
    def severity(self) -> Severity:
        """The worst finding's; read by the account's status for every position, without a round trip through
        ``Status``."""
        return max([SEVERITY[f.code] for f in self.findings], default=Severity.INFO)

    @property
    def status(self) -> Status:
        return Status.of(self.severity)


@dataclass(frozen=True, slots=True)
class AccountVerdict:
    name: str
    venue: str
    risk: AccountRisk | None
    positions: tuple[PositionVerdict, ...]
    findings: tuple[Finding, ...]
    """Account-level findings (cross pool, missing data, failed reads)."""
    taken_at_ms: int | None
    uniform_moves: tuple[UniformMove, ...] = ()
    """Per cross pool, the move of every mark together that liquidates it (its buffer)."""
    price_ticks: Mapping[str, float | None] = field(default_factory=dict)
    """Each position's market tick, so prices are shown as the venue shows them."""

    @property
    def status(self) -> Status:
        worst = max(
            [f.severity for f in self.findings] + [p.severity for p in self.positions], default=Severity.INFO
        )
        return Status.of(worst)


def failed_verdict(name: str, venue: str, code: ReasonCode, message: str) -> AccountVerdict:
    """An account that could not be read at all: UNKNOWN, never an empty 'ok' account."""
    return AccountVerdict(name, venue, None, (), (Finding(code, message),), None)


def _position_findings(p: PositionRisk, policy: Policy) -> list[Finding]:
    out: list[Finding] = []
    sym = p.symbol
    if p.liquidation_source is PriceSource.UNAVAILABLE:
        out.append(Finding(ReasonCode.LIQUIDATION_PRICE_UNAVAILABLE, p.unavailable_reason or "no inputs", sym))
    elif p.liquidation_source is PriceSource.VENUE:
        out.append(Finding(ReasonCode.LIQUIDATION_PRICE_FROM_VENUE, "computed price unavailable; venue value", sym))
    elif p.liquidation_source is PriceSource.NONE:
        out.append(Finding(ReasonCode.NO_LIQUIDATION_PRICE, "no price liquidates this position", sym))
    if p.is_estimate:
        out.append(Finding(ReasonCode.LIQUIDATION_PRICE_ESTIMATE, "venue liquidates on an account ratio", sym))
    if p.liquidation_gap_bp is not None and abs(p.liquidation_gap_bp) > policy.max_liquidation_gap_bp:
        out.append(
            Finding(
                ReasonCode.LIQUIDATION_PRICE_GAP,
                f"computed {p.liquidation_price:.8g} vs venue {p.venue_liquidation_price:.8g}",
                sym,
                p.liquidation_gap_bp,
                policy.max_liquidation_gap_bp,
            )
        )
    if p.margin_mode == "isolated" and p.margin_ratio >= 1:
        out.append(
            Finding(ReasonCode.ALREADY_LIQUIDATABLE, "equity at or below maintenance margin", sym, p.margin_ratio, 1.0)
        )
    if p.buffer_pct is not None:
        if p.buffer_pct < policy.min_liquidation_buffer_pct:
            out.append(
                Finding(
                    ReasonCode.LIQUIDATION_BUFFER_BELOW_MIN,
                    f"{p.buffer_pct:.2f}% from liquidation",
                    sym,
                    p.buffer_pct,
                    policy.min_liquidation_buffer_pct,
                )
            )
        elif p.buffer_pct < policy.buffer_warning:
            out.append(
                Finding(
                    ReasonCode.LIQUIDATION_BUFFER_BELOW_WARN,
                    f"{p.buffer_pct:.2f}% from liquidation",
                    sym,
                    p.buffer_pct,
                    policy.buffer_warning,
                )
            )
    if p.margin_mode == "isolated":
        out.extend(_leverage_findings(p.effective_leverage, policy, sym))
    return out


def _leverage_findings(leverage: float, policy: Policy, symbol: str | None) -> list[Finding]:
    if leverage > policy.max_effective_leverage:
        return [
            Finding(
                ReasonCode.EFFECTIVE_LEVERAGE_ABOVE_MAX,
                f"effective leverage {leverage:.2f}x",
                symbol,
                leverage,
                policy.max_effective_leverage,
            )
        ]
    if leverage > policy.leverage_warning:
        return [
            Finding(
                ReasonCode.EFFECTIVE_LEVERAGE_ABOVE_WARN,
                f"effective leverage {leverage:.2f}x",
                symbol,
                leverage,
                policy.leverage_warning,
            )
        ]
    return []


def _timestamp_findings(label: str, ts: int | None, taken_at_ms: int, policy: Policy, symbol: str) -> list[Finding]:
    if ts is None:
        return []
    age = (taken_at_ms - ts) / 1000
    if age * 1000 < -CLOCK_SKEW_MS:
        return [Finding(ReasonCode.DATA_INCONSISTENT, f"{label} timestamp is {-age:.0f}s after the snapshot was taken",
                        symbol, age)]
    if age > policy.max_data_age_s:
        return [Finding(ReasonCode.DATA_STALE, f"{label} is {age:.0f}s old", symbol, age, policy.max_data_age_s)]
    return []


def _data_findings(account: Account, snapshot: Snapshot, policy: Policy) -> list[Finding]:
    """Stale or contradictory inputs make the verdict UNKNOWN rather than a guess."""
    out = [Finding(ReasonCode(i.code), f"{i.where}: {i.message}", i.symbol) for i in account.data_issues]
    venue = snapshot.venues[account.venue]
    for p in account.positions:
        quote = venue.quotes.get(p.symbol)
        if p.timestamp_ms is None:
            out.append(Finding(ReasonCode.DATA_MISSING, "position has no timestamp: its age is unknown", p.symbol))
        out += _timestamp_findings("position", p.timestamp_ms, snapshot.taken_at_ms, policy, p.symbol)
        if p.changed_ms is not None and p.changed_ms - snapshot.taken_at_ms > CLOCK_SKEW_MS:
            ahead = (p.changed_ms - snapshot.taken_at_ms) / 1000
            out.append(Finding(ReasonCode.DATA_INCONSISTENT,
                               f"position last changed {ahead:.0f}s after the snapshot was taken", p.symbol, -ahead))
        if quote is None:
            out.append(Finding(ReasonCode.DATA_MISSING, "no mark-price ticker for this market", p.symbol))
            continue
        out += _timestamp_findings("mark price", quote.timestamp_ms, snapshot.taken_at_ms, policy, p.symbol)
        if abs(p.mark_price - quote.mark_price) / quote.mark_price > MARK_DIVERGENCE_LIMIT:
            out.append(
                Finding(
                    ReasonCode.DATA_INCONSISTENT,
                    f"position mark {p.mark_price:.8g} vs ticker mark {quote.mark_price:.8g}",
                    p.symbol,
                )
            )
    return out


def _tier_findings(account: Account, snapshot: Snapshot, risk: AccountRisk) -> list[Finding]:
    """The tier table must reach the position's size at its liquidation price.

    Beyond the last tier the venue's rate is unknown (a table cut short by a partial read or a stale
    cache), and a liquidation price solved on the last rate shown would look safer than it is.  A table
    that does not even reach the size at mark is reported by the normalizer, with its field path.
    """
    out: list[Finding] = []
    markets = snapshot.venues[account.venue].markets
    for p in risk.positions:
        market = markets[p.symbol]
        liq = p.liquidation_price
        if not liq or not market.tiers_reach(p.contracts, p.mark_price) or market.tiers_reach(p.contracts, liq):
            continue
        cap, size = market.tiers[-1].cap, market.tier_size(p.contracts, liq)
        out.append(Finding(ReasonCode.TIER_TABLE_INCOMPLETE,
                           f"tier table ends at {cap:.10g} ({market.tier_basis.value}), below the position's "
                           f"{size:.10g} at its liquidation price {liq:.10g}", p.symbol, size, cap))
    return out


def evaluate_policy(account: Account, snapshot: Snapshot, risk: AccountRisk, policy: Policy) -> AccountVerdict:
    positions = tuple(PositionVerdict(p, tuple(_position_findings(p, policy))) for p in risk.positions)
    findings = _data_findings(account, snapshot, policy) + _tier_findings(account, snapshot, risk)
    findings += [Finding(ReasonCode.DATA_MISSING, m) for m in risk.missing]
    for c in risk.cross:
        if not math.isfinite(c.wallet):
            continue  # no balance in this asset: DATA_MISSING (the normalizer says where), not a breach
        if c.equity <= 0 or c.margin_ratio >= 1:
            findings.append(
                Finding(
                    ReasonCode.ALREADY_LIQUIDATABLE,
                    f"{c.asset} cross equity at or below maintenance",
                    None,
                    c.margin_ratio,
                    1.0,
                )
            )
        elif c.headroom_pct < policy.min_liquidation_buffer_pct:
            findings.append(
                Finding(
                    ReasonCode.CROSS_BUFFER_BELOW_MIN,
                    f"{c.asset} cross margin headroom {c.headroom_pct:.2f}% of equity",
                    None,
                    c.headroom_pct,
                    policy.min_liquidation_buffer_pct,
                )
            )
        elif c.headroom_pct < policy.buffer_warning:
            findings.append(
                Finding(
                    ReasonCode.CROSS_BUFFER_BELOW_WARN,
                    f"{c.asset} cross margin headroom {c.headroom_pct:.2f}% of equity",
                    None,
                    c.headroom_pct,
                    policy.buffer_warning,
                )
            )
        if math.isfinite(c.effective_leverage):
            findings += _leverage_findings(c.effective_leverage, policy, None)
    moves = uniform_moves(account, snapshot.venues[account.venue], risk.solved)
    liquidatable = {c.asset for c in risk.cross if c.equity <= 0 or c.margin_ratio >= 1}
    judged = [m for m in moves if not (m.known and m.asset in liquidatable)]  # a pool at maintenance needs no move
    findings += [f for m in judged for f in _uniform_move_findings(m, policy)]
    venue = snapshot.venues[account.venue]
    ticks = {p.symbol: venue.markets[p.symbol].price_tick for p in account.positions}
    return AccountVerdict(
        account.name, account.venue, risk, positions, tuple(findings), snapshot.taken_at_ms, moves, ticks
    )


def _uniform_move_findings(m: UniformMove, policy: Policy) -> list[Finding]:
    """The pool's buffer: every mark moved together, down and up; the smaller move is the one judged."""
    if not m.known:
        return [Finding(ReasonCode.DATA_MISSING, f"{m.asset} cross pool: uniform move unknown: {m.reason}")]
    move, direction = m.binding_pct, m.binding_direction.value
    text = f"{m.asset} cross pool liquidated by a {move:.2f}% move of every mark {direction}"
    if move < policy.uniform_move_minimum:
        return [Finding(ReasonCode.UNIFORM_MOVE_BELOW_MIN, text, None, move, policy.uniform_move_minimum)]
    if move < policy.uniform_move_warning:
        return [Finding(ReasonCode.UNIFORM_MOVE_BELOW_WARN, text, None, move, policy.uniform_move_warning)]
    return []
