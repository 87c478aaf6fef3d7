"""Make a large synthetic snapshot: N accounts × M positions over shared markets with history.

For scale tests and benchmarks (bench/bench_check_scale.py), not for numbers anyone should trust: the
markets, tiers, balances and positions are made up, but every payload has the shape ccxt returns for
Binance USDⓈ-M and Bybit v5 (unified), so the document goes through the same validation and
normalization as a recorded account.  Accounts alternate between the two venues; every account holds
cross and isolated positions (one-way, one per symbol) and the balance's margin totals agree with
them.  Each venue lists ``max(M, 20)`` markets with three days of 5-minute candles, open-interest and
funding history and an order book, shared by every account on that venue, as in a real recording.

Seeded: the same arguments give the same bytes.

    python scripts/make_synthetic_snapshot.py --accounts 100 --positions 10 -o /tmp/synthetic.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

TAKEN_AT = 1_795_275_540_000
BAR_MS = 300_000
VENUES = ("binanceusdm", "bybit")
TAKER = {"binanceusdm": 0.0005, "bybit": 0.00055}
MAKER = 0.0002
# (cap as a multiple of the first cap, maintenance margin rate, max leverage); the last cap is far above any
# position here, so every position's notional is covered at any price it can reach before liquidation.
TIERS = ((1, 0.004, 125), (5, 0.005, 100), (20, 0.01, 50), (100, 0.025, 20), (400, 0.05, 10), (10_000, 0.1, 5))
FIRST_CAP = 50_000.0


def _tick(price: float) -> float:
    return 10.0 ** (math.floor(math.log10(price)) - 4)


def _round(x: float, step: float) -> float:
    return round(round(x / step) * step, 10)


def _tier_rows() -> list[tuple[float, float, float, float, int]]:
    """(floor, cap, mmr, cum, max leverage) with the cumulative deduction that keeps maintenance continuous."""
    rows, floor, cum, prev_mmr = [], 0.0, 0.0, TIERS[0][1]
    for mult, mmr, lev in TIERS:
        cap = FIRST_CAP * mult
        cum += floor * (mmr - prev_mmr)
        rows.append((floor, cap, mmr, cum, lev))
        floor, prev_mmr = cap, mmr
    return rows


def _maintenance(notional: float) -> float:
    for floor, cap, mmr, cum, _ in _tier_rows():
        if floor <= notional < cap:
            return notional * mmr - cum
    raise ValueError(f"notional {notional} beyond the last tier")


def _market(venue: str, symbol: str, base: str, price: float) -> dict[str, Any]:
    tick = _tick(price)
    info: dict[str, Any] = {"symbol": base + "USDT"}
    if venue == "bybit":
        info.update({"contractType": "LinearPerpetual", "status": "Trading", "priceFilter": {"tickSize": str(tick)}})
    else:
        info.update({"contractType": "PERPETUAL", "marginAsset": "USDT"})
    return {
        "id": base + "USDT", "symbol": symbol, "base": base, "quote": "USDT", "settle": "USDT",
        "baseId": base, "quoteId": "USDT", "settleId": "USDT", "type": "swap", "spot": False, "swap": True,
        "future": False, "option": False, "active": True, "contract": True, "linear": True, "inverse": False,
        "subType": "linear", "taker": TAKER[venue], "maker": MAKER, "contractSize": 1.0,
        "precision": {"amount": 0.001, "price": tick}, "info": info,
    }


def _tiers(venue: str, symbol: str, base: str) -> list[dict[str, Any]]:
    out = []
    for i, (floor, cap, mmr, cum, lev) in enumerate(_tier_rows(), start=1):
        if venue == "bybit":
            info: dict[str, Any] = {"id": i, "symbol": base + "USDT", "riskLimitValue": str(cap),
                                    "maintenanceMargin": str(mmr), "initialMargin": str(1 / lev),
                                    "isLowestRisk": int(i == 1), "maxLeverage": str(lev), "mmDeduction": str(cum)}
        else:
            info = {"bracket": i, "initialLeverage": lev, "notionalCap": cap, "notionalFloor": floor,
                    "maintMarginRatio": mmr, "cum": cum}
        out.append({"tier": i, "symbol": symbol, "currency": "USDT", "minNotional": floor, "maxNotional": cap,
                    "maintenanceMarginRate": mmr, "maxLeverage": lev, "info": info})
    return out


def _history(rng: np.random.Generator, symbol: str, mark: float, bars: int) -> dict[str, Any]:
    """A random walk ending at the mark, with open interest and funding, as ccxt returns them."""
    steps = rng.normal(0, 0.002, bars)
    closes = mark * np.exp(np.cumsum(steps) - np.sum(steps))
    opens = np.concatenate([[closes[0]], closes[:-1]])
    highs = np.maximum(opens, closes) * (1 + np.abs(rng.normal(0, 0.001, bars)))
    lows = np.minimum(opens, closes) * (1 - np.abs(rng.normal(0, 0.001, bars)))
    volume = rng.uniform(500, 1500, bars)
    oi = 50_000.0 * np.exp(np.cumsum(rng.normal(0.0004, 0.002, bars)))
    opened = TAKEN_AT - TAKEN_AT % BAR_MS - BAR_MS * np.arange(bars, 0, -1)
    sig = 8
    depth = _round(40_000 / mark, 0.001)  # contracts per level: about 40k quote each
    return {
        "ohlcv": {"timeframe": "5m", "rows": [
            [int(t), round(float(o), sig), round(float(h), sig), round(float(lo), sig), round(float(c), sig),
             round(float(v), 3)]
            for t, o, h, lo, c, v in zip(opened, opens, highs, lows, closes, volume, strict=True)]},
        "oi": [{"symbol": symbol, "openInterestAmount": round(float(a), 3),
                "openInterestValue": round(float(a * c), 2), "timestamp": int(t) + BAR_MS, "info": {}}
               for t, a, c in zip(opened, oi, closes, strict=True) if int(t) + BAR_MS <= TAKEN_AT],
        "funding": [{"symbol": symbol, "fundingRate": round(float(0.0001 + rng.normal(0, 0.00003)), 8),
                     "timestamp": int(t), "info": {}}
                    for t in range(TAKEN_AT - TAKEN_AT % 28_800_000 - 3 * 86_400_000, TAKEN_AT, 28_800_000)],
        "book": {"symbol": symbol, "timestamp": TAKEN_AT - 200,
                 "bids": [[_round(mark * (1 - 0.0005 * i), _tick(mark)), depth] for i in range(1, 51)],
                 "asks": [[_round(mark * (1 + 0.0005 * i), _tick(mark)), depth] for i in range(1, 51)]},
    }


def _venue(rng: np.random.Generator, venue: str, count: int, bars: int) -> tuple[dict[str, Any], dict[str, float]]:
    marks = {}
    data: dict[str, Any] = {k: {} for k in ("markets", "leverage_tiers", "tickers", "funding_history", "ohlcv",
                                            "open_interest_history", "order_books")}
    for k in range(count):
        base = f"S{k:03d}"
        symbol = f"{base}/USDT:USDT"
        mark = float(10 ** rng.uniform(-1, 4.7))
        mark = _round(mark, _tick(mark))
        marks[symbol] = mark
        data["markets"][symbol] = _market(venue, symbol, base, mark)
        data["leverage_tiers"][symbol] = _tiers(venue, symbol, base)
        data["tickers"][symbol] = {"symbol": symbol, "timestamp": TAKEN_AT - 500, "markPrice": mark,
                                   "indexPrice": mark, "last": mark,
                                   "info": {"symbol": base + "USDT", "markPrice": str(mark)}}
        h = _history(rng, symbol, mark, bars)
        data["ohlcv"][symbol] = h["ohlcv"]
        data["open_interest_history"][symbol] = h["oi"]
        data["funding_history"][symbol] = h["funding"]
        data["order_books"][symbol] = h["book"]
    return data, marks


def _position(venue: str, symbol: str, amount: float, entry: float, mark: float, lev: int, isolated: bool,
              updated: int) -> tuple[dict[str, Any], float, float, float]:
    """A ccxt position row and its (initial margin, maintenance margin, isolated margin) figures."""
    notional = abs(amount) * mark
    upnl = amount * (mark - entry)
    im = abs(amount) * entry / lev
    mm = _maintenance(notional)
    margin = im if isolated else 0.0
    side = "long" if amount > 0 else "short"
    base = symbol.split("/")[0]
    unified = {"symbol": symbol, "contracts": abs(amount), "contractSize": 1.0, "side": side, "entryPrice": entry,
               "markPrice": mark, "notional": notional, "unrealizedPnl": round(upnl, 8), "leverage": float(lev),
               "initialMargin": im, "maintenanceMargin": mm, "marginMode": "isolated" if isolated else "cross",
               "hedged": False, "timestamp": updated, "liquidationPrice": None}
    if venue == "bybit":
        info: dict[str, Any] = {
            "positionIdx": 0, "riskId": 1, "symbol": base + "USDT", "side": "Buy" if amount > 0 else "Sell",
            "size": str(abs(amount)), "avgPrice": str(entry), "positionValue": str(abs(amount) * entry),
            "tradeMode": int(isolated), "leverage": str(lev), "markPrice": str(mark), "liqPrice": "",
            "bustPrice": "", "positionIM": str(im), "positionMM": str(mm), "positionBalance": str(margin),
            "unrealisedPnl": str(upnl), "positionStatus": "Normal", "createdTime": str(updated),
            "updatedTime": str(updated)}
    else:
        info = {
            "symbol": base + "USDT", "positionSide": "BOTH", "positionAmt": str(amount), "entryPrice": str(entry),
            "markPrice": str(mark), "unRealizedProfit": str(upnl), "liquidationPrice": "0",
            "isolatedMargin": str(margin + upnl if isolated else 0.0), "isolatedWallet": str(margin),
            "updateTime": updated, "notional": str(amount * mark), "marginAsset": "USDT",
            "initialMargin": str(im), "maintMargin": str(mm), "positionInitialMargin": str(im),
            "openOrderInitialMargin": "0", "leverage": str(lev), "isolated": isolated}
    return {"info": info, **unified}, im, mm, margin


def _balance(venue: str, wallet: float, im: float, mm: float, upnl: float, isolated: float,
             rows: list[dict[str, Any]]) -> dict[str, Any]:
    equity = wallet + upnl
    free = equity - im
    if venue == "bybit":
        coin = {"coin": "USDT", "walletBalance": str(wallet), "equity": str(equity), "usdValue": str(equity),
                "unrealisedPnl": str(upnl), "totalPositionIM": str(im), "totalPositionMM": str(mm),
                "totalOrderIM": "0", "locked": "0", "borrowAmount": "0", "availableToWithdraw": str(free)}
        info: dict[str, Any] = {"retCode": 0, "retMsg": "OK", "result": {"list": [{
            "accountType": "UNIFIED", "totalEquity": str(equity), "totalWalletBalance": str(wallet),
            "totalMarginBalance": str(equity), "totalInitialMargin": str(im), "totalMaintenanceMargin": str(mm),
            "totalAvailableBalance": str(free), "accountIMRate": str(round(im / equity, 4)),
            "accountMMRate": str(round(mm / equity, 4)), "coin": [coin]}]}, "time": TAKEN_AT - 100}
    else:
        asset = {"asset": "USDT", "walletBalance": str(wallet), "unrealizedProfit": str(upnl),
                 "marginBalance": str(equity), "maintMargin": str(mm), "initialMargin": str(im),
                 "positionInitialMargin": str(im), "openOrderInitialMargin": "0",
                 "crossWalletBalance": str(wallet - isolated), "availableBalance": str(free),
                 "updateTime": TAKEN_AT - 100}
        info = {"totalInitialMargin": str(im), "totalMaintMargin": str(mm), "totalWalletBalance": str(wallet),
                "totalUnrealizedProfit": str(upnl), "totalMarginBalance": str(equity),
                "totalPositionInitialMargin": str(im), "totalOpenOrderInitialMargin": "0",
                "totalCrossWalletBalance": str(wallet - isolated), "availableBalance": str(free),
                "assets": [asset], "positions": [r["info"] for r in rows]}
    return {"info": info, "timestamp": TAKEN_AT - 100, "USDT": {"free": free, "used": im, "total": wallet},
            "free": {"USDT": free}, "used": {"USDT": im}, "total": {"USDT": wallet}}


def _account(rng: np.random.Generator, index: int, venue: str, marks: dict[str, float],
             positions: int) -> dict[str, Any]:
    symbols = list(marks)
    chosen = [symbols[i] for i in sorted(rng.choice(len(symbols), size=positions, replace=False))]
    rows, im_total, mm_total, upnl_total, isolated_total = [], 0.0, 0.0, 0.0, 0.0
    for j, symbol in enumerate(chosen):
        mark = marks[symbol]
        notional = float(10 ** rng.uniform(3, 5.5))
        amount = max(_round(notional / mark, 0.001), 0.001) * (1 if rng.random() < 0.6 else -1)
        entry = _round(mark * float(np.exp(rng.normal(0, 0.03))), _tick(mark))
        lev = int(rng.choice([2, 3, 5, 10, 20]))
        isolated = j % 3 == 2  # every account mixes cross and isolated
        row, im, mm, margin = _position(venue, symbol, amount, entry, mark, lev, isolated,
                                        TAKEN_AT - int(rng.integers(1_000, 60_000)))
        rows.append(row)
        im_total, mm_total, isolated_total = im_total + im, mm_total + mm, isolated_total + margin
        upnl_total += amount * (mark - entry)
    cross_need = im_total - isolated_total
    wallet = round(isolated_total + cross_need * float(rng.uniform(1.5, 4.0)) + max(0.0, -upnl_total), 2)
    fees = {s: {"symbol": s, "maker": MAKER, "taker": TAKER[venue], "info": {}} for s in chosen}
    return {
        "name": f"acct-{index:05d}",
        "venue": venue,
        "positions": rows,
        "open_orders": [],
        "balance": _balance(venue, wallet, im_total, mm_total, upnl_total, isolated_total, rows),
        "trading_fees": fees,
        "settings": {"hedge_mode": False, "account_type": "unified" if venue == "bybit" else "standard"},
    }


def synthetic_doc(accounts: int, positions: int, seed: int = 20251201, bars: int = 864) -> dict[str, Any]:
    """The snapshot document as plain JSON data (``riskguard.snapshot`` version 1)."""
    rng = np.random.default_rng(seed)
    universe = max(positions, 20)
    venues, marks = {}, {}
    for venue in VENUES:
        venues[venue], marks[venue] = _venue(rng, venue, universe, bars)
    rows = [_account(rng, i, VENUES[i % len(VENUES)], marks[VENUES[i % len(VENUES)]], positions)
            for i in range(accounts)]
    return {"format": "riskguard.snapshot", "version": 1, "taken_at": TAKEN_AT, "source": "synthetic",
            "venues": venues, "accounts": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--positions", type=int, required=True, help="positions per account")
    parser.add_argument("--seed", type=int, default=20251201)
    parser.add_argument("--bars", type=int, default=864, help="5-minute candles per market (864 = three days)")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    doc = synthetic_doc(args.accounts, args.positions, args.seed, args.bars)
    args.output.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {args.output}: {args.accounts} accounts × {args.positions} positions "
          f"({args.output.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
