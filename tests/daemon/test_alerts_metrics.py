"""Alerts (apprise, rate-limited), Prometheus metrics, kill-switch trips, and secrets in none of them."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from riskguard.alerts import Alerter, AlertKind
from riskguard.connectors.redact import remember_secret
from riskguard.sim.scenario import load_scenario
from tests.daemon.conftest import SQUEEZE, StartRig

SECRET = "Zq81-distinctive-SECRET-77x"


async def test_rate_limit_holds_back_a_cascade_and_counts_it() -> None:
    now = [0.0]
    alerter = Alerter([], min_interval_s=60, burst=2, clock=lambda: now[0])
    sent = [await alerter.alert("a", AlertKind.ACTION, f"cut {i}") for i in range(5)]
    assert sent == [True, True, False, False, False]
    assert await alerter.alert("b", AlertKind.ACTION, "other account has its own budget")
    assert await alerter.alert("a", AlertKind.FAILURE, "other kind has its own budget")
    now[0] += 30  # half a token
    assert not await alerter.alert("a", AlertKind.ACTION, "still held")
    now[0] += 30
    assert await alerter.alert("a", AlertKind.ACTION, "cut 6")
    assert alerter.sent[-1][1] == "cut 6 (4 similar alert(s) held back)"
    assert alerter.suppressed == 4


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback HTTP endpoint for apprise's json:// notifications."""
    got: list[dict[str, Any]] = []

    async def take(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.json_response({})

    app = web.Application()
    app.add_routes([web.post("/{tail:.*}", take)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"json://127.0.0.1:{runner.addresses[0][1]}/hook", got
    await runner.cleanup()


async def test_cascade_trips_the_kill_switch_alerts_and_metrics_leak_no_secret(
        start_rig: StartRig, receiver: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    url, got = receiver
    monkeypatch.setenv("RGT_ALERT_URL", url)
    scenario = load_scenario(SQUEEZE)
    scenario = dataclasses.replace(scenario, accounts=tuple(
        dataclasses.replace(a, secret=SECRET) if a.api_key == "guarded-key" else a for a in scenario.accounts))
    remember_secret(SECRET)
    caplog.set_level(logging.DEBUG)
    rig = await start_rig(scenario, daemon_yaml=(
        "  kill_switch: {max_orders_per_minute: 1}\n"
        "  alerts: {urls: ['${RGT_ALERT_URL}'], min_interval_s: 0, burst: 5}\n"
        "  metrics: {port: 0}\n"))
    while rig.sim.player.remaining:
        await rig.settle(await rig.step())
    assert rig.daemon.metrics_url is not None
    async with aiohttp.ClientSession() as s, s.get(rig.daemon.metrics_url + "/metrics") as r:
        metrics = await r.text()
    await rig.stop()
    # One order went out; the next plan was refused by the kill switch: audited, alerted, in the metrics.
    assert len(rig.emulator_orders()) == 1
    with rig.store() as store:
        trips = [e for e in store.events(kinds=("state",)) if e.data.get("kill_switch")]
        stored = "\n".join(store.dump_text())
    assert len(trips) == 1 and "max_orders_per_minute=1" in trips[0].message
    titles = [g["title"] for g in got]
    assert "riskguard kill_switch: guarded" in titles and "riskguard action: guarded" in titles
    assert 'riskguard_kill_switch_tripped{account="guarded"} 1.0' in metrics
    assert 'riskguard_account_state{account="guarded",state="reducing"} 1.0' in metrics
    assert 'riskguard_actions_total{account="guarded",outcome="filled"} 1.0' in metrics
    assert 'riskguard_position_buffer_pct{account="guarded",side="short",symbol="BTC/USDT:USDT"}' in metrics
    assert "riskguard_data_age_seconds" in metrics
    # The secret is in none of what leaves the daemon.
    everything = [stored, metrics, caplog.text, *(g["message"] + g["title"] for g in got)]
    assert all(SECRET not in text for text in everything)
