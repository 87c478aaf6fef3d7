"""Every injected fault ends in a complete document (after retries, inside the deadline) or in DataUnavailable."""

from __future__ import annotations

import time

import pytest

from riskguard.connectors.live import fetch_snapshot_doc
from riskguard.connectors.normalize import build_snapshot
from riskguard.errors import DataUnavailable
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.codes import ReasonCode
from riskguard.rules.policy_check import evaluate_policy
from riskguard.sim.faults import Fault, FaultKind
from tests.connectors.conftest import VENUES, live_spec

POSITIONS = "/fapi/v3/positionRisk"


async def _binance(start_sim, *faults: Fault):
    sim = await start_sim("binanceusdm")
    for fault in faults:
        sim.player.faults.arm(fault)
    return sim


async def _timed(spec):
    started = time.perf_counter()
    try:
        return await fetch_snapshot_doc(spec), time.perf_counter() - started
    except DataUnavailable as exc:
        return exc, time.perf_counter() - started


async def test_fetch_when_every_request_is_delayed_then_complete_document(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.LATENCY, latency_ms=50))
    doc, elapsed = await _timed(live_spec("binanceusdm", sim))
    assert len(doc.accounts[0].positions) == 3
    assert elapsed < 1.0  # ~15 requests at 50 ms each would take 0.75 s one after another


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_when_throttled_a_few_times_then_retries_to_a_complete_document(start_sim, venue) -> None:
    sim = await start_sim(venue)
    sim.player.faults.arm(Fault(FaultKind.RATE_LIMIT, count=3, retry_after_s=0))
    doc = await fetch_snapshot_doc(live_spec(venue, sim))
    assert len(doc.accounts[0].positions) == len(sim.player.scenario.accounts[0].positions)
    assert not sim.player.faults.armed


async def test_fetch_when_throttled_with_retry_after_then_waits_that_long(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.RATE_LIMIT, path=POSITIONS, count=1, retry_after_s=1))
    doc, elapsed = await _timed(live_spec("binanceusdm", sim))
    assert len(doc.accounts[0].positions) == 3
    assert 1.0 <= elapsed < 2.5


async def test_fetch_when_retry_after_is_beyond_the_deadline_then_fails_at_once(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.RATE_LIMIT, path=POSITIONS, retry_after_s=10))
    error, elapsed = await _timed(live_spec("binanceusdm", sim, timeout_s=2.0))
    assert isinstance(error, DataUnavailable)
    assert "binanceusdm fetch_positions" in str(error) and "DDoSProtection" in str(error)  # ccxt: code -1003
    assert "venue asks to wait 10 s" in str(error)
    assert elapsed < 1.0


async def test_fetch_when_ip_banned_once_then_retries(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.BANNED, path=POSITIONS, count=1, retry_after_s=0))
    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim))
    assert len(doc.accounts[0].positions) == 3


async def test_fetch_when_ip_banned_for_good_then_data_unavailable_names_the_ban(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.BANNED, path=POSITIONS, retry_after_s=0))
    error, elapsed = await _timed(live_spec("binanceusdm", sim, timeout_s=1.0))
    assert isinstance(error, DataUnavailable)
    assert "fetch_positions" in str(error) and "DDoSProtection" in str(error) and "deadline of 1 s" in str(error)
    assert elapsed < 1.5


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_when_server_errors_pass_then_complete_document(start_sim, venue) -> None:
    sim = await start_sim(venue)
    sim.player.faults.arm(Fault(FaultKind.SERVER_ERROR, status=503, count=2, retry_after_s=0))
    doc = await fetch_snapshot_doc(live_spec(venue, sim))
    assert len(doc.accounts[0].positions) == len(sim.player.scenario.accounts[0].positions)


async def test_fetch_when_server_errors_persist_then_data_unavailable_within_the_deadline(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.SERVER_ERROR, status=502, path=POSITIONS, retry_after_s=0))
    error, elapsed = await _timed(live_spec("binanceusdm", sim, timeout_s=1.0))
    assert isinstance(error, DataUnavailable)
    assert "fetch_positions" in str(error) and "ExchangeNotAvailable" in str(error)
    assert elapsed < 1.5


async def test_fetch_when_positions_path_is_not_found_then_fails_without_retrying(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.SERVER_ERROR, status=404, path=POSITIONS))
    error, elapsed = await _timed(live_spec("binanceusdm", sim, timeout_s=3.0))
    assert isinstance(error, DataUnavailable)
    assert "fetch_positions" in str(error) and "after" not in str(error).split(":")[0]
    assert elapsed < 1.0


async def test_fetch_when_a_request_hangs_once_then_the_retry_answers_inside_the_deadline(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.TIMEOUT, path=POSITIONS, count=1, hang_s=3))
    doc, elapsed = await _timed(live_spec("binanceusdm", sim, timeout_s=2.5))  # one attempt may take 1 s
    assert len(doc.accounts[0].positions) == 3
    assert elapsed < 2.5


async def test_fetch_when_requests_hang_then_data_unavailable_at_the_deadline(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.TIMEOUT, path=POSITIONS, hang_s=2))
    error, elapsed = await _timed(live_spec("binanceusdm", sim, timeout_s=1.0))
    assert isinstance(error, DataUnavailable)
    assert "fetch_positions" in str(error) and ("deadline" in str(error))
    assert 0.9 <= elapsed < 1.5


async def test_fetch_when_one_body_is_truncated_then_the_retry_reads_it(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.MALFORMED_JSON, path=POSITIONS, count=1))
    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim))
    assert len(doc.accounts[0].positions) == 3


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_when_position_bodies_stay_malformed_then_never_an_empty_position_list(start_sim, venue) -> None:
    sim = await start_sim(venue)
    path = {"binanceusdm": POSITIONS, "binancecoinm": "/dapi/v1/positionRisk", "bybit": "/v5/position/list",
            "okx": "/api/v5/account/positions", "hyperliquid": "/info"}[venue]
    sim.player.faults.arm(Fault(FaultKind.MALFORMED_JSON, path=path))
    error, _ = await _timed(live_spec(venue, sim, timeout_s=1.0))
    assert isinstance(error, DataUnavailable)
    assert "BadResponse" in str(error) and "not valid JSON" in str(error)


async def test_fetch_when_liquidation_price_is_empty_then_recorded_empty_and_still_computed(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.EMPTY_LIQUIDATION_PRICE, path=POSITIONS))
    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim))
    rows = doc.accounts[0].positions
    assert len(rows) == 3 and all(r["info"]["liquidationPrice"] in ("", "0") for r in rows)
    snapshot = build_snapshot(doc, "live")
    risk = evaluate_account(snapshot.accounts[0], snapshot.venues["binanceusdm"])
    assert all(r.venue_liquidation_price is None and r.liquidation_price is not None for r in risk.positions)


async def test_fetch_when_timestamps_are_stale_then_kept_verbatim_and_the_check_says_stale(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.STALE_TIMESTAMPS, stale_ms=600_000))
    now = sim.player.exchange.now_ms()
    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim), now_ms=now)
    assert all(now - int(r["info"]["updateTime"]) >= 600_000 for r in doc.accounts[0].positions)
    snapshot = build_snapshot(doc, "live")
    account = snapshot.accounts[0]
    verdict = evaluate_policy(account, snapshot, evaluate_account(account, snapshot.venues["binanceusdm"]),
                              live_spec("binanceusdm", sim).policy)
    assert ReasonCode.DATA_STALE in {f.code for f in verdict.findings}


async def test_fetch_when_an_analytics_series_fails_then_absent_and_named(start_sim) -> None:
    sim = await _binance(start_sim, Fault(FaultKind.SERVER_ERROR, status=404, path="/futures/data/openInterestHist"))
    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim))
    venue = doc.venues["binanceusdm"]
    assert venue.open_interest_history == {} and len(venue.raw["unavailable"]) == 3
    assert len(doc.accounts[0].positions) == 3 and set(venue.tickers) == set(venue.markets)
