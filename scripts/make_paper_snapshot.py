"""Build riskguard/data/paper_snapshot.json, the bundled paper account.

Accounts, markets, tiers, tickers, fees and order books are *recorded*: each
venue's emulator (`riskguard sim`) runs on loopback with the scenario in
scripts/paper/, and riskguard's live connector reads it through the real ccxt
code path, exactly as `riskguard snapshot` records a live account.  The market
history (5-minute candles, open-interest, funding, long/short-ratio and taker-volume history where the venue
has them) is synthetic but
seeded, so the file is reproducible up to its timestamps (the emulator checks
request signatures against the real clock, so the recording is "as of" when the
script ran): a random walk ending at the recorded mark with open interest that
builds on trends and unwinds on sharp moves.

Run from the repository root:  python scripts/make_paper_snapshot.py
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import numpy as np
import yaml

from riskguard.config import AccountConfig, AccountSpec, Credentials, Policy
from riskguard.connectors.live import fetch_snapshot_doc
from riskguard.connectors.snapshot_doc import AccountSettings, OhlcvSeries, SnapshotDoc, write_snapshot
from riskguard.sim.scenario import parse_scenario
from riskguard.sim.server import serve

HERE = Path(__file__).parent
OUT = HERE.parent / "riskguard" / "data" / "paper_snapshot.json"
BAR_MS = 300_000
BARS = 864  # three days of 5-minute bars
ACCOUNTS = {  # venue -> (account name in the snapshot, account type, per-bar volatility)
    "binanceusdm": ("binance-cross", "standard", 0.0021),
    "bybit": ("bybit-isolated", "unified", 0.0032),
    "hyperliquid": ("hyperliquid-cross", "standard", 0.0026),
}


def _history(rng: np.random.Generator, symbol: str, mark: float, oi_now: float, sigma: float, now: int) -> dict:
    """Candles, OI and funding that end at the recorded mark and open interest."""
    steps = rng.standard_t(df=4, size=BARS) * sigma / np.sqrt(2) + 0.00004
    closes = mark * np.exp(np.cumsum(steps) - np.sum(steps))
    opens = np.concatenate([[closes[0] / np.exp(steps[0])], closes[:-1]])
    wick = np.abs(rng.normal(0, sigma * 0.6, size=(2, BARS)))
    highs = np.maximum(opens, closes) * (1 + wick[0])
    lows = np.minimum(opens, closes) * (1 - wick[1])
    volume = oi_now * 0.004 * (1 + np.abs(steps) / sigma) * rng.uniform(0.6, 1.4, BARS)
    trend = np.convolve(steps, np.ones(12) / 12, mode="same")
    flows = 0.0012 * np.tanh(trend / sigma * 3) + rng.normal(0, 0.0006, BARS) - 0.004 * (np.abs(steps) > 3 * sigma)
    oi = oi_now * np.exp(np.cumsum(flows) - np.sum(flows))
    times = now - now % BAR_MS - BAR_MS * np.arange(BARS, 0, -1)
    rows = [[int(t), round(o, 6), round(h, 6), round(lo, 6), round(c, 6), round(v, 3)]
            for t, o, h, lo, c, v in zip(times, opens, highs, lows, closes, volume, strict=True)]
    oi_rows = [{"symbol": symbol, "openInterestAmount": round(float(a), 3),
                "openInterestValue": round(float(a * c), 2), "timestamp": int(t) + BAR_MS,
                "datetime": None, "info": {}} for t, a, c in zip(times, oi, closes, strict=True)]
    funding_times = np.arange(now - now % 28_800_000 - 3 * 86_400_000, now, 28_800_000)
    funding_rows = [{"symbol": symbol, "fundingRate": round(float(0.0001 + 0.00012 * np.tanh(k / 4)
                                                                  + rng.normal(0, 0.00003)), 8),
                     "timestamp": int(t), "datetime": None, "info": {}} for k, t in enumerate(funding_times)]
    return {"ohlcv": OhlcvSeries(timeframe="5m", rows=rows), "oi": oi_rows, "funding": funding_rows,
            **_positioning(symbol, times, steps, trend, flows, oi, volume, sigma)}


def _positioning(symbol: str, times: np.ndarray, steps: np.ndarray, trend: np.ndarray, flows: np.ndarray,
                 oi: np.ndarray, volume: np.ndarray, sigma: float) -> dict:
    """Long/short account ratio and taker volume consistent with the history above, with no random draws (the
    candles of every later symbol stay as they were): openers lean with the trend, so the long units and the
    ratio rise on up-trends; takers buy a little more on up-bars."""
    lean = 0.5 + 0.3 * np.tanh(trend / sigma * 3)
    added = np.maximum(np.diff(oi, prepend=oi[0]), 0.0)
    longs = 0.5 * oi[0] + np.cumsum(added * lean) - np.cumsum(np.maximum(-np.diff(oi, prepend=oi[0]), 0.0)) * 0.5
    share = np.clip(longs / oi, 0.05, 0.95)
    ratio_rows = [{"symbol": symbol, "longShortRatio": round(float(q / (1 - q)), 4), "timestamp": int(t) + BAR_MS,
                   "datetime": None, "timeframe": "5m", "info": {}} for t, q in zip(times, share, strict=True)]
    buy = volume * (0.5 + 0.1 * np.tanh(steps / sigma))
    taker_rows = [{"timestamp": int(t), "buyVolume": round(float(b), 3), "sellVolume": round(float(v - b), 3),
                   "info": {}} for t, b, v in zip(times, buy, volume, strict=True)]
    return {"ratio": ratio_rows, "taker": taker_rows}


async def _record(venue: str) -> SnapshotDoc:
    name, account_type, _ = ACCOUNTS[venue]
    data = yaml.safe_load((HERE / "paper" / f"{venue}.yaml").read_text())
    account = data["accounts"][0]
    if venue == "hyperliquid":
        from riskguard.sim.venues.hyperliquid import wallet_of

        account["api_key"] = wallet_of(account["secret"])
    scenario = parse_scenario(data)
    env = {"RG_PAPER_KEY": account["api_key"], "RG_PAPER_SECRET": account["secret"]}
    os.environ.update(env)
    creds = (Credentials(wallet_address="${RG_PAPER_KEY}", private_key="${RG_PAPER_SECRET}") if venue == "hyperliquid"
             else Credentials(api_key="${RG_PAPER_KEY}", secret="${RG_PAPER_SECRET}"))
    sim = await serve(venue, scenario=scenario)
    try:
        spec = AccountSpec(
            name=name,
            config=AccountConfig(venue=venue, endpoint=sim.base_url, credentials=creds, account_type=account_type),
            policy=Policy(),
            snapshot_path=None,
            where="paper",
        )
        return await fetch_snapshot_doc(spec)
    finally:
        await sim.close()


async def _main() -> None:
    rng = np.random.default_rng(20251120)
    docs = {venue: await _record(venue) for venue in ACCOUNTS}
    venues, accounts = {}, []
    for venue, doc in docs.items():
        vd = doc.venues[venue]
        history = {}
        for symbol, ticker in vd.tickers.items():
            mark = float(ticker.get("markPrice") or ticker["info"].get("markPrice") or ticker["info"]["markPx"])
            oi_now = float(vd.open_interest_history[symbol][-1]["openInterestAmount"]) \
                if vd.open_interest_history.get(symbol) else 100_000.0
            history[symbol] = _history(rng, symbol, mark, oi_now, ACCOUNTS[venue][2], doc.taken_at)
        venues[venue] = vd.model_copy(update={
            "ohlcv": {s: h["ohlcv"] for s, h in history.items()},
            "open_interest_history": {s: h["oi"] for s, h in history.items()},
            "funding_history": {s: h["funding"] for s, h in history.items()},
            # positioning data only where the venue publishes it (Bybit has no taker-volume history)
            "long_short_ratio_history": {s: h["ratio"] for s, h in history.items() if vd.long_short_ratio_history},
            "taker_volume": {s: h["taker"] for s, h in history.items() if vd.taker_volume},
        })
        name, account_type, _ = ACCOUNTS[venue]
        for a in doc.accounts:
            settings = AccountSettings(hedge_mode=a.settings.hedge_mode, account_type=account_type)
            accounts.append(a.model_copy(update={"name": name, "settings": settings}))
    taken_at = max(doc.taken_at for doc in docs.values())
    write_snapshot(SnapshotDoc(taken_at=taken_at, source="paper", venues=venues, accounts=accounts), OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    asyncio.run(_main())
