"""What ``check`` shows for a price: the raw root, the venue's display of it and the rule, per venue and mode.

The numbers are hand-derived from the closed forms in docs/margin-math.md, not
read back from the code: OKX's requirement is notional·(mmr + taker fee),
Bybit classic fixes MM at entry, and the generic model has neither.
"""

from __future__ import annotations

import math

import pytest
from batch_parity import assert_batch_matches_check

from riskguard.config import Policy
from riskguard.model import (
    Account,
    AccountType,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    Position,
    Side,
    Snapshot,
    TierBasis,
    VenueMarkets,
)
from riskguard.risk.account_risk import PositionRisk, PriceSource, evaluate_account
from riskguard.rules.codes import ReasonCode
from riskguard.rules.policy_check import evaluate_policy

TIERS = (MarginTier(0.0, math.inf, 0.01),)


def _one(
    venue: str,
    mode: MarginMode,
    *,
    tick: float | None,
    account_type=AccountType.STANDARD,
    side=Side.LONG,
    taker: float = 0.0005,
) -> PositionRisk:
    basis = TierBasis.CONTRACTS if venue == "okx" else TierBasis.QUOTE_NOTIONAL
    market = Market(venue, "X", ContractKind.LINEAR, "USDT", 1.0, tick, None, TIERS, basis)
    isolated = mode is MarginMode.ISOLATED
    pos = Position("X", side, 1.0, 100.0, 100.0, mode, leverage=10.0, isolated_margin=10.0 if isolated else None)
    balances = {} if isolated else {"USDT": AssetBalance("USDT", 10.0, 10.0)}
    account = Account("a", venue, balances, (pos,), fees=FeeRates(0.0, taker), account_type=account_type)
    venue_markets = VenueMarkets(venue, {"X": market})
    risk = evaluate_account(account, venue_markets)
    assert assert_batch_matches_check(account, venue_markets, risk) == 1
    return risk.positions[0]


OKX_ROOT = 90 / (1 - 0.01 - 0.0005)


def test_okx_when_isolated_then_shown_one_tick_toward_entry_with_rule_named():
    p = _one("okx", MarginMode.ISOLATED, tick=0.01)
    assert p.liquidation_price_raw == pytest.approx(OKX_ROOT, rel=1e-12)
    assert p.liquidation_price == p.liquidation_price_displayed == pytest.approx(OKX_ROOT + 0.01, rel=1e-12)
    assert p.display_rule == "exact root moved one tick toward entry"


def test_okx_when_cross_then_no_offset_because_no_cross_payload_shows_one():
    p = _one("okx", MarginMode.CROSS, tick=0.01)
    assert p.liquidation_price == p.liquidation_price_raw == pytest.approx(OKX_ROOT, rel=1e-12)
    assert p.display_rule == "exact root, unrounded"
    assert p.is_estimate


@pytest.mark.parametrize(("venue", "account_type"), [("okx", AccountType.STANDARD), ("bybit", AccountType.CLASSIC)])
def test_display_when_market_has_no_tick_then_raw_price_kept_and_display_unknown(venue, account_type):
    p = _one(
        venue, MarginMode.ISOLATED, tick=None, account_type=account_type, taker=0.0 if venue == "bybit" else 0.0005
    )
    assert p.liquidation_source is PriceSource.COMPUTED  # never "no price liquidates the position"
    assert p.liquidation_price_displayed is None
    assert p.display_rule == "unknown: the market has no price tick"
    assert p.liquidation_price == p.liquidation_price_raw
    assert p.buffer_pct == pytest.approx((100 - p.liquidation_price) / 100 * 100)
    assert p.bankruptcy_price == pytest.approx(90.0)


def test_bybit_classic_when_short_with_tick_then_rounded_down_toward_entry():
    p = _one("bybit", MarginMode.ISOLATED, tick=0.5, account_type=AccountType.CLASSIC, side=Side.SHORT, taker=0.0)
    # MM at entry = 1: LP = 100 + (10 − 1) = 109 exactly; a non-round root is needed to see the direction.
    assert p.liquidation_price_raw == 109.0
    p = _one("bybit", MarginMode.ISOLATED, tick=0.3, account_type=AccountType.CLASSIC, side=Side.SHORT, taker=0.0)
    assert p.liquidation_price_displayed == pytest.approx(108.9)  # 109 on a 0.3 grid: down (toward entry) is 108.9
    assert p.display_rule == "rounded toward entry to the tick"


def test_generic_venue_when_evaluated_then_every_figure_labelled_generic_estimate():
    p = _one("kucoinfutures", MarginMode.ISOLATED, tick=0.01)
    assert p.method == "generic estimate"
    assert p.is_estimate  # isolated too: the venue's own terms (fees, tier rule) are not known to riskguard
    assert p.liquidation_price == pytest.approx(90 / 0.99)


def test_generic_venue_when_checked_then_the_estimate_reason_code_is_raised_for_an_isolated_position():
    market = Market("kucoinfutures", "X", ContractKind.LINEAR, "USDT", 1.0, 0.01, None, TIERS)
    pos = Position("X", Side.LONG, 1.0, 100.0, 100.0, MarginMode.ISOLATED, leverage=10.0, isolated_margin=10.0)
    account = Account("a", "kucoinfutures", {}, (pos,), fees=FeeRates(0.0, 0.0005))
    venue_markets = VenueMarkets("kucoinfutures", {"X": market})
    snapshot = Snapshot(taken_at_ms=0, venues={"kucoinfutures": venue_markets}, accounts=(account,))
    verdict = evaluate_policy(account, snapshot, evaluate_account(account, venue_markets), Policy())
    [position] = verdict.positions
    assert ReasonCode.LIQUIDATION_PRICE_ESTIMATE in {f.code for f in position.findings}
