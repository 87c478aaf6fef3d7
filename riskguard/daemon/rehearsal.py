"""A cascade rehearsed on the emulator: the same position with and without the daemon (docs/daemon.md).

``python -m riskguard.daemon.rehearsal [short-squeeze|long-flush]`` starts the Binance USDⓈ-M emulator with the
shipped scenario (``riskguard/data/sim_short_squeeze.yaml`` or ``sim_long_flush.yaml``), runs the daemon
in-process with ``--execute`` on the ``guarded`` account only (``naked`` is not configured: nobody watches
it), walks the mark path step by step (each step once the daemon has settled on the previous one, so the run
is deterministic and takes seconds instead of an hour), and prints the accounts before and after.

Everything the daemon does goes through its real path: the websocket mark stream, full REST reads, the policy
in ``REHEARSAL_POLICY``, the executor and the audit store (a temporary file).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskguard.sim.scenario import load_scenario

DATA = Path(__file__).resolve().parent.parent / "data"
SCENARIOS = {"short-squeeze": DATA / "sim_short_squeeze.yaml", "long-flush": DATA / "sim_long_flush.yaml"}
REHEARSAL_POLICY = """\
policies:
  guard:
    rules:
      - name: thin-buffer
        metric: liquidation_buffer_pct
        op: below
        threshold: 3
        release: 5
        severity: breach
        state: reducing
        actions:
          - strategy: reduce_size
            params: {target: buffer_pct, value: 6}
"""


def rehearsal_config(base_url: str, audit_db: str, key_env: str = "RG_REHEARSAL_KEY",
                     secret_env: str = "RG_REHEARSAL_SECRET", extra: str = "") -> str:
    """The config the rehearsal runs: the guarded account only, in execute mode."""
    return f"""version: 2
defaults: {{policy: guard, mode: execute}}
{REHEARSAL_POLICY}accounts:
  guarded:
    venue: binanceusdm
    endpoint: {base_url}
    credentials: {{api_key: "${{{key_env}}}", secret: "${{{secret_env}}}"}}
daemon:
  poll_s: 5
  stale_s: 30
  audit_db: {audit_db}
  kill_switch: {{max_orders_per_minute: 20}}
{extra}"""


@dataclass(frozen=True)
class Row:
    account: str
    guarded: bool
    before: float
    liquidation_before: float | None
    after: float
    wallet_after: float
    liquidated_at: float | None


async def settle(worker: Any, symbol: str, mark: float, timeout_s: float = 20.0) -> None:
    """Wait until the worker has seen ``mark`` on its stream and has nothing left to do."""

    async def done() -> None:
        while not (worker.marks_seen.get(symbol) == mark and worker.idle.is_set()):
            await asyncio.sleep(0.005)

    await asyncio.wait_for(done(), timeout_s)


async def streaming(hub: Any, symbol: str, timeout_s: float = 20.0) -> None:
    """Wait until a client listens to ``symbol``'s marks and one holds the user-data stream."""

    async def done() -> None:
        while not (any(symbol in s.symbols for s in hub.subscribers)
                   and any(s.channel == "private" for s in hub.subscribers)):
            await asyncio.sleep(0.005)

    await asyncio.wait_for(done(), timeout_s)


async def rehearse(name: str, out: Any = None) -> list[Row]:
    from riskguard.config import load_config
    from riskguard.daemon.runner import Daemon
    from riskguard.sim import serve
    from riskguard.sim.streams import HUB

    scenario = load_scenario(SCENARIOS[name])
    sim = await serve("binanceusdm", scenario=scenario)
    exchange = sim.player.exchange
    guarded = next(a for a in scenario.accounts if a.api_key.startswith("guarded"))
    tmp = tempfile.mkdtemp(prefix="riskguard-rehearsal-")
    os.environ["RG_REHEARSAL_KEY"], os.environ["RG_REHEARSAL_SECRET"] = guarded.api_key, guarded.secret
    path = Path(tmp) / "config.yaml"
    path.write_text(rehearsal_config(sim.base_url, str(Path(tmp) / "audit.sqlite3")))
    before = {k: (sum(p.size for p in a.positions.values()),
                  next((exchange.liquidation_price(a, p) for p in a.positions.values()), None))
              for k, a in exchange.accounts.items()}
    daemon = Daemon(load_config(path), execute=True)
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 30)
        worker = daemon.workers["guarded"]
        await asyncio.wait_for(worker.idle.wait(), 30)
        await streaming(sim.app[HUB], "BTCUSDT")
        while sim.player.remaining:
            sim.player.step()
            await sim.app[HUB].publish()
            await settle(worker, "BTC/USDT:USDT", exchange.marks["BTCUSDT"])
    finally:
        daemon.stop.set()
        await task
        await sim.close()
    liquidated = {e.api_key: e.price for e in exchange.liquidations}
    rows = [Row(k.split("-")[0], k == guarded.api_key, before[k][0], before[k][1],
                sum(p.size for p in a.positions.values()), a.balances.get("USDT", 0.0), liquidated.get(k))
            for k, a in exchange.accounts.items() if k in before and before[k][0]]
    if out is not None:
        _render(name, rows, exchange.marks["BTCUSDT"], out)
    return rows


def _render(name: str, rows: list[Row], final_mark: float, out: Any) -> None:
    from rich.table import Table

    table = Table(title=f"{name}: BTC mark path ends at {final_mark:,.0f}")
    for column in ("account", "daemon", "position before", "liq. before", "position after", "wallet after",
                   "outcome"):
        table.add_column(column, justify="right" if column not in ("account", "outcome") else "left")
    for r in rows:
        outcome = (f"LIQUIDATED at {r.liquidated_at:,.0f}" if r.liquidated_at is not None
                   else ("survived, reduced" if r.after else "survived, closed in time"))
        table.add_row(r.account, "yes" if r.guarded else "no", f"{r.before:+g} BTC",
                      f"{r.liquidation_before:,.0f}" if r.liquidation_before else "-", f"{r.after:+g} BTC",
                      f"{r.wallet_after:,.2f} USDT", outcome)
    out.print(table)


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    args = sys.argv[1:] if argv is None else argv
    names = args or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown rehearsal {unknown[0]!r}; have: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 3
    console = Console(width=120)
    for name in names:
        asyncio.run(rehearse(name, console))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
