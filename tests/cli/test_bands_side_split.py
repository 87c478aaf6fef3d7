"""The side split and the data granularity in `riskguard bands` and `riskguard check` output."""

from __future__ import annotations

import asyncio

import pytest
from docs_factory import binance_cross_doc
from market_factory import with_market

from riskguard.config import load_config
from riskguard.connectors.live import HOURLY_HISTORY, fetch_snapshot_doc
from riskguard.connectors.snapshot_doc import write_snapshot
from riskguard.rules.codes import ExitCode
from tests.cli.live_sim import NAME, live_config

BTC = "BTC/USDT:USDT"


def test_bands_when_venue_serves_5_minute_history_then_reads_it_and_shows_the_ratio_vote(run, start_sim) -> None:
    sim = start_sim("bybit", None)
    r = run("bands", BTC, "--exchange", "bybit", "--endpoint", sim.sim.base_url, "--format", "json")
    assert r.code == ExitCode.OK, r.err
    doc = r.json()
    assert doc["data_granularity"] == {"candle_seconds": 300, "open_interest_seconds": 300.0, "coarse": False}
    ratio = next(e for e in doc["side_split"]["sources"] if e["source"] == "long/short ratio")
    assert ratio["bars"] > 0 and 0 < ratio["long_share"] < 1
    table = run("bands", BTC, "--exchange", "bybit", "--endpoint", sim.sim.base_url)
    assert "coarse data" not in table.out
    assert "of liquidation levels long (by source: long/short ratio" in table.out


def test_bands_when_snapshot_holds_hourly_history_then_says_coarse(run, start_sim, tmp_path, monkeypatch) -> None:
    """An hourly recording (``HOURLY_HISTORY``, what OKX and the daemon read) is labelled coarse."""
    sim = start_sim("bybit", None)
    config, _ = live_config(tmp_path / "live.yaml", "bybit", sim, monkeypatch)
    spec = load_config(config).accounts[NAME]
    path = tmp_path / "hourly.json"
    write_snapshot(asyncio.run(fetch_snapshot_doc(spec, history=HOURLY_HISTORY)), path)
    doc = run("bands", BTC, "--snapshot", str(path), "--format", "json").json()
    assert doc["data_granularity"] == {"candle_seconds": 3600, "open_interest_seconds": 3600.0, "coarse": True}
    table = run("bands", BTC, "--snapshot", str(path))
    assert "coarse data (candles 1 h, open interest 1 h): band peaks are placed less precisely" in table.out


def test_check_when_bands_known_then_json_and_table_carry_the_side_split(run, write) -> None:
    path = str(write("snap.json", with_market(binance_cross_doc())))
    doc = run("check", "--snapshot", path, "--format", "json").json()
    position = doc["accounts"][0]["positions"][0]
    assert position["symbol"] == BTC
    split = position["band_proximity"]["side_split"]
    assert split["long_share"] == 0.3584  # the paper BTC market: shorts above mark outweigh longs below
    funding = split["sources"][3]
    assert funding["source"] == "funding" and funding["note"] == "738 of 738 bars at the floor +0.0100% (no vote there)"
    table = run("check", "--snapshot", path).out
    assert ("BTC/USDT:USDT bands: est. 36% of liquidation levels long (by source: OI vs price 48%); "
            "funding 738 of 738 bars at the floor +0.0100% (no vote there)") in table


def test_bands_when_leverage_prior_given_then_used_and_capped_at_the_venue_max(run, write) -> None:
    doc = with_market(binance_cross_doc())
    first = doc["venues"]["binanceusdm"]["leverage_tiers"][BTC][0]
    first["info"]["initialLeverage"] = "20"  # this market now allows at most 20x for a first-bracket position
    first["maxLeverage"] = 20
    path = str(write("snap.json", doc))
    out = run("bands", BTC, "--snapshot", path, "--format", "json").json()["assumptions"]
    assert out["leverage_cap"] == 20 and out["leverages"] == [5, 10, 20]
    assert out["weights"] == [0.15, 0.25, 0.6]  # 25x/50x/100x traders take the 20x cap
    mine = run("bands", BTC, "--snapshot", path, "--leverage-prior", "10:50,5:50", "--format", "json").json()
    assert mine["assumptions"]["leverages"] == [5, 10] and mine["assumptions"]["weights"] == [0.5, 0.5]
    bad = run("bands", BTC, "--snapshot", path, "--leverage-prior", "5:20,10:30")
    assert bad.code == ExitCode.UNKNOWN
    assert "--leverage-prior: leverage prior percentages sum to 50, need 100" in bad.err


def test_bands_when_leverage_prior_is_rounded_to_seven_decimals_then_read_as_the_user_meant(run, write) -> None:
    path = str(write("snap.json", with_market(binance_cross_doc())))
    sixths = ",".join(f"{lev}:16.6666667" for lev in (2, 3, 4, 5, 6, 7))  # 100.0000002 in all

    out = run("bands", BTC, "--snapshot", path, "--leverage-prior", sixths, "--format", "json")

    assert out.code == ExitCode.OK, out.err
    assumptions = out.json()["assumptions"]
    assert assumptions["leverages"] == [2, 3, 4, 5, 6, 7]
    assert assumptions["weights"] == pytest.approx([1 / 6] * 6, abs=1e-12)
    off = run("bands", BTC, "--snapshot", path, "--leverage-prior", sixths.replace("16.6666667", "16.666667"))
    assert off.code == ExitCode.UNKNOWN
    assert "--leverage-prior: leverage prior percentages sum to 100.000002, need 100" in off.err
