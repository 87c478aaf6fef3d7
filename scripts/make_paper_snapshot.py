"""Build riskguard/data/paper_snapshot.json, the bundled paper account.

Accounts, markets, tiers, tickers, fees and order books are *recorded*: each
venue's emulator (`riskguard sim`) runs on loopback with the scenario in
scripts/paper/, and riskguard's live connector reads it through the real ccxt
code path, exactly as `riskguard snapshot` records a live account.  The market
history (5-minute candles, open-interest and funding history) is synthetic but
seeded, so the file is reproducible up to its timestamps (the emulator checks
request signatures against the real clock, so the recording is "as of" when the
script ran): a random walk ending at the recorded mark with open interest that
builds on trends and unwinds on sharp moves.

The history must agree with the positions: a live position's liquidation price
was never touched before the snapshot, or the position would not exist, and its
resting stop never triggered, or it would have closed the position.  So the
walk's excursions from the recorded mark are squashed (tanh) inside the band
between the longs' highest and the shorts' lowest such price of the symbol
(computed liquidation, venue-reported liquidation, stop trigger), and wicks stop
short of it.  Funding covers two weeks so
its z-score has a baseline (riskguard.risk.crowding needs 30 settlements).

Run from the repository root:  python scripts/make_paper_snapshot.py
With --history-only the recorded accounts and market data of the existing file
are kept as they are and only the synthetic history is made again.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
from pathlib import Path

import numpy as np
import yaml

from riskguard.check import check_snapshot
from riskguard.config import AccountConfig, AccountSpec, Credentials, Policy
from riskguard.connectors.snapshot_doc import AccountSettings, OhlcvSeries, SnapshotDoc, read_snapshot, write_snapshot
from riskguard.sim.scenario import parse_scenario
from riskguard.sim.server import serve

HERE = Path(__file__).parent
OUT = HERE.parent / "riskguard" / "data" / "paper_snapshot.json"
BAR_MS = 300_000
BARS = 864  # three days of 5-minute bars
ACCOUNTS = {  # venue -> (account name in the snapshot, account type, per-bar volatility, funding interval h)
    "binanceusdm": ("binance-cross", "standard", 0.0021, 8),
    "bybit": ("bybit-isolated", "unified", 0.0032, 8),
    "hyperliquid": ("hyperliquid-cross", "standard", 0.0026, 1),
}
FUNDING_DAYS = 14
Bounds = tuple[float, float]
"""(lowest, highest) price the history may reach: beyond it a live position would have been liquidated."""


def _squash(path: np.ndarray, centre: float, floor: float, ceiling: float) -> np.ndarray:
    """Compress a log-price path's excursions from ``centre`` into (floor, ceiling) with tanh: small moves stay
    almost as they were, large ones approach the bound without reaching it, and the centre (the last close,
    at the recorded mark) does not move."""
    d = path - centre
    up, down = ceiling - centre, centre - floor
    d = np.where(d > 0, up * np.tanh(d / up), d) if math.isfinite(up) else d
    return centre + (np.where(d < 0, -down * np.tanh(-d / down), d) if math.isfinite(down) else d)


def _history(rng: np.random.Generator, symbol: str, mark: float, oi_now: float, sigma: float, now: int,
             bounds: Bounds = (0.0, math.inf), funding_hours: int = 8) -> dict:
    """Candles, OI and funding that end at the recorded mark and open interest, inside ``bounds``."""
    steps = rng.standard_t(df=4, size=BARS) * sigma / np.sqrt(2) + 0.00004
    path = np.log(mark) + np.concatenate([[0.0], np.cumsum(steps)]) - np.sum(steps)
    lo, hi = bounds
    gap_lo, gap_hi = (min(0.002, 0.25 * abs(math.log(mark / b))) if 0 < b < math.inf else 0.0 for b in bounds)
    floor = math.log(lo) + gap_lo if lo > 0 else -math.inf  # closes stay a gap inside the band, wicks half a gap
    ceiling = math.log(hi) - gap_hi if hi < math.inf else math.inf
    path = _squash(path, math.log(mark), floor, ceiling)
    opens, closes = np.exp(path[:-1]), np.exp(path[1:])
    wick = np.abs(rng.normal(0, sigma * 0.6, size=(2, BARS)))
    highs = np.minimum(np.maximum(opens, closes) * (1 + wick[0]), hi * math.exp(-gap_hi / 2))
    lows = np.maximum(np.minimum(opens, closes) * (1 - wick[1]), lo * math.exp(gap_lo / 2))
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
    step_ms = funding_hours * 3_600_000
    funding_times = np.arange(now - now % step_ms - FUNDING_DAYS * 86_400_000, now, step_ms)
    scale = funding_hours / 8  # rates are per interval: an hourly venue pays an eighth per settlement
    ramp = np.tanh(np.arange(len(funding_times)) / (4 * 8 / funding_hours))
    funding_rows = [{"symbol": symbol, "fundingRate": round(float(scale * (0.0001 + 0.00012 * r)
                                                                  + rng.normal(0, 0.00003 * scale)), 8),
                     "timestamp": int(t), "datetime": None, "info": {}}
                    for r, t in zip(ramp, funding_times, strict=True)]
    return {"ohlcv": OhlcvSeries(timeframe="5m", rows=rows), "oi": oi_rows, "funding": funding_rows}


async def _record(venue: str) -> SnapshotDoc:
    from riskguard.connectors.live import fetch_snapshot_doc

    name, account_type, _, _ = ACCOUNTS[venue]
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


def liquidation_bounds(path: Path) -> dict[tuple[str, str], Bounds]:
    """Per (venue, symbol), the price band no candle may leave: each live long's liquidation price and stops
    below, each short's above (computed and venue-reported liquidation price, whichever is nearer to mark)."""
    bounds: dict[tuple[str, str], Bounds] = {}
    result = check_snapshot(path, None)
    for account in result.accounts:
        for v, signals in zip(account.positions, result.signals[account.name], strict=True):
            p = v.risk
            prices = [x for x in (p.liquidation_price, p.venue_liquidation_price) if x is not None]
            prices += [c.order.trigger_price for c in signals.stops or () if c.order.trigger_price is not None]
            if not prices:
                continue
            lo, hi = bounds.get((account.venue, p.symbol), (0.0, math.inf))
            if p.side == "long":
                lo = max(lo, *prices)
            else:
                hi = min(hi, *prices)
            bounds[(account.venue, p.symbol)] = (lo, hi)
    return bounds


def with_history(doc: SnapshotDoc, bounds: dict[tuple[str, str], Bounds]) -> SnapshotDoc:
    """``doc`` with its synthetic history made again from the recorded marks and open interest."""
    rng = np.random.default_rng(20251120)
    venues = {}
    for venue, vd in doc.venues.items():
        _, _, sigma, funding_hours = ACCOUNTS[venue]
        history = {}
        for symbol, ticker in vd.tickers.items():
            mark = float(ticker.get("markPrice") or ticker["info"].get("markPrice") or ticker["info"]["markPx"])
            oi_now = float(vd.open_interest_history[symbol][-1]["openInterestAmount"]) \
                if vd.open_interest_history.get(symbol) else 100_000.0
            history[symbol] = _history(rng, symbol, mark, oi_now, sigma, doc.taken_at,
                                       bounds.get((venue, symbol), (0.0, math.inf)), funding_hours)
        venues[venue] = vd.model_copy(update={
            "ohlcv": {s: h["ohlcv"] for s, h in history.items()},
            "open_interest_history": {s: h["oi"] for s, h in history.items()},
            "funding_history": {s: h["funding"] for s, h in history.items()},
        })
    return doc.model_copy(update={"venues": venues})


async def _recorded() -> SnapshotDoc:
    docs = {venue: await _record(venue) for venue in ACCOUNTS}
    venues, accounts = {}, []
    for venue, doc in docs.items():
        venues[venue] = doc.venues[venue]
        name, account_type, _, _ = ACCOUNTS[venue]
        for a in doc.accounts:
            settings = AccountSettings(hedge_mode=a.settings.hedge_mode, account_type=account_type)
            accounts.append(a.model_copy(update={"name": name, "settings": settings}))
    taken_at = max(doc.taken_at for doc in docs.values())
    return SnapshotDoc(taken_at=taken_at, source="paper", venues=venues, accounts=accounts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history-only", action="store_true",
                        help="keep the recorded accounts and market data of the existing file")
    args = parser.parse_args()
    doc = read_snapshot(OUT) if args.history_only else asyncio.run(_recorded())
    write_snapshot(with_history(doc, {}), OUT)  # a first history, only to read the positions through riskguard
    write_snapshot(with_history(doc, liquidation_bounds(OUT)), OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
