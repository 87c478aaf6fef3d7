"""Fixtures: an in-process emulator on a free loopback port, and real ccxt clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from riskguard.sim import RunningSim, Scenario, ccxt_config, serve
from riskguard.sim.engine import AccountSpec

StartSim = Callable[..., Awaitable[RunningSim]]
Connect = Callable[..., ccxt_async.Exchange]


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """``await start_sim(venue, scenario=None)`` → a running emulator, closed after the test."""
    running: list[RunningSim] = []

    async def start(venue: str, scenario: Scenario | None = None) -> RunningSim:
        sim = await serve(venue, scenario=scenario)
        running.append(sim)
        return sim

    yield start
    for sim in running:
        await sim.close()


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """``connect(venue, sim, account=None, **config)`` → a ccxt async client for ``sim``'s first account."""
    clients: list[ccxt_async.Exchange] = []

    def make(venue: str, sim: RunningSim, account: AccountSpec | None = None, **config: Any) -> ccxt_async.Exchange:
        spec = account or sim.player.scenario.accounts[0]
        settings = {**ccxt_config(venue, sim.base_url, spec), "timeout": 3000, "enableRateLimit": False}
        client = getattr(ccxt_async, venue)({**settings, **config})
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
