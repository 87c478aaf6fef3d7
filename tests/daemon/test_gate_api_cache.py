"""The gate API keeps one gate per account for as long as the worker's live read is the same; a new read gets a
new gate, and an UNKNOWN state answers exit 3 whatever is kept (fail closed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from riskguard.config import load_config
from riskguard.connectors.source import Loaded, load_accounts
from riskguard.daemon.gate_api import GATES, build_gate_app
from riskguard.daemon.worker import UNKNOWN, LiveState

EXAMPLE = Path(__file__).parents[2] / "config.example.yaml"
ORDER = {"order": "paper-hyperliquid ETH/USDC:USDC buy 0.5"}


def _read() -> Loaded:
    (loaded,) = load_accounts(load_config(EXAMPLE).select("paper-hyperliquid"))
    assert loaded.error is None and loaded.account is not None
    return loaded


@pytest.fixture
async def served() -> AsyncIterator[tuple[TestClient, Any, Any]]:
    loaded = _read()
    worker = SimpleNamespace(name="paper-hyperliquid", spec=loaded.spec, kill=SimpleNamespace(tripped=False),
                             stream_healthy=True, live=LiveState(loaded, None, "active", 1))
    app = build_gate_app({"paper-hyperliquid": worker})  # type: ignore[dict-item]
    async with TestClient(TestServer(app)) as client:
        yield client, app, worker


async def _gate(client: TestClient) -> dict:
    r = await client.post("/v1/gate", json=ORDER)
    assert r.status == 200
    return await r.json()


async def test_one_gate_serves_every_order_on_the_same_read(served) -> None:
    client, app, worker = served
    first = await _gate(client)
    (held_read, gate) = app[GATES]["paper-hyperliquid"]
    assert held_read is worker.live.loaded and first["exit_code"] == 0
    second = await _gate(client)
    first.pop("data_age_s"), second.pop("data_age_s")  # the clock moved between the two
    assert app[GATES]["paper-hyperliquid"][1] is gate and second == first
    r = await client.get("/v1/size", params={"account": "paper-hyperliquid", "symbol": "ETH/USDC:USDC", "side": "buy"})
    assert r.status == 200 and app[GATES]["paper-hyperliquid"][1] is gate


async def test_a_new_read_is_gated_from_the_new_account(served) -> None:
    client, app, worker = served
    before = await _gate(client)
    old_gate = app[GATES]["paper-hyperliquid"][1]
    loaded = worker.live.loaded
    eth = loaded.account.positions[0]
    grown = replace(loaded.account, positions=(replace(eth, contracts=eth.contracts + 1.0),
                                               *loaded.account.positions[1:]))
    worker.live.loaded = Loaded(loaded.spec, loaded.snapshot, grown, None)
    after = await _gate(client)
    assert app[GATES]["paper-hyperliquid"][1] is not old_gate
    assert after["position_after"]["contracts"] == pytest.approx(before["position_after"]["contracts"] + 1.0)


async def test_unknown_state_answers_exit_3_even_with_a_gate_kept(served) -> None:
    client, app, worker = served
    await _gate(client)
    assert "paper-hyperliquid" in app[GATES]
    worker.live.state = UNKNOWN
    answer = await _gate(client)
    assert answer["exit_code"] == 3 and "UNKNOWN" in answer["error"]
    r = await client.get("/v1/size", params={"account": "paper-hyperliquid", "symbol": "ETH/USDC:USDC", "side": "buy"})
    assert (await r.json())["exit_code"] == 3
    # a failed read replaces the live read: no snapshot, no gate, exit 3 even if the state string lags behind
    worker.live.state = "active"
    worker.live.loaded = Loaded(worker.live.loaded.spec, None, None, RuntimeError("read failed"))  # type: ignore[arg-type]
    answer = await _gate(client)
    assert answer["exit_code"] == 3
