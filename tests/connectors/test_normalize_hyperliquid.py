"""Hyperliquid clearinghouseState payloads from the golden vectors, through the normalizer.

The isolated margin comes from the ledger ``rawUsd`` (margin = rawUsd + szi·entry),
and maintenance is half the initial rate at max leverage, read from ``meta``.
"""

from __future__ import annotations

import pytest
from ccxt_shapes import case, ccxt_market, evaluate_one, shown, snapshot

from riskguard.connectors.normalize.fields import Fields
from riskguard.connectors.normalize.hyperliquid import HyperliquidNormalizer


def _meta(coin: str, max_leverage: float) -> dict:
    return {"meta": {"universe": [{"name": coin, "maxLeverage": max_leverage}]}}


@pytest.mark.parametrize(
    ("case_id", "tolerance"),
    [
        # rawUsd is shown to 6 decimals; one unit in its last place moves the LP by these amounts.
        ("docs-clearinghousestate-isolated-eth-long", 3.02e-5),
        ("api-clearinghousestate-isolated-eth-long-ccxt", 4.47e-6),
    ],
)
def test_hyperliquid_isolated_when_clearinghouse_state_then_liquidation_px_within_input_precision(case_id, tolerance):
    c = case("hyperliquid", case_id)
    state = c["inputs"]["raw"]
    (asset,) = state["assetPositions"]
    p = asset["position"]
    market = ccxt_market("ETH/USDC:USDC", settle="USDC", base="ETH")
    position = {"leverage": p["leverage"]["value"], "info": asset}
    snap = snapshot(
        "hyperliquid",
        market,
        [],
        position,
        {"info": state},
        mark=c["inputs"]["markPx_derived"],
        raw=_meta("ETH", float(p["maxLeverage"])),
    )
    risk = evaluate_one(snap)
    assert risk.liquidation_price == pytest.approx(c["expected"]["liquidation_price"], abs=tolerance)
    assert shown(risk.equity, 6) == c["expected"]["margin_used"]  # marginUsed = isolated margin + uPnL at mark


def test_hyperliquid_meta_when_single_tier_assets_then_mmr_is_half_of_initial_at_max_leverage():
    c = case("hyperliquid", "docs-maintenance-rate-from-max-leverage")
    for lev, expected in c["expected"]["maintenance_margin_rate_by_max_leverage"].items():
        raw = Fields(_meta("X", float(lev)), "raw")
        (tier,) = HyperliquidNormalizer().tiers([], Fields({"base": "X"}, "m"), raw)
        assert shown(tier.mmr, c["display_decimals"]) == expected
