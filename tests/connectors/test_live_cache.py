"""The venue cache makes a warm check one request round, and whatever it gets wrong costs a round, never a number."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from riskguard.config import AccountSpec
from riskguard.connectors.live import DEFAULT_RETRY, FINE_HISTORY, fetch_snapshot_doc
from riskguard.connectors.snapshot_doc import SnapshotDoc
from riskguard.connectors.venue_cache import VenueCache
from riskguard.errors import DataUnavailable, SnapshotError
from riskguard.sim import RunningSim
from riskguard.sim.faults import Fault, FaultKind
from riskguard.sim.server import request_rounds
from tests.connectors.conftest import VENUES, live_spec, scenario_for

HOLD_S = 2.0
"""How long a held request waits for the rest of its round: a machine far slower than any here sends one round's
requests within it.  Under each attempt's timeout (``TIMEOUT_S`` × the retry policy's attempt share)."""
TIMEOUT_S = 10.0
LATENCY_MS = 100
"""Makes each answer a read waits for visible, so a read that waits for one is never counted as one round."""
MARKETS_PATH = {"binanceusdm": "/fapi/v1/exchangeInfo", "binancecoinm": "/dapi/v1/exchangeInfo",
                "bybit": "/v5/market/instruments-info", "okx": "/api/v5/public/instruments", "hyperliquid": "/info"}


def _cache(tmp_path: Path) -> VenueCache:
    return VenueCache(tmp_path / "venues")


def _host(sim: RunningSim) -> str:
    return sim.base_url.removeprefix("http://")


def _edit(cache: VenueCache, venue: str, sim: RunningSim, **entries) -> None:
    cache.store(venue, _host(sim), entries, int(time.time() * 1000))


def _cached(cache: VenueCache, venue: str, sim: RunningSim) -> dict:
    return cache.load(venue, _host(sim), int(time.time() * 1000))


def _essentials(doc: SnapshotDoc, venue: str) -> dict:
    """What the risk numbers are made of; tickers and books carry the emulator's clock, so only their symbols."""
    v, account = doc.venues[venue], doc.accounts[0]
    return {
        "markets": v.markets,
        "tiers": v.leverage_tiers,
        "raw": {k: r for k, r in v.raw.items() if k != "unavailable"},
        "unavailable": len(v.raw.get("unavailable", [])),  # the texts name the request's time window
        "series": (set(v.tickers), set(v.order_books), set(v.ohlcv), set(v.funding_history)),
        "positions": sorted((p["symbol"], p["side"], p["contracts"], p["entryPrice"]) for p in account.positions),
        "balance": account.balance["total"],
        "fees": {s: (f["maker"], f["taker"]) for s, f in account.trading_fees.items()},
        "settings": account.settings,
    }


def _rounds(sim: RunningSim) -> int:
    return request_rounds(sim.requests)


def _spec(venue: str, sim: RunningSim) -> AccountSpec:
    return live_spec(venue, sim, timeout_s=TIMEOUT_S)


def _hold(sim: RunningSim, count: int) -> None:
    """Hold answers, so that requests sent side by side are all in before the first answer; ``count`` is how many
    the read sends, so that its last round is answered as soon as it is in."""
    sim.player.faults.arm(Fault(FaultKind.HOLD, count=count, hang_s=HOLD_S))


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_when_cache_is_warm_then_one_request_round_and_the_same_document(
    start_sim, venue, tmp_path
) -> None:
    sim = await start_sim(venue)
    cache = _cache(tmp_path)
    sim.player.faults.arm(Fault(FaultKind.LATENCY, latency_ms=LATENCY_MS))
    cold = await fetch_snapshot_doc(_spec(venue, sim), cache=cache)
    cold_rounds = _rounds(sim)
    sim.player.faults.clear()
    sim.requests.clear()
    await fetch_snapshot_doc(_spec(venue, sim), cache=cache)
    _hold(sim, count=len(sim.requests))
    sim.requests.clear()

    warm = await fetch_snapshot_doc(_spec(venue, sim), cache=cache)

    assert _rounds(sim) == 1 < cold_rounds
    assert _essentials(warm, venue) == _essentials(cold, venue)
    assert cold.accounts[0].positions, "the emulator's default account holds positions"


async def test_fetch_when_a_symbol_is_held_for_the_first_time_then_its_market_data_follows(start_sim, tmp_path) -> None:
    sim = await start_sim("binanceusdm")
    cache = _cache(tmp_path)
    full = await fetch_snapshot_doc(live_spec("binanceusdm", sim), cache=cache)
    held = sorted(full.venues["binanceusdm"].tickers)
    assert len(held) >= 2
    _edit(cache, "binanceusdm", sim, **{"held:live": held[:1]})
    sim.requests.clear()
    await fetch_snapshot_doc(_spec("binanceusdm", sim), cache=cache)
    _edit(cache, "binanceusdm", sim, **{"held:live": held[:1]})
    _hold(sim, count=len(sim.requests))
    sim.requests.clear()

    doc = await fetch_snapshot_doc(_spec("binanceusdm", sim), cache=cache)

    assert _rounds(sim) == 2
    assert _essentials(doc, "binanceusdm") == _essentials(full, "binanceusdm")
    assert _cached(cache, "binanceusdm", sim)["held:live"] == held


async def test_fetch_when_a_symbol_is_no_longer_held_then_left_out_of_the_document(start_sim, tmp_path) -> None:
    one = scenario_for("binanceusdm").accounts[0].positions[:1]
    sim = await start_sim("binanceusdm", scenario_for("binanceusdm", positions=one))
    cache = _cache(tmp_path)
    full = await fetch_snapshot_doc(live_spec("binanceusdm", sim), cache=cache)
    held = set(full.venues["binanceusdm"].markets)
    spare = sorted({m["symbol"] for m in _cached(cache, "binanceusdm", sim)["markets"]["markets"]} - held)
    assert spare, "the emulator lists a market the account does not hold"
    _edit(cache, "binanceusdm", sim, **{"held:live": sorted(held) + spare})

    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim), cache=cache)

    assert set(doc.venues["binanceusdm"].tickers) == set(doc.venues["binanceusdm"].markets) == held
    assert _essentials(doc, "binanceusdm") == _essentials(full, "binanceusdm")


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_when_cached_markets_lack_a_held_market_then_markets_are_reloaded(
    start_sim, venue, tmp_path
) -> None:
    sim = await start_sim(venue)
    cache = _cache(tmp_path)
    full = await fetch_snapshot_doc(live_spec(venue, sim), cache=cache)
    entry = _cached(cache, venue, sim)["markets"]
    gone = sorted(full.venues[venue].markets)[0]
    _edit(cache, venue, sim, markets={**entry, "markets": [m for m in entry["markets"] if m["symbol"] != gone]})
    sim.requests.clear()

    doc = await fetch_snapshot_doc(live_spec(venue, sim), cache=cache)

    assert any(r.path == MARKETS_PATH[venue] for r in sim.requests)
    assert _essentials(doc, venue) == _essentials(full, venue)
    assert gone in {m["symbol"] for m in _cached(cache, venue, sim)["markets"]["markets"]}


async def test_fetch_when_cached_markets_lack_a_configured_symbol_then_reloaded(start_sim, tmp_path) -> None:
    sim = await start_sim("binanceusdm")
    cache = _cache(tmp_path)
    await fetch_snapshot_doc(live_spec("binanceusdm", sim), cache=cache)
    entry = _cached(cache, "binanceusdm", sim)["markets"]
    _edit(cache, "binanceusdm", sim,
          markets={**entry, "markets": [m for m in entry["markets"] if m["symbol"] != "BTC/USDT:USDT"]})

    doc = await fetch_snapshot_doc(live_spec("binanceusdm", sim, symbols=["BTC/USDT:USDT"]), cache=cache)

    assert "BTC/USDT:USDT" in doc.venues["binanceusdm"].tickers


@pytest.mark.parametrize(("venue", "stale"), [
    ("bybit", {"enableUnifiedMargin": False, "enableUnifiedAccount": False, "unifiedMarginStatus": 1}),
    ("hyperliquid", {"enableUnifiedMargin": True}),
])
async def test_fetch_when_cached_account_type_is_stale_then_balance_read_again_as_the_venue_says(
    start_sim, venue, stale, tmp_path
) -> None:
    sim = await start_sim(venue)
    cache = _cache(tmp_path)
    fresh = await fetch_snapshot_doc(live_spec(venue, sim), cache=cache)
    settings = _cached(cache, venue, sim)["settings:live"]
    assert settings != stale
    _edit(cache, venue, sim, **{"settings:live": stale})

    doc = await fetch_snapshot_doc(live_spec(venue, sim), cache=cache)

    assert _essentials(doc, venue) == _essentials(fresh, venue)
    assert _cached(cache, venue, sim)["settings:live"] == settings


@pytest.mark.parametrize(("venue", "path", "call"), [
    ("binanceusdm", "/fapi/v3/positionRisk", "fetch_positions"),
    # ccxt would fall back to a default account type; riskguard's numbers depend on it, so the read fails.
    ("bybit", "/v5/account/info", "account/info"),
])
async def test_fetch_when_a_read_fails_on_cached_markets_then_unavailable_and_the_next_check_reloads_them(
    start_sim, tmp_path, venue, path, call
) -> None:
    sim = await start_sim(venue)
    cache = _cache(tmp_path)
    await fetch_snapshot_doc(live_spec(venue, sim), cache=cache)
    sim.player.faults.arm(Fault(FaultKind.SERVER_ERROR, status=503, path=path))
    with pytest.raises(DataUnavailable, match=call):
        await fetch_snapshot_doc(live_spec(venue, sim, timeout_s=0.5), cache=cache)
    sim.player.faults.clear()
    sim.requests.clear()

    await fetch_snapshot_doc(live_spec(venue, sim), cache=cache)

    assert any(r.path == MARKETS_PATH[venue] for r in sim.requests)


_TIER_CAP = {"binanceusdm": "notionalCap", "bybit": "riskLimitValue", "okx": "maxSz"}


def _cut_short(tiers: list[dict], venue: str) -> list[dict]:
    """The first tier only, its cap lowered below any position: a table the fresh positions contradict."""
    first = {**tiers[0], "info": {**tiers[0]["info"], _TIER_CAP[venue]: "0.000001"}}
    return [first]


def _unreadable(tiers: list[dict], venue: str) -> list[dict]:
    """Tiers whose cap is no number a venue sends."""
    return [{**t, "info": {**t["info"], _TIER_CAP[venue]: "1_200"}} for t in tiers]


@pytest.mark.parametrize("corrupt", [_cut_short, _unreadable])
@pytest.mark.parametrize("venue", list(_TIER_CAP))
async def test_fetch_when_cached_tiers_fail_the_checks_then_dropped_and_read_fresh(
    start_sim, tmp_path, venue, corrupt
) -> None:
    sim = await start_sim(venue)
    cache = _cache(tmp_path)
    cold = await fetch_snapshot_doc(live_spec(venue, sim), cache=cache)
    symbol = sorted(p["symbol"] for p in cold.accounts[0].positions)[0]
    good = _cached(cache, venue, sim)[f"tiers:{symbol}"]
    _edit(cache, venue, sim, **{f"tiers:{symbol}": corrupt(good, venue)})

    warm = await fetch_snapshot_doc(live_spec(venue, sim), cache=cache)

    assert warm.venues[venue].leverage_tiers[symbol] == cold.venues[venue].leverage_tiers[symbol]
    assert _cached(cache, venue, sim)[f"tiers:{symbol}"] == good


async def test_fetch_when_cached_hyperliquid_meta_lacks_a_held_coin_then_dropped_and_read_fresh(
    start_sim, tmp_path
) -> None:
    sim = await start_sim("hyperliquid")
    cache = _cache(tmp_path)
    cold = await fetch_snapshot_doc(live_spec("hyperliquid", sim), cache=cache)
    meta = _cached(cache, "hyperliquid", sim)["raw:meta"]
    _edit(cache, "hyperliquid", sim, **{"raw:meta": {**meta, "universe": meta["universe"][:0]}})

    warm = await fetch_snapshot_doc(live_spec("hyperliquid", sim), cache=cache)

    assert warm.venues["hyperliquid"].raw["meta"] == cold.venues["hyperliquid"].raw["meta"] == meta
    assert _cached(cache, "hyperliquid", sim)["raw:meta"] == meta


async def test_fetch_when_the_venue_itself_sends_an_unreadable_tier_then_nothing_is_cached(start_sim, tmp_path) -> None:
    sim = await start_sim("bybit")
    cache = _cache(tmp_path)
    sim.player.faults.arm(Fault(FaultKind.WRONG_SHAPE, path="/v5/market/risk-limit", pointer="result.list",
                                value=[{"symbol": "BTCUSDT", "riskLimitValue": "1_200"}]))
    with pytest.raises(SnapshotError, match=r"^live \(live bybit\): venues\.bybit\.leverage_tiers\['BTC/USD:BTC'\]"
                                            r"\[0\]\.info\.riskLimitValue: expected a number, got '1_200'$"):
        await fetch_snapshot_doc(live_spec("bybit", sim), cache=cache)
    assert not [k for k in _cached(cache, "bybit", sim) if k.startswith("tiers:")]


async def test_fetch_when_history_is_a_week_of_5_minutes_then_paged_side_by_side_and_recorded_whole(
    start_sim, tmp_path
) -> None:
    sim = await start_sim("bybit")
    cache = _cache(tmp_path)
    await fetch_snapshot_doc(_spec("bybit", sim), cache=cache, history=FINE_HISTORY)
    sim.requests.clear()
    await fetch_snapshot_doc(_spec("bybit", sim), cache=cache, history=FINE_HISTORY)
    _hold(sim, count=len(sim.requests))
    sim.requests.clear()

    doc = await fetch_snapshot_doc(_spec("bybit", sim), cache=cache, history=FINE_HISTORY)

    # ~19 pages a symbol, none waiting for another, all under the in-flight cap: one round
    assert len(sim.requests) <= DEFAULT_RETRY.max_in_flight and _rounds(sim) == 1
    venue = doc.venues["bybit"]
    assert not venue.raw.get("unavailable")
    oi_pages = [r for r in sim.requests if r.path == "/v5/market/open-interest"]
    assert len(oi_pages) == len(venue.open_interest_history) * -(-FINE_HISTORY.bars // 200)  # Bybit: 200 a page
    for symbol, rows in venue.open_interest_history.items():
        times = [r["timestamp"] for r in rows]
        assert len(times) == FINE_HISTORY.bars, symbol
        assert all(b - a == 300_000 for a, b in itertools.pairwise(times)), symbol
        assert venue.ohlcv[symbol].timeframe == "5m" and len(venue.ohlcv[symbol].rows) == FINE_HISTORY.bars
