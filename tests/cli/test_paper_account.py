"""The bundled paper account: the README's first command, offline, without ccxt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from riskguard.rules.codes import ExitCode

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "config.example.yaml"


def test_check_when_paper_config_then_every_account_evaluated_with_computed_prices(run):
    r = run("check", "--config", str(CONFIG), "--format", "json")
    doc = r.json()
    assert [a["name"] for a in doc["accounts"]] == ["paper-binance", "paper-bybit", "paper-hyperliquid"]
    venues = {a["name"]: a["venue"] for a in doc["accounts"]}
    assert venues == {"paper-binance": "binanceusdm", "paper-bybit": "bybit", "paper-hyperliquid": "hyperliquid"}
    for account in doc["accounts"]:
        assert account["status"] != "unknown", account["findings"]
        for p in account["positions"]:
            assert p["liquidation_price_source"] == "computed"
            assert p["venue_liquidation_price"] is not None
    bybit = next(a for a in doc["accounts"] if a["name"] == "paper-bybit")
    (sol,) = bybit["positions"]
    assert sol["side"] == "short" and sol["margin_mode"] == "isolated"
    assert 0 < sol["buffer_pct"] < 5 and sol["status"] == "breach"
    assert r.code == ExitCode.BREACH == doc["exit_code"]


def test_check_when_paper_config_then_every_position_has_its_reduce_only_stop(run):
    """scripts/paper/*.yaml rest one reduce-only stop per position; the recording read them back."""
    doc = run("check", "--config", str(CONFIG), "--format", "json").json()
    stops = {(a["name"], p["symbol"]): p["stops"] for a in doc["accounts"] for p in a["positions"]}
    got = {k: [(s["side"], s["trigger_price"], s["amount"], s["reduce_only"], s["in_band"], s["beyond_liquidation"])
               for s in v] for k, v in stops.items()}
    assert got == {
        ("paper-binance", "BTC/USDT:USDT"): [("sell", 86_700.0, 1.2, True, True, False)],
        ("paper-binance", "ETH/USDT:USDT"): [("sell", 2_700.0, 40.0, True, False, False)],
        ("paper-bybit", "SOL/USDT:USDT"): [("buy", 191.2, 800.0, True, False, False)],
        ("paper-hyperliquid", "ETH/USDC:USDC"): [("sell", 2_860.0, 12.0, True, True, False)],
    }


def test_check_when_paper_config_then_ccxt_pandas_and_matplotlib_are_never_imported():
    code = (
        "import sys\n"
        "from riskguard.cli import main\n"
        f"sys.argv = ['riskguard', 'check', '--config', {str(CONFIG)!r}, '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = [m for m in ('ccxt', 'pandas', 'matplotlib') if m in sys.modules]\n"
        "print('LOADED', heavy, code, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stderr.strip().endswith(f"LOADED [] {int(ExitCode.BREACH)}"), proc.stderr[-2000:]
