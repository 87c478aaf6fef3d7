"""Venue answers that contradict themselves or come late are UNKNOWN, never "no position" or OK."""

from __future__ import annotations

import re

import pytest

from riskguard.connectors.live import fetch_snapshot_doc
from riskguard.connectors.normalize import build_snapshot
from riskguard.errors import DataUnavailable
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.codes import ReasonCode, Status
from riskguard.rules.policy_check import evaluate_policy
from riskguard.sim.faults import Fault, FaultKind
from tests.connectors.conftest import VENUES, live_spec

POSITION_LISTS = {
    "binanceusdm": ("/fapi/v3/positionRisk", ""),
    "binancecoinm": ("/dapi/v1/positionRisk", ""),
    "bybit": ("/v5/position/list", "result.list"),
    "okx": ("/api/v5/account/positions", "data"),
    "hyperliquid": ("/info", "assetPositions"),
}
MARGIN_FIELDS = {
    "binanceusdm": "totalPositionInitialMargin",
    "binancecoinm": "assets[0].positionInitialMargin",
    "bybit": "result.list[0].totalMaintenanceMargin",
    "okx": "data[0].details[0].mmr",
    "hyperliquid": "crossMaintenanceMarginUsed",
}
"""The first field of each venue's account summary that says what positions hold."""


@pytest.mark.parametrize("value", [None, "positions", {"symbol": "BTCUSDT"}], ids=["null", "string", "object"])
@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_when_positions_list_has_the_wrong_shape_then_data_unavailable(start_sim, venue, value) -> None:
    sim = await start_sim(venue)
    path, pointer = POSITION_LISTS[venue]
    sim.player.faults.arm(Fault(FaultKind.WRONG_SHAPE, path=path, pointer=pointer, value=value))
    with pytest.raises(DataUnavailable) as err:
        await fetch_snapshot_doc(live_spec(venue, sim, timeout_s=0.5))
    # Hyperliquid's balance read is the same clearinghouseState answer, and may be the first to fail.
    assert f"{venue} fetch_" in str(err.value) and f"{path}: " in str(err.value) and "BadResponse" in str(err.value)
    assert "where the list of positions belongs" in str(err.value) or "not an object holding" in str(err.value)


@pytest.mark.parametrize("venue", VENUES)
async def test_check_when_positions_list_is_empty_but_balance_holds_position_margin_then_unknown(
    start_sim, venue
) -> None:
    sim = await start_sim(venue)
    path, pointer = POSITION_LISTS[venue]
    sim.player.faults.arm(Fault(FaultKind.WRONG_SHAPE, path=path, pointer=pointer, value=[]))
    spec = live_spec(venue, sim)
    doc = await fetch_snapshot_doc(spec)
    assert doc.accounts[0].positions == []
    snapshot = build_snapshot(doc, "live")
    account = snapshot.accounts[0]
    verdict = evaluate_policy(account, snapshot, evaluate_account(account, snapshot.venues[venue]), spec.policy)
    assert verdict.status is Status.UNKNOWN
    [finding] = [f for f in verdict.findings if f.code is ReasonCode.POSITIONS_MARGIN_MISMATCH]
    assert f"live: accounts[0].balance.info.{MARGIN_FIELDS[venue]}" in finding.message
    assert "no open position, yet the venue says positions hold" in finding.message


async def test_check_when_hyperliquid_account_read_is_ten_minutes_stale_then_data_stale(start_sim) -> None:
    """Hyperliquid position rows carry no time: they are as old as the clearinghouseState read (its ``time``)."""
    sim = await start_sim("hyperliquid")
    sim.player.faults.arm(Fault(FaultKind.STALE_TIMESTAMPS, path="/info", stale_ms=600_000))
    spec = live_spec("hyperliquid", sim)
    now = sim.player.exchange.now_ms()
    doc = await fetch_snapshot_doc(spec, now_ms=now)
    snapshot = build_snapshot(doc, "live")
    account = snapshot.accounts[0]
    # the emulator's clock moves on while the reads run, so the read is a little less than 600 s older than now
    assert account.positions and all(590_000 < now - p.timestamp_ms <= 600_000 for p in account.positions)
    verdict = evaluate_policy(account, snapshot, evaluate_account(account, snapshot.venues["hyperliquid"]), spec.policy)
    assert verdict.status is Status.UNKNOWN
    stale = [f for f in verdict.findings if f.code is ReasonCode.DATA_STALE]
    assert {f.symbol for f in stale} == {p.symbol for p in account.positions}
    assert all(re.fullmatch(r"position is (59\d|600)s old", f.message) for f in stale)


async def test_check_when_the_venue_lists_one_position_of_three_then_unknown(start_sim) -> None:
    """A positions answer that lost rows (a page not read) against the account's maintenance margin per asset."""
    sim = await start_sim("binanceusdm")
    spec = live_spec("binanceusdm", sim)
    whole = await fetch_snapshot_doc(spec)
    assert len(whole.accounts[0].positions) == 3
    sim.player.faults.arm(Fault(FaultKind.WRONG_SHAPE, path="/fapi/v3/positionRisk",
                                value=[whole.accounts[0].positions[0]["info"]]))
    doc = await fetch_snapshot_doc(spec)
    snapshot = build_snapshot(doc, "live")
    account = snapshot.accounts[0]
    assert len(account.positions) == 1
    verdict = evaluate_policy(account, snapshot, evaluate_account(account, snapshot.venues["binanceusdm"]), spec.policy)
    assert verdict.status is Status.UNKNOWN
    [finding] = [f for f in verdict.findings if f.code is ReasonCode.POSITIONS_MARGIN_MISMATCH]
    assert "live: accounts[0].balance.info.assets[" in finding.message and "a position is missing" in finding.message
