"""`riskguard stress`: shocks per margin pool and band cascades, with numbers worked out by hand."""

from __future__ import annotations

import pytest
from docs_factory import binance_cross_doc
from market_factory import isolated_btc_doc, with_market

from riskguard.rules.codes import ExitCode

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _position(doc: dict, shock_pct: float, i: int = 0) -> dict:
    shock = next(s for s in doc["accounts"][0]["shocks"] if s["shock_pct"] == shock_pct)
    return shock["positions"][i]


def test_stress_when_isolated_long_then_liquidates_at_minus_10_not_at_minus_5(run, write):
    # 1 BTC long at 10,000, 1,000 margin, mmr 0.4 %: -5 % → equity 1,000 − 500 = 500, MM 9,500·0.004 = 38;
    # -10 % → equity 0, MM 9,000·0.004 = 36.
    r = run("stress", "--snapshot", str(write("iso.json", isolated_btc_doc())), "--shock", "-5%,-10%",
            "--format", "json")
    doc = r.json()
    assert doc["schema"] == "riskguard.stress/1" and doc["shocks_pct"] == [-5, -10]
    five, ten = _position(doc, -5), _position(doc, -10)
    assert five["price"] == pytest.approx(9_500) and ten["price"] == pytest.approx(9_000)
    assert not five["liquidated"] and five["equity"] == pytest.approx(500) and five["maintenance"] == pytest.approx(38)
    assert five["margin_left"] == pytest.approx(462)
    assert ten["liquidated"] and ten["equity"] == pytest.approx(0, abs=1e-9)
    assert ten["margin_left"] == pytest.approx(-36)
    shocks = doc["accounts"][0]["shocks"]
    assert [s["survives"] for s in shocks] == [True, False] and shocks[0]["cross_pools"] == []
    assert r.code == ExitCode.BREACH == doc["exit_code"] and doc["status"] == "breach"


def test_stress_when_table_then_margin_left_and_liquidation_shown(run, write):
    r = run("stress", "--snapshot", str(write("iso.json", isolated_btc_doc())), "--shock", "-5%,-10%")
    assert r.code == ExitCode.BREACH
    rows = {line.split("│")[1].strip(): line for line in r.out.splitlines() if line.startswith("│")}
    assert "462.00 USDT" in rows["-5%"] and "survives" in rows["-5%"]
    assert "-36.00 USDT LIQUIDATED" in rows["-10%"] and "LIQUIDATION" in rows["-10%"]
    assert "overall: BREACH  (exit 2)" in r.out


def test_stress_when_well_collateralized_then_survives_shocks_and_cascade_exit_0(run, write):
    # 9,000 margin on 10,000 notional: LP far below any band the cascade reaches.
    r = run("stress", "--snapshot", str(write("iso.json", isolated_btc_doc(margin=9_000))), "--shock", "-10%,+10%",
            "--format", "json")
    doc = r.json()
    assert r.code == ExitCode.OK == doc["exit_code"]
    assert _position(doc, -10)["margin_left"] == pytest.approx(9_000 - 1_000 - 36)
    assert _position(doc, 10)["margin_left"] == pytest.approx(9_000 + 1_000 - 44)
    (cascade,) = doc["accounts"][0]["cascades"]
    assert cascade["symbol"] == BTC and cascade["side"] == "long" and cascade["status"] == "ok"
    assert cascade["bands_fired"] >= 1 and cascade["move_pct"] < 0 and cascade["survives"]
    assert cascade["final_price"] == pytest.approx(10_000 * (1 + cascade["move_pct"] / 100))
    assert cascade["path"][-1] == cascade["final_price"] and cascade["total_forced_notional"] > 0


def test_stress_when_cross_account_then_pool_fails_as_a_whole(run, write):
    r = run("stress", "--snapshot", str(write("faq.json", with_market(binance_cross_doc()))), "--shock=-10%",
            "--format", "json")
    doc = r.json()
    (shock,) = doc["accounts"][0]["shocks"]
    (pool,) = shock["cross_pools"]
    btc_p, eth_p = 31967.27 * 0.9, 1335.18 * 0.9
    equity = 1535443.01 + 109.488 * (btc_p - 32481.98) + 3683.979 * (eth_p - 1456.84)
    # BTC notional 3.15M sits in bracket 4 (2.5 %, cum 16,300); ETH 4.43M in bracket 6 (10 %, cum 135,365)
    maintenance = (109.488 * btc_p * 0.025 - 16_300) + (3683.979 * eth_p * 0.1 - 135_365)
    assert pool["asset"] == "USDT" and pool["equity"] == pytest.approx(equity)
    assert pool["maintenance"] == pytest.approx(maintenance) and pool["liquidated"]
    assert [p["liquidated"] for p in shock["positions"]] == [True, True] and not shock["survives"]
    assert r.code == ExitCode.BREACH


@pytest.mark.parametrize(
    ("shock", "message"),
    [
        ("0.05", "not a percentage like -10% or +5% (did you mean +5%?)"),
        ("-10", "not a percentage"),
        ("-10%,,+5%", "shock '' is not a percentage"),
        ("ten%", "not a percentage"),
        ("-100%", "would take the price to zero or below"),
        ("-5%,-5%", "listed twice"),
    ],
)
def test_stress_when_shock_malformed_then_exit_3_with_reason(run, write, shock, message):
    r = run("stress", "--snapshot", str(write("iso.json", isolated_btc_doc())), f"--shock={shock}")
    assert r.code == ExitCode.UNKNOWN and message in r.err and "--shock" in r.err


def test_stress_when_order_book_missing_then_cascade_unknown_exit_3(run, write):
    doc = isolated_btc_doc(margin=9_000)
    del doc["venues"]["binanceusdm"]["order_books"][BTC]
    r = run("stress", "--snapshot", str(write("iso.json", doc)), "--shock", "-5%", "--format", "json")
    out = r.json()
    (cascade,) = out["accounts"][0]["cascades"]
    assert cascade["status"] == "unknown" and cascade["reason"].startswith("EMPTY_BOOK")
    assert cascade["survives"] is False and cascade["final_price"] is None
    assert _position(out, -5)["margin_left"] == pytest.approx(9_000 - 500 - 38)  # shocks still computed
    assert r.code == ExitCode.UNKNOWN == out["exit_code"] and out["status"] == "unknown"


def test_stress_when_bands_unknown_then_table_says_why(run, write):
    doc = isolated_btc_doc(margin=9_000)
    del doc["venues"]["binanceusdm"]["open_interest_history"][BTC]
    r = run("stress", "--snapshot", str(write("iso.json", doc)), "--shock", "-5%")
    assert r.code == ExitCode.UNKNOWN
    assert "cascade BTC/USDT:USDT longs: unknown: BANDS_UNKNOWN: open-interest history missing" in r.out


def test_stress_when_account_not_in_snapshot_then_exit_3(run, write):
    r = run("stress", "--snapshot", str(write("iso.json", isolated_btc_doc())), "--account", "nope")
    assert r.code == ExitCode.UNKNOWN and "no account named 'nope'" in r.err
