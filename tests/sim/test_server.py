"""Server plumbing: loopback-only binding, admin fault endpoints, autoplay of the scenario path."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from riskguard.sim import Scenario, serve
from riskguard.sim.scenario import PathStep
from riskguard.sim.venues import get_dialect


async def test_serve_when_host_is_not_loopback_then_refuses() -> None:
    with pytest.raises(ValueError, match="loopback"):
        await serve("binanceusdm", host="0.0.0.0")


def test_get_dialect_when_venue_unknown_then_lists_known_ones() -> None:
    with pytest.raises(KeyError, match="binanceusdm"):
        get_dialect("mtgox")


async def test_admin_faults_when_armed_listed_and_cleared_then_state_follows(start_sim) -> None:
    sim = await start_sim("binanceusdm")
    async with aiohttp.ClientSession(sim.base_url) as session:
        async with session.post("/__sim/faults", json=[{"kind": "latency", "latency_ms": 5},
                                                       {"kind": "server_error", "status": 502}]) as r:
            assert [f["kind"] for f in (await r.json())["faults"]] == ["latency", "server_error"]
        async with session.get("/__sim/state") as r:  # admin paths are never faulted
            assert len((await r.json())["faults"]) == 2
        async with session.get("/fapi/v1/time") as r:
            assert r.status == 502
        async with session.post("/__sim/faults", json={"kind": "earthquake"}) as r:
            assert r.status == 400
        async with session.delete("/__sim/faults") as r:
            assert (await r.json())["faults"] == []
        async with session.get("/fapi/v1/time") as r:
            assert r.status == 200


async def test_admin_requests_when_read_then_each_request_with_its_answer_time_and_delete_clears(start_sim) -> None:
    sim = await start_sim("binanceusdm")
    async with aiohttp.ClientSession(sim.base_url) as session:
        for path in ("/fapi/v1/time", "/fapi/v1/ping"):
            async with session.get(path) as r:
                assert r.status == 200
        async with session.delete("/__sim/requests") as r:
            log = (await r.json())["requests"]
        async with session.get("/__sim/requests") as r:
            assert (await r.json())["requests"] == []
    assert [(q["method"], q["path"]) for q in log] == [("GET", "/fapi/v1/time"), ("GET", "/fapi/v1/ping")]
    first, second = log
    assert first["at_s"] <= first["answered_s"] <= second["at_s"] <= second["answered_s"]  # one after the other
    assert set(first) == {"at_s", "method", "path", "answered_s"}


async def test_serve_when_autoplay_then_path_applies_at_its_offsets() -> None:
    scenario = Scenario(path=(PathStep(at_s=0.05, marks={"BTCUSDT": 50_000.0}),))
    sim = await serve("binanceusdm", scenario=scenario, autoplay=True)
    try:
        assert sim.player.exchange.marks["BTCUSDT"] == 61_250.0
        for _ in range(50):
            await asyncio.sleep(0.02)
            if not sim.player.remaining:
                break
        assert sim.player.exchange.marks["BTCUSDT"] == 50_000.0
    finally:
        await sim.close()
