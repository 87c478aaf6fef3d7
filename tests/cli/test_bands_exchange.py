"""`riskguard bands SYMBOL --exchange VENUE`: a venue's public market data, no account; and `--config` with a live
account reads the asked symbol even when the account holds none of it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from riskguard.rules.codes import ExitCode
from riskguard.sim import Scenario
from riskguard.sim.venues import get_dialect
from tests.cli.live_sim import NAME, live_config


def test_bands_when_exchange_then_public_data_gives_bands_around_the_venue_mark(run, start_sim) -> None:
    sim = start_sim("bybit", None)
    marks = sim.admin("/__sim/state")["marks"]

    result = run("bands", "BTC/USDT:USDT", "--exchange", "bybit", "--endpoint", sim.sim.base_url, "--format", "json")

    assert result.code == ExitCode.OK, result.err
    doc = result.json()
    assert doc["status"] == "ok" and doc["venue"] == "bybit" and doc["symbol"] == "BTC/USDT:USDT"
    assert doc["mark_price"] == marks["BTCUSDT"]
    assert {b["side"] for b in doc["bands"]} == {"long", "short"} and doc["positions"] == []
    for band in doc["bands"]:
        above = 1 if band["side"] == "short" else -1  # shorts liquidate above mark, longs below
        assert above * band["distance_pct"] > 0
        assert band["price_low"] <= band["price_high"] and band["notional"] > 0
    private = [r["path"] for r in sim.admin("/__sim/requests")["requests"] if "/v5/market/" not in r["path"]]
    assert private == [], "a public read sends no account request"


@pytest.mark.parametrize(("venue", "symbol"), [("okx", "BTC/USDT:USDT"), ("hyperliquid", "BTC/USDC:USDC")])
def test_bands_when_venue_gives_no_open_interest_history_then_unknown_not_empty(run, start_sim, venue, symbol):
    """The emulated OKX serves none and Hyperliquid has none: no bands can be estimated, and the answer says so."""
    sim = start_sim(venue, None)

    result = run("bands", symbol, "--exchange", venue, "--endpoint", sim.sim.base_url, "--format", "json")

    assert result.code == ExitCode.UNKNOWN
    assert result.json()["status"] == "unknown" and result.json()["bands"] == []
    assert "open-interest history missing" in result.json()["reason"]


def test_bands_when_exchange_is_binance_then_brackets_need_a_signed_read_first(
    run, start_sim, tmp_path: Path, monkeypatch
) -> None:
    sim = start_sim("binanceusdm", None)
    args = ("bands", "BTC/USDT:USDT", "--exchange", "binanceusdm", "--endpoint", sim.sim.base_url)

    refused = run(*args)
    assert refused.code == ExitCode.UNKNOWN
    assert "leverage brackets only to signed requests" in refused.err and "--config FILE --account NAME" in refused.err

    config, _ = live_config(tmp_path / "live.yaml", "binanceusdm", sim, monkeypatch)
    assert run("check", "--config", str(config)).code != ExitCode.UNKNOWN  # fills the venue cache
    assert run(*args).code == ExitCode.OK


def test_bands_when_live_account_holds_no_such_position_then_the_symbol_is_read_too(
    run, start_sim, tmp_path: Path, monkeypatch
) -> None:
    default = get_dialect("bybit").default_scenario()
    account = default.accounts[0]
    held = [p for p in account.positions if p.symbol != "BTCUSDT"]
    assert held and len(held) < len(account.positions)
    sim = start_sim("bybit", Scenario(accounts=(replace(account, positions=tuple(held)),)))
    config, _ = live_config(tmp_path / "live.yaml", "bybit", sim, monkeypatch)

    result = run("bands", "BTC/USDT:USDT", "--config", str(config), "--format", "json")

    assert result.code == ExitCode.OK, result.err
    assert result.json()["bands"] and result.json()["positions"] == []
    assert run("bands", "NOPE/USDT:USDT", "--config", str(config)).code == ExitCode.UNKNOWN


@pytest.mark.parametrize(("args", "message"), [
    (("--exchange", "bybit", "--config", "x.yaml"), "give one of --exchange VENUE"),
    (("--snapshot", "x.json", "--endpoint", "http://127.0.0.1:1"), "--endpoint goes with --exchange"),
    (("--exchange", "nosuch"), "unknown venue 'nosuch'"),
    (("--exchange", "gate", "--endpoint", "http://127.0.0.1:1"), "no emulator dialect"),
])
def test_bands_when_exchange_options_are_wrong_then_exit_3_naming_the_mistake(run, args, message) -> None:
    result = run("bands", "BTC/USDT:USDT", *args)
    assert result.code == ExitCode.UNKNOWN
    assert message in result.err
    assert NAME not in result.out
