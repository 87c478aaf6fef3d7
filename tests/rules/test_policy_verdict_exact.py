"""``evaluate_policy``'s account verdict field by field: what it names, the cross pool's headroom findings at their
limits, missing data, and a pool whose equity is small but positive.  Figures are those of
tests/rules/test_policy_check.py: 1 BTC at 10 000, maintenance rate 0.4%."""

from __future__ import annotations

import pytest

from riskguard.config import Policy
from riskguard.model import (
    Account,
    AssetBalance,
    ContractKind,
    MarginMode,
    MarginTier,
    Market,
    Quote,
    Snapshot,
    VenueMarkets,
)
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.codes import ReasonCode
from riskguard.rules.policy_check import Finding, evaluate_policy
from tests.rules.test_policy_check import BTC, NOW, QUIET, market, position, verdict


def test_the_verdict_names_the_account_venue_snapshot_time_and_ticks():
    v = verdict(position(MarginMode.CROSS), wallet=1_000.0)
    assert (v.name, v.venue, v.taken_at_ms, dict(v.price_ticks)) == ("acct", "binanceusdm", NOW, {BTC: 0.1})
    assert v.risk is not None and v.risk.cross[0].equity == 1_000.0 and len(v.uniform_moves) == 1


@pytest.mark.parametrize(
    ("minimum", "warn", "code", "limit"),
    [(97.0, 98.0, ReasonCode.CROSS_BUFFER_BELOW_MIN, 97.0), (95.0, 98.0, ReasonCode.CROSS_BUFFER_BELOW_WARN, 98.0)],
)
def test_cross_headroom_findings_field_by_field(minimum, warn, code, limit):
    # Wallet 1 000, maintenance 40: headroom (1 − 40/1 000)·100 = 96%.
    v = verdict(position(MarginMode.CROSS), wallet=1_000.0, min_liquidation_buffer_pct=minimum,
                warn_liquidation_buffer_pct=warn)
    (finding,) = [f for f in v.findings if f.code in (ReasonCode.CROSS_BUFFER_BELOW_MIN,
                                                      ReasonCode.CROSS_BUFFER_BELOW_WARN)]
    assert finding == Finding(code, "USDT cross margin headroom 96.00% of equity", None, pytest.approx(96.0), limit)


def test_cross_headroom_exactly_at_the_limits_meets_them():
    headroom = verdict(position(MarginMode.CROSS), wallet=1_000.0).risk.cross[0].headroom_pct
    v = verdict(position(MarginMode.CROSS), wallet=1_000.0, min_liquidation_buffer_pct=headroom,
                warn_liquidation_buffer_pct=headroom)
    assert not {f.code for f in v.findings} & {ReasonCode.CROSS_BUFFER_BELOW_MIN, ReasonCode.CROSS_BUFFER_BELOW_WARN}


@pytest.mark.parametrize("venue", ["bybit"])
def test_missing_data_is_one_finding_per_message(venue):
    # Bybit counts the closing fee in the maintenance requirement: without the account's taker rate it is missing.
    v = verdict(position(MarginMode.CROSS), wallet=1_000.0, venue=venue)
    assert Finding(ReasonCode.DATA_MISSING, "acct: taker fee rate (the venue counts it in the maintenance "
                                            "requirement)") in v.findings


def test_a_pool_with_one_unit_of_equity_above_maintenance_is_not_liquidatable_and_its_move_is_judged():
    # 0.001 BTC, wallet 1: maintenance 0.04, equity 1 (ratio 0.04).  Marks may fall together until
    # 1 + 0.001·(P − 10 000) = 0.004·0.001·P → P = 9/0.000996 = 9 036.14, a 9.64% move: under a 50% minimum.
    v = verdict(position(MarginMode.CROSS, contracts=0.001), wallet=1.0, min_liquidation_buffer_pct=50.0,
                warn_liquidation_buffer_pct=60.0)
    codes = {f.code for f in v.findings}
    assert ReasonCode.ALREADY_LIQUIDATABLE not in codes and ReasonCode.UNIFORM_MOVE_BELOW_MIN in codes


def test_a_cross_pool_without_a_balance_does_not_stop_the_next_pool_being_judged():
    # Pools are judged in asset order: USDC (a cross ETH position, no USDC balance: missing data, not a breach),
    # then USDT, whose 1 BTC at 10 000 on a wallet of 40 is at maintenance (40 = 0.4% of 10 000).
    eth = "ETH/USDC:USDC"
    usdc = Market("binanceusdm", eth, ContractKind.LINEAR, "USDC", 1.0, 0.01, 0.001,
                  (MarginTier(0, float("inf"), 0.004),))
    account = Account("acct", "binanceusdm", {"USDT": AssetBalance("USDT", 40.0, 40.0)},
                      (position(MarginMode.CROSS), position(MarginMode.CROSS, symbol=eth, entry_price=1_000.0,
                                                            mark_price=1_000.0)))
    markets = VenueMarkets("binanceusdm", {BTC: market(), eth: usdc},
                           {BTC: Quote(10_000.0, NOW - 1_000), eth: Quote(1_000.0, NOW - 1_000)})
    risk = evaluate_account(account, markets)
    assert [c.asset for c in risk.cross] == ["USDC", "USDT"]
    v = evaluate_policy(account, Snapshot(NOW, {"binanceusdm": markets}, (account,)), risk, Policy(**QUIET))
    assert Finding(ReasonCode.ALREADY_LIQUIDATABLE, "USDT cross equity at or below maintenance", None, 1.0,
                   1.0) in v.findings
