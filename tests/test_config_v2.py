"""Config schema v2: named policies with extends, defaults, modes; each error class names file:line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from riskguard.cli import main
from riskguard.config import load_config
from riskguard.errors import ConfigError

BASE = """\
version: 2
defaults:
  policy: standard
policies:
  standard:
    limits: {max_effective_leverage: 15, min_liquidation_buffer_pct: 5}
    rules:
      - name: thin-buffer
        metric: liquidation_buffer_pct
        op: below
        threshold: 8
        release: 10
        severity: warning
        state: reducing
        actions:
          - strategy: alert_only
  careful:
    extends: standard
    limits: {max_effective_leverage: 5}
    rules:
      - name: thin-buffer
        metric: liquidation_buffer_pct
        op: below
        threshold: 12
        severity: breach
      - name: lopsided
        metric: leverage_asymmetry
        op: above
        threshold: 3
accounts:
  a:
    snapshot: bundled:paper
    snapshot_account: binance-cross
  b:
    snapshot: bundled:paper
    snapshot_account: bybit-isolated
    policy: careful
    mode: execute
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def _run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["riskguard", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def test_extends_merges_limits_by_field_and_rules_by_name(tmp_path):
    config = load_config(_write(tmp_path, BASE))
    a, b = config.accounts["a"], config.accounts["b"]
    assert (a.policy_name, a.mode, a.policy.max_effective_leverage) == ("standard", "recommend", 15.0)
    assert (b.policy_name, b.mode) == ("careful", "execute")
    assert b.policy.max_effective_leverage == 5.0
    assert b.policy.min_liquidation_buffer_pct == 5.0  # inherited field
    assert [r.name for r in b.rules] == ["thin-buffer", "lopsided"]
    assert (b.rules[0].threshold, b.rules[0].severity, b.rules[0].release) == (12.0, "breach", None)
    assert [r.name for r in a.rules] == ["thin-buffer"] and a.rules[0].threshold == 8.0


def test_v1_file_keeps_loading_and_maps_execute_to_mode(tmp_path):
    path = _write(tmp_path, """\
        policy: {max_effective_leverage: 7}
        accounts:
          a: {snapshot: bundled:paper, snapshot_account: binance-cross, execute: true, policy: {max_data_age_s: 60}}
        """)
    spec = load_config(path).accounts["a"]
    assert (spec.mode, spec.policy_name, spec.rules) == ("execute", "default", ())
    assert (spec.policy.max_effective_leverage, spec.policy.max_data_age_s) == (7.0, 60.0)


def test_v1_file_with_v2_sections_gets_a_migration_message(tmp_path):
    path = _write(tmp_path, "policies: {}\naccounts: {a: {snapshot: bundled:paper}}\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert exc.value.where == f"{path}:1 (policies)"
    assert "add 'version: 2'" in exc.value.message and "Migrating from version 1" in exc.value.message


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("        threshold: 8\n", "        treshold: 8\n", 11, "unknown key 'treshold' (did you mean 'threshold'?)"),
        ("        threshold: 8\n", "        threshold: eight\n", 11, "Input should be a valid number, got 'eight'"),
        ("        threshold: 8\n", '        threshold: "8"\n', 11, "Input should be a valid number, got '8'"),
        ("metric: liquidation_buffer_pct\n        op: below\n        threshold: 8\n",
         "metric: liquidation_bufer_pct\n        op: below\n        threshold: 8\n", 9,
         "unknown metric 'liquidation_bufer_pct' (did you mean 'liquidation_buffer_pct'?)"),
        ("        op: below\n        threshold: 8\n", "        op: bellow\n        threshold: 8\n", 10,
         "'bellow' is not one of below, at_or_below, above, at_or_above (did you mean 'below'?)"),
        ("    mode: execute\n", "    mode: exec\n", 38, "Input should be 'recommend' or 'execute', got 'exec'"),
        ("    policy: careful\n", "    policy: carefull\n", 37,
         "no policy named 'carefull' (did you mean 'careful'?)"),
        ("    extends: standard\n", "    extends: standrd\n", 18,
         "extends unknown policy 'standrd' (did you mean 'standard'?)"),
        ("        release: 10\n", "        release: 6\n", 8, "release 6 must be at or above the threshold 8"),
        ("    limits: {max_effective_leverage: 5}\n", "    limits: {max_efective_leverage: 5}\n", 19,
         "unknown key 'max_efective_leverage' (did you mean 'max_effective_leverage'?)"),
        ("          - strategy: alert_only\n", "          - strategy: reduce_sise\n", 16,
         "unknown strategy 'reduce_sise'; did you mean 'reduce_size'?"),
        ("          - strategy: alert_only\n", "          - {strategy: reduce_size, params: {target: buffer_pct}}\n",
         16, "strategy 'reduce_size' parameter value: Field required"),
    ],
)
def test_bad_input_names_file_line_and_nearest_key(tmp_path, monkeypatch, capsys, old, new, line, message):
    assert old in BASE
    path = _write(tmp_path, BASE.replace(old, new, 1))
    code, _, err = _run(monkeypatch, capsys, "config", "validate", str(path))
    assert code == 3
    assert f"{path}:{line}" in err and message in err, err
    assert "Traceback" not in err


def test_cycle_in_extends_names_the_cycle(tmp_path, monkeypatch, capsys):
    text = BASE.replace("  standard:\n    limits", "  standard:\n    extends: careful\n    limits", 1)
    path = _write(tmp_path, text)
    code, _, err = _run(monkeypatch, capsys, "config", "validate", str(path))
    assert code == 3
    assert "policy inheritance cycle: standard → careful → standard" in err
    assert f"{path}:6 (policies.standard.extends)" in err


def test_missing_credential_variable_is_reported_by_validate(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RG_TEST_KEY", raising=False)
    creds = '{api_key: "${RG_TEST_KEY}", secret: "${RG_TEST_KEY}"}'
    text = BASE + f"  live:\n    venue: binanceusdm\n    credentials: {creds}\n"
    path = _write(tmp_path, text)
    code, _, err = _run(monkeypatch, capsys, "config", "validate", str(path))
    assert code == 3
    assert "environment variable RG_TEST_KEY (credentials.api_key) is not set" in err
    assert f"{path}:39 (accounts.live)" in err
    monkeypatch.setenv("RG_TEST_KEY", "s3cr3t-value")
    code, out, _ = _run(monkeypatch, capsys, "config", "validate", str(path))
    assert code == 0 and "valid, 3 account(s)" in out


def test_show_prints_resolved_policy_and_masks_secrets(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RG_TEST_KEY", "s3cr3t-value")
    text = BASE + "  live:\n    venue: binanceusdm\n    credentials: {api_key: \"${RG_TEST_KEY}\"}\n"
    path = _write(tmp_path, text)
    code, out, _ = _run(monkeypatch, capsys, "config", "show", str(path), "--format", "json")
    assert code == 0 and "s3cr3t" not in out
    doc = json.loads(out)
    by_name = {a["name"]: a for a in doc["accounts"]}
    assert by_name["live"]["credentials"] == {"api_key": "${RG_TEST_KEY} (set)"}
    assert by_name["b"]["limits"]["max_effective_leverage"] == 5.0
    assert [r["threshold"] for r in by_name["b"]["rules"]] == [12.0, 3.0]
    code, out, _ = _run(monkeypatch, capsys, "config", "show", str(path))
    assert code == 0 and "s3cr3t" not in out and "liquidation_buffer_pct < 12" in out


def test_example_config_validates(monkeypatch, capsys):
    example = Path(__file__).parents[1] / "config.example.yaml"
    code, out, err = _run(monkeypatch, capsys, "config", "validate", str(example))
    assert code == 0, err
    assert "valid" in out
