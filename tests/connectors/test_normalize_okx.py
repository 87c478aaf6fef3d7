"""OKX /account/positions payloads from the golden vectors, through the normalizer.

OKX returns liqPx unrounded: the plain "equity = MM + taker fee" root moved one
tick toward the mark.  ``mmr`` in the payload is an amount (without the fee),
``mgnRatio`` is equity ÷ (MM + notional·fee).
"""

from __future__ import annotations

import pytest
from ccxt_shapes import as_quoted, case, ccxt_market, evaluate_one, snapshot

CASES = {
    "okx-linear-isolated-long-eth-usdt-swap-api": ("ETH/USDT:USDT", "USDT", False, None),
    "okx-inverse-isolated-long-eth-usd-futures-api": ("ETH/USD:ETH-210430", "ETH", True, "mark_price_implied_by_upl"),
}


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_okx_isolated_long_when_api_row_then_liq_px_margin_and_ratio_match(case_id):
    c = case("okx", case_id)
    symbol, settle, inverse, mark_key = CASES[case_id]
    i, raw, e = c["inputs"], c["inputs"]["raw"], c["expected"]
    market = ccxt_market(
        symbol, settle=settle, inverse=inverse, contract_size=float(i["ctVal"]), tick=float(i["tick_size"])
    )
    tiers = [{"minSz": "1", "maxSz": "10000", "mmr": i["mmr_rate_inferred"], "maxLever": "100"}]
    balance = {"info": {"data": [{"details": [{"ccy": settle, "cashBal": "1000"}]}]}}
    taker = float(i["taker_fee_rate_inferred"])
    position = {"leverage": raw["lever"], "info": raw}
    mark = float(i[mark_key]) if mark_key else None
    risk = evaluate_one(snapshot("okx", market, tiers, position, balance, mark=mark, taker=taker))
    assert risk.liquidation_price == pytest.approx(float(e["liquidation_price"]), rel=1e-12)
    assert risk.liquidation_price == pytest.approx(risk.venue_liquidation_price, rel=1e-12)
    assert 1 / risk.margin_ratio == pytest.approx(float(e["margin_ratio"]), rel=1e-12)
    # The requirement riskguard reports includes the fee; the venue's ``mmr`` field is the part without it.
    mm_without_fee = risk.maintenance_margin - risk.notional * taker
    assert mm_without_fee == pytest.approx(float(e["maintenance_margin"]), rel=1e-12)
    assert as_quoted(risk.initial_margin, e["initial_margin"]) == float(e["initial_margin"])
