"""Every reason code riskguard.rules.policy_check produces, at its boundary: just inside and just outside
the threshold, with the exit code the verdict gives.

The positions are textbook ones whose numbers are worked by hand:
a 1 BTC long at 10,000 (mark 10,000), one flat tier of 0.4 %, cum 0.
* isolated with margin 1,000: LP = (1,000 − 10,000)/(0.004 − 1) = 9,036.1446 → buffer 9.638554 %,
  effective leverage 10,000/1,000 = 10 exactly, margin ratio 40/1,000;
* cross with wallet 1,000: the same figures, and the pool's uniform move down equals that buffer.
"""

from __future__ import annotations

import pytest

from riskguard.config import Policy
from riskguard.model import (
    Account,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    Position,
    Quote,
    Side,
    Snapshot,
    VenueMarkets,
)
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.codes import ExitCode, ReasonCode
from riskguard.rules.policy_check import AccountVerdict, Finding, evaluate_policy

NOW = 1_800_000_000_000
BTC = "BTC/USDT:USDT"
LP = (1_000 - 10_000) / (0.004 - 1)  # 9,036.144578…
BUFFER = (10_000 - LP) / 10_000 * 100  # 9.638554 %
QUIET = dict(min_liquidation_buffer_pct=1.0, warn_liquidation_buffer_pct=2.0, max_effective_leverage=50.0)
"""Limits far from the textbook figures, so one limit at a time can be put at its boundary."""


def market(venue: str = "binanceusdm") -> Market:
    return Market(venue, BTC, ContractKind.LINEAR, "USDT", 1.0, 0.1, 0.001, (MarginTier(0, float("inf"), 0.004),))


def position(mode: MarginMode = MarginMode.ISOLATED, **kw) -> Position:
    base = dict(symbol=BTC, side=Side.LONG, contracts=1.0, entry_price=10_000.0, mark_price=10_000.0,
                margin_mode=mode, isolated_margin=1_000.0 if mode is MarginMode.ISOLATED else None,
                timestamp_ms=NOW - 1_000)
    return Position(**{**base, **kw})


def verdict(*positions: Position, wallet: float | None = 0.0, venue: str = "binanceusdm", quote: Quote | None = None,
            no_quote: bool = False, fees: FeeRates | None = None, **policy) -> AccountVerdict:
    balances = {} if wallet is None else {"USDT": AssetBalance("USDT", wallet, wallet)}
    account = Account("acct", venue, balances, tuple(positions), fees=fees)
    quotes = {} if no_quote else {BTC: quote or Quote(10_000.0, NOW - 1_000)}
    markets = VenueMarkets(venue, {BTC: market(venue)}, quotes)
    snapshot = Snapshot(NOW, {venue: markets}, (account,))
    return evaluate_policy(account, snapshot, evaluate_account(account, markets), Policy(**{**QUIET, **policy}))


def codes(v: AccountVerdict) -> set[ReasonCode]:
    return {f.code for f in v.findings} | {f.code for p in v.positions for f in p.findings}


def exit_code(v: AccountVerdict) -> ExitCode:
    return v.status.exit_code


def test_textbook_position_has_the_hand_worked_figures():
    v = verdict(position())
    (p,) = v.positions
    assert p.risk.liquidation_price == pytest.approx(LP, rel=1e-12)
    assert p.risk.buffer_pct == pytest.approx(BUFFER, rel=1e-12)
    assert p.risk.effective_leverage == 10.0
    assert codes(v) == set() and exit_code(v) is ExitCode.OK


# -- position buffer ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("warn", "expected", "exit_"),
    [
        (BUFFER + 1e-6, {ReasonCode.LIQUIDATION_BUFFER_BELOW_WARN}, ExitCode.WARNING),
        (BUFFER - 1e-6, set(), ExitCode.OK),
    ],
)
def test_buffer_warning_when_buffer_just_inside_or_outside_the_warning_level(warn, expected, exit_):
    # The minimum stays far below: a warning compared with the minimum instead would give exit 0 here.
    v = verdict(position(), min_liquidation_buffer_pct=1.0, warn_liquidation_buffer_pct=warn)
    assert codes(v) == expected and exit_code(v) is exit_


@pytest.mark.parametrize(
    ("minimum", "expected", "exit_"),
    [
        (BUFFER + 1e-6, {ReasonCode.LIQUIDATION_BUFFER_BELOW_MIN}, ExitCode.BREACH),
        (BUFFER - 1e-6, set(), ExitCode.OK),
    ],
)
def test_buffer_minimum_when_buffer_just_inside_or_outside_the_minimum(minimum, expected, exit_):
    v = verdict(position(), min_liquidation_buffer_pct=minimum, warn_liquidation_buffer_pct=minimum)
    assert codes(v) == expected and exit_code(v) is exit_


def test_buffer_below_minimum_when_warning_also_crossed_then_breach_only():
    v = verdict(position(), min_liquidation_buffer_pct=BUFFER + 1e-6, warn_liquidation_buffer_pct=BUFFER + 1)
    assert codes(v) == {ReasonCode.LIQUIDATION_BUFFER_BELOW_MIN} and exit_code(v) is ExitCode.BREACH


# -- effective leverage (10 exactly) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maximum", "warn", "expected", "exit_"),
    [
        (9.999, 9.999, {ReasonCode.EFFECTIVE_LEVERAGE_ABOVE_MAX}, ExitCode.BREACH),
        (10.0, 10.0, set(), ExitCode.OK),  # at the limit is not above it
        (50.0, 9.999, {ReasonCode.EFFECTIVE_LEVERAGE_ABOVE_WARN}, ExitCode.WARNING),
        (50.0, 10.0, set(), ExitCode.OK),
    ],
)
def test_leverage_when_isolated_position_at_either_side_of_the_limits(maximum, warn, expected, exit_):
    v = verdict(position(), max_effective_leverage=maximum, warn_effective_leverage=warn)
    assert codes(v) == expected and exit_code(v) is exit_


@pytest.mark.parametrize(
    ("maximum", "warn", "expected", "exit_"),
    [
        (9.999, 9.999, {ReasonCode.EFFECTIVE_LEVERAGE_ABOVE_MAX}, ExitCode.BREACH),
        (10.0, 10.0, set(), ExitCode.OK),
        (50.0, 9.999, {ReasonCode.EFFECTIVE_LEVERAGE_ABOVE_WARN}, ExitCode.WARNING),
    ],
)
def test_leverage_when_cross_account_at_either_side_of_the_limits(maximum, warn, expected, exit_):
    v = verdict(position(MarginMode.CROSS), wallet=1_000.0, max_effective_leverage=maximum,
                warn_effective_leverage=warn)
    assert codes(v) == expected and exit_code(v) is exit_
    assert all(f.symbol is None for f in v.findings)  # the account's leverage, not a position's


# -- already liquidatable: equity = MM = 40 ----------------------------------------------------------------


@pytest.mark.parametrize(("margin", "liquidatable"), [(40.0, True), (40.01, False)])
def test_already_liquidatable_when_isolated_equity_at_or_just_above_maintenance(margin, liquidatable):
    v = verdict(position(isolated_margin=margin))
    assert (ReasonCode.ALREADY_LIQUIDATABLE in codes(v)) is liquidatable
    assert exit_code(v) is ExitCode.BREACH  # a 0 % buffer breaches either way


@pytest.mark.parametrize(("wallet", "liquidatable"), [(40.0, True), (40.01, False)])
def test_already_liquidatable_when_cross_equity_at_or_just_above_maintenance(wallet, liquidatable):
    v = verdict(position(MarginMode.CROSS), wallet=wallet)
    account_codes = {f.code for f in v.findings}
    assert (ReasonCode.ALREADY_LIQUIDATABLE in account_codes) is liquidatable
    # a pool already at maintenance needs no move; the move is judged only while it is not
    assert (ReasonCode.UNIFORM_MOVE_BELOW_MIN in account_codes) is not liquidatable
    assert exit_code(v) is ExitCode.BREACH


def test_a_cross_pool_at_maintenance_is_reported_field_by_field():
    """Equity 40 = MM 40 (1 BTC at 10,000, mmr 0.4 %): the pool's ratio is 1, its limit 1, no symbol."""
    v = verdict(position(MarginMode.CROSS), wallet=40.0)
    (finding,) = [f for f in v.findings if f.code is ReasonCode.ALREADY_LIQUIDATABLE]
    assert finding == Finding(ReasonCode.ALREADY_LIQUIDATABLE, "USDT cross equity at or below maintenance", None,
                              1.0, 1.0)


# -- cross margin headroom (1 − margin ratio): wallet 1,000 → 96 % ------------------------------------------


@pytest.mark.parametrize(
    ("minimum", "warn", "expected"),
    [
        (96.0 + 1e-9, 96.0 + 1e-9, ReasonCode.CROSS_BUFFER_BELOW_MIN),
        (96.0 - 1e-9, 96.0 + 1e-9, ReasonCode.CROSS_BUFFER_BELOW_WARN),
        (96.0 - 1e-9, 96.0 - 1e-9, None),
    ],
)
def test_cross_headroom_when_just_inside_or_outside_the_limits(minimum, warn, expected):
    v = verdict(position(MarginMode.CROSS), wallet=1_000.0, min_liquidation_buffer_pct=minimum,
                warn_liquidation_buffer_pct=warn)
    found = {f.code for f in v.findings} & {ReasonCode.CROSS_BUFFER_BELOW_MIN, ReasonCode.CROSS_BUFFER_BELOW_WARN}
    assert found == ({expected} if expected else set())
    # the position's own 9.64 % buffer is below these limits as well: a breach whatever the headroom
    assert exit_code(v) is ExitCode.BREACH


# -- uniform move of the cross pool ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minimum", "warn", "expected", "exit_"),
    [
        (BUFFER + 1e-6, BUFFER + 1e-6, {ReasonCode.UNIFORM_MOVE_BELOW_MIN}, ExitCode.BREACH),
        (BUFFER - 1e-6, BUFFER - 1e-6, set(), ExitCode.OK),
        (1.0, BUFFER + 1e-6, {ReasonCode.UNIFORM_MOVE_BELOW_WARN}, ExitCode.WARNING),
        (1.0, BUFFER - 1e-6, set(), ExitCode.OK),
    ],
)
def test_uniform_move_when_just_inside_or_outside_the_limits(minimum, warn, expected, exit_):
    v = verdict(position(MarginMode.CROSS), wallet=1_000.0, min_uniform_move_pct=minimum,
                warn_uniform_move_pct=warn)
    assert codes(v) == expected and exit_code(v) is exit_
    (move,) = v.uniform_moves
    assert move.down_pct == pytest.approx(BUFFER, rel=1e-12)


def test_uniform_move_limits_default_to_the_liquidation_buffer_limits():
    policy = Policy(min_liquidation_buffer_pct=4.0, warn_liquidation_buffer_pct=7.0)
    assert (policy.uniform_move_minimum, policy.uniform_move_warning) == (4.0, 7.0)
    v = verdict(position(MarginMode.CROSS), wallet=1_000.0, min_liquidation_buffer_pct=2.0,
                warn_liquidation_buffer_pct=BUFFER + 1e-6)
    # the position's buffer and the pool's uniform move are the same 9.64 %: both warn
    assert codes(v) == {ReasonCode.LIQUIDATION_BUFFER_BELOW_WARN, ReasonCode.UNIFORM_MOVE_BELOW_WARN}


def test_uniform_move_warning_below_its_minimum_is_rejected():
    with pytest.raises(ValueError, match="warn_uniform_move_pct must not be below min_uniform_move_pct"):
        Policy(min_uniform_move_pct=8.0, warn_uniform_move_pct=6.0)


def test_uniform_move_when_settle_balance_missing_then_unknown_not_ok():
    v = verdict(position(MarginMode.CROSS, venue_liquidation_price=9_000.0), wallet=None)
    assert ReasonCode.DATA_MISSING in {f.code for f in v.findings}
    assert exit_code(v) is ExitCode.UNKNOWN


# -- liquidation price provenance ----------------------------------------------------------------------------


@pytest.mark.parametrize(("gap_bp", "flagged"), [(1.001, True), (0.999, False)])
def test_liquidation_price_gap_when_just_above_or_below_the_limit(gap_bp, flagged):
    venue_lp = LP / (1 + gap_bp / 1e4)
    v = verdict(position(venue_liquidation_price=venue_lp), max_liquidation_gap_bp=1.0)
    assert (ReasonCode.LIQUIDATION_PRICE_GAP in codes(v)) is flagged
    assert exit_code(v) is (ExitCode.WARNING if flagged else ExitCode.OK)


def test_liquidation_price_from_venue_when_inputs_missing_and_venue_price_known():
    # A cross position without its settle balance: the computation lacks collateral, the venue's price stands in.
    v = verdict(position(MarginMode.CROSS, venue_liquidation_price=9_000.0), wallet=None)
    assert ReasonCode.LIQUIDATION_PRICE_FROM_VENUE in codes(v)
    assert ReasonCode.LIQUIDATION_PRICE_UNAVAILABLE not in codes(v)


def test_liquidation_price_unavailable_when_neither_computed_nor_venue_price():
    v = verdict(position(MarginMode.CROSS), wallet=None)
    assert ReasonCode.LIQUIDATION_PRICE_UNAVAILABLE in codes(v) and exit_code(v) is ExitCode.UNKNOWN


@pytest.mark.parametrize(("margin", "none"), [(10_000.0, True), (9_999.0, False)])
def test_no_liquidation_price_when_margin_covers_the_whole_entry_value(margin, none):
    # LP = (margin − 10,000)/(0.004 − 1): zero or below when the margin pays for the whole position.
    v = verdict(position(isolated_margin=margin))
    assert (ReasonCode.NO_LIQUIDATION_PRICE in codes(v)) is none
    assert exit_code(v) is ExitCode.OK  # information, not a warning


@pytest.mark.parametrize(("mode", "estimate"), [(MarginMode.CROSS, True), (MarginMode.ISOLATED, False)])
def test_liquidation_price_estimate_when_cross_on_a_venue_that_calls_it_one(mode, estimate):
    # Gate counts the taker fee in its requirement, so the account carries one.
    v = verdict(position(mode), wallet=1_000.0, venue="gate", fees=FeeRates(maker=0.0002, taker=0.0005))
    assert (ReasonCode.LIQUIDATION_PRICE_ESTIMATE in codes(v)) is estimate
    assert exit_code(v) is ExitCode.OK


def test_liquidation_price_estimate_not_said_for_a_cross_position_on_binance():
    assert ReasonCode.LIQUIDATION_PRICE_ESTIMATE not in codes(verdict(position(MarginMode.CROSS), wallet=1_000.0))


# -- data freshness and consistency ---------------------------------------------------------------------------


@pytest.mark.parametrize(("age_ms", "stale"), [(120_001, True), (120_000, False)])
def test_data_stale_when_position_just_older_or_exactly_max_age(age_ms, stale):
    v = verdict(position(timestamp_ms=NOW - age_ms))
    assert (ReasonCode.DATA_STALE in codes(v)) is stale
    assert exit_code(v) is (ExitCode.UNKNOWN if stale else ExitCode.OK)


@pytest.mark.parametrize(("age_ms", "stale"), [(120_001, True), (120_000, False)])
def test_data_stale_when_mark_price_just_older_or_exactly_max_age(age_ms, stale):
    v = verdict(position(), quote=Quote(10_000.0, NOW - age_ms))
    assert (ReasonCode.DATA_STALE in codes(v)) is stale
    assert exit_code(v) is (ExitCode.UNKNOWN if stale else ExitCode.OK)


def test_data_missing_when_no_mark_price_ticker():
    v = verdict(position(), no_quote=True)
    assert ReasonCode.DATA_MISSING in codes(v) and exit_code(v) is ExitCode.UNKNOWN


@pytest.mark.parametrize(("position_mark", "inconsistent"), [(10_050.01, True), (10_050.0, False)])
def test_data_inconsistent_when_marks_differ_just_beyond_or_exactly_half_a_percent(position_mark, inconsistent):
    # ticker mark 10,000: |Δ|/ticker is 0.5 % exactly at 10,050 (not beyond the limit), 0.5001 % at 10,050.01
    v = verdict(position(mark_price=position_mark), quote=Quote(10_000.0, NOW - 1_000))
    assert (ReasonCode.DATA_INCONSISTENT in codes(v)) is inconsistent
    assert exit_code(v) is (ExitCode.UNKNOWN if inconsistent else ExitCode.OK)
