"""Credentials never leave the connector; configuration mistakes are ConfigErrors; tiers come from the cache."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from riskguard.connectors.live import fetch_snapshot_doc
from riskguard.connectors.redact import Redactor
from riskguard.connectors.venue_cache import VenueCache
from riskguard.errors import ConfigError, DataUnavailable
from riskguard.sim.faults import Fault, FaultKind
from tests.connectors.conftest import API_KEY, SECRET, SECRETS, VENUES, live_spec

BRACKETS = "/fapi/v1/leverageBracket"


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text or s.lower() in text]


@pytest.mark.parametrize("venue", VENUES)
async def test_fetch_when_debug_logging_and_failures_then_no_secret_in_logs_errors_or_document(
    start_sim, venue, caplog, capsys
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = await start_sim(venue)
    doc = await fetch_snapshot_doc(live_spec(venue, sim))
    sim.player.faults.arm(Fault(FaultKind.SERVER_ERROR, status=500, retry_after_s=0))
    with pytest.raises(DataUnavailable) as failed:
        await fetch_snapshot_doc(live_spec(venue, sim, timeout_s=0.5))
    out = capsys.readouterr()
    assert "127.0.0.1" in caplog.text  # ccxt's request log went through
    assert _leaks(json.dumps(doc.model_dump(mode="json"))) == []
    assert _leaks(str(failed.value)) == []
    assert _leaks(caplog.text + out.out + out.err) == []


def test_redactor_when_text_holds_keys_encoded_keys_and_signatures_then_all_masked() -> None:
    text = f"GET /x?apiKey={API_KEY}&signature=ab12cd&s={SECRET.replace('-', '%2D')} {{'signature': 'ff00'}}"
    masked = Redactor([API_KEY, SECRET]).text(text.replace("%2D", "-"))
    assert _leaks(masked) == [] and "ab12cd" not in masked and "ff00" not in masked


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"venue": "bitstamp"}, "cannot fetch positions"),
        ({"venue": "nosuchvenue"}, "not a ccxt exchange id"),
        ({"venue": "binanceusdm", "sandbox": True, "endpoint": "http://127.0.0.1:1"}, "exclude each other"),
        ({"venue": "kraken", "sandbox": True}, "no sandbox"),
        ({"venue": "gate", "endpoint": "http://127.0.0.1:1"}, "no emulator dialect"),
    ],
)
async def test_fetch_when_venue_setup_is_wrong_then_config_error_before_any_request(config, message) -> None:
    venue = config.pop("venue")
    with pytest.raises(ConfigError, match=message):
        await fetch_snapshot_doc(live_spec(venue, None, **config))


async def test_fetch_when_configured_symbol_is_unknown_then_config_error(start_sim) -> None:
    sim = await start_sim("binanceusdm")
    with pytest.raises(ConfigError, match="lists no market 'DOGE/USDT:USDT'"):
        await fetch_snapshot_doc(live_spec("binanceusdm", sim, symbols=["DOGE/USDT:USDT"]))


async def test_fetch_when_credential_variable_missing_then_config_error_naming_it(monkeypatch) -> None:
    monkeypatch.delenv("RG_SECRET")
    with pytest.raises(ConfigError, match="RG_SECRET"):
        await fetch_snapshot_doc(live_spec("binanceusdm", None))


def test_paper_path_and_live_module_import_without_ccxt() -> None:
    code = ("import sys, riskguard.connectors.source, riskguard.connectors.normalize, riskguard.connectors.live; "
            "assert 'ccxt' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ccxt'))")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


async def test_fetch_when_tiers_cached_then_no_bracket_request(start_sim, tmp_path: Path) -> None:
    sim = await start_sim("binanceusdm")
    cache = VenueCache(tmp_path / "tiers")
    first = await fetch_snapshot_doc(live_spec("binanceusdm", sim), cache=cache)
    sim.player.faults.arm(Fault(FaultKind.SERVER_ERROR, status=404, path=BRACKETS))
    second = await fetch_snapshot_doc(live_spec("binanceusdm", sim), cache=cache)
    assert second.venues["binanceusdm"].leverage_tiers == first.venues["binanceusdm"].leverage_tiers
    with pytest.raises(DataUnavailable, match="fetch_leverage_tiers"):
        await fetch_snapshot_doc(live_spec("binanceusdm", sim), cache=VenueCache(tmp_path / "tiers", ttl_s=0))


@pytest.mark.parametrize("content", ["{not json", '{"format": "other"}', '{"format": "riskguard.venue-cache"}'])
async def test_fetch_when_venue_cache_is_corrupt_then_ignored_and_rewritten(start_sim, tmp_path: Path, content) -> None:
    sim = await start_sim("bybit")
    cache = VenueCache(tmp_path / "tiers")
    path = cache.path("bybit", sim.base_url.removeprefix("http://"))
    path.parent.mkdir(parents=True)
    path.write_text(content)
    doc = await fetch_snapshot_doc(live_spec("bybit", sim), cache=cache)
    assert set(doc.venues["bybit"].leverage_tiers) == set(doc.venues["bybit"].markets)
    assert json.loads(path.read_text())["format"] == "riskguard.venue-cache"


def test_venue_cache_when_entries_expire_then_not_returned(tmp_path: Path) -> None:
    cache = VenueCache(tmp_path, ttl_s=60)
    cache.store("okx", "host", {"tiers:A": [1]}, now_ms=1_000_000)
    assert cache.load("okx", "host", now_ms=1_000_000 + 59_000) == {"tiers:A": [1]}
    assert cache.load("okx", "host", now_ms=1_000_000 + 61_000) == {}
