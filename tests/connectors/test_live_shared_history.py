"""Market history shared by the reads of many accounts (the daemon's ``SharedHistory``), against the emulator.

Per symbol, the history endpoints are asked once for every read that shares them; the mark, the book and the
current funding rate are asked by every read.  A failed or abandoned shared read is never handed on.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from riskguard.connectors.live import SharedHistory, fetch_snapshot
from riskguard.sim.faults import Fault, FaultKind
from tests.connectors.conftest import live_spec

HISTORY = ("/fapi/v1/klines", "/futures/data/openInterestHist", "/futures/data/globalLongShortAccountRatio",
           "/futures/data/takerlongshortRatio")
PER_READ = ("/fapi/v1/depth", "/fapi/v3/positionRisk")


async def fetch_snapshot_doc(spec, shared: SharedHistory):
    """The daemon's read: ``fetch_snapshot`` with a shared history; the document is what these tests look at."""
    doc, _ = await fetch_snapshot(spec, shared=shared)
    return doc


def _asked(sim) -> Counter[str]:
    return Counter(r.path for r in sim.requests)


def _history(doc):
    v = doc.venues["binanceusdm"]
    return (v.ohlcv, v.open_interest_history, v.long_short_ratio_history, v.taker_volume, v.funding_history)


async def test_reads_sharing_history_ask_its_endpoints_once_per_symbol(start_sim) -> None:
    sim = await start_sim("binanceusdm")
    shared = SharedHistory()
    docs = await asyncio.gather(*(fetch_snapshot_doc(live_spec("binanceusdm", sim), shared=shared) for _ in range(3)))
    symbols = len(docs[0].venues["binanceusdm"].tickers)
    asked = _asked(sim)
    assert symbols >= 2 and {p: asked[p] for p in HISTORY} == {p: symbols for p in HISTORY}
    assert asked["/fapi/v1/depth"] == 3 * symbols and asked["/fapi/v3/positionRisk"] == 3
    assert _history(docs[1]) == _history(docs[2]) == _history(docs[0])
    assert docs[0].venues["binanceusdm"].ohlcv  # a real history, not three empty ones
    sim.requests.clear()
    again = await fetch_snapshot_doc(live_spec("binanceusdm", sim), shared=shared)  # within max_age_s: reused
    assert not any(_asked(sim)[p] for p in HISTORY) and _asked(sim)["/fapi/v1/depth"] == symbols
    assert _history(again) == _history(docs[0])


async def test_shared_history_expires_after_max_age(start_sim) -> None:
    sim = await start_sim("binanceusdm")
    now = [1000.0]
    shared = SharedHistory(max_age_s=60.0, clock=lambda: now[0])
    await fetch_snapshot_doc(live_spec("binanceusdm", sim), shared=shared)
    symbols = _asked(sim)["/fapi/v1/klines"]
    now[0] += 60.0  # at the age limit: still shared
    await fetch_snapshot_doc(live_spec("binanceusdm", sim), shared=shared)
    assert _asked(sim)["/fapi/v1/klines"] == symbols
    now[0] += 0.001  # past it: read again
    await fetch_snapshot_doc(live_spec("binanceusdm", sim), shared=shared)
    assert _asked(sim)["/fapi/v1/klines"] == 2 * symbols


async def test_a_history_the_venue_could_not_give_is_not_kept(start_sim) -> None:
    """Candles that failed leave the read without them (said in ``raw.unavailable``); the next read asks again."""
    sim = await start_sim("binanceusdm")
    shared = SharedHistory()
    sim.player.faults.arm(Fault(FaultKind.SERVER_ERROR, path="/fapi/v1/klines", status=500, count=1000))
    first = await fetch_snapshot_doc(live_spec("binanceusdm", sim, timeout_s=1.0), shared=shared)
    assert first.venues["binanceusdm"].ohlcv == {}
    assert any("ohlcv" in line for line in first.venues["binanceusdm"].raw["unavailable"])
    sim.player.faults.clear()
    sim.requests.clear()
    again = await fetch_snapshot_doc(live_spec("binanceusdm", sim), shared=shared)
    assert _asked(sim)["/fapi/v1/klines"] >= 1 and again.venues["binanceusdm"].ohlcv
    assert "unavailable" not in again.venues["binanceusdm"].raw


async def test_an_abandoned_shared_read_is_read_again_by_the_reads_waiting_on_it(start_sim) -> None:
    """The read that fetches is cancelled (its deadline, a sibling read's failure): the read that joined it
    is not cancelled with it, and reads the history itself."""
    sim = await start_sim("binanceusdm")
    shared = SharedHistory()
    sim.player.faults.arm(Fault(FaultKind.LATENCY, path="/fapi/v1/klines", latency_ms=400, count=2))
    owner = asyncio.ensure_future(fetch_snapshot_doc(live_spec("binanceusdm", sim), shared=shared))
    while not any(r.path == "/fapi/v1/klines" for r in sim.requests):
        await asyncio.sleep(0.005)
    joiner = asyncio.ensure_future(fetch_snapshot_doc(live_spec("binanceusdm", sim), shared=shared))
    while sum(r.path == "/fapi/v1/depth" for r in sim.requests) < 2 * 2:  # the joiner is waiting on the history
        await asyncio.sleep(0.005)
    owner.cancel()
    doc = await joiner
    assert owner.cancelled() and doc.venues["binanceusdm"].ohlcv
