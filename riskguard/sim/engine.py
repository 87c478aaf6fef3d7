"""Venue-neutral exchange state: accounts, positions, orders, marks, fills and liquidations.

A dialect (``riskguard.sim.venues.*``) translates one venue's REST wire format into calls on
``SimExchange`` and renders the results back; nothing in here knows any venue's field names or
error codes. Rejections carry a ``RejectReason`` that each dialect maps to its own code and text.

State is mutable on purpose: it is the exchange's book of record. The records it hands out
(``Position``, ``Order``, ``Trade``, ``Liquidation``) are frozen snapshots, replaced on change.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal

from pydantic.dataclasses import dataclass as spec_dataclass

from riskguard.sim.margin import (
    STRICT,
    Exposure,
    Instrument,
    Leg,
    MarginMode,
    margin_surplus,
    solve_liquidation_price,
)
from riskguard.sim.market import OrderBook, synthetic_book


class RejectReason(StrEnum):
    """Why the engine refused a request; dialects map each to the venue's own error."""

    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_LEVERAGE = "INVALID_LEVERAGE"
    REDUCE_ONLY_WOULD_INCREASE = "REDUCE_ONLY_WOULD_INCREASE"
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    WOULD_TRIGGER_IMMEDIATELY = "WOULD_TRIGGER_IMMEDIATELY"
    POSITION_MODE_MISMATCH = "POSITION_MODE_MISMATCH"
    POSITION_OR_ORDER_EXISTS = "POSITION_OR_ORDER_EXISTS"
    NO_CHANGE = "NO_CHANGE"


class OrderRejected(Exception):
    """Raised by ``SimExchange`` for a request the venue would refuse."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason
        self.detail = detail


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    STOP_MARKET = "stop_market"
    """Market order armed until the MARK price crosses ``trigger_price``."""


class OrderStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    """A triggered stop that could not execute (e.g. reduce-only with nothing left to reduce)."""


@spec_dataclass(frozen=True, config=STRICT)
class PositionSpec:
    """A position as a scenario declares it (size in contracts, signed)."""

    symbol: str
    size: float
    entry: float
    leverage: float = 10.0
    margin_mode: MarginMode = MarginMode.CROSS
    isolated_margin: float = 0.0
    leg: Leg = "both"


@spec_dataclass(frozen=True, config=STRICT)
class OrderSpec:
    """A resting order as a scenario declares it (amount in contracts): a stop-market order when it has a
    ``trigger_price``, else a limit order at ``price``.  Placed through the same checks as a venue request,
    so a reduce-only stop must face a position it can close and its trigger must not be crossed yet."""

    symbol: str
    side: Literal["buy", "sell"]
    amount: float
    trigger_price: float | None = None
    price: float | None = None
    reduce_only: bool = False
    leg: Leg = "both"


@spec_dataclass(frozen=True, config=STRICT)
class AccountSpec:
    """An account as a scenario declares it; ``balances`` are cross wallet balances per asset."""

    api_key: str
    secret: str
    balances: dict[str, float]
    hedge_mode: bool = False
    positions: tuple[PositionSpec, ...] = ()
    orders: tuple[OrderSpec, ...] = ()
    maker_fee: float = 0.0002
    taker_fee: float = 0.0005
    passphrase: str = ""
    """Only venues that sign with a passphrase (OKX) look at it."""


@dataclass(frozen=True)
class Position:
    symbol: str
    leg: Leg
    size: float
    entry: float
    leverage: float
    margin_mode: MarginMode
    isolated_margin: float
    updated_ms: int

    @property
    def side(self) -> str:
        return "long" if self.size > 0 else "short"


@dataclass(frozen=True)
class OrderRequest:
    """What a dialect parsed out of a create-order call. ``amount`` is in contracts."""

    symbol: str
    side: str  # "buy" | "sell"
    type: OrderType
    amount: float
    price: float | None = None
    trigger_price: float | None = None
    reduce_only: bool = False
    leg: Leg = "both"
    client_id: str | None = None


@dataclass(frozen=True)
class Order:
    id: int
    client_id: str
    symbol: str
    side: str
    type: OrderType
    amount: float
    price: float | None
    trigger_price: float | None
    reduce_only: bool
    leg: Leg
    status: OrderStatus
    filled: float
    average: float
    created_ms: int
    updated_ms: int


@dataclass(frozen=True)
class Trade:
    id: int
    order_id: int
    symbol: str
    side: str
    amount: float
    price: float
    fee: float
    realized_pnl: float
    maker: bool
    time_ms: int


@dataclass(frozen=True)
class Liquidation:
    """A position the engine force-closed because equity fell below maintenance margin."""

    api_key: str
    symbol: str
    leg: Leg
    size: float
    price: float
    time_ms: int


@dataclass(frozen=True)
class MarginSummary:
    """Account totals for one settle asset, all in that asset, evaluated at the current marks."""

    asset: str
    cross_wallet: float
    wallet: float
    unrealized_pnl: float
    cross_unrealized_pnl: float
    maintenance: float
    initial: float
    available: float

    @property
    def margin_balance(self) -> float:
        return self.wallet + self.unrealized_pnl


class OrderLog(dict[int, Order]):
    """An account's orders by id, in the order they were placed, with the open ones and every change kept aside.

    A venue's trigger engine, its order stream and its order lookups cost what is live, not the account's whole
    history: an emulator that rescanned every order it had taken slowed each mark push by the length of a long
    benchmark, and the daemon's measured reaction with it.  Orders are set, never removed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.open: dict[int, Order] = {}
        self.changes: list[int] = []
        """Order ids in the order they were set (once per setting): the order stream reads on from its place."""
        self.by_client_id: dict[str, list[int]] = {}
        """The ids of the orders that carry each client id (a venue may take one twice), in id order."""

    def __setitem__(self, key: int, order: Order) -> None:
        if key not in self:
            self.by_client_id.setdefault(order.client_id, []).append(key)
        super().__setitem__(key, order)
        if order.status is OrderStatus.OPEN:
            self.open[key] = order
        else:
            self.open.pop(key, None)
        self.changes.append(key)


@dataclass
class Account:
    """Mutable book of one API key: wallet, positions keyed by (symbol, leg), orders, fills."""

    api_key: str
    secret: str
    passphrase: str
    balances: dict[str, float]
    hedge_mode: bool
    maker_fee: float
    taker_fee: float
    positions: dict[tuple[str, Leg], Position] = field(default_factory=dict)
    orders: OrderLog = field(default_factory=OrderLog)
    trades: list[Trade] = field(default_factory=list)
    leverage: dict[str, float] = field(default_factory=dict)
    margin_mode: dict[str, MarginMode] = field(default_factory=dict)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self.orders.open.values() if symbol is None or o.symbol == symbol]


class SimExchange:
    """The emulated venue: instruments, marks, accounts and the matching/liquidation rules.

    :param instruments: tradable contracts, keyed by their venue-native symbol.
    :param accounts: initial accounts; their API keys authenticate requests.
    :param marks: initial mark price per symbol (every instrument needs one).
    :param clock: epoch-milliseconds source; injected so tests can pin time.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        accounts: Iterable[AccountSpec],
        marks: Mapping[str, float],
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.instruments = {i.symbol: i for i in instruments}
        self.clock = clock
        self.marks: dict[str, float] = {}
        self.mark_history: dict[str, list[tuple[int, float]]] = {s: [] for s in self.instruments}
        self.liquidations: list[Liquidation] = []
        self._ids = itertools.count(100_000_001)
        for symbol in self.instruments:
            if symbol not in marks:
                raise ValueError(f"no initial mark for {symbol}")
            self._record_mark(symbol, marks[symbol])
        self.accounts = {spec.api_key: self._open_account(spec) for spec in accounts}

    def _open_account(self, spec: AccountSpec) -> Account:
        account = Account(spec.api_key, spec.secret, spec.passphrase, dict(spec.balances), spec.hedge_mode,
                          spec.maker_fee, spec.taker_fee)
        for p in spec.positions:
            self.instrument(p.symbol)
            leg: Leg = p.leg if spec.hedge_mode else "both"
            account.positions[(p.symbol, leg)] = Position(p.symbol, leg, p.size, p.entry, p.leverage,
                                                          p.margin_mode, p.isolated_margin, self.now_ms())
            account.leverage[p.symbol] = p.leverage
            account.margin_mode[p.symbol] = p.margin_mode
        for o in spec.orders:
            kind = OrderType.STOP_MARKET if o.trigger_price is not None else OrderType.LIMIT
            request = OrderRequest(o.symbol, o.side, kind, o.amount, o.price, o.trigger_price, o.reduce_only, o.leg)
            try:
                self.place_order(account, request)
            except OrderRejected as exc:
                raise ValueError(f"account {spec.api_key}: scenario order {o} refused: {exc}") from None
        return account

    # -- lookups -------------------------------------------------------------------------------

    def now_ms(self) -> int:
        return self.clock()

    def instrument(self, symbol: str) -> Instrument:
        try:
            return self.instruments[symbol]
        except KeyError:
            raise OrderRejected(RejectReason.UNKNOWN_SYMBOL, symbol) from None

    def mark(self, symbol: str) -> float:
        self.instrument(symbol)
        return self.marks[symbol]

    def order_book(self, symbol: str, depth: int | None = None) -> OrderBook:
        return synthetic_book(self.instrument(symbol), self.mark(symbol), depth)

    def leverage_of(self, account: Account, symbol: str) -> float:
        return account.leverage.get(symbol, 10.0)

    def margin_mode_of(self, account: Account, symbol: str) -> MarginMode:
        return account.margin_mode.get(symbol, MarginMode.CROSS)

    # -- margin --------------------------------------------------------------------------------

    def _exposure(self, position: Position) -> Exposure:
        return Exposure(self.instruments[position.symbol], position.size, position.entry,
                        self.marks[position.symbol])

    def _cross_positions(self, account: Account, settle: str) -> list[Position]:
        return [p for p in account.positions.values() if p.margin_mode is MarginMode.CROSS
                and self.instruments[p.symbol].settle == settle]

    def liquidation_price(self, account: Account, position: Position) -> float | None:
        """The mark at which ``position`` is liquidated, by numeric root search (see ``margin``).

        Cross positions share the settle asset's wallet with the account's other cross positions,
        which stay at their marks; both hedge legs of one symbol move together and share one price.
        """
        if position.margin_mode is MarginMode.ISOLATED:
            return solve_liquidation_price(position.isolated_margin, [self._exposure(position)])
        settle = self.instruments[position.symbol].settle
        pool = self._cross_positions(account, settle)
        moving = [self._exposure(p) for p in pool if p.symbol == position.symbol]
        frozen = [self._exposure(p) for p in pool if p.symbol != position.symbol]
        return solve_liquidation_price(account.balances.get(settle, 0.0), moving, frozen)

    def maintenance_of(self, position: Position) -> float:
        return self.instruments[position.symbol].maintenance(position.size, self.marks[position.symbol])

    def unrealized_pnl_of(self, position: Position) -> float:
        instrument = self.instruments[position.symbol]
        return instrument.pnl(position.size, position.entry, self.marks[position.symbol])

    def initial_margin_of(self, position: Position) -> float:
        instrument = self.instruments[position.symbol]
        return instrument.notional(position.size, self.marks[position.symbol]) / position.leverage

    def margin_summary(self, account: Account, asset: str) -> MarginSummary:
        """Wallet, PnL and margin totals of everything settled in ``asset``."""
        positions = [p for p in account.positions.values() if self.instruments[p.symbol].settle == asset]
        cross = [p for p in positions if p.margin_mode is MarginMode.CROSS]
        cross_wallet = account.balances.get(asset, 0.0)
        isolated = sum(p.isolated_margin for p in positions if p.margin_mode is MarginMode.ISOLATED)
        cross_upnl = sum(self.unrealized_pnl_of(p) for p in cross)
        cross_initial = sum(self.initial_margin_of(p) for p in cross)
        return MarginSummary(
            asset=asset,
            cross_wallet=cross_wallet,
            wallet=cross_wallet + isolated,
            unrealized_pnl=sum(self.unrealized_pnl_of(p) for p in positions),
            cross_unrealized_pnl=cross_upnl,
            maintenance=sum(self.maintenance_of(p) for p in positions),
            initial=sum(self.initial_margin_of(p) for p in positions),
            # Unrealised profit is not spendable, losses are; isolated margin is already set aside.
            available=max(cross_wallet + min(cross_upnl, 0.0) - cross_initial, 0.0),
        )

    # -- account settings ----------------------------------------------------------------------

    def set_leverage(self, account: Account, symbol: str, leverage: float) -> None:
        instrument = self.instrument(symbol)
        if not 1 <= leverage <= instrument.tiers[0].max_leverage:
            raise OrderRejected(RejectReason.INVALID_LEVERAGE, f"{leverage}")
        account.leverage[symbol] = leverage
        for leg_key, p in list(account.positions.items()):
            if p.symbol == symbol:
                account.positions[leg_key] = replace(p, leverage=leverage, updated_ms=self.now_ms())

    def set_margin_mode(self, account: Account, symbol: str, mode: MarginMode) -> None:
        self.instrument(symbol)
        if self.margin_mode_of(account, symbol) is mode:
            raise OrderRejected(RejectReason.NO_CHANGE, f"already {mode}")
        if any(p.symbol == symbol for p in account.positions.values()) or account.open_orders(symbol):
            raise OrderRejected(RejectReason.POSITION_OR_ORDER_EXISTS, symbol)
        account.margin_mode[symbol] = mode

    def set_position_mode(self, account: Account, hedge: bool) -> None:
        if account.hedge_mode == hedge:
            raise OrderRejected(RejectReason.NO_CHANGE, "position mode unchanged")
        if account.positions or account.open_orders():
            raise OrderRejected(RejectReason.POSITION_OR_ORDER_EXISTS, "close positions and orders first")
        account.hedge_mode = hedge

    # -- orders --------------------------------------------------------------------------------

    def place_order(self, account: Account, request: OrderRequest, fill_ratio: float = 1.0) -> Order:
        """Validate, then fill (market, marketable limit) or rest (limit, stop) an order.

        Reduce-only orders that would open, increase or flip a position are rejected up front,
        as venues do, rather than trimmed.

        :param fill_ratio: below 1, a market order fills only this share of its amount (rounded down to the
            step) and the rest expires (the ``partial_fill`` fault).
        """
        instrument = self.instrument(request.symbol)
        leg = self._leg_for(account, request)
        amount = instrument.round_amount(request.amount)
        if amount <= 0 or amount < instrument.min_amount:
            raise OrderRejected(RejectReason.INVALID_AMOUNT, f"{request.amount}")
        if request.type is OrderType.LIMIT and not request.price:
            raise OrderRejected(RejectReason.INVALID_PRICE, "limit order needs a price")
        if request.type is OrderType.STOP_MARKET:
            trigger = request.trigger_price
            if not trigger:
                raise OrderRejected(RejectReason.INVALID_PRICE, "stop order needs a trigger price")
            if self._stop_triggered(request.side, trigger, self.marks[request.symbol]):
                raise OrderRejected(RejectReason.WOULD_TRIGGER_IMMEDIATELY, f"trigger {trigger}")
        if request.reduce_only:
            self._check_reduces(account, request.symbol, leg, request.side, amount)
        now = self.now_ms()
        order = Order(
            id=next(self._ids), client_id=request.client_id or f"sim{now}{len(account.orders)}",
            symbol=request.symbol, side=request.side, type=request.type, amount=amount,
            price=instrument.round_price(request.price) if request.price else None,
            trigger_price=request.trigger_price, reduce_only=request.reduce_only, leg=leg,
            status=OrderStatus.OPEN, filled=0.0, average=0.0, created_ms=now, updated_ms=now,
        )
        if order.type is OrderType.MARKET and fill_ratio < 1:
            part = instrument.round_amount(amount * fill_ratio)
            done = replace(order, status=OrderStatus.EXPIRED)
            if part > 0:
                done = self._fill(account, replace(order, amount=part), self._taker_price(order), maker=False)
            order = replace(done, amount=amount, status=OrderStatus.EXPIRED)
        elif order.type is OrderType.MARKET or (order.type is OrderType.LIMIT and self._marketable(order)):
            price = self._taker_price(order)
            self._check_margin(account, order, price)
            order = self._fill(account, order, price, maker=False)
        account.orders[order.id] = order
        return order

    def cancel_order(self, account: Account, symbol: str, order_id: int | None = None,
                     client_id: str | None = None) -> Order:
        order = self.find_order(account, symbol, order_id, client_id)
        if order.status is not OrderStatus.OPEN:
            raise OrderRejected(RejectReason.UNKNOWN_ORDER, f"{order.id} is {order.status}")
        canceled = replace(order, status=OrderStatus.CANCELED, updated_ms=self.now_ms())
        account.orders[order.id] = canceled
        return canceled

    def find_order(self, account: Account, symbol: str, order_id: int | None = None,
                   client_id: str | None = None) -> Order:
        """An order of ``symbol`` by exchange id or client id, in any status."""
        orders = account.orders
        ids = {*orders.by_client_id.get(client_id or "", ()), *((order_id,) if order_id in orders else ())}
        for key in sorted(ids):  # the first placed, as a scan of the whole log would find it
            if orders[key].symbol == symbol:
                return orders[key]
        raise OrderRejected(RejectReason.UNKNOWN_ORDER, f"{order_id or client_id}")

    def _leg_for(self, account: Account, request: OrderRequest) -> Leg:
        if not account.hedge_mode:
            if request.leg != "both":
                raise OrderRejected(RejectReason.POSITION_MODE_MISMATCH, "one-way account, leg given")
            return "both"
        if request.leg == "both":
            raise OrderRejected(RejectReason.POSITION_MODE_MISMATCH, "hedge account needs a leg")
        return request.leg

    def _check_reduces(self, account: Account, symbol: str, leg: Leg, side: str, amount: float) -> None:
        position = account.positions.get((symbol, leg))
        size = position.size if position else 0.0
        delta = amount if side == "buy" else -amount
        if size == 0 or size * delta > 0 or amount > abs(size) + 1e-12:
            raise OrderRejected(RejectReason.REDUCE_ONLY_WOULD_INCREASE,
                                f"position {size}, order {delta:+}")

    @staticmethod
    def _stop_triggered(side: str, trigger: float, mark: float) -> bool:
        return mark >= trigger if side == "buy" else mark <= trigger

    def _marketable(self, order: Order) -> bool:
        book = self.order_book(order.symbol)
        assert order.price is not None
        if order.side == "buy":
            return order.price >= book.asks[0][0]
        return order.price <= book.bids[0][0]

    def _taker_price(self, order: Order) -> float:
        """Volume-weighted price of sweeping the synthetic book; a limit caps the price."""
        book = self.order_book(order.symbol)
        levels = book.asks if order.side == "buy" else book.bids
        remaining, cost, price = order.amount, 0.0, levels[0][0]
        for price, size in levels:
            take = min(size, remaining)
            cost += take * price
            remaining -= take
            if remaining <= 0:
                break
        cost += max(remaining, 0.0) * price
        vwap = cost / order.amount
        if order.price is None:
            return vwap
        return min(vwap, order.price) if order.side == "buy" else max(vwap, order.price)

    def _check_margin(self, account: Account, order: Order, price: float) -> None:
        instrument = self.instruments[order.symbol]
        position = account.positions.get((order.symbol, order.leg))
        size = position.size if position else 0.0
        delta = order.amount if order.side == "buy" else -order.amount
        opening = abs(size + delta) - abs(size) if size * delta >= 0 else max(abs(delta) - abs(size), 0.0)
        if opening <= 0:
            return
        leverage = self.leverage_of(account, order.symbol)
        needed = instrument.notional(opening, price) * (1 / leverage + account.taker_fee)
        if needed > self.margin_summary(account, instrument.settle).available:
            raise OrderRejected(RejectReason.INSUFFICIENT_MARGIN, f"needs {needed:.8f} {instrument.settle}")

    def _fill(self, account: Account, order: Order, price: float, maker: bool) -> Order:
        """Apply a complete fill of ``order`` at ``price`` to the account's position and wallet."""
        instrument = self.instruments[order.symbol]
        key = (order.symbol, order.leg)
        now = self.now_ms()
        position = account.positions.get(key)
        size = position.size if position else 0.0
        delta = order.amount if order.side == "buy" else -order.amount
        fee = instrument.notional(order.amount, price) * (account.maker_fee if maker else account.taker_fee)
        realized = 0.0
        mode = self.margin_mode_of(account, order.symbol)
        leverage = self.leverage_of(account, order.symbol)
        isolated = position.isolated_margin if position else 0.0
        entry = position.entry if position else price
        if size * delta < 0:
            closed = min(abs(delta), abs(size))
            closing = closed if size > 0 else -closed
            realized = instrument.pnl(closing, entry, price)
            released = isolated * closed / abs(size)
            isolated -= released
            account.balances[instrument.settle] = account.balances.get(instrument.settle, 0.0) + released
            size -= closing
            delta += closing
        if delta:
            if size == 0:
                entry = price
            elif instrument.inverse:
                entry = (abs(size) + abs(delta)) / (abs(size) / entry + abs(delta) / price)
            else:
                entry = (abs(size) * entry + abs(delta) * price) / (abs(size) + abs(delta))
            if mode is MarginMode.ISOLATED:
                posted = instrument.notional(delta, price) / leverage
                isolated += posted
                account.balances[instrument.settle] = account.balances.get(instrument.settle, 0.0) - posted
            size += delta
        account.balances[instrument.settle] = account.balances.get(instrument.settle, 0.0) + realized - fee
        if abs(size) < 1e-12:
            account.positions.pop(key, None)
        else:
            account.positions[key] = Position(order.symbol, order.leg, size, entry, leverage, mode, isolated,
                                              now)
        account.trades.append(Trade(next(self._ids), order.id, order.symbol, order.side, order.amount, price,
                                    fee, realized, maker, now))
        return replace(order, status=OrderStatus.FILLED, filled=order.amount, average=price, updated_ms=now)

    # -- mark path -----------------------------------------------------------------------------

    def _record_mark(self, symbol: str, price: float) -> None:
        self.marks[symbol] = price
        self.mark_history[symbol].append((self.now_ms(), price))

    def set_mark(self, symbol: str, price: float) -> list[Liquidation]:
        """Move the mark, then fire stops, fill resting limits and liquidate, in that order.

        Stops fire before liquidation so a protective stop placed above the liquidation price gets
        its chance, as on a venue whose trigger engine runs ahead of the liquidation engine.
        """
        instrument = self.instrument(symbol)
        if price <= 0:
            raise OrderRejected(RejectReason.INVALID_PRICE, f"mark {price}")
        self._record_mark(symbol, instrument.round_price(price))
        for account in self.accounts.values():
            self._trigger_orders(account, symbol)
        return self._liquidate()

    def _trigger_orders(self, account: Account, symbol: str) -> None:
        mark = self.marks[symbol]
        for order in account.open_orders(symbol):
            if order.type is OrderType.STOP_MARKET:
                assert order.trigger_price is not None
                if not self._stop_triggered(order.side, order.trigger_price, mark):
                    continue
                try:
                    if order.reduce_only:
                        self._check_reduces(account, symbol, order.leg, order.side, order.amount)
                    done = self._fill(account, order, self._taker_price(order), maker=False)
                except OrderRejected:
                    done = replace(order, status=OrderStatus.EXPIRED, updated_ms=self.now_ms())
                account.orders[order.id] = done
            elif order.type is OrderType.LIMIT:
                assert order.price is not None
                if (mark <= order.price) if order.side == "buy" else (mark >= order.price):
                    account.orders[order.id] = self._fill(account, order, order.price, maker=True)

    def _liquidate(self) -> list[Liquidation]:
        """Force-close every position whose margin no longer covers its maintenance requirement.

        Cross positions go together per settle asset, since they share the wallet. Whatever margin is
        left when the mark crosses the line is kept as the clearance fee: the cross wallet ends at
        zero, an isolated position's margin is forfeited.
        """
        events: list[Liquidation] = []
        for account in self.accounts.values():
            for position in list(account.positions.values()):
                if (position.margin_mode is MarginMode.ISOLATED
                        and margin_surplus(position.isolated_margin, [self._exposure(position)]) < 0):
                    events.append(self._close_liquidated(account, position))
            for settle in {self.instruments[p.symbol].settle for p in account.positions.values()}:
                pool = self._cross_positions(account, settle)
                wallet = account.balances.get(settle, 0.0)
                if pool and margin_surplus(wallet, [self._exposure(p) for p in pool]) < 0:
                    account.balances[settle] = 0.0
                    events.extend(self._close_liquidated(account, p) for p in pool)
        self.liquidations.extend(events)
        return events

    def _close_liquidated(self, account: Account, position: Position) -> Liquidation:
        del account.positions[(position.symbol, position.leg)]
        now = self.now_ms()
        for order in account.open_orders(position.symbol):
            account.orders[order.id] = replace(order, status=OrderStatus.CANCELED, updated_ms=now)
        return Liquidation(account.api_key, position.symbol, position.leg, position.size,
                           self.marks[position.symbol], now)

    # -- inspection ----------------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Plain-JSON view of the whole state, served by ``GET /__sim/state``."""
        def position_view(account: Account, p: Position) -> dict:
            return {"symbol": p.symbol, "leg": p.leg, "size": p.size, "entry": p.entry,
                    "leverage": p.leverage, "margin_mode": str(p.margin_mode),
                    "isolated_margin": p.isolated_margin, "mark": self.marks[p.symbol],
                    "unrealized_pnl": self.unrealized_pnl_of(p), "maintenance": self.maintenance_of(p),
                    "liquidation_price": self.liquidation_price(account, p)}

        return {
            "time_ms": self.now_ms(),
            "marks": dict(self.marks),
            "accounts": {
                key: {"balances": dict(a.balances), "hedge_mode": a.hedge_mode,
                      "positions": [position_view(a, p) for p in a.positions.values()],
                      "open_orders": [{"id": o.id, "symbol": o.symbol, "side": o.side, "type": str(o.type),
                                       "amount": o.amount, "price": o.price, "trigger_price": o.trigger_price,
                                       "reduce_only": o.reduce_only} for o in a.open_orders()]}
                for key, a in self.accounts.items()
            },
            "liquidations": [{"api_key": e.api_key, "symbol": e.symbol, "leg": e.leg, "size": e.size,
                              "price": e.price, "time_ms": e.time_ms} for e in self.liquidations],
        }
