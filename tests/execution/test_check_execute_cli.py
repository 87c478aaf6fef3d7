"""`riskguard check --execute` and `riskguard log` end to end on an emulator: both switches or nothing is sent."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from exec_support import SECRETS, scenario_for

from riskguard.cli import main
from riskguard.sim import serve
from riskguard.sim.engine import OrderStatus

CONFIG = """\
version: 2
audit_db: {db}
policies:
  guard:
    limits: {{max_effective_leverage: 100, min_liquidation_buffer_pct: 0, warn_liquidation_buffer_pct: 0}}
    rules:
      - name: thin-buffer
        metric: liquidation_buffer_pct
        op: below
        threshold: 5
        severity: warning
        actions:
          - strategy: reduce_size
            params: {{target: buffer_pct, value: 5}}
accounts:
  rehearsal:
    venue: binanceusdm
    endpoint: {endpoint}
    credentials: {{api_key: "${{RGX_KEY}}", secret: "${{RGX_SECRET}}"}}
    policy: guard
    mode: {mode}
"""


@pytest.fixture
def threaded_sim() -> Iterator:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    sim = asyncio.run_coroutine_threadsafe(serve("binanceusdm", scenario=scenario_for("binanceusdm")), loop).result(30)
    yield sim
    asyncio.run_coroutine_threadsafe(sim.close(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)
    loop.close()


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["riskguard", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def orders_sent(sim) -> list:
    account = sim.player.exchange.accounts[sim.player.scenario.accounts[0].api_key]
    return list(account.orders.values())


def write_config(tmp_path: Path, sim, mode: str) -> Path:
    path = tmp_path / f"{mode}.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "audit.sqlite3", endpoint=sim.base_url, mode=mode))
    return path


@pytest.mark.parametrize(("mode", "flag"), [("recommend", True), ("execute", False), ("recommend", False)])
def test_nothing_is_sent_unless_mode_and_flag_both_say_so(threaded_sim, tmp_path, monkeypatch, capsys, mode,
                                                          flag) -> None:
    config = write_config(tmp_path, threaded_sim, mode)
    code, out, err = cli(monkeypatch, capsys, "check", "--config", str(config), *(["--execute"] if flag else []))
    assert code == 1  # the rule's warning; the plan is shown, not sent
    assert "plan (reduce-only, in execution order)" in out
    order_requests = [r for r in threaded_sim.requests if r.path.endswith(("/order", "/algoOrder"))]
    assert order_requests == [] and orders_sent(threaded_sim) == []
    if flag:
        assert "rehearsal: recommend: mode recommend: would send 1 order(s), sent none" in err


def test_check_execute_sends_the_plan_once_and_log_shows_it(threaded_sim, tmp_path, monkeypatch, capsys) -> None:
    config = write_config(tmp_path, threaded_sim, "execute")
    before = threaded_sim.player.exchange.accounts[threaded_sim.player.scenario.accounts[0].api_key]
    size_before = before.positions[("SOLUSDT", "both")].size
    code, out, err = cli(monkeypatch, capsys, "check", "--config", str(config), "--execute")
    assert code == 1, err
    assert "rehearsal: executed: 1/1 order(s) done, verified" in err
    [placed] = orders_sent(threaded_sim)
    assert (placed.side, placed.reduce_only, placed.status) == ("sell", True, OrderStatus.FILLED)
    left = before.positions.get(("SOLUSDT", "both"))
    assert (left.size if left else 0.0) == pytest.approx(size_before - placed.amount)
    assert 0 < placed.amount <= size_before

    code, out, _ = cli(monkeypatch, capsys, "log", "--db", str(tmp_path / "audit.sqlite3"), "--format", "json",
                       "--account", "rehearsal", "--since", "1h")
    assert code == 0
    doc = json.loads(out)
    kinds = [e["kind"] for e in doc["events"]]
    assert doc["schema"] == "riskguard.log/1"
    assert kinds[:2] == ["evaluation", "finding"] and "plan" in kinds
    assert kinds.index("intent") < kinds.index("request") < kinds.index("response") < kinds.index("verify")
    intent = next(e for e in doc["events"] if e["kind"] == "intent")
    assert intent["client_order_id"] == placed.client_id and intent["symbol"] == "SOL/USDT:USDT"
    assert not any(s.lower() in out.lower() for s in SECRETS)

    code, out, _ = cli(monkeypatch, capsys, "log", "--db", str(tmp_path / "audit.sqlite3"), "--since",
                       "2999-01-01T00:00:00Z", "--format", "json")
    assert (code, json.loads(out)["events"]) == (0, [])
    code, _, err = cli(monkeypatch, capsys, "log", "--db", str(tmp_path / "audit.sqlite3"), "--since", "yesterday")
    assert code == 3 and "--since: 'yesterday' is neither a duration" in err


def test_an_unknown_evaluation_is_never_executed(threaded_sim, tmp_path, monkeypatch, capsys) -> None:
    """Stale marks make the account UNKNOWN (exit 3): no plan is made from them, so nothing is sent, even with
    both switches."""
    from riskguard.sim.faults import Fault, FaultKind

    config = write_config(tmp_path, threaded_sim, "execute")
    threaded_sim.player.faults.arm(Fault(kind=FaultKind.STALE_TIMESTAMPS, stale_ms=3_600_000))
    code, out, _ = cli(monkeypatch, capsys, "check", "--config", str(config), "--execute")
    assert code == 3 and "overall: UNKNOWN" in out
    assert "plan (reduce-only, in execution order)" not in out  # fail closed: no plan from stale data
    assert orders_sent(threaded_sim) == []
    assert [r for r in threaded_sim.requests if r.method == "POST"] == []
