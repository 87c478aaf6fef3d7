"""Gate USDT-margined perpetuals: real /futures/usdt/positions rows from the golden vectors, through the normalizer.

Gate's requirement is value·(mmr + taker fee) (help 27724); its ``size`` counts
contracts of ``quanto_multiplier`` base units; leverage "0" means cross.
"""

from __future__ import annotations

import pytest
from ccxt_shapes import case, ccxt_market, evaluate_one, shown, snapshot

from riskguard.connectors.normalize import normalizer_for
from riskguard.errors import SnapshotError

BALANCE = {"total": {"USDT": 1000.0}}


def _gate(
    c: dict,
    symbol: str,
    *,
    tiers: list[dict] | None = None,
    raw: dict | None = None,
    taker: float = 0.00075,
    balance: dict = BALANCE,
):
    i = c["inputs"]
    market = ccxt_market(symbol, settle="USDT", contract_size=float(i["quanto_multiplier"]), tick=0.01)
    rows = tiers or [{"tier": 1, "risk_limit": "1000000", "maintenance_rate": i["raw"]["maintenance_rate"]}]
    return snapshot("gate", market, rows, {"info": raw or i["raw"]}, balance, taker=taker)


def test_gate_isolated_long_when_real_payload_then_liq_price_665_69_with_the_taker_fee_in_mm():
    c = case("gate", "gate-usdt-isolated-long-eth-usdt-update-margin-api")
    risk = evaluate_one(_gate(c, "ETH/USDT:USDT"))
    e = c["expected"]
    assert shown(risk.liquidation_price, c["display_decimals"]) == float(e["liquidation_price"])
    assert risk.venue_liquidation_price == float(e["liquidation_price"])
    assert risk.unrealized_pnl == pytest.approx(float(e["unrealised_pnl"]), rel=1e-12)
    assert risk.notional == pytest.approx(float(e["value"]), rel=1e-12)
    assert risk.maintenance_margin == pytest.approx(float(e["value"]) * (0.005 + 0.00075), rel=1e-12)
    assert risk.method == "venue rules" and not risk.is_estimate


def test_gate_isolated_when_fee_term_dropped_then_the_payload_is_missed():
    """Why Gate needs its own rules: without the taker-fee term the generic model lands 0.5 below liq_price."""
    c = case("gate", "gate-usdt-isolated-long-eth-usdt-update-margin-api")
    risk = evaluate_one(_gate(c, "ETH/USDT:USDT", taker=0.0))
    assert shown(risk.liquidation_price, 2) == 665.18


def test_gate_cross_when_liq_price_zero_then_no_venue_price_and_an_estimate():
    c = case("gate", "gate-usdt-cross-btc-usdt-position-api")
    risk = evaluate_one(_gate(c, "BTC/USDT:USDT", balance={"total": {"USDT": 1.0}}))
    assert risk.margin_mode == "cross"
    assert risk.venue_liquidation_price is None
    assert risk.contracts == 1.0
    assert risk.unrealized_pnl == pytest.approx(float(c["expected"]["unrealised_pnl"]), rel=1e-9)
    assert risk.is_estimate
    # The only position in a 1 USDT cross wallet: 1 + q·(P − entry) = q·P·(mmr + taker), q = 0.0001 BTC.
    q, entry = 0.0001, 46030.3
    assert risk.liquidation_price == pytest.approx((q * entry - 1.0) / (q * (1 - 0.004 - 0.00075)), rel=1e-12)


@pytest.mark.parametrize(
    ("mode", "size", "leg", "side"), [("dual_long", 3, "long", "long"), ("dual_short", -3, "short", "short")]
)
def test_gate_dual_mode_when_leg_rows_then_hedge_legs(mode, size, leg, side):
    c = case("gate", "gate-usdt-isolated-long-eth-usdt-update-margin-api")
    risk = evaluate_one(_gate(c, "ETH/USDT:USDT", raw={**c["inputs"]["raw"], "mode": mode, "size": size}))
    assert (risk.position_side, risk.side, risk.contracts) == (leg, side, 3.0)


def test_gate_position_when_mode_unknown_then_error_names_the_field():
    c = case("gate", "gate-usdt-isolated-long-eth-usdt-update-margin-api")
    with pytest.raises(SnapshotError, match="unknown position mode") as err:
        _gate(c, "ETH/USDT:USDT", raw={**c["inputs"]["raw"], "mode": "portfolio"})
    assert err.value.where.endswith("positions[0].info.mode")


def test_gate_tiers_when_risk_limit_rows_then_floors_chain_and_deduction_kept_or_derived():
    c = case("gate", "gate-usdt-isolated-long-eth-usdt-update-margin-api")
    tiers = [
        {"tier": 2, "risk_limit": "2000000", "maintenance_rate": "0.01"},
        {"tier": 1, "risk_limit": "500000", "maintenance_rate": "0.005", "deduction": "0"},
    ]
    snap = _gate(c, "ETH/USDT:USDT", tiers=tiers)
    got = snap.venues["gate"].markets["ETH/USDT:USDT"].tiers
    assert [(t.floor, t.cap, t.mmr) for t in got] == [(0.0, 500_000.0, 0.005), (500_000.0, 2_000_000.0, 0.01)]
    assert got[1].cum == pytest.approx(500_000 * (0.01 - 0.005))  # continuous: graduated by value


def test_gate_snapshot_when_position_size_not_a_number_then_error_names_the_field():
    c = case("gate", "gate-usdt-isolated-long-eth-usdt-update-margin-api")
    with pytest.raises(SnapshotError) as err:
        _gate(c, "ETH/USDT:USDT", raw={**c["inputs"]["raw"], "size": "one"})
    assert err.value.where.endswith("positions[0].info.size")


def test_gate_normalizer_is_registered_for_the_ccxt_id():
    assert normalizer_for("gate").venue == "gate"
