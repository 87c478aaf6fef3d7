"""Stable reason codes, severities and exit codes: the contract with scripts and bots.

Codes never change meaning once published; ``docs/reason-codes.md`` is
generated from this table and a test fails when the two drift apart.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Severity(IntEnum):
    """Ordered so the worst finding decides an account's status."""

    INFO = 0
    WARNING = 1
    BREACH = 2
    UNKNOWN = 3


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BREACH = "breach"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, severity: Severity) -> Status:
        return _STATUS_OF[severity]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode[self.name]

    @property
    def severity(self) -> Severity:
        return next(s for s, st in _STATUS_OF.items() if st is self)


class ExitCode(IntEnum):
    OK = 0
    WARNING = 1
    BREACH = 2
    UNKNOWN = 3
    """Could not evaluate: bad config or data, missing or stale inputs, a failed read."""


_STATUS_OF = {
    Severity.INFO: Status.OK,
    Severity.WARNING: Status.WARNING,
    Severity.BREACH: Status.BREACH,
    Severity.UNKNOWN: Status.UNKNOWN,
}


class ReasonCode(StrEnum):
    LIQUIDATION_BUFFER_BELOW_MIN = "LIQUIDATION_BUFFER_BELOW_MIN"
    LIQUIDATION_BUFFER_BELOW_WARN = "LIQUIDATION_BUFFER_BELOW_WARN"
    ALREADY_LIQUIDATABLE = "ALREADY_LIQUIDATABLE"
    EFFECTIVE_LEVERAGE_ABOVE_MAX = "EFFECTIVE_LEVERAGE_ABOVE_MAX"
    EFFECTIVE_LEVERAGE_ABOVE_WARN = "EFFECTIVE_LEVERAGE_ABOVE_WARN"
    CROSS_BUFFER_BELOW_MIN = "CROSS_BUFFER_BELOW_MIN"
    CROSS_BUFFER_BELOW_WARN = "CROSS_BUFFER_BELOW_WARN"
    LIQUIDATION_PRICE_GAP = "LIQUIDATION_PRICE_GAP"
    LIQUIDATION_PRICE_FROM_VENUE = "LIQUIDATION_PRICE_FROM_VENUE"
    LIQUIDATION_PRICE_ESTIMATE = "LIQUIDATION_PRICE_ESTIMATE"
    NO_LIQUIDATION_PRICE = "NO_LIQUIDATION_PRICE"
    LIQUIDATION_PRICE_UNAVAILABLE = "LIQUIDATION_PRICE_UNAVAILABLE"
    DATA_MISSING = "DATA_MISSING"
    DATA_STALE = "DATA_STALE"
    DATA_INCONSISTENT = "DATA_INCONSISTENT"
    FETCH_FAILED = "FETCH_FAILED"
    INVALID_INPUT = "INVALID_INPUT"
    # -- policy rules and the pre-trade gate (riskguard/rules/engine.py, riskguard/gate.py) --
    RULE_BREACH = "RULE_BREACH"
    RULE_WARNING = "RULE_WARNING"
    RULE_INFO = "RULE_INFO"
    RULE_METRIC_UNKNOWN = "RULE_METRIC_UNKNOWN"
    ORDER_REFUSED_HALTED = "ORDER_REFUSED_HALTED"
    ORDER_REFUSED_REDUCING = "ORDER_REFUSED_REDUCING"
    ORDER_EXCEEDS_AVAILABLE_MARGIN = "ORDER_EXCEEDS_AVAILABLE_MARGIN"
    # -- end policy rules --
    # -- cross pool moved as one (riskguard.risk.uniform_move) --
    UNIFORM_MOVE_BELOW_MIN = "UNIFORM_MOVE_BELOW_MIN"
    UNIFORM_MOVE_BELOW_WARN = "UNIFORM_MOVE_BELOW_WARN"
    # -- deleveraging plans (strategies/, riskguard/rules/plan.py) --
    PLAN_NO_ACTION = "PLAN_NO_ACTION"
    PLAN_REDUCES_POSITION = "PLAN_REDUCES_POSITION"
    PLAN_CLOSES_POSITION = "PLAN_CLOSES_POSITION"
    PLAN_ADDS_MARGIN = "PLAN_ADDS_MARGIN"
    PLAN_PLACES_STOPS = "PLAN_PLACES_STOPS"
    PLAN_STOPS_UNCHANGED = "PLAN_STOPS_UNCHANGED"
    PLAN_ALERT_ONLY = "PLAN_ALERT_ONLY"
    PLAN_TARGET_UNREACHABLE = "PLAN_TARGET_UNREACHABLE"
    PLAN_INPUT_MISSING = "PLAN_INPUT_MISSING"
    # -- end deleveraging plans --
    # -- fail-closed input checks (issue 8) --
    POSITIONS_MARGIN_MISMATCH = "POSITIONS_MARGIN_MISMATCH"
    TIER_TABLE_INCOMPLETE = "TIER_TABLE_INCOMPLETE"


SEVERITY: dict[ReasonCode, Severity] = {
    ReasonCode.LIQUIDATION_BUFFER_BELOW_MIN: Severity.BREACH,
    ReasonCode.LIQUIDATION_BUFFER_BELOW_WARN: Severity.WARNING,
    ReasonCode.ALREADY_LIQUIDATABLE: Severity.BREACH,
    ReasonCode.EFFECTIVE_LEVERAGE_ABOVE_MAX: Severity.BREACH,
    ReasonCode.EFFECTIVE_LEVERAGE_ABOVE_WARN: Severity.WARNING,
    ReasonCode.CROSS_BUFFER_BELOW_MIN: Severity.BREACH,
    ReasonCode.CROSS_BUFFER_BELOW_WARN: Severity.WARNING,
    ReasonCode.LIQUIDATION_PRICE_GAP: Severity.WARNING,
    ReasonCode.LIQUIDATION_PRICE_FROM_VENUE: Severity.WARNING,
    ReasonCode.LIQUIDATION_PRICE_ESTIMATE: Severity.INFO,
    ReasonCode.NO_LIQUIDATION_PRICE: Severity.INFO,
    ReasonCode.LIQUIDATION_PRICE_UNAVAILABLE: Severity.UNKNOWN,
    ReasonCode.DATA_MISSING: Severity.UNKNOWN,
    ReasonCode.DATA_STALE: Severity.UNKNOWN,
    ReasonCode.DATA_INCONSISTENT: Severity.UNKNOWN,
    ReasonCode.FETCH_FAILED: Severity.UNKNOWN,
    ReasonCode.INVALID_INPUT: Severity.UNKNOWN,
    # -- policy rules --
    ReasonCode.RULE_BREACH: Severity.BREACH,
    ReasonCode.RULE_WARNING: Severity.WARNING,
    ReasonCode.RULE_INFO: Severity.INFO,
    ReasonCode.RULE_METRIC_UNKNOWN: Severity.UNKNOWN,
    ReasonCode.ORDER_REFUSED_HALTED: Severity.BREACH,
    ReasonCode.ORDER_REFUSED_REDUCING: Severity.BREACH,
    ReasonCode.ORDER_EXCEEDS_AVAILABLE_MARGIN: Severity.BREACH,
    # -- end policy rules --
    # -- cross pool moved as one --
    ReasonCode.UNIFORM_MOVE_BELOW_MIN: Severity.BREACH,
    ReasonCode.UNIFORM_MOVE_BELOW_WARN: Severity.WARNING,
    # -- deleveraging plans --
    ReasonCode.PLAN_NO_ACTION: Severity.INFO,
    ReasonCode.PLAN_REDUCES_POSITION: Severity.INFO,
    ReasonCode.PLAN_CLOSES_POSITION: Severity.INFO,
    ReasonCode.PLAN_ADDS_MARGIN: Severity.INFO,
    ReasonCode.PLAN_PLACES_STOPS: Severity.INFO,
    ReasonCode.PLAN_STOPS_UNCHANGED: Severity.INFO,
    ReasonCode.PLAN_ALERT_ONLY: Severity.INFO,
    ReasonCode.PLAN_TARGET_UNREACHABLE: Severity.WARNING,
    ReasonCode.PLAN_INPUT_MISSING: Severity.UNKNOWN,
    # -- end deleveraging plans --
    # -- fail-closed input checks (issue 8) --
    ReasonCode.POSITIONS_MARGIN_MISMATCH: Severity.UNKNOWN,
    ReasonCode.TIER_TABLE_INCOMPLETE: Severity.UNKNOWN,
}

DESCRIPTION: dict[ReasonCode, str] = {
    ReasonCode.LIQUIDATION_BUFFER_BELOW_MIN: "Mark is closer to the liquidation price than min_liquidation_buffer_pct.",
    ReasonCode.LIQUIDATION_BUFFER_BELOW_WARN: "Mark is closer to the liquidation price than the warning buffer.",
    ReasonCode.ALREADY_LIQUIDATABLE: "Equity is at or below maintenance margin at the current mark.",
    ReasonCode.EFFECTIVE_LEVERAGE_ABOVE_MAX: "Notional ÷ equity exceeds max_effective_leverage.",
    ReasonCode.EFFECTIVE_LEVERAGE_ABOVE_WARN: "Notional ÷ equity exceeds the warning leverage.",
    ReasonCode.CROSS_BUFFER_BELOW_MIN: "Cross account: margin headroom (1 − margin ratio, % of equity) is below "
    "min_liquidation_buffer_pct. Not a price distance: see UNIFORM_MOVE_*.",
    ReasonCode.CROSS_BUFFER_BELOW_WARN: "Cross account: margin headroom (1 − margin ratio, % of equity) is below the "
    "warning buffer. Not a price distance: see UNIFORM_MOVE_*.",
    ReasonCode.LIQUIDATION_PRICE_GAP: "Computed and venue-reported liquidation prices differ by more than the limit.",
    ReasonCode.LIQUIDATION_PRICE_FROM_VENUE: "Inputs were missing; the venue-reported liquidation price is used.",
    ReasonCode.LIQUIDATION_PRICE_ESTIMATE: (
        "Cross position on a venue that itself calls this price an estimate, or any position on a venue "
        "without riskguard rules (generic estimate)."
    ),
    ReasonCode.NO_LIQUIDATION_PRICE: "No price liquidates the position (it is fully collateralized).",
    ReasonCode.LIQUIDATION_PRICE_UNAVAILABLE: "Neither a computed nor a venue liquidation price is available.",
    ReasonCode.DATA_MISSING: "An input the evaluation needs is absent.",
    ReasonCode.DATA_STALE: "Positions or mark prices are older than max_data_age_s.",
    ReasonCode.DATA_INCONSISTENT: "Inputs contradict each other (e.g. position mark vs ticker mark).",
    ReasonCode.FETCH_FAILED: "A read from the venue failed; nothing about the account is known.",
    ReasonCode.INVALID_INPUT: "The config or snapshot is malformed.",
    # -- policy rules --
    ReasonCode.RULE_BREACH: "A policy rule of severity breach fires (docs/policies.md); the message names it.",
    ReasonCode.RULE_WARNING: "A policy rule of severity warning fires.",
    ReasonCode.RULE_INFO: "A policy rule of severity info fires; the exit code is unchanged.",
    ReasonCode.RULE_METRIC_UNKNOWN: "A policy rule reads a metric whose value is unknown: never read as satisfied.",
    ReasonCode.ORDER_REFUSED_HALTED: "Pre-trade gate: the account is HALTED and the order increases exposure.",
    ReasonCode.ORDER_REFUSED_REDUCING: "Pre-trade gate: the account is REDUCING the position the order would grow.",
    ReasonCode.ORDER_EXCEEDS_AVAILABLE_MARGIN: "Pre-trade gate: after the fill the initial margin exceeds the cross "
    "wallet plus unrealized losses (profits are not counted as free margin).",
    # -- end policy rules --
    # -- cross pool moved as one --
    ReasonCode.UNIFORM_MOVE_BELOW_MIN: "Cross pool: every mark moving together by less than min_uniform_move_pct "
    "(down or up) liquidates it.",
    ReasonCode.UNIFORM_MOVE_BELOW_WARN: "Cross pool: every mark moving together by less than the warning uniform "
    "move liquidates it.",
    # -- deleveraging plans --
    ReasonCode.PLAN_NO_ACTION: "The strategy checked the account and nothing needs doing.",
    ReasonCode.PLAN_REDUCES_POSITION: "The plan reduces a position (reduce-only) to restore the target.",
    ReasonCode.PLAN_CLOSES_POSITION: "The plan closes a position: the target needs it, or the remainder would be "
    "below the venue's minimum order.",
    ReasonCode.PLAN_ADDS_MARGIN: "The plan moves free balance into an isolated position; nothing trades.",
    ReasonCode.PLAN_PLACES_STOPS: "The plan places or replaces a ladder of reduce-only stop-market orders.",
    ReasonCode.PLAN_STOPS_UNCHANGED: "The existing stops are within tolerance of the ladder; they are kept.",
    ReasonCode.PLAN_ALERT_ONLY: "The policy asks for an alert only; the plan holds no orders.",
    ReasonCode.PLAN_TARGET_UNREACHABLE: "The plan cannot meet its target within its limits; the notes say why.",
    ReasonCode.PLAN_INPUT_MISSING: "A strategy lacked an input it needs (liquidation price, volatility, book, "
    "market); it planned nothing for that position.",
    # -- end deleveraging plans --
    # -- fail-closed input checks (issue 8) --
    ReasonCode.POSITIONS_MARGIN_MISMATCH: "The balance says positions hold margin the position list does not account "
    "for (an empty or partial list, or one read from another moment); open orders' margin does not count. A "
    "maintenance total up to 0.5 % above the rows' is a mark that moved between the two reads, not a missing row.",
    ReasonCode.TIER_TABLE_INCOMPLETE: "The margin tier table ends below the position's size at its liquidation "
    "price (or at mark): the maintenance rate there is unknown.",
}
