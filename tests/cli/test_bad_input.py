"""Bad input: a clear message naming file:line or the field path, exit 3, no traceback."""

from __future__ import annotations

import pytest
from docs_factory import binance_cross_doc

from riskguard.rules.codes import ExitCode


def _assert_clean_failure(r, *needles: str) -> None:
    assert r.code == ExitCode.UNKNOWN
    text = r.out + r.err
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"


def test_config_when_yaml_is_malformed_then_file_and_line(run, write):
    path = write("c.yaml", "accounts:\n  a:\n    snapshot: x.json\n   bad: [\n")
    _assert_clean_failure(run("check", "--config", str(path)), f"{path}:", "invalid YAML")


def test_config_when_unknown_key_then_names_key_and_line(run, write):
    path = write("c.yaml", "accounts:\n  a:\n    snapshot: x.json\n    max_leverage: 3\n")
    _assert_clean_failure(run("check", "--config", str(path)), f"{path}:4", "unknown key 'max_leverage'")


def test_config_when_policy_has_unknown_key_then_names_it(run, write):
    path = write("c.yaml", "policy:\n  max_efective_leverage: 3\naccounts:\n  a: {snapshot: x.json}\n")
    _assert_clean_failure(run("check", "--config", str(path)), f"{path}:2", "max_efective_leverage")


def test_config_when_account_has_no_source_then_clear_error(run, write):
    path = write("c.yaml", "accounts:\n  a:\n    sandbox: true\n")
    _assert_clean_failure(run("check", "--config", str(path)), f"{path}:2 (accounts.a)", "exactly one of 'venue'")


def test_config_when_credentials_written_inline_then_rejected_without_echoing_them(run, write):
    path = write("c.yaml", "accounts:\n  a:\n    venue: binanceusdm\n    credentials: {api_key: sk-LIVE-123}\n")
    r = run("check", "--config", str(path))
    _assert_clean_failure(r, "environment variable reference")
    assert "sk-LIVE-123" not in r.out + r.err


def test_config_when_json_format_then_error_document(run, write):
    path = write("c.yaml", "accounts: {}\n")
    r = run("check", "--config", str(path), "--format", "json")
    assert r.code == ExitCode.UNKNOWN
    doc = r.json()
    assert doc["status"] == "unknown" and doc["exit_code"] == 3 and str(path) in doc["error"]["where"]


def _mutate(doc: dict, path: str, value) -> dict:
    node = doc
    keys = [k.replace("~1", "/") for k in path.split("/")]
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        ("accounts/0/positions/0/info/positionAmt", "NaN", "accounts[0].positions[0].info.positionAmt"),
        ("accounts/0/positions/0/info/entryPrice", "0", "accounts[0].positions[0].info.entryPrice: must be > 0"),
        ("accounts/0/positions/0/info/entryPrice", "", "accounts[0].positions[0].info.entryPrice"),
        ("accounts/0/positions/0/info/markPrice", "-5", "mark_price must be a finite number > 0"),
        ("venues/binanceusdm/leverage_tiers/BTC~1USDT:USDT", [], "no leverage brackets"),
        ("accounts/0/balance/info/assets/0/crossWalletBalance", None, "crossWalletBalance"),
        ("taken_at", -1, "taken_at"),
        ("accounts/0/positions", KeyError, "accounts[0].positions"),
        ("accounts/0/surprise", 1, "accounts[0].surprise"),
    ],
)
def test_snapshot_when_field_is_bad_then_names_field_path(run, write, path, value, needle):
    doc = binance_cross_doc()
    doc = _mutate(doc, path, value)
    _assert_clean_failure(run("check", "--snapshot", str(write("s.json", doc))), needle)


def test_snapshot_when_negative_size_then_error(run, write):
    doc = binance_cross_doc()
    doc["accounts"][0]["positions"][0]["info"]["positionAmt"] = "-0"  # explicit flat row is fine...
    assert run("check", "--snapshot", str(write("ok.json", doc))).code != ExitCode.UNKNOWN
    doc["accounts"][0]["positions"][0]["info"]["positionAmt"] = "abc"
    _assert_clean_failure(run("check", "--snapshot", str(write("bad.json", doc))), "expected a number, got 'abc'")


def test_snapshot_when_not_json_then_file_line_column(run, write):
    path = write("s.json", '{"format": "riskguard.snapshot",\n "version": 1,,}')
    _assert_clean_failure(run("check", "--snapshot", str(path)), f"{path}:2:", "invalid JSON")


def test_usage_error_exits_3_not_clicks_2(run):
    assert run("check", "--no-such-option").code == ExitCode.UNKNOWN
