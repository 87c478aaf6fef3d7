"""Small ccxt-shaped snapshot documents for tests, built the way ccxt returns them.

Numbers are those of Binance's own FAQ cross-margin example (wallet 1,535,443.01;
BTCUSDT 109.488 @ 32,481.98 and ETHUSDT 3,683.979 @ 1,456.84), whose liquidation
prices the FAQ gives as 26,316.89 and 1,153.26.
"""

from __future__ import annotations

import copy
from typing import Any

TAKEN_AT = 1_763_640_000_000

BTC_BRACKETS = [
    (1, 0, 50_000, 0.004, 0, 125),
    (2, 50_000, 250_000, 0.005, 50, 100),
    (3, 250_000, 1_000_000, 0.01, 1_300, 50),
    (4, 1_000_000, 5_000_000, 0.025, 16_300, 20),
    (5, 5_000_000, 20_000_000, 0.05, 141_300, 10),
]
ETH_BRACKETS = [
    (1, 0, 10_000, 0.005, 0, 100),
    (2, 10_000, 100_000, 0.0065, 15, 75),
    (3, 100_000, 500_000, 0.01, 365, 50),
    (4, 500_000, 1_000_000, 0.02, 5_365, 25),
    (5, 1_000_000, 2_000_000, 0.05, 35_365, 10),
    (6, 2_000_000, 5_000_000, 0.1, 135_365, 5),
    (7, 5_000_000, 10_000_000, 0.125, 260_365, 4),
]


def _market(symbol: str, base: str, tick: float) -> dict[str, Any]:
    return {
        "id": base + "USDT",
        "symbol": symbol,
        "base": base,
        "quote": "USDT",
        "settle": "USDT",
        "type": "swap",
        "swap": True,
        "contract": True,
        "linear": True,
        "inverse": False,
        "contractSize": 1.0,
        "precision": {"price": tick, "amount": 0.001},
        "info": {"symbol": base + "USDT"},
    }


def _tiers(symbol: str, rows) -> list[dict[str, Any]]:
    return [
        {
            "tier": b,
            "symbol": symbol,
            "currency": "USDT",
            "minNotional": lo,
            "maxNotional": hi,
            "maintenanceMarginRate": mmr,
            "maxLeverage": lev,
            "info": {
                "bracket": str(b),
                "initialLeverage": str(lev),
                "notionalCap": str(hi),
                "notionalFloor": str(lo),
                "maintMarginRatio": str(mmr),
                "cum": str(cum),
            },
        }
        for b, lo, hi, mmr, cum, lev in rows
    ]


def _position(
    symbol: str,
    amt: float,
    entry: float,
    mark: float,
    mode: str = "cross",
    wallet: float = 0.0,
    leg: str = "BOTH",
    liq: float = 0.0,
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "contracts": abs(amt),
        "contractSize": 1.0,
        "side": "long" if amt > 0 else "short",
        "entryPrice": entry,
        "markPrice": mark,
        "marginMode": mode,
        "hedged": leg != "BOTH",
        "timestamp": TAKEN_AT - 1_000,
        "info": {
            "symbol": symbol.split("/")[0] + "USDT",
            "positionAmt": str(amt),
            "entryPrice": str(entry),
            "markPrice": str(mark),
            "liquidationPrice": str(liq),
            "isolatedWallet": str(wallet),
            "marginType": mode,
            "positionSide": leg,
            "leverage": "20",
            "updateTime": TAKEN_AT - 1_000,
        },
    }


def binance_cross_doc() -> dict[str, Any]:
    btc, eth = "BTC/USDT:USDT", "ETH/USDT:USDT"
    return copy.deepcopy(
        {
            "format": "riskguard.snapshot",
            "version": 1,
            "taken_at": TAKEN_AT,
            "source": "paper",
            "venues": {
                "binanceusdm": {
                    "markets": {btc: _market(btc, "BTC", 0.1), eth: _market(eth, "ETH", 0.01)},
                    "leverage_tiers": {btc: _tiers(btc, BTC_BRACKETS), eth: _tiers(eth, ETH_BRACKETS)},
                    "tickers": {
                        btc: {"symbol": btc, "markPrice": 31967.27, "timestamp": TAKEN_AT - 500, "info": {}},
                        eth: {"symbol": eth, "markPrice": 1335.18, "timestamp": TAKEN_AT - 500, "info": {}},
                    },
                }
            },
            "accounts": [
                {
                    "name": "faq-cross",
                    "venue": "binanceusdm",
                    "positions": [
                        _position(btc, 109.488, 32481.98, 31967.27, liq=26316.89),
                        _position(eth, 3683.979, 1456.84, 1335.18, liq=1153.26),
                    ],
                    "balance": {
                        "info": {
                            "assets": [
                                {"asset": "USDT", "walletBalance": "1535443.01", "crossWalletBalance": "1535443.01"}
                            ]
                        },
                        "total": {"USDT": 1535443.01},
                    },
                }
            ],
        }
    )


def binance_stop(symbol: str, side: str, quantity: float, trigger: float, algo_id: int, leg: str = "BOTH") -> dict:
    """A conditional STOP_MARKET order as ccxt returns it from /fapi/v1/openAlgoOrders (reduce-only one-way)."""
    info = {
        "algoId": algo_id,
        "clientAlgoId": f"rg-{algo_id}",
        "algoType": "CONDITIONAL",
        "orderType": "STOP_MARKET",
        "symbol": symbol.split("/")[0] + "USDT",
        "side": side.upper(),
        "positionSide": leg,
        "timeInForce": "GTC",
        "quantity": str(quantity),
        "algoStatus": "NEW",
        "triggerPrice": str(trigger),
        "price": "0",
        "workingType": "MARK_PRICE",
        "closePosition": False,
        "reduceOnly": leg == "BOTH",
        "createTime": TAKEN_AT - 60_000,
        "updateTime": TAKEN_AT - 60_000,
    }
    return {"id": str(algo_id), "symbol": symbol, "type": "market", "side": side, "amount": quantity,
            "triggerPrice": trigger, "reduceOnly": leg == "BOTH", "status": "open", "info": info}
