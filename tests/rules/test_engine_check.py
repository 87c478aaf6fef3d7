"""Policies in `riskguard check`: rule findings count in the exit code, the state and the plan are shown."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from riskguard.cli import main

EXAMPLE = Path(__file__).parents[2] / "config.example.yaml"


def _check(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["riskguard", "check", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, capsys.readouterr().out


def test_example_config_json_has_state_rules_and_reduce_only_plans(monkeypatch, capsys):
    code, out = _check(monkeypatch, capsys, "--config", str(EXAMPLE), "--format", "json")
    assert code == 2
    accounts = {a["name"]: a for a in json.loads(out)["accounts"]}
    bybit = accounts["paper-bybit"]
    assert bybit["trading_state"] == "halted"
    fired = {(r["rule"], r["symbol"]) for r in bybit["rules_fired"]}
    assert fired >= {("thin-buffer", "SOL/USDT:USDT"), ("doorstep", "SOL/USDT:USDT"), ("lopsided-leverage", None)}
    assert ("fragile-cross-pool", None) not in fired  # scoped to the cross venues
    codes = {f["code"] for p in bybit["positions"] for f in p["findings"]}
    assert {"RULE_WARNING", "RULE_BREACH"} <= codes
    plan = bybit["plan"]
    assert len(plan["content_hash"]) == 64 and plan["account"] == "bybit-isolated"
    assert [o["kind"] for o in plan["orders"]] == ["add_margin", "market"]
    assert all(o["reduce_only"] for o in plan["orders"])  # a HALTED account: reduce-only only
    assert plan["orders"][1]["side"] == "buy" and plan["orders"][1]["amount"] <= 800
    assert accounts["paper-hyperliquid"]["trading_state"] == "active"
    assert [r["rule"] for r in accounts["paper-hyperliquid"]["rules_fired"]] == ["stop-in-crowd"]


def test_plan_table_and_state_line(monkeypatch, capsys):
    code, out = _check(monkeypatch, capsys, "--config", str(EXAMPLE), "--account", "paper-bybit")
    assert code == 2
    state = next(line for line in out.splitlines() if "trading state:" in line)
    assert "HALTED (rules fired: doorstep, lopsided-leverage," in state and "thin-buffer" in state
    assert "plan (reduce-only, in execution order)" in out and "add_margin" in out


def test_rule_severity_decides_exit_code_and_unknown_metric_exits_3(tmp_path, monkeypatch, capsys):
    def config(rule: str) -> str:
        path = tmp_path / "c.yaml"
        path.write_text(
            "version: 2\npolicies:\n  default:\n    limits: {max_effective_leverage: 100, "
            "min_liquidation_buffer_pct: 0, warn_liquidation_buffer_pct: 0}\n"
            f"    rules:\n      - {rule}\n"
            "accounts:\n  hl: {snapshot: bundled:paper, snapshot_account: hyperliquid-cross}\n"
        )
        return str(path)
    quiet = "{name: r, metric: effective_leverage, op: above, threshold: 3.86, severity: breach}"
    assert _check(monkeypatch, capsys, "--config", config(quiet))[0] == 0  # 3.8502 is not above 3.86
    loud = "{name: r, metric: effective_leverage, op: above, threshold: 3.85, severity: breach}"
    assert _check(monkeypatch, capsys, "--config", config(loud))[0] == 2
    warn = "{name: r, metric: effective_leverage, op: above, threshold: 3.85, severity: warning}"
    assert _check(monkeypatch, capsys, "--config", config(warn))[0] == 1
    # Hyperliquid reports no auto-deleveraging rank: the metric is unknown, and an unknown is never OK
    unknown = "{name: r, metric: adl_rank, op: above, threshold: 3, severity: info}"
    code, out = _check(monkeypatch, capsys, "--config", config(unknown), "--format", "json")
    assert code == 3
    (account,) = json.loads(out)["accounts"]
    (finding,) = [f for p in account["positions"] for f in p["findings"] if f["code"] == "RULE_METRIC_UNKNOWN"]
    assert "NO_ADL_RANK" in finding["message"] and account["plan"] is None


def test_each_rules_strategies_act_on_the_positions_it_fired_for(monkeypatch, capsys):
    code, out = _check(monkeypatch, capsys, "--config", str(EXAMPLE), "--account", "paper-binance", "--format", "json")
    (account,) = json.loads(out)["accounts"]
    fired = {(r["rule"], r["symbol"]) for r in account["rules_fired"]}
    assert ("stop-in-crowd", "BTC/USDT:USDT") in fired and ("stop-in-crowd", "ETH/USDT:USDT") not in fired
    by_strategy = {}
    for o in account["plan"]["orders"]:
        by_strategy.setdefault(o["strategy"], set()).add(o["symbol"])
    assert by_strategy["staggered_stops"] == {"BTC/USDT:USDT"}  # ETH's stop is not in a band: left alone
    assert account["plan"]["strategies"] == ["staggered_stops", "close_worst_first"]  # policy order
    # each rule's plan part keeps its codes: the ladder's and the reduction's, in that order
    assert account["plan"]["reason_codes"] == ["PLAN_PLACES_STOPS", "PLAN_REDUCES_POSITION"]
    assert code == 1
