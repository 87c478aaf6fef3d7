"""Binance positionRisk payloads from the golden vectors, through the normalizer and ``evaluate_account``."""

from __future__ import annotations

from decimal import ROUND_DOWN

from ccxt_shapes import as_quoted, case, ccxt_market, evaluate_one, shown, snapshot

from riskguard.risk.account_risk import PriceSource


def _brackets(c: dict, floor_key: str, cap_key: str) -> list[dict]:
    return [
        {floor_key: str(b["floor"]), cap_key: str(b["cap"]), "maintMarginRatio": str(b["mmr"]), "cum": str(b["cum"])}
        for b in c["brackets"]
    ]


def _usdm(c: dict, cross_wallet: float = 0.0):
    raw = c["inputs"]["raw"]
    market = ccxt_market("BTC/USDT:USDT" if raw["symbol"] == "BTCUSDT" else "WLD/USDT:USDT", settle="USDT")
    balance = {"info": {"assets": [{"asset": "USDT", "walletBalance": "0", "crossWalletBalance": str(cross_wallet)}]}}
    position = {"contracts": abs(float(raw["positionAmt"])), "leverage": raw.get("leverage"), "info": raw}
    tiers = _brackets(c, "notionalFloor", "notionalCap")
    return evaluate_one(snapshot("binanceusdm", market, tiers, position, balance))


def test_binance_v2_hedge_isolated_long_when_no_isolated_wallet_field_then_docs_price():
    """v2 positionRisk has no isolatedWallet: it is isolatedMargin less the uPnL it includes."""
    c = case("binanceusdm", "api-positionrisk-hedge-isolated-long-btcusdt")
    risk = _usdm(c)
    assert risk.position_side == "long"
    assert risk.liquidation_source is PriceSource.COMPUTED
    assert shown(risk.liquidation_price, c["display_decimals"]) == c["expected"]["liquidation_price"]
    assert risk.mmr == c["inputs"]["MMRL"]  # tier 2, chosen by the notional at the liquidation price
    assert shown(risk.unrealized_pnl, 8) == c["expected"]["unRealizedProfit"]
    assert risk.liquidation_gap_bp is not None and abs(risk.liquidation_gap_bp) < 0.01


def test_binance_v3_cross_position_when_small_then_maint_margin_truncated_to_8_decimals():
    c = case("binanceusdm", "api-positionrisk-v3-cross-wldusdt-maint-margin")
    risk = _usdm(c, cross_wallet=100.0)
    assert shown(risk.maintenance_margin, c["display_decimals"], ROUND_DOWN) == c["expected"]["maintenance_margin"]
    assert as_quoted(risk.unrealized_pnl, c["inputs"]["raw"]["unRealizedProfit"]) == c["expected"]["unRealizedProfit"]
    assert risk.venue_liquidation_price is None  # the venue's "0" means it shows no price


def test_binance_coinm_isolated_long_when_dapi_payload_then_price_truncated_to_8_decimals():
    c = case("binancecoinm", "api-positionrisk-isolated-btcusd-perp-long")
    raw = c["inputs"]["raw"]
    market = ccxt_market("BTC/USD:BTC", settle="BTC", inverse=True, contract_size=c["inputs"]["ContractSize"])
    balance = {"info": {"assets": [{"asset": "BTC", "walletBalance": "0", "crossWalletBalance": "0"}]}}
    position = {"contracts": float(raw["positionAmt"]), "leverage": raw["leverage"], "info": raw}
    risk = evaluate_one(snapshot("binancecoinm", market, _brackets(c, "qtylFloor", "qtyCap"), position, balance))
    assert shown(risk.liquidation_price, c["display_decimals"], ROUND_DOWN) == c["expected"]["liquidation_price"]
    assert shown(risk.notional, 8) == float(raw["notionalValue"])
