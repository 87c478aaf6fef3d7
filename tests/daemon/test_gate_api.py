"""The gate over local HTTP from the daemon's live state, and ``riskguard check --order … --via URL``."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import aiohttp
from typer.testing import CliRunner

from riskguard.cli import app
from riskguard.sim.engine import AccountSpec, PositionSpec
from riskguard.sim.faults import Fault, FaultKind
from riskguard.sim.scenario import Scenario
from tests.daemon.conftest import StartRig

GATE = "  gate: {port: 0}\n"
# Buffer 2.4 % at 119,500: the thin-buffer rule fires, state reducing.
THIN = Scenario(marks={"BTCUSDT": 119_500.0}, accounts=(
    AccountSpec("guarded-key", "guarded-secret", {"USDT": 5000.0},
                positions=(PositionSpec("BTCUSDT", -1.0, 118_000.0, 50.0),)),))


async def _post(url: str, body: object) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s, s.post(url + "/v1/gate", json=body) as r:
        return r.status, await r.json()


async def test_gate_refuses_growing_a_reduced_position_and_passes_a_small_reduction(start_rig: StartRig) -> None:
    rig = await start_rig(THIN, accounts={"guarded": "recommend"}, daemon_yaml=GATE, wait_streams=False)
    assert rig.worker().live.state == "reducing"
    url = rig.daemon.gate_url
    assert url is not None and url.startswith("http://127.0.0.1:")
    status, grow = await _post(url, {"order": "guarded BTC/USDT:USDT sell 0.1"})
    assert status == 200 and grow["exit_code"] == 2
    assert [f["code"] for f in grow["findings"]] == ["ORDER_REFUSED_REDUCING"]
    _, cut = await _post(url, {"order": "guarded BTC/USDT:USDT buy 0.9"})
    assert cut["exit_code"] == 0
    status, bad = await _post(url, {"order": "guarded BTC/USDT:USDT hold 1"})
    assert status == 400 and bad["exit_code"] == 3 and "side must be buy or sell" in bad["error"]
    status, nobody = await _post(url, {"order": "ghost BTC/USDT:USDT buy 1"})
    assert status == 400 and "no account named 'ghost'" in nobody["error"]
    async with aiohttp.ClientSession() as s, s.get(url + "/v1/health") as r:
        health = await r.json()
    assert health["accounts"]["guarded"]["state"] == "reducing"
    async with aiohttp.ClientSession() as s, s.get(url + "/v1/size", params={
            "account": "guarded", "symbol": "BTC/USDT:USDT", "side": "buy"}) as r:
        size = await r.json()
    # A small buy still leaves the buffer under 3 %: the largest amount passing from the bottom of the grid is 0,
    # and the rule that binds is named.
    assert size["exit_code"] == 0 and size["amount"] == 0 and "thin-buffer" in size["binding_rule"]
    # The CLI asks the running daemon (in a thread: the daemon answers on this loop).
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, app, ["check", "--order", "guarded BTC/USDT:USDT sell 0.1",
                                                          "--via", url, "--format", "json"])
    assert result.exit_code == 2, result.output
    assert json.loads(result.output)["findings"][0]["code"] == "ORDER_REFUSED_REDUCING"
    # The same order gated directly (a venue read) gets the same answer.
    direct = await asyncio.to_thread(runner.invoke, app, ["check", "--order", "guarded BTC/USDT:USDT sell 0.1",
                                                          "--config", str(rig.config), "--format", "json"])
    assert direct.exit_code == 2, direct.output


async def test_an_unknown_account_answers_exit_3(start_rig: StartRig) -> None:
    failing = dataclasses.replace(THIN, faults=(Fault(kind=FaultKind.SERVER_ERROR, path="*positionRisk*"),))
    rig = await start_rig(failing, accounts={"guarded": "recommend"}, daemon_yaml=GATE, wait_streams=False)
    assert rig.worker().live.state == "unknown"
    _, answer = await _post(rig.daemon.gate_url or "", {"order": "guarded BTC/USDT:USDT buy 0.1"})
    assert answer["exit_code"] == 3 and "UNKNOWN" in answer["error"]


def test_via_without_a_daemon_is_exit_3() -> None:
    result = CliRunner().invoke(app, ["check", "--order", "a BTC/USDT:USDT buy 1", "--via", "http://127.0.0.1:9"])
    assert result.exit_code == 3
    assert "cannot be reached" in result.output
    result = CliRunner().invoke(app, ["check", "--via", "http://127.0.0.1:9"])
    assert result.exit_code == 3 and "--via goes with --order" in result.output


def test_via_with_a_malformed_order_names_the_order_before_any_request() -> None:
    result = CliRunner().invoke(app, ["check", "--order", "buy 1 BTC/USDT:USDT", "--via", "http://127.0.0.1:9"])
    assert result.exit_code == 3
    assert "malformed order 'buy 1 BTC/USDT:USDT': 3 word(s), need at least 4" in result.output
    assert "cannot be reached" not in result.output
