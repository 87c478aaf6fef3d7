"""`check --snapshot` over many accounts reports what it reported before it was made faster (issue 8).

The scale work shares per-symbol figures across positions and accounts and rebuilds the per-position
loops; none of that may change one byte of the JSON document or the table.  The expected output was
produced by the code before that work (tests/golden/check_synthetic_digests.json: a SHA-256 per
position entry, per account without its positions, and per table), over a synthetic snapshot with
stops on some accounts and unrecorded open orders on one.  Each account must also read the same
checked alone as checked beside every other account: nothing one account computes may leak into the
next one's figures.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from riskguard.check import check_snapshot
from riskguard.report.check_json import check_document
from riskguard.report.check_table import render
from scripts.make_synthetic_snapshot import synthetic_doc

GOLDEN = Path(__file__).parent / "golden" / "check_synthetic_digests.json"
ACCOUNTS, POSITIONS, BARS = 12, 10, 288


def _stop(venue: str, row: dict[str, Any], n: int, fraction: float) -> dict[str, Any]:
    """A reduce-only stop ``fraction`` of the way from mark toward zero (long) or up (short), as ccxt returns it."""
    long = row["side"] == "long"
    trigger = round(row["markPrice"] * (1 - fraction if long else 1 + fraction), 6)
    base = row["symbol"].split("/")[0]
    if venue == "bybit":
        info: dict[str, Any] = {
            "orderId": f"stop-{n}", "symbol": base + "USDT", "side": "Sell" if long else "Buy", "orderType": "Market",
            "price": "0", "qty": "0", "cumExecQty": "0", "orderStatus": "Untriggered", "reduceOnly": True,
            "positionIdx": 0, "triggerPrice": str(trigger), "stopOrderType": "StopLoss", "closeOnTrigger": True,
            "tpslMode": "Full", "updatedTime": "1795275500000"}
    else:
        info = {
            "algoId": 1000 + n, "algoType": "CONDITIONAL", "orderType": "STOP_MARKET", "symbol": base + "USDT",
            "side": "SELL" if long else "BUY", "positionSide": "BOTH", "quantity": str(row["contracts"]),
            "algoStatus": "NEW", "triggerPrice": str(trigger), "price": "0", "workingType": "MARK_PRICE",
            "closePosition": False, "reduceOnly": True, "createTime": 1795275500000, "updateTime": 1795275500000}
    return {"symbol": row["symbol"], "info": info}


def golden_doc() -> dict[str, Any]:
    doc = synthetic_doc(ACCOUNTS, POSITIONS, bars=BARS)
    accounts = doc["accounts"]
    for i, account in enumerate(accounts[:6]):  # stops near mark, in the bands, and beyond liquidation
        account["open_orders"] = [_stop(account["venue"], row, 100 * i + j, (0.01, 0.04, 0.5)[j % 3])
                                  for j, row in enumerate(account["positions"]) if j % 2 == i % 2]
    accounts[7]["open_orders"] = None  # not recorded: stops unknown, never "none"
    return doc


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, separators=(",", ":")).encode()).hexdigest()


def _table(result, width: int = 200, colour: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=colour, color_system="truecolor" if colour else None)
    render(result, console, wide=False)
    return buffer.getvalue()


def digests(path: Path) -> dict[str, Any]:
    result = check_snapshot(path, None)
    document = check_document(result)
    accounts = {
        a["name"]: {"account": _digest({k: v for k, v in a.items() if k != "positions"}),
                    "positions": [_digest(p) for p in a["positions"]]}
        for a in document["accounts"]
    }
    return {"document": _digest(document), "table": hashlib.sha256(_table(result).encode()).hexdigest(),
            # a terminal too narrow for every column: the least important ones dropped, in colour
            "narrow_table": hashlib.sha256(_table(result, 90, colour=True).encode()).hexdigest(),
            "status": document["status"], "accounts": accounts}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("golden") / "synthetic.json"
    path.write_text(json.dumps(golden_doc()), encoding="utf-8")
    return path


def test_check_when_many_accounts_then_every_figure_as_before_the_scale_work(snapshot: Path):
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    got = digests(snapshot)
    changed = [f"{name} {part}" for name, want in expected["accounts"].items()
               for part, ok in (("account", got["accounts"][name]["account"] == want["account"]),
                                *((f"position {i}", g == w) for i, (g, w) in
                                  enumerate(zip(got["accounts"][name]["positions"], want["positions"], strict=True))))
               if not ok]
    assert changed == []
    assert (got["status"], got["document"], got["table"], got["narrow_table"]) == (
        expected["status"], expected["document"], expected["table"], expected["narrow_table"])


def test_check_when_account_checked_alone_then_same_entry_as_beside_the_others(snapshot: Path):
    together = {a["name"]: a for a in check_document(check_snapshot(snapshot, None))["accounts"]}
    for name in (f"acct-{i:05d}" for i in (0, 1, 6, 7, ACCOUNTS - 1)):
        (alone,) = check_document(check_snapshot(snapshot, name))["accounts"]
        assert alone == together[name]


if __name__ == "__main__":  # regenerate the expected digests (only when the output is meant to change)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp) / "synthetic.json"
        where.write_text(json.dumps(golden_doc()), encoding="utf-8")
        GOLDEN.write_text(json.dumps(digests(where), indent=1) + "\n", encoding="utf-8")
