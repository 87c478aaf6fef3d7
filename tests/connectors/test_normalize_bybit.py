"""Bybit position and risk-limit payloads from the golden vectors, through the normalizer."""

from __future__ import annotations

from ccxt_shapes import case, ccxt_market, evaluate_one, shown, snapshot

from riskguard.connectors.normalize.bybit import BybitNormalizer
from riskguard.connectors.normalize.fields import Fields
from riskguard.risk.account_risk import PositionRisk
from riskguard.risk.solver import maintenance_margin
from riskguard.risk.tiers import TierTable


def _wallet(coin: str) -> dict:
    return {"info": {"result": {"list": [{"coin": [{"coin": coin, "walletBalance": "1"}]}]}}}


def _classic(c: dict, market: dict, mark: float, side: str | None = None) -> PositionRisk:
    raw = c["inputs"]["raw"]
    i = c["inputs"]
    tiers = [{"riskLimitValue": raw["riskLimitValue"], "maintenanceMargin": i["mmr_inferred"], "mmDeduction": "0"}]
    position = {"leverage": raw["leverage"], "side": side, "marginMode": "isolated", "info": raw}
    snap = snapshot(
        "bybit",
        market,
        tiers,
        position,
        _wallet(market["settle"]),
        mark=mark,
        taker=float(i["taker_fee_rate_inferred"]),
        account_type="classic",
    )
    return evaluate_one(snap)


def test_bybit_classic_v3_linear_when_balance_holds_fee_reserve_then_prices_rounded_up_to_tick():
    """The v3 row names its entry ``entryPrice`` (v5: ``avgPrice``) and carries no mark: uPnL fixes it."""
    c = case("bybit", "bybit-classic-v3-ethusdt-isolated-long-api")
    raw = c["inputs"]["raw"]
    mark = float(raw["entryPrice"]) + float(raw["unrealisedPnl"]) / float(raw["size"])
    market = ccxt_market("ETH/USDT:USDT", settle="USDT", tick=float(c["inputs"]["tick_size"]))
    risk = _classic(c, market, mark)
    assert risk.liquidation_price == float(c["expected"]["liquidation_price"])
    assert risk.bankruptcy_price == float(c["expected"]["bankruptcy_price"])


def test_bybit_v5_inverse_add_margin_when_no_position_balance_then_margin_from_position_im():
    """The add-margin response carries the position's margin, fee reserve included, as positionIM.

    Margin M satisfies positionIM = M + fee·Q/BP; the LP takes MM at entry (classic inverse).
    """
    c = case("bybit", "bybit-v5-docs-inverse-ethusd-add-margin-api")
    raw = c["inputs"]["raw"]
    market = ccxt_market("ETH/USD:ETH", settle="ETH", inverse=True, tick=float(c["inputs"]["tick_size"]))
    risk = _classic(c, market, float(raw["markPrice"]), side="long")  # the docs sample omits ``side`` and ``tradeMode``
    assert risk.liquidation_price == float(c["expected"]["liquidation_price"])
    assert risk.bankruptcy_price == float(c["expected"]["bankruptcy_price"])


def test_bybit_risk_limits_when_marginal_rates_then_mm_uses_deduction():
    c = case("bybit", "bybit-mm-tiered-deduction-3500")
    rows = [
        Fields(
            {"info": {"riskLimitValue": t["cap"], "maintenanceMargin": t["mmr"], "mmDeduction": t["mm_deduction"]}}, "t"
        )
        for t in c["tiers"]
    ]
    tiers = BybitNormalizer().tiers(rows, Fields({"symbol": "X"}, "m"), Fields({}, "raw"))
    value = float(c["inputs"]["position_value"])
    mm, tier = maintenance_margin(
        inverse=[False], qty=[1.0], price=[value], tiers=TierTable.from_tiers([tiers]), table=[0]
    )
    assert shown(mm[0], c["display_decimals"]) == float(c["expected"]["maintenance_margin"])
    assert tiers[int(tier[0])].cum == float(c["expected"]["mm_deduction"])
