"""Venue-neutral websocket push: what changed in the emulated exchange since the last push, and who hears it.

The engine is not event-driven, so the hub diffs: after every request (REST or admin) and every scripted path
step it compares marks, positions and orders with what it last pushed, and hands each change to the venue's
renderer.  That keeps the engine untouched and guarantees a stream never shows a state the REST API has not
reached yet.

Stream faults stand beside the REST ones (``riskguard.sim.faults``):

* ``drop``: matching connections are closed at once (the client sees the socket die, as on a venue restart);
* ``silence``: matching connections stay open and answer pings but receive no events (a dead listenKey, a hung
  ``watchPositions``) for ``count`` events, or until cleared;
* ``duplicate``: each event to matching connections is sent twice (Binance's duplicated fills, ccxt#18028).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from aiohttp import web
from pydantic.dataclasses import dataclass as spec_dataclass

from riskguard.sim.engine import Account, Order, Position, SimExchange
from riskguard.sim.margin import STRICT

Channel = Literal["public", "private"]


class StreamFaultKind(StrEnum):
    DROP = "drop"
    SILENCE = "silence"
    DUPLICATE = "duplicate"


@spec_dataclass(frozen=True, config=STRICT)
class StreamFault:
    """One armed stream fault.  ``channel``: ``public``, ``private`` or ``*``; ``count``: events it affects
    (``None`` = until cleared; ignored by ``drop``, which acts once when armed)."""

    kind: StreamFaultKind
    channel: Literal["public", "private", "*"] = "*"
    count: int | None = None


class Renderer(Protocol):
    """A venue's wire format for the three kinds of change."""

    def mark(self, exchange: SimExchange, symbol: str) -> dict[str, Any]: ...
    def positions(self, exchange: SimExchange, account: Account, keys: list[tuple[str, str]]) -> dict[str, Any]: ...
    def order(self, exchange: SimExchange, account: Account, order: Order) -> dict[str, Any]: ...


@dataclass(eq=False)
class Subscriber:
    ws: web.WebSocketResponse
    channel: Channel
    api_key: str | None = None
    symbols: set[str] = field(default_factory=set)
    """Public subscribers: the symbols asked for (empty = none yet)."""
    topics: set[str] = field(default_factory=set)
    """Private subscribers on venues with per-topic subscription (Bybit); empty = every private event."""


@dataclass(frozen=True, slots=True)
class Pushed:
    """One event as delivered (a duplicate appears twice): the emulator's own record of what it streamed."""

    channel: Channel
    api_key: str | None
    topic: str
    body: dict[str, Any]


def _position_state(p: Position) -> tuple[float, float, float]:
    return (p.size, p.entry, p.isolated_margin)


class StreamHub:
    def __init__(self, exchange: SimExchange, renderer: Renderer) -> None:
        self.exchange = exchange
        self.renderer = renderer
        self.subscribers: list[Subscriber] = []
        self.faults: list[StreamFault] = []
        self.pushed: list[Pushed] = []
        self.dropped = 0
        self._marks: dict[str, float] = dict(exchange.marks)
        self._positions = {k: self._positions_of(a) for k, a in exchange.accounts.items()}
        self._orders = {k: self._orders_of(a) for k, a in exchange.accounts.items()}
        self._read = {k: len(a.orders.changes) for k, a in exchange.accounts.items()}
        """How far into each account's order changes the stream has pushed."""

    @staticmethod
    def _positions_of(account: Account) -> dict[tuple[str, str], tuple[float, float, float]]:
        return {key: _position_state(p) for key, p in account.positions.items()}

    @staticmethod
    def _orders_of(account: Account) -> dict[int, tuple[str, float]]:
        return {o.id: (o.status.value, o.filled) for o in account.orders.values()}

    # -- faults ------------------------------------------------------------------------------------

    async def arm(self, fault: StreamFault) -> None:
        if fault.kind is StreamFaultKind.DROP:
            for sub in [s for s in self.subscribers if fault.channel in ("*", s.channel)]:
                self.dropped += 1
                await sub.ws.close(code=1011, message=b"emulator: stream dropped")
                self._forget(sub)
            return
        self.faults.append(fault)

    def clear(self) -> None:
        self.faults.clear()

    def _take(self, kind: StreamFaultKind, channel: Channel) -> bool:
        for i, fault in enumerate(self.faults):
            if fault.kind is kind and fault.channel in ("*", channel):
                if fault.count is not None:
                    if fault.count <= 1:
                        del self.faults[i]
                    else:
                        self.faults[i] = StreamFault(fault.kind, fault.channel, fault.count - 1)
                return True
        return False

    # -- subscribers -------------------------------------------------------------------------------

    def add(self, sub: Subscriber) -> None:
        self.subscribers.append(sub)

    def _forget(self, sub: Subscriber) -> None:
        if sub in self.subscribers:
            self.subscribers.remove(sub)

    async def serve(self, sub: Subscriber, on_message: Callable[[Subscriber, Any], Any]) -> web.WebSocketResponse:
        """Register ``sub`` and read its messages until it closes; ``on_message`` answers subscriptions."""
        self.add(sub)
        try:
            async for message in sub.ws:
                if message.type == web.WSMsgType.TEXT:
                    try:
                        parsed = json.loads(message.data)
                    except json.JSONDecodeError:
                        continue
                    reply = on_message(sub, parsed)
                    if reply is not None:
                        await sub.ws.send_str(json.dumps(reply))
        finally:
            self._forget(sub)
        return sub.ws

    # -- publishing --------------------------------------------------------------------------------

    async def publish(self) -> int:
        """Push every change since the last call; returns how many events were delivered."""
        events: list[tuple[Channel, str | None, str, str | None, dict[str, Any]]] = []
        for symbol, mark in self.exchange.marks.items():
            if self._marks.get(symbol) != mark:
                self._marks[symbol] = mark
                events.append(("public", None, "mark", symbol, self.renderer.mark(self.exchange, symbol)))
        for key, account in self.exchange.accounts.items():
            now = self._positions_of(account)
            before = self._positions.get(key, {})
            changed = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))
            self._positions[key] = now
            seen = self._orders.setdefault(key, {})
            changes = account.orders.changes
            start, self._read[key] = self._read.get(key, 0), len(changes)
            for order_id in sorted(set(changes[start:])):  # in the order placed, as before
                order = account.orders[order_id]
                state = (order.status.value, order.filled)
                if seen.get(order_id) != state:
                    seen[order_id] = state
                    events.append(("private", key, "order", None, self.renderer.order(self.exchange, account, order)))
            if changed:
                events.append(("private", key, "position", None, self.renderer.positions(self.exchange, account,
                                                                                          changed)))
        delivered = 0
        for channel, who, topic, about, body in events:
            delivered += await self._deliver(channel, who, topic, about, body)
        return delivered

    def _audience(self, channel: Channel, api_key: str | None, topic: str, symbol: str | None
                  ) -> Iterable[Subscriber]:
        for sub in list(self.subscribers):
            if sub.channel != channel:
                continue
            if channel == "public" and symbol not in sub.symbols:
                continue
            if channel == "private" and (sub.api_key != api_key or (sub.topics and topic not in sub.topics)):
                continue
            yield sub

    async def _deliver(self, channel: Channel, api_key: str | None, topic: str, symbol: str | None,
                       body: dict[str, Any]) -> int:
        audience = list(self._audience(channel, api_key, topic, symbol))
        if not audience or self._take(StreamFaultKind.SILENCE, channel):
            return 0
        copies = 2 if self._take(StreamFaultKind.DUPLICATE, channel) else 1
        text = json.dumps(body)
        delivered = 0
        for sub in audience:
            for _ in range(copies):
                if sub.ws.closed:
                    continue
                try:
                    await sub.ws.send_str(text)
                except ConnectionError:
                    self._forget(sub)
                    continue
                self.pushed.append(Pushed(channel, api_key, topic, body))
                delivered += 1
        return delivered
