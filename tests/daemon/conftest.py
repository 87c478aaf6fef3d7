"""A running emulator and an in-process daemon over it, with helpers that wait on events (bounded), not on time."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from riskguard.config import load_config
from riskguard.daemon.rehearsal import REHEARSAL_POLICY, settle, streaming
from riskguard.daemon.runner import Daemon
from riskguard.daemon.worker import AccountWorker
from riskguard.execution.audit_store import AuditStore
from riskguard.sim import RunningSim, Scenario, serve
from riskguard.sim.faults import Fault
from riskguard.sim.scenario import load_scenario
from riskguard.sim.streams import HUB

DATA = Path(__file__).resolve().parents[2] / "riskguard" / "data"
SQUEEZE = DATA / "sim_short_squeeze.yaml"
BTC = "BTC/USDT:USDT"


def account_yaml(name: str, base_url: str, mode: str = "execute", extra: str = "") -> str:
    env = name.upper().replace("-", "_")
    return (f"  {name}:\n    venue: binanceusdm\n    endpoint: {base_url}\n    mode: {mode}\n"
            f"    credentials: {{api_key: \"${{RGT_{env}_KEY}}\", secret: \"${{RGT_{env}_SECRET}}\"}}\n{extra}")


@dataclass
class Rig:
    sim: RunningSim
    daemon: Daemon
    task: asyncio.Task[None]
    audit_db: Path
    config: Path

    @property
    def exchange(self) -> Any:
        return self.sim.player.exchange

    def worker(self, name: str = "guarded") -> AccountWorker:
        return self.daemon.workers[name]

    def store(self) -> AuditStore:
        return AuditStore(self.audit_db)

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        import aiohttp

        async with aiohttp.ClientSession() as s, s.request(method, self.sim.base_url + path, json=body) as r:
            return await r.json()

    async def step(self, name: str = "guarded") -> float:
        """Next path step, pushed on the streams; returns the new BTC mark."""
        self.sim.player.step()
        await self.sim.app[HUB].publish()
        return self.exchange.marks["BTCUSDT"]

    async def settle(self, mark: float, name: str = "guarded") -> None:
        await settle(self.worker(name), BTC, mark)

    def emulator_orders(self, api_key: str = "guarded-key") -> list[Any]:
        return list(self.exchange.accounts[api_key].orders.values())

    async def stop(self) -> None:
        self.daemon.stop.set()
        await self.task


async def until(check: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    async def wait() -> None:
        while not check():
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(wait(), timeout_s)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


StartRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def start_rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[StartRig]:
    rigs: list[Rig] = []

    async def start(scenario: Scenario | Path = SQUEEZE, accounts: dict[str, str] | None = None,
                    execute: bool = True, daemon_yaml: str = "", policy: str = REHEARSAL_POLICY,
                    wait_streams: bool = True, before_start: Callable[[Any], Any] | None = None,
                    faults: Sequence[Fault] = (), account_extra: str = "") -> Rig:
        """``accounts``: config name → mode; each uses the scenario account ``<name>-key``.  ``faults`` are armed
        on the emulator before the daemon starts; ``account_extra``: YAML lines added to every account."""
        scen = load_scenario(scenario) if isinstance(scenario, Path) else scenario
        sim = await serve("binanceusdm", scenario=scen)
        for fault in faults:
            sim.player.faults.arm(fault)
        if before_start is not None:
            before_start(sim.player.exchange)
            await sim.app[HUB].publish()
        accounts = accounts or {"guarded": "execute"}
        for name in accounts:
            spec = next(a for a in sim.player.scenario.accounts if a.api_key == f"{name}-key")
            env = name.upper().replace("-", "_")
            monkeypatch.setenv(f"RGT_{env}_KEY", spec.api_key)
            monkeypatch.setenv(f"RGT_{env}_SECRET", spec.secret)
        audit_db = tmp_path / "audit.sqlite3"
        monkeypatch.delenv("RISKGUARD_AUDIT_DB", raising=False)
        text = (f"version: 2\ndefaults: {{policy: guard}}\n{policy}accounts:\n"
                + "".join(account_yaml(n, sim.base_url, m, account_extra) for n, m in accounts.items())
                + f"daemon:\n  audit_db: {audit_db}\n" + daemon_yaml)
        config = tmp_path / "config.yaml"
        config.write_text(text)
        daemon = Daemon(load_config(config), execute=execute)
        task = asyncio.create_task(daemon.run())
        rig = Rig(sim, daemon, task, audit_db, config)
        rigs.append(rig)
        await asyncio.wait_for(daemon.ready.wait(), 30)
        for name in accounts:
            await until(lambda n=name: daemon.workers[n].idle.is_set() and daemon.workers[n].steps > 0,
                        what=f"{name}'s first evaluation")
        if wait_streams:
            await streaming(sim.app[HUB], "BTCUSDT")
        return rig

    yield start
    for rig in rigs:
        if not rig.task.done():
            await rig.stop()
        await rig.sim.close()
    os.environ.pop("RISKGUARD_AUDIT_DB", None)
