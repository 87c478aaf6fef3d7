"""The bundled paper account: the README's first command, offline, without ccxt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from riskguard.check import check_snapshot
from riskguard.config import bundled_snapshot
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
        ("paper-bybit", "SOL/USDT:USDT"): [("buy", 191.2, 800.0, True, True, False)],
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


def history_breaches(path: Path) -> list[str]:
    """Candles before the snapshot that reach a live position's liquidation price (computed or venue's) or the
    trigger of its resting stop: either would have closed the position before it was recorded."""
    doc = json.loads(path.read_text())
    result = check_snapshot(path, None)
    out = []
    for account in result.accounts:
        candles = doc["venues"][account.venue]["ohlcv"]
        for v, signals in zip(account.positions, result.signals[account.name], strict=True):
            p = v.risk
            prices = {f"liquidation {x}": x for x in (p.liquidation_price, p.venue_liquidation_price) if x is not None}
            prices |= {f"stop {c.order.trigger_price}": c.order.trigger_price for c in signals.stops or ()}
            rows = [r for r in candles[p.symbol]["rows"] if r[0] < doc["taken_at"]]
            assert prices and rows, (account.name, p.symbol)
            for what, price in prices.items():
                if p.side == "long" and (low := min(r[3] for r in rows)) <= price:
                    out.append(f"{account.name} {p.symbol} long: low {low} at or below {what}")
                if p.side == "short" and (high := max(r[2] for r in rows)) >= price:
                    out.append(f"{account.name} {p.symbol} short: high {high} at or above {what}")
    return out


def test_paper_history_when_bundled_then_no_candle_reaches_a_live_position_liquidation_price():
    """A position alive at the snapshot was never liquidated before it: its history must say so."""
    assert history_breaches(bundled_snapshot("paper")) == []


def test_paper_history_check_when_a_candle_wicks_through_the_short_liquidation_then_named(tmp_path):
    doc = json.loads(bundled_snapshot("paper").read_text())
    rows = doc["venues"]["bybit"]["ohlcv"]["SOL/USDT:USDT"]["rows"]
    rows[100][2] = 192.6  # SOL short: stop at 191.2, liquidation at 192.53 (venue), 192.528 computed
    path = tmp_path / "paper.json"
    path.write_text(json.dumps(doc))
    computed, venue, stop = history_breaches(path)
    assert stop == "bybit-isolated SOL/USDT:USDT short: high 192.6 at or above stop 191.2"
    assert computed.startswith("bybit-isolated SOL/USDT:USDT short: high 192.6 at or above liquidation 192.5277")
    assert venue == "bybit-isolated SOL/USDT:USDT short: high 192.6 at or above liquidation 192.53"


def test_paper_history_check_when_a_candle_only_touches_the_long_stop_then_named(tmp_path):
    doc = json.loads(bundled_snapshot("paper").read_text())
    rows = doc["venues"]["binanceusdm"]["ohlcv"]["BTC/USDT:USDT"]["rows"]
    rows[5][3] = 86_700.0  # the BTC long's stop; its liquidation price is 73,571
    path = tmp_path / "paper.json"
    path.write_text(json.dumps(doc))
    assert history_breaches(path) == ["binance-cross BTC/USDT:USDT long: low 86700.0 at or below stop 86700.0"]


def test_paper_check_when_cross_account_then_uniform_move_below_each_position_buffer(run):
    """Each Binance position alone is 17–19 % from liquidation; all marks together, 9.23 % down liquidates."""
    doc = run("check", "--config", str(CONFIG), "--format", "json").json()
    binance = next(a for a in doc["accounts"] if a["name"] == "paper-binance")
    (cross,) = binance["cross"]
    move = cross["uniform_move"]
    assert move["status"] == "ok" and move["binding_direction"] == "down" and move["up_pct"] is None
    assert move["down_pct"] == pytest.approx(9.2313561146, abs=1e-9) == move["binding_pct"]
    assert sorted(round(p["buffer_pct"], 2) for p in binance["positions"]) == [17.63, 19.37]
    assert cross["margin_headroom_pct"] == pytest.approx((1 - cross["margin_ratio"]) * 100, rel=1e-12)
    assert cross["buffer_pct"] == cross["margin_headroom_pct"]  # deprecated alias, same number
    codes = [f["code"] for f in binance["findings"]]
    assert "UNIFORM_MOVE_BELOW_WARN" in codes and binance["status"] == "warning"
