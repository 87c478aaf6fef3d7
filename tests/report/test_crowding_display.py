"""Funding z-score, open-interest change and the crowded flag: computed from a snapshot's series and shown by
`check` and `bands` (table and JSON)."""

from __future__ import annotations

import math

import pytest
from rich.console import Console

from riskguard.check import load_snapshot_accounts
from riskguard.config import bundled_snapshot
from riskguard.market_view import symbol_bands, symbol_crowding
from riskguard.model import MarketSeries
from riskguard.report.bands_report import bands_document, crowding_line
from riskguard.report.check_json import crowding_entry

NOW = 1_800_000_000_000
H = 3_600_000


def series(oi_growth: float) -> MarketSeries:
    """40 eight-hourly settlements alternating 1 and 2 bp; OI flat, then up ``oi_growth`` over the last 4 h."""
    funding = tuple((NOW - (40 - k) * 8 * H, 0.0001 if k % 2 == 0 else 0.0002) for k in range(40))
    oi = tuple((NOW - (48 - k) * H, 1_000.0 if k <= 44 else 1_000.0 * (1 + oi_growth)) for k in range(49))
    return MarketSeries(funding=funding, open_interest=oi)


def test_symbol_crowding_when_funding_high_and_oi_rising_then_crowded_long_with_hand_z():
    c = symbol_crowding(series(0.10), 0.0004, NOW)
    # mean 1.5 bp, sample std 0.5 bp·√(40/39): z = (4 − 1.5)/(0.5·√(40/39))
    assert c.funding.zscore == pytest.approx(5 / math.sqrt(40 / 39), rel=1e-12)
    assert c.flag_window is not None and c.flag_window.change_pct == pytest.approx(10.0)
    assert c.flag.state == "crowded_long"
    entry = crowding_entry(c)
    assert entry["flag"]["state"] == "crowded_long" and entry["funding"]["points"] == 40
    assert [w["change_pct"] for w in entry["open_interest_change"]] == pytest.approx([0.0, 10.0, 10.0])


def test_symbol_crowding_when_oi_growth_below_threshold_then_not_crowded():
    assert symbol_crowding(series(0.04), 0.0004, NOW).flag.state == "not_crowded"


def test_symbol_crowding_when_no_predicted_rate_then_last_settlement_scored_against_the_ones_before():
    c = symbol_crowding(series(0.10), None, NOW)
    # the last of the 40 settlements (2 bp) against the 39 before it (20 × 1 bp, 19 × 2 bp)
    earlier = [0.0001 if k % 2 == 0 else 0.0002 for k in range(39)]
    mean = sum(earlier) / 39
    std = math.sqrt(sum((r - mean) ** 2 for r in earlier) / 38)
    assert c.funding.rate == 0.0002 and c.funding.zscore == pytest.approx((0.0002 - mean) / std, rel=1e-9)


def test_symbol_crowding_when_no_funding_history_then_unknown_not_calm():
    c = symbol_crowding(MarketSeries(), None, NOW)
    assert c.funding.status == "unknown" and c.funding.reason.startswith("NO_FUNDING")
    assert c.flag.state == "unknown"
    assert crowding_entry(c)["funding"]["zscore"] is None


def test_bands_when_paper_symbol_then_crowding_in_json_and_the_table_line():
    found = symbol_bands(load_snapshot_accounts(bundled_snapshot("paper"), "hyperliquid-cross"), "ETH/USDC:USDC")
    doc = bands_document(found, None)
    assert doc["crowding"]["funding"]["interval_seconds"] == 3600
    assert doc["crowding"]["funding"]["zscore"] == pytest.approx(0.9689, abs=1e-4)
    assert doc["crowding"]["flag"]["state"] == "not_crowded"
    console = Console(width=100, record=True)
    console.print(crowding_line(found))
    assert console.export_text().strip() == (
        "crowding: funding z +0.97 (rate +0.0031% per 1 h); OI -0.8% over 4 h → not crowded"
    )
