"""Fixtures: emulators with the test credentials, an audit store in the test's directory, a recording sleep."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from exec_support import ENV, scenario_for

from riskguard.execution.audit_store import AuditStore
from riskguard.sim import RunningSim, Scenario, serve

StartSim = Callable[..., Awaitable[RunningSim]]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RISKGUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RISKGUARD_AUDIT_DB", raising=False)
    for var, value in ENV.items():
        monkeypatch.setenv(var, value)


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    running: list[RunningSim] = []

    async def start(venue: str, scenario: Scenario | None = None) -> RunningSim:
        sim = await serve(venue, scenario=scenario or scenario_for(venue))
        running.append(sim)
        return sim

    yield start
    for sim in running:
        await sim.close()


@pytest.fixture
def store(tmp_path: Path) -> AuditStore:
    return AuditStore(tmp_path / "audit.sqlite3")


class Sleeps:
    """Stands in for ``asyncio.sleep`` in the executor: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
