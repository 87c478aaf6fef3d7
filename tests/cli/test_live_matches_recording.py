"""Issue 3: for every venue, `riskguard check` through the live connector against the emulator gives the same
numbers as checking the recording `riskguard snapshot` made of the same account.

Everything goes through the real console entry point (``run`` in conftest): a YAML config with one live account
pointed at ``riskguard sim``, credentials in environment variables. The emulator runs in a thread with its own
event loop because the CLI drives the live read with ``asyncio.run``. Its scenario has no mark path and is not
autoplayed, so nothing moves between the reads; the test checks that the marks it left are still there at the end.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from riskguard.rules.codes import ExitCode
from riskguard.sim import Scenario
from riskguard.sim.engine import AccountSpec
from riskguard.sim.venues import get_dialect
from tests.cli.live_sim import NAME, ThreadedSim, live_config

VENUES = ("binanceusdm", "binancecoinm", "bybit", "okx", "hyperliquid")

IGNORED_ACCOUNT_KEYS = ("taken_at",)
"""The only fields removed before comparing, per account: ``taken_at`` is the wall-clock instant a read finished
(the recording's, or the live check's a moment later), so it legitimately differs. Nothing else in the document
depends on the clock: data ages only appear in DATA_STALE findings, which a fresh read does not have, and the
emulator's hourly histories behind the market signals stay put because both reads happen inside one hour
(``_wait_clear_of_the_hour``). Nor does anything say where the numbers came from: the account is reported under
its configured name on both paths, and the document has no source or origin field."""

POSITION_NUMBERS = ("liquidation_price", "venue_liquidation_price", "liquidation_gap_bp", "bankruptcy_price",
                    "margin_ratio", "buffer_pct", "maintenance_margin", "equity")
"""Per-position figures the issue names; they must be real numbers (not null on both sides) for the comparison to
mean anything."""

AT_RISK_BUFFER = 0.02
"""The at-risk case moves one isolated position's mark to 2 % from its liquidation price: inside the default 5 %
minimum buffer (a breach, exit 2), far enough that the emulator does not liquidate it."""


def _wait_clear_of_the_hour(margin_s: float = 45.0) -> None:
    """The emulator's histories (hourly candles, funding, open interest) roll over on the hour; keep both reads
    inside one hour so the market signals are computed from the same series."""
    left = 3600 - time.time() % 3600
    if left < margin_s:
        time.sleep(left + 1)


def _put_at_risk(sim: ThreadedSim) -> str:
    """Move the mark of the isolated position nearest to liquidation to 2 % from the emulator's liquidation price;
    returns its venue symbol."""
    positions = [p for p in sim.positions() if p["margin_mode"] == "isolated"]
    target = min(positions, key=lambda p: abs(p["mark"] - p["liquidation_price"]) / p["mark"])
    liquidation = target["liquidation_price"]
    mark = liquidation / (1 - AT_RISK_BUFFER) if target["size"] > 0 else liquidation / (1 + AT_RISK_BUFFER)
    moved = sim.admin("/__sim/mark", {"symbol": target["symbol"], "price": mark})
    assert moved["liquidations"] == [], moved
    return target["symbol"]


def _without_clock(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    for account in doc["accounts"]:
        for key in IGNORED_ACCOUNT_KEYS:
            del account[key]
    return doc


def _differences(a: Any, b: Any, where: str = "$") -> list[str]:
    """Every path at which two JSON values differ (exactly: both sides are computed from the same inputs)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only on one side" for k in sorted(set(a) ^ set(b))]
        return out + [d for k in sorted(set(a) & set(b)) for d in _differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{where}[{i}]")]
    return [] if a == b and type(a) is type(b) else [f"{where}: {a!r} vs {b!r}"]


CASES = [
    *(pytest.param(v, False, False, id=f"{v}-scenario") for v in VENUES),
    *(pytest.param(v, False, True, id=f"{v}-at-risk") for v in VENUES),
    *(pytest.param(v, True, False, id=f"{v}-hedge-mode") for v in VENUES if v != "hyperliquid"),
]


def _account(venue: str, hedge: bool) -> AccountSpec:
    """The dialect's default account, or its hedge-mode account (Binance has none: its one-way account with each
    position on its own leg)."""
    accounts = get_dialect(venue).default_scenario().accounts
    if not hedge:
        return accounts[0]
    hedged = next((a for a in accounts if a.hedge_mode), None)
    if hedged is not None:
        return hedged
    legs = tuple(replace(p, leg="long" if p.size > 0 else "short") for p in accounts[0].positions)
    return replace(accounts[0], hedge_mode=True, positions=legs)


@pytest.mark.parametrize(("venue", "hedge", "at_risk"), CASES)
def test_check_when_live_and_when_recorded_then_same_document_and_exit_code(
    run, start_sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, venue: str, hedge: bool, at_risk: bool
) -> None:
    assert not get_dialect(venue).default_scenario().path, "the default scenario must not move marks by itself"
    sim = start_sim(venue, Scenario(accounts=(_account(venue, hedge),), path=()))
    moved = _put_at_risk(sim) if at_risk else None
    marks = sim.admin("/__sim/state")["marks"]
    config, secrets = live_config(tmp_path / "live.yaml", venue, sim, monkeypatch)
    recording = tmp_path / "rec.json"
    replay = tmp_path / "replay.yaml"
    replay.write_text(f"version: 1\naccounts:\n  {NAME}: {{snapshot: {recording.name}}}\n")

    _wait_clear_of_the_hour()
    recorded_run = run("snapshot", "--config", str(config), "--account", NAME, "-o", str(recording))
    live = run("check", "--config", str(config), "--format", "json")
    from_file = run("check", "--snapshot", str(recording), "--format", "json")
    from_config = run("check", "--config", str(replay), "--format", "json")

    # The recording: written, and no credential in it (plain, or a private key without its 0x).
    assert recorded_run.code == 0, recorded_run.err
    assert recording.is_file() and f"wrote {recording}" in recorded_run.err.replace("\n", "")
    text = recording.read_text()
    for secret in secrets:
        assert secret not in text and secret.lower() not in text.lower()

    # Nothing moved in the emulator while it was read.
    after = sim.admin("/__sim/state")
    assert after["marks"] == marks and after["liquidations"] == [] and after["path_remaining"] == 0

    docs = {"live": live.json(), "--snapshot": from_file.json(), "replay config": from_config.json()}
    for label, r in (("live", live), ("--snapshot", from_file), ("replay config", from_config)):
        assert r.code == docs[label]["exit_code"], f"{label}: exit {r.code} vs document {docs[label]['exit_code']}"
    (live_account,) = docs["live"]["accounts"]
    assert live_account["name"] == NAME and live_account["venue"] == venue
    assert live.code != ExitCode.UNKNOWN, live_account["findings"]  # no failed read, no stale or missing data
    assert live_account["positions"], "the emulator account has positions"
    for p in live_account["positions"]:
        for key in POSITION_NUMBERS:
            assert isinstance(p[key], float) and math.isfinite(p[key]), f"{p['symbol']}.{key} = {p[key]!r}"
        assert p["liquidation_price_source"] == "computed"
        assert p["position_side"] == (p["side"] if hedge else "both")

    # The recording is older than the live read, and that is the only thing that tells them apart.
    recorded_at = docs["--snapshot"]["accounts"][0]["taken_at"]
    assert recorded_at == docs["replay config"]["accounts"][0]["taken_at"]
    assert 0 < live_account["taken_at"] - recorded_at < 120_000
    expected = _without_clock(docs["live"])
    for label in ("--snapshot", "replay config"):
        diff = _differences(expected, _without_clock(docs[label]))
        assert not diff, f"{venue}: live check vs {label} of the recording differ:\n" + "\n".join(diff)
    assert live.code == from_file.code == from_config.code

    if at_risk:
        assert live.code == ExitCode.BREACH
        markets = json.loads(text)["venues"][venue]["markets"]
        key = "baseName" if venue == "hyperliquid" else "id"  # Hyperliquid's ccxt ids are asset indices
        (position,) = (p for p in live_account["positions"] if markets[p["symbol"]][key] == moved)
        assert "LIQUIDATION_BUFFER_BELOW_MIN" in {f["code"] for f in position["findings"]}, position["findings"]
        assert position["buffer_pct"] == pytest.approx(100 * AT_RISK_BUFFER, rel=0.05)
