"""Market history for the test snapshot documents of tests/docs_factory.py, as ccxt returns it.

`with_market(doc)` adds, for every symbol with a ticker: 5-minute candles ending at the snapshot time with
the last close at the mark, open-interest history (ccxt fetchOpenInterestHistory rows, stamped at each
bar's close), 8-hourly funding history and an order book.  Seeded, so every number is reproducible.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from docs_factory import TAKEN_AT, _position, binance_cross_doc

BAR_MS = 300_000
BARS = 864  # three days


def history(symbol: str, mark: float, seed: int, bars: int = BARS, oi_now: float = 50_000.0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 0.002, bars)
    closes = mark * np.exp(np.cumsum(steps) - np.sum(steps))
    opens = np.concatenate([[closes[0]], closes[:-1]])
    highs = np.maximum(opens, closes) * (1 + np.abs(rng.normal(0, 0.001, bars)))
    lows = np.minimum(opens, closes) * (1 - np.abs(rng.normal(0, 0.001, bars)))
    volume = rng.uniform(500, 1500, bars)
    flows = rng.normal(0.0004, 0.002, bars)  # open interest builds slowly, with noise
    oi = oi_now * np.exp(np.cumsum(flows) - np.sum(flows))
    opened = TAKEN_AT - BAR_MS * np.arange(bars, 0, -1)
    return {
        "ohlcv": {
            "timeframe": "5m",
            "rows": [
                [int(t), o, h, lo, c, v]
                for t, o, h, lo, c, v in zip(opened, opens, highs, lows, closes, volume, strict=True)
            ],
        },
        "oi": [
            {"symbol": symbol, "openInterestAmount": float(a), "openInterestValue": float(a * c),
             "timestamp": int(t) + BAR_MS, "info": {}}
            for t, a, c in zip(opened, oi, closes, strict=True)
        ],
        "funding": [
            {"symbol": symbol, "fundingRate": 0.0001, "timestamp": int(t), "info": {}}
            for t in range(TAKEN_AT - 3 * 86_400_000, TAKEN_AT, 8 * 3_600_000)
        ],
        "book": book(mark),
    }


def book(mark: float, levels: int = 50, step: float = 0.0005, amount: float = 20.0) -> dict[str, Any]:
    """Symmetric book: ``levels`` levels each side, ``step`` apart (fraction of mark), ``amount`` contracts."""
    return {
        "bids": [[mark * (1 - step * (i + 1)), amount] for i in range(levels)],
        "asks": [[mark * (1 + step * (i + 1)), amount] for i in range(levels)],
        "timestamp": TAKEN_AT - 200,
    }


def with_market(doc: dict[str, Any], seed: int = 7) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for venue in doc["venues"].values():
        for k, (symbol, ticker) in enumerate(sorted(venue["tickers"].items())):
            h = history(symbol, ticker["markPrice"], seed + k)
            venue.setdefault("ohlcv", {})[symbol] = h["ohlcv"]
            venue.setdefault("open_interest_history", {})[symbol] = h["oi"]
            venue.setdefault("funding_history", {})[symbol] = h["funding"]
            venue.setdefault("order_books", {})[symbol] = h["book"]
    return doc


def isolated_btc_doc(margin: float = 1_000.0) -> dict[str, Any]:
    """One isolated 1 BTC long at 10,000 with ``margin`` and the mark at 10,000 (bracket 1: mmr 0.4 %).

    With the default margin this is the worked example of docs/signals.md: liquidation price 9,036.14;
    at −5 % equity 500 against maintenance 38 (462 left); at −10 % equity 0 against maintenance 36.
    """
    doc = binance_cross_doc()
    btc = "BTC/USDT:USDT"
    venue = doc["venues"]["binanceusdm"]
    venue["tickers"] = {btc: {**venue["tickers"][btc], "markPrice": 10_000.0}}
    doc["accounts"] = [
        {
            "name": "iso",
            "venue": "binanceusdm",
            "positions": [_position(btc, 1.0, 10_000.0, 10_000.0, mode="isolated", wallet=margin)],
            "balance": {
                "info": {"assets": [{"asset": "USDT", "walletBalance": "5000", "crossWalletBalance": "4000"}]},
                "total": {"USDT": 5000.0},
            },
        }
    ]
    return with_market(doc)
