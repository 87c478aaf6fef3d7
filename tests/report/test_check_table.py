"""The check table as a person reads it: rendered at 100 columns, every key number whole on one line."""

from __future__ import annotations

import json
import re

import pytest
from rich.console import Console

from riskguard.check import check_snapshot
from riskguard.config import bundled_snapshot
from riskguard.report.check_table import LEGEND, price_text, render, signed


def rendered(width: int, wide: bool = False) -> str:
    console = Console(width=width, record=True, color_system=None)
    render(check_snapshot(bundled_snapshot("paper"), None), console, wide=wide)
    return console.export_text()


def test_check_table_at_100_columns_when_paper_accounts_then_every_line_fits_and_nothing_is_cut():
    text = rendered(100)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "…" not in text  # rich ellipsizes a cell that does not fit
    # Key numbers whole, each on one table row with its symbol: liquidation at tick, buffer, status.
    rows: dict[str, str] = {}
    for line in lines:  # the first row of a symbol is its positions-table row
        if line.startswith("│ "):
            rows.setdefault(line.split("│")[1].strip(), line)
    assert re.search(r"│ long │ cross │ +1\.2 │ .*│ 73,571\.4 │ 19\.37% │ .*│ OK +│", rows["BTC/USDT:USDT"])
    assert re.search(r"│ 192\.52 │ +1\.36% │ .*│ BREACH │", rows["SOL/USDT:USDT"])
    assert re.search(r"│ 2,252\.6 │ 25\.22% │", rows["ETH/USDC:USDC"])
    # The pool's buffer under its account, and the crowding columns in the signals table.
    assert "  USDT cross buffer (all marks together): down −9.23%, up none liquidates" in lines
    assert "  USDC cross buffer (all marks together): down −25.22%, up none liquidates" in lines
    header = next(line for line in lines if "nearest band" in line)
    assert "crowded" in header and "funding z" in header
    assert lines.count(LEGEND) == 1 and len(LEGEND) <= 100


def test_check_table_when_narrow_then_least_important_columns_go_first():
    headers = next(line for line in rendered(100).splitlines() if "symbol" in line and "buffer" in line)
    for kept in ("symbol", "side", "mark", "liq", "buffer", "lev", "status"):
        assert f" {kept} " in headers
    for dropped in ("bankr.", "gap bp", "m. ratio", "venue liq"):
        assert dropped not in headers


def test_check_table_when_wide_then_every_column_shown_on_one_line():
    text = rendered(100, wide=True)
    headers = next(line for line in text.splitlines() if "symbol" in line and "buffer" in line)
    for column in ("venue liq", "gap bp", "bankr.", "m. ratio", "entry", "size", "mode"):
        assert f" {column} " in headers
    signals = next(line for line in text.splitlines() if "nearest band" in line)
    for column in ("touch P", "slip bp", "net buffer", "liq. notional to LP", "OI 4h"):
        assert column in signals
    assert "…" not in text


def test_check_table_when_venue_and_computed_prices_agree_then_gap_is_zero_not_negative_zero(tmp_path):
    text = rendered(100, wide=True)
    assert "-0.00" not in text and "−0.00" not in text
    assert "│   0.00 │" in text  # Binance BTC: computed and venue prices differ by −0.0003 bp


@pytest.mark.parametrize(
    ("price", "tick", "toward", "shown"),
    [
        (73_571.366, 0.1, 91_250.4, "73,571.4"),  # long: liquidation below mark, rounded up toward it
        (192.52777, 0.01, 189.95, "192.52"),  # short: liquidation above mark, rounded down toward it
        (192.52777, 0.01, None, "192.53"),  # no direction: nearest
        (2_252.5, 0.1, 3_012.4, "2,252.5"),  # already on the tick: unchanged
        (31_967.3, 0.5, None, "31,967.3"),  # a half tick still shows one decimal
        (0.000123456, None, None, "0.000123456"),  # no tick known: 8 significant digits
        (None, 0.1, None, "—"),
    ],
)
def test_price_text_when_tick_known_then_at_its_decimals_and_never_away_from_mark(price, tick, toward, shown):
    assert price_text(price, tick, toward) == shown


@pytest.mark.parametrize(("value", "shown"), [(-0.0003, "0.00"), (-0.004, "0.00"), (0.0049, "0.00"),
                                              (-0.005001, "-0.01"), (0.11, "+0.11")])
def test_signed_when_value_rounds_to_zero_then_no_sign(value, shown):
    assert signed(value) == shown


def test_check_json_when_paper_accounts_then_crowding_and_uniform_move_documented_fields(tmp_path):
    from riskguard.report.check_json import check_document

    doc = json.loads(json.dumps(check_document(check_snapshot(bundled_snapshot("paper"), None))))
    hl = next(a for a in doc["accounts"] if a["name"] == "hyperliquid-cross")
    (position,) = hl["positions"]
    crowding = position["crowding"]
    assert crowding["funding"]["status"] == "ok" and crowding["funding"]["interval_seconds"] == 3600
    assert crowding["funding"]["points"] >= 30 and crowding["funding"]["zscore"] == pytest.approx(0.9689, abs=1e-4)
    windows = [w["window_seconds"] for w in crowding["open_interest_change"]]
    assert windows == [3600, 14400, 86400]
    assert crowding["flag"]["state"] == "not_crowded"
    (cross,) = hl["cross"]
    assert cross["uniform_move"]["down_pct"] == pytest.approx(position["buffer_pct"], rel=1e-12)  # one position
    bybit = next(a for a in doc["accounts"] if a["name"] == "bybit-isolated")
    assert bybit["cross"] == []  # isolated only: no pool, no uniform move


def test_check_json_when_cross_balance_without_positions_then_uniform_move_ok_with_reason(tmp_path):
    from riskguard.report.check_json import check_document

    doc = json.loads(bundled_snapshot("paper").read_text())
    hl = next(a for a in doc["accounts"] if a["name"] == "hyperliquid-cross")
    doc["accounts"] = [{**hl, "positions": [], "open_orders": []}]
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(doc))
    (account,) = check_document(check_snapshot(path, None))["accounts"]
    (cross,) = account["cross"]
    assert cross["uniform_move"] == {"status": "ok", "reason": "NO_POSITIONS", "down_pct": None, "up_pct": None,
                                     "binding_pct": None, "binding_direction": None}
    assert account["status"] == "ok"
