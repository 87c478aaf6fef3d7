"""A streamed mark price applied to the last full read, so a mark tick is evaluated in milliseconds.

A full REST read costs hundreds of milliseconds and a share of the venue's rate limit; a mark tick arrives many
times a second.  Between full reads the daemon keeps the last read's document and rewrites what a mark moves
(the ticker's mark, each position's mark and unrealized PnL, the time stamps), then runs the same normalizers
and the same evaluation as ``check``.  Everything else (sizes, wallet, tiers, history) stays as the venue last
said: a position or order change arrives on its own stream and triggers a full read instead.  A test checks
that the rewritten document evaluates as a fresh read at the same mark does.
"""

from __future__ import annotations

import math
from typing import Any

from riskguard.connectors.normalize import build_snapshot
from riskguard.connectors.snapshot_doc import SnapshotDoc
from riskguard.errors import DataUnavailable
from riskguard.model.snapshot import Snapshot


def _num(text: float) -> str:
    return f"{text:.8f}"


def remark(doc: SnapshotDoc, marks: dict[str, float], at_ms: int) -> SnapshotDoc:
    """``doc`` with every symbol of ``marks`` at its new mark, stamped ``at_ms``.

    Copies only what a mark moves (the tickers and positions of those symbols), sharing the rest, candle history
    included, with ``doc``: neither is ever changed in place.  The normalizers check the new numbers.
    """
    for symbol, new in marks.items():
        if not (math.isfinite(new) and new > 0):
            raise DataUnavailable(f"streamed mark of {symbol} is {new!r}, not a price")
    venues = {}
    for name, venue in doc.venues.items():
        tickers = dict(venue.tickers)
        for symbol, new in marks.items():
            ticker = tickers.get(symbol)
            if ticker is None:
                continue
            ticker = tickers[symbol] = dict(ticker)
            ticker["markPrice"] = new
            ticker["timestamp"] = at_ms
            info = ticker.get("info")
            if isinstance(info, dict) and "markPrice" in info:
                ticker["info"] = {**info, "markPrice": _num(new), "time": at_ms}
        venues[name] = venue.model_copy(update={"tickers": tickers})
    accounts = [account.model_copy(update={"positions": [
        _moved(p, marks[p["symbol"]], at_ms) if p.get("symbol") in marks else p for p in account.positions]})
        for account in doc.accounts]
    return doc.model_copy(update={"venues": venues, "accounts": accounts, "taken_at": max(at_ms, doc.taken_at)})


def remark_snapshot(doc: SnapshotDoc, base: Snapshot, marks: dict[str, float], at_ms: int, origin: str
                    ) -> tuple[SnapshotDoc, Snapshot]:
    """``remark`` and its snapshot, with the markets, tiers and market series of ``base`` (the full read ``doc``
    came from).

    Normalizing the series (a week of candles, open interest, ratios per symbol) and the markets with their tier
    tables is most of normalizing a tick, and a tick leaves them as the read had them: they are taken from the
    read's snapshot instead of normalized again.  Everything a mark moves (tickers, positions, the balance they
    are checked against) goes through the normalizers and their checks.
    """
    moved = remark(doc, marks, at_ms)
    return moved, build_snapshot(moved, origin, known=base)


def _moved(position: dict[str, Any], mark: float, at_ms: int) -> dict[str, Any]:
    moved = dict(position)
    contracts = float(position.get("contracts") or 0.0)
    size = contracts * float(position.get("contractSize") or 1.0)
    entry = float(position.get("entryPrice") or 0.0)
    sign = -1.0 if position.get("side") == "short" else 1.0
    inverse = position.get("symbol", "").split(":")[-1] != position.get("symbol", "").split("/")[-1].split(":")[0]
    upnl = sign * size * ((1 / entry - 1 / mark) if inverse and entry else (mark - entry))
    old_mark = float(position.get("markPrice") or 0.0)
    # Initial margin is the notional over the leverage: it moves with a linear position's mark.
    scale = mark / old_mark if old_mark > 0 and not inverse else 1.0
    moved.update(markPrice=mark, unrealizedPnl=upnl, timestamp=at_ms, notional=size * mark if not inverse else size)
    if isinstance(position.get("initialMargin"), int | float):
        moved["initialMargin"] = position["initialMargin"] * scale
    info = position.get("info")
    if isinstance(info, dict):
        patched = dict(info)
        for key in ("markPrice", "markPx", "mark_price"):
            if key in patched:
                patched[key] = _num(mark)
        for key in ("unRealizedProfit", "unrealisedPnl", "upl"):
            if key in patched:
                patched[key] = _num(upnl)
        for key in ("initialMargin", "positionInitialMargin"):  # Binance
            if key in patched and scale != 1.0:
                value = float(patched[key]) * scale
                patched[key] = _num(value) if isinstance(patched[key], str) else value
        if "notional" in patched and not inverse:  # Binance: signed positionAmt × mark, checked against the size
            signed = float(patched.get("positionAmt") or sign * contracts) * mark
            patched["notional"] = _num(signed) if isinstance(patched["notional"], str) else signed
        for key in ("updateTime", "updatedTime", "uTime"):
            if key in patched:
                patched[key] = at_ms if not isinstance(patched[key], str) else str(at_ms)
        moved["info"] = patched
    return moved
