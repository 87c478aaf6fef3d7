"""The account's positions as the last full read saw them, certified by a live user-data stream since.

The executor re-reads a position right before each close and caps the close at it.  A REST read costs a round
trip to the venue (tens to hundreds of milliseconds) and request weight, in the middle of the reaction.  The
venue's user-data stream (Binance ``ACCOUNT_UPDATE`` / ``ORDER_TRADE_UPDATE``) pushes every position and order
change: while it is connected and has pushed nothing since a full read, the positions are those of the read.
The book serves them only when all of these hold, else the executor reads by REST as before:

* the private stream connected before the read began and has not failed or closed since;
* no position or order event arrived since the read began (the event asks for a new read, which reseeds);
* the read is no older than ``max_age_s`` (the daemon reconciles by REST at least that often);
* the stream is healthy by the worker's own test (stream data within ``poll_s``).

It serves only the first re-read of a symbol in an execution (``first_read``): after our own order the
position changes, and what follows (a remainder, a blocked close, the verification) reads by REST.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskguard.execution.guard import LivePosition
from riskguard.execution.venue_client import Venue


@dataclass(frozen=True, slots=True)
class ReadStart:
    at: float
    events: int


class PositionBook:
    def __init__(self, clock: Callable[[], float], max_age_s: float) -> None:
        self._clock = clock
        self.max_age_s = max_age_s
        self.live_since: float | None = None
        """When the private stream's current connection opened; None while it is down or not known to be up."""
        self.events = 0
        self._legs: dict[str, list[LivePosition]] | None = None
        self._seeded = ReadStart(0.0, -1)

    def connected(self) -> bool:
        """The private stream's connection opened; True when it was not live before (a read should reseed)."""
        if self.live_since is not None:
            return False
        self.live_since = self._clock()
        return True

    def lost(self) -> None:
        self.live_since = None
        self._legs = None

    def event(self) -> None:
        self.events += 1

    def read_start(self) -> ReadStart:
        return ReadStart(self._clock(), self.events)

    def seed(self, start: ReadStart, legs: list[LivePosition]) -> None:
        """A full read that began at ``start`` and succeeded; kept only when the stream covered all of it."""
        if self.live_since is None or self.live_since > start.at or self.events != start.events:
            self._legs = None
            return
        by_symbol: dict[str, list[LivePosition]] = {}
        for leg in legs:
            by_symbol.setdefault(leg.symbol, []).append(leg)
        self._legs, self._seeded = by_symbol, start

    def positions(self, symbol: str) -> list[LivePosition] | None:
        """The legs of ``symbol`` (empty: none held) when the book can be trusted, else None: read by REST."""
        if (self._legs is None or self.live_since is None or self.live_since > self._seeded.at
                or self.events != self._seeded.events or self._clock() - self._seeded.at > self.max_age_s):
            return None
        return list(self._legs.get(symbol, []))


class BookFirstVenue:
    """The executor's venue for one execution: the first position re-read of each symbol from ``book`` when
    ``trusted()`` and the book has it, every other read and every write through ``venue``."""

    def __init__(self, venue: Venue, book: PositionBook, trusted: Callable[[], bool]) -> None:
        self._venue = venue
        self._book = book
        self._trusted = trusted
        self._served: set[str] = set()
        self.from_book = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)

    async def positions(self, symbol: str) -> list[LivePosition]:
        if symbol not in self._served:
            self._served.add(symbol)
            legs = self._book.positions(symbol) if self._trusted() else None
            if legs is not None:
                self.from_book += 1
                return legs
        return await self._venue.positions(symbol)
