"""Plan → reduce-only orders, each sent at most once.

The protocol, per plan order (docs/execution.md has it with examples):

1. Its client order id comes from the plan's content hash and the order's index (``client_order_id``).  If the
   audit store already knows the id, the order was decided before (a re-run, a restart): a final state is left
   alone, and an open one (intent written, or answer lost) is looked up at the venue by that id first.
2. The position is read again right before the order; the amount is capped at it and rounded down to the
   amount step.  A position that is gone, or a remainder below the minimum order, skips the order.
3. The final guard (``guard.refusal``) checks the order against that fresh position; a refusal is audited and
   nothing is sent.
4. The intent is committed to the audit store, then the order is sent.
5. ``OutcomeUnknown`` (timeout, 5xx, rate limit, dropped connection): wait as the venue asks (Retry-After), look
   the order up by its client id, and adopt what is found.  Only "not found" allows a resend, with the same id.
6. ``VenueRejected`` because open reduce-only orders already cover the position (Binance -4118, OKX 51112): those
   orders are cancelled (audited) and the close is sent once more, re-capped at the position.
7. A market order that filled in part is followed: the remainder is re-capped at the position read again and
   sent under a new id derived from the same one, up to ``max_remainders`` times.

After the last order the account is read again and each touched position is compared with the plan's
expected outcome; the comparison is recorded (``verify``).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from riskguard.errors import DataUnavailable
from riskguard.execution.audit_store import AuditStore, EventKind, OrderRecord, OrderState
from riskguard.execution.guard import LivePosition, refusal
from riskguard.execution.throttle import urgent
from riskguard.execution.venue_client import OutcomeUnknown, Venue, VenueRejected
from riskguard.execution.venue_orders import OrderCall, client_order_id, order_call
from riskguard.rules.plan import IntendedOrder, OrderKind, Plan


@dataclass(frozen=True, slots=True)
class ExecutionPolicy:
    max_unknown: int = 6
    """Unknown outcomes (each followed by a lookup) before the order is left in ``unknown`` for a later run."""
    backoff_s: float = 0.25
    """Wait before a lookup when the venue gave no Retry-After; doubled each time."""
    max_remainders: int = 2
    """Follow-up orders for the unfilled part of a partially filled market close."""
    verify_tolerance: float = 1e-9
    max_wait_s: float = 30.0
    """A venue asking for a longer wait (an IP ban's Retry-After) ends the run with the order left ``unknown``:
    a later run looks it up first.  Waiting out a ban inside one ``check`` would only hide it."""


@dataclass(slots=True)
class OrderResult:
    index: int
    client_order_id: str
    kind: str
    symbol: str
    state: OrderState
    amount: float = 0.0
    filled: float = 0.0
    message: str = ""
    sent: int = 0
    """How many create requests this run sent for it (its remainders included)."""
    repeated: bool = False
    """Decided by an earlier run (the same plan made again): this run did nothing for it."""

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "client_order_id": self.client_order_id, "kind": self.kind,
                "symbol": self.symbol, "state": self.state.value, "amount": self.amount, "filled": self.filled,
                "message": self.message, "sent": self.sent, "repeated": self.repeated}


@dataclass(slots=True)
class ExecutionReport:
    account: str
    plan_hash: str
    run_id: str
    orders: list[OrderResult] = field(default_factory=list)
    verified: bool | None = None
    """Every touched position as the plan expected; None when the account could not be read after."""
    mismatches: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Orders the run could not finish (a failed read, a lookup that kept failing, a wait too long)."""

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.account, "plan_hash": self.plan_hash, "run_id": self.run_id,
                "orders": [o.to_dict() for o in self.orders], "verified": self.verified,
                "mismatches": self.mismatches, "errors": self.errors}


Sleep = Callable[[float], Awaitable[None]]


class Executor:
    def __init__(self, venue: Venue, store: AuditStore, policy: ExecutionPolicy = ExecutionPolicy(),
                 sleep: Sleep = asyncio.sleep) -> None:
        self.venue = venue
        self.store = store
        self.policy = policy
        self._sleep = sleep

    async def execute(self, plan: Plan) -> ExecutionReport:
        report = ExecutionReport(plan.account, plan.content_hash, uuid.uuid4().hex[:16])
        settled = self._settled(plan)
        if settled is not None:
            report.orders.extend(settled)
            return report
        self._event(report, EventKind.PLAN, f"executing plan {plan.content_hash[:12]} ({len(plan.orders)} orders)",
                    plan.to_dict())
        reserved: dict[tuple[str, str], float] = {}
        for index, order in enumerate(plan.orders):
            cid = client_order_id(self.venue.venue, plan.content_hash, index)
            try:
                with urgent():  # ahead of any queued non-order request (the verification below is not urgent)
                    result = await self._one(report, plan, index, order, cid, reserved)
            except (DataUnavailable, OutcomeUnknown, VenueRejected) as exc:
                # A read or a cancel that failed for good ends this order only; the next one still gets its turn.
                known = self.store.order(cid)
                state = known.state if known is not None else OrderState.SKIPPED
                result = OrderResult(index, cid, order.kind.value, order.symbol, state, message=str(exc))
                report.errors.append(str(exc))
                self._event(report, EventKind.ERROR, str(exc), {"index": index}, cid, order.symbol)
            report.orders.append(result)
        await self._verify(report, plan)
        return report

    def _settled(self, plan: Plan) -> list[OrderResult] | None:
        """Each order as earlier runs left it, when every one is settled there (a final state, and no partial
        market close left to follow); else None.

        The daemon makes the same plan again on every tick until the position changes: after a rejection, a
        plan's orders all stay "already rejected".  Run as new, each repeat wrote its events again and read the
        account to verify it, and the worker read it once more after "acting": a loop of REST reads for as long
        as nothing changed.  A settled plan sends, reads and records nothing.
        """
        results = []
        for index, order in enumerate(plan.orders):
            cid = client_order_id(self.venue.venue, plan.content_hash, index)
            if order.kind is OrderKind.ADD_MARGIN:
                results.append(OrderResult(index, cid, order.kind.value, order.symbol, OrderState.SKIPPED,
                                           message="add_margin is not sent by the executor", repeated=True))
                continue
            known = None if order.kind is OrderKind.CANCEL else self.store.order(cid)
            if known is None or not known.state.final or (
                    known.state is OrderState.PARTIAL and order.kind is OrderKind.MARKET):
                return None
            results.append(OrderResult(index, cid, order.kind.value, order.symbol, known.state, known.amount,
                                       known.filled, f"already {known.state} in an earlier run; not sent again",
                                       repeated=True))
        return results

    # -- one order -------------------------------------------------------------------------------

    async def _one(self, report: ExecutionReport, plan: Plan, index: int, order: IntendedOrder, cid: str,
                   reserved: dict[tuple[str, str], float]) -> OrderResult:
        result = OrderResult(index, cid, order.kind.value, order.symbol, OrderState.SKIPPED)
        if order.kind is OrderKind.CANCEL:
            return await self._cancel_planned(report, order, result)
        if order.kind is OrderKind.ADD_MARGIN:
            result.message = "add_margin is not sent by the executor: move the margin by hand"
            self._event(report, EventKind.STATE, result.message, order.to_dict(), cid, order.symbol)
            return result
        known = self.store.order(cid)
        if known is not None and known.state.final:
            result.state, result.filled, result.amount = known.state, known.filled, known.amount
            result.message = f"already {known.state} in an earlier run; not sent again"
            self._event(report, EventKind.STATE, result.message, {}, cid, order.symbol)
            _hold(reserved, order, result)
            if known.state is OrderState.PARTIAL and order.kind is OrderKind.MARKET:
                return await self._follow_remainder(report, order, cid, known.amount, result, reserved)
            result.repeated = True
            return result
        if known is not None:
            found = await self._lookup(report, order.symbol, cid, order.kind is OrderKind.STOP_MARKET)
            if found is not None:
                adopted = await self._adopt(report, order, result, known.amount, found)
                _hold(reserved, order, adopted)
                if adopted.state is OrderState.PARTIAL and order.kind is OrderKind.MARKET:
                    return await self._follow_remainder(report, order, cid, known.amount, adopted, reserved)
                return adopted
        return await self._place(report, plan, index, order, cid, result, reserved, known)

    async def _place(self, report: ExecutionReport, plan: Plan, index: int, order: IntendedOrder, cid: str,
                     result: OrderResult, reserved: dict[tuple[str, str], float], known: OrderRecord | None,
                     ) -> OrderResult:
        if not (math.isfinite(order.amount) and order.amount > 0):
            result.state = OrderState.REFUSED
            result.message = f"{order.symbol}: amount {order.amount!r} is not a positive number"
            self._event(report, EventKind.REFUSED, result.message, order.to_dict(), cid, order.symbol)
            return result
        position, call = await self._fresh_call(order, cid, reserved)

        def record(state: OrderState, amount: float) -> OrderRecord:
            return OrderRecord(cid, plan.account, self.venue.venue, plan.content_hash, index, order.symbol,
                               order.side, order.kind.value, amount, state, None, 0.0)

        if call is None:
            result.message = "the position is gone or below the minimum order; nothing to send"
            self._event(report, EventKind.STATE, result.message, {"position": _pos(position)}, cid, order.symbol)
            if known is not None:
                self.store.update_order(report.run_id, cid, OrderState.SKIPPED, message=result.message)
            else:  # the decision stands for every rerun of this plan
                self.store.record_unsent(record(OrderState.SKIPPED, 0.0))
            return result
        if (why := refusal(call, position, reserved.get(_leg_key(position), 0.0))) is not None:
            result.state, result.message = OrderState.REFUSED, why
            self._event(report, EventKind.REFUSED, why, {"call": call.to_dict(), "position": _pos(position)},
                        cid, order.symbol)
            if known is not None:
                self.store.update_order(report.run_id, cid, OrderState.REFUSED, message=why)
            else:
                self.store.record_unsent(record(OrderState.REFUSED, call.amount))
            return result
        if known is None:
            self.store.record_intent(report.run_id, record(OrderState.INTENT, call.amount),
                                     {"order": order.to_dict(), "call": call.to_dict()})
        result.amount = call.amount
        answer = await self._send(report, call, cid, result, retry_blocked=True)
        if answer is None:
            return result
        self._settle(report, cid, call.amount, answer, result)
        if call.type == "market" and not call.stop and result.state is OrderState.SENT:
            # Some venues acknowledge a market order before it fills (Bybit answers with the id only).
            found = await self._lookup(report, call.symbol, cid, False)
            if found is not None:
                self._settle(report, cid, call.amount, found, result)
        if call.stop or call.type == "limit":
            if result.state is OrderState.SENT:
                reserved[_leg_key(position)] = reserved.get(_leg_key(position), 0.0) + call.amount
            return result
        return await self._follow_remainder(report, order, cid, call.amount, result, reserved)

    async def _fresh_call(self, order: IntendedOrder, cid: str, reserved: dict[tuple[str, str], float]
                          ) -> tuple[LivePosition | None, OrderCall | None]:
        legs = await self.venue.positions(order.symbol)
        closes = order.closes_side
        position = next((p for p in legs if p.side == closes and p.position_side == order.position_side), None)
        if position is None:
            position = next((p for p in legs if p.side == closes), None)
        if position is None:
            return None, None
        room = position.contracts - reserved.get(_leg_key(position), 0.0)
        amount = self.venue.amount_to_precision(order.symbol, min(order.amount, room)) if room > 0 else 0.0
        if amount <= 0 or amount < self.venue.min_amount(order.symbol):
            return position, None
        hedge = order.position_side if order.position_side in ("long", "short") else "both"
        sized = _with(order, amount=amount, position_side=hedge)
        if order.kind is OrderKind.LIMIT and order.price is not None:
            sized = _with(sized, price=self.venue.price_to_precision(order.symbol, order.price))
        if order.kind is OrderKind.STOP_MARKET and order.trigger_price is not None:
            sized = _with(sized, trigger_price=self.venue.price_to_precision(order.symbol, order.trigger_price))
        reference = position.mark_price or order.price
        try:
            call = order_call(self.venue.venue, sized, amount, cid, margin_mode=position.margin_mode,
                              reference_price=reference)
        except ValueError as exc:  # e.g. no mark to bound a Hyperliquid market order: nothing is sent
            raise DataUnavailable(str(exc)) from None
        return position, call

    async def _send(self, report: ExecutionReport, call: OrderCall, cid: str, result: OrderResult,
                    retry_blocked: bool) -> dict[str, Any] | None:
        """The venue's answer for ``cid``: from the create, or from a lookup after an unknown outcome."""
        unknown = 0
        while True:
            self._event(report, EventKind.REQUEST, f"create {call.type} {call.side} {call.amount:g} {call.symbol}",
                        call.to_dict(), cid, call.symbol)
            result.sent += 1
            try:
                answer = await self.venue.create(call)
            except OutcomeUnknown as exc:
                unknown += 1
                self.store.update_order(report.run_id, cid, OrderState.UNKNOWN, message=str(exc),
                                        data={"retry_after_s": exc.retry_after_s})
                found = await self._resolve(report, call, cid, exc, unknown)
                if found is not None:
                    return found
                if unknown >= self.policy.max_unknown:
                    result.state, result.message = OrderState.UNKNOWN, f"outcome still unknown: {exc}"
                    return None
                continue
            except VenueRejected as exc:
                if retry_blocked and exc.blocked_by_open_orders:
                    return await self._unblock_and_resend(report, call, cid, result, exc)
                result.state, result.message = OrderState.REJECTED, str(exc)
                self.store.update_order(report.run_id, cid, OrderState.REJECTED, message=str(exc),
                                        data={"code": exc.code})
                return None
            self._event(report, EventKind.RESPONSE, f"{answer.get('status')} id {answer.get('id')}",
                        _order_view(answer), cid, call.symbol)
            return answer

    async def _resolve(self, report: ExecutionReport, call: OrderCall, cid: str, exc: OutcomeUnknown,
                       attempt: int) -> dict[str, Any] | None:
        """After an unknown outcome: wait as asked, then find the order by its client id (None: not placed)."""
        lookups = 0
        while True:
            wait = exc.retry_after_s if exc.retry_after_s is not None else self.policy.backoff_s * 2 ** (attempt - 1)
            if wait > self.policy.max_wait_s:
                raise DataUnavailable(f"{call.symbol}: the venue asks to wait {wait:g} s; order {cid} is left "
                                      "unknown for a later run to look up")
            await self._sleep(wait)
            try:
                return await self._lookup(report, call.symbol, cid, call.stop)
            except OutcomeUnknown as again:
                lookups += 1
                exc = again
                if lookups >= self.policy.max_unknown:
                    raise DataUnavailable(f"{call.symbol}: order {cid} could not be looked up: {again}") from None

    async def _lookup(self, report: ExecutionReport, symbol: str, cid: str, stop: bool) -> dict[str, Any] | None:
        found = await self.venue.find(symbol, cid, stop)
        view = _order_view(found) if found is not None else {}
        outcome = f"found, {found.get('status')}" if found is not None else "not found"
        self._event(report, EventKind.RESPONSE, f"lookup by client id: {outcome}", view, cid, symbol)
        return found

    async def _unblock_and_resend(self, report: ExecutionReport, call: OrderCall, cid: str, result: OrderResult,
                                  exc: VenueRejected) -> dict[str, Any] | None:
        """Cancel the open reduce-only orders on the leg that block the close, then send it once more."""
        leg = call.params.get("positionSide") or call.params.get("posSide") or call.params.get("positionIdx")
        blocking = [o for o in await self.venue.open_orders(call.symbol)
                    if o.get("reduceOnly") and o.get("side") == call.side and _same_leg(o, leg)]
        self._event(report, EventKind.STATE, f"close blocked by {len(blocking)} open reduce-only order(s): "
                    f"cancelling them first ({exc})", {"orders": [_order_view(o) for o in blocking]}, cid, call.symbol)
        for o in blocking:
            cancelled = await self.venue.cancel(o)
            self._event(report, EventKind.RESPONSE, f"cancelled {o.get('id')}", _order_view(cancelled), cid,
                        call.symbol)
        legs = await self.venue.positions(call.symbol)
        position = next((p for p in legs if p.side == ("long" if call.side == "sell" else "short")), None)
        capped = self.venue.amount_to_precision(call.symbol, min(call.amount, position.contracts)) if position else 0
        resized = OrderCall(call.symbol, call.type, call.side, capped, call.price, call.params, call.stop)
        if (why := refusal(resized, position)) is not None:
            result.state, result.message = OrderState.REFUSED, why
            self.store.update_order(report.run_id, cid, OrderState.REFUSED, message=why)
            return None
        return await self._send(report, resized, cid, result, retry_blocked=False)

    def _settle(self, report: ExecutionReport, cid: str, amount: float, answer: dict[str, Any],
                result: OrderResult) -> None:
        state, filled = order_state(answer, amount)
        result.state, result.filled = state, filled
        self.store.update_order(report.run_id, cid, state, venue_order_id=str(answer.get("id") or ""),
                                filled=filled, amount=amount, data=_order_view(answer))
        if filled > 0:
            self._event(report, EventKind.FILL, f"filled {filled:g} of {amount:g} at {answer.get('average')}",
                        _order_view(answer), cid, answer.get("symbol"))

    async def _adopt(self, report: ExecutionReport, order: IntendedOrder, result: OrderResult, amount: float,
                     found: dict[str, Any]) -> OrderResult:
        """An order an earlier run sent (its answer lost): recorded as the venue has it, never sent again."""
        result.amount = amount
        self._settle(report, result.client_order_id, amount, found, result)
        result.message = "found at the venue by its client id; not sent again"
        return result

    async def _follow_remainder(self, report: ExecutionReport, order: IntendedOrder, cid: str, amount: float,
                                result: OrderResult, reserved: dict[tuple[str, str], float]) -> OrderResult:
        """A market close that filled in part: send the rest (re-capped at the position) under derived ids.

        Each follow-up goes through the same protocol as its parent: an id an earlier run already decided is
        taken as it stands (final) or looked up first (intent, unknown), so a restart neither loses the rest nor
        sends it twice.
        """
        for attempt in range(1, self.policy.max_remainders + 1):
            if result.state is not OrderState.PARTIAL:
                break
            child = client_order_id(self.venue.venue, report.plan_hash, result.index, attempt)
            sub = OrderResult(result.index, child, order.kind.value, order.symbol, OrderState.INTENT)
            known = self.store.order(child)
            if known is not None and known.state.final:
                sub.state, sub.filled, sub.amount = known.state, known.filled, known.amount
            else:
                answer = await self._lookup(report, order.symbol, child, False) if known is not None else None
                if answer is not None:
                    sub.amount = known.amount if known is not None else 0.0
                else:
                    position, call = await self._fresh_call(_with(order, amount=amount - result.filled), child,
                                                            reserved)
                    if call is None:
                        result.message = "remainder not sent: position gone or below the minimum order"
                        break
                    if (why := refusal(call, position)) is not None:
                        self._event(report, EventKind.REFUSED, why, {"call": call.to_dict()}, child, order.symbol)
                        result.message = why
                        break
                    if known is None:
                        self.store.record_intent(
                            report.run_id,
                            OrderRecord(child, report.account, self.venue.venue, report.plan_hash, result.index,
                                        order.symbol, order.side, order.kind.value, call.amount, OrderState.INTENT,
                                        None, 0.0),
                            {"remainder_of": cid, "call": call.to_dict()},
                        )
                    sub.amount = call.amount
                    answer = await self._send(report, call, child, sub, retry_blocked=True)
                    result.sent += sub.sent
                    if answer is None:
                        if sub.state is OrderState.UNKNOWN:
                            result.state = OrderState.UNKNOWN
                        result.message = sub.message
                        break
                self._settle(report, child, sub.amount, answer, sub)
            result.filled += sub.filled
            if sub.state in (OrderState.FILLED, OrderState.UNKNOWN):
                result.state = sub.state
        return result

    async def _cancel_planned(self, report: ExecutionReport, order: IntendedOrder, result: OrderResult
                              ) -> OrderResult:
        """A stale ladder order the plan replaces; already gone counts as done."""
        target = next((o for o in await self.venue.open_orders(order.symbol) if str(o.get("id")) == order.order_id),
                      None)
        if target is None:
            result.state, result.message = OrderState.CANCELED, f"order {order.order_id} is no longer open"
        else:
            try:
                await self.venue.cancel(target)
                result.state, result.message = OrderState.CANCELED, f"cancelled order {order.order_id}"
            except (VenueRejected, OutcomeUnknown) as exc:
                result.state, result.message = OrderState.REJECTED, f"cancel of {order.order_id} failed: {exc}"
        self._event(report, EventKind.STATE, result.message, order.to_dict(), result.client_order_id, order.symbol)
        return result

    # -- after -----------------------------------------------------------------------------------

    async def _verify(self, report: ExecutionReport, plan: Plan) -> None:
        """The touched positions read again and compared with the plan's ``after`` (contracts per leg)."""
        symbols = sorted({o.symbol for o in plan.orders if o.kind in (OrderKind.MARKET, OrderKind.LIMIT)})
        expected = {(p.symbol, p.side): p.contracts for p in plan.after.positions}
        actual: dict[tuple[str, str], float] = {}
        try:
            for symbol in symbols:
                for leg in await self.venue.positions(symbol):
                    actual[(symbol, leg.side)] = actual.get((symbol, leg.side), 0.0) + leg.contracts
        except DataUnavailable as exc:
            report.verified = None
            self._event(report, EventKind.VERIFY, f"could not read the account after executing: {exc}", {})
            return
        for symbol in symbols:
            for side in ("long", "short"):
                want, got = expected.get((symbol, side), 0.0), actual.get((symbol, side), 0.0)
                if not math.isclose(want, got, rel_tol=1e-6, abs_tol=self.policy.verify_tolerance):
                    report.mismatches.append(f"{symbol} {side}: plan expected {want:g} contracts, venue has {got:g}")
        report.verified = not report.mismatches
        self._event(report, EventKind.VERIFY, "as planned" if report.verified else "; ".join(report.mismatches),
                    {"expected": {f"{s} {d}": v for (s, d), v in expected.items() if s in symbols},
                     "actual": {f"{s} {d}": v for (s, d), v in actual.items()}})

    def _event(self, report: ExecutionReport, kind: EventKind, message: str, data: dict[str, Any],
               cid: str | None = None, symbol: str | None = None) -> None:
        self.store.event(report.run_id, report.account, kind, message, data, client_order_id=cid, symbol=symbol)


def _with(order: IntendedOrder, **changes: Any) -> IntendedOrder:
    """A copy without re-running the plan's validation (the guard checks what is sent, not this object)."""
    copy = object.__new__(IntendedOrder)
    for name in IntendedOrder.__slots__:
        object.__setattr__(copy, name, changes.get(name, getattr(order, name)))
    return copy


def _hold(reserved: dict[tuple[str, str], float], order: IntendedOrder, result: OrderResult) -> None:
    """An order an earlier run left resting still holds part of the position: later orders leave it room."""
    if result.state is OrderState.SENT and order.kind in (OrderKind.LIMIT, OrderKind.STOP_MARKET):
        key = (order.symbol, order.closes_side or "")
        reserved[key] = reserved.get(key, 0.0) + max(result.amount - result.filled, 0.0)


def _leg_key(position: LivePosition | None) -> tuple[str, str]:
    return (position.symbol, position.side) if position else ("", "")


def _pos(position: LivePosition | None) -> dict[str, Any] | None:
    if position is None:
        return None
    return {"symbol": position.symbol, "side": position.side, "position_side": position.position_side,
            "contracts": position.contracts, "margin_mode": position.margin_mode}


def _same_leg(order: dict[str, Any], leg: Any) -> bool:
    if leg is None:
        return True
    info = order.get("info") or {}
    raw = info.get("positionSide") or info.get("posSide") or info.get("positionIdx")
    return raw is None or str(raw).lower() == str(leg).lower()


def order_state(answer: dict[str, Any], amount: float) -> tuple[OrderState, float]:
    """The order state a ccxt order means; an open order that filled in part is still ``sent``."""
    filled = float(answer.get("filled") or 0.0)
    status = answer.get("status")
    if status == "closed" or (filled > 0 and filled >= amount * (1 - 1e-9)):
        return OrderState.FILLED, filled
    if status in ("canceled", "cancelled", "expired", "rejected"):
        return (OrderState.PARTIAL if filled > 0 else OrderState.CANCELED), filled
    return OrderState.SENT, filled


def _order_view(order: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "clientOrderId", "symbol", "type", "side", "amount", "filled", "remaining", "average", "price",
            "triggerPrice", "status", "reduceOnly", "info")
    return {k: order.get(k) for k in keys if k in order}
