"""``MarkStreams``: one watch per symbol for every account holding it, handed out nearest liquidation first."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from riskguard.daemon.feeds import MarkStreams


class _Exchange:
    def __init__(self, marks: list[float]) -> None:
        self.has = {"watchMarkPrice": True}
        self.marks, self.watches = marks, 0
        self.idle = asyncio.Event()

    async def watch_mark_price(self, symbol: str) -> dict[str, Any]:
        self.watches += 1
        if not self.marks:
            self.idle.set()
            await asyncio.Event().wait()  # no more ticks: hang like a quiet stream
        return {"symbol": symbol, "markPrice": self.marks.pop(0)}


class _Worker:
    def __init__(self, name: str, urgency: float, heard: list[str]) -> None:
        self.name, self.urgency, self.heard = name, urgency, heard

    def on_mark(self, symbol: str, mark: float) -> None:
        self.heard.append(f"{self.name} {mark:g}")


async def test_a_mark_reaches_every_holder_nearest_liquidation_first() -> None:
    heard: list[str] = []
    exchange, stop = _Exchange([100.0, 101.0]), asyncio.Event()
    streams = MarkStreams(exchange, stop)
    workers = [_Worker("safe", 40.0, heard), _Worker("unknown", -math.inf, heard), _Worker("thin", 2.5, heard),
               _Worker("flat", math.inf, heard)]
    for w in workers:
        streams.subscribe("BTC/USDT:USDT", w)  # type: ignore[arg-type]
    streams.subscribe("BTC/USDT:USDT", workers[0])  # twice: still one holder, one watch
    await asyncio.wait_for(exchange.idle.wait(), 5)
    await streams.close()
    order = ["unknown", "thin", "safe", "flat"]
    assert heard == [f"{n} 100" for n in order] + [f"{n} 101" for n in order]
    assert exchange.watches == 3  # one watch for the symbol, whoever holds it
