"""A position that vanishes between the plan and its order: nothing opens the other way, and the daemon says why
it is gone.

The hook runs inside the executor's position re-read right before the close (the last moment before a send):
the position is closed by hand there, or liquidated by the mark jumping past its liquidation price.  When the
user-data stream has reported the change, the re-read goes to REST and the close is skipped; when it has not
yet, the re-read comes from the stream-kept positions and the reduce-only close is refused by the venue.  Either
way the read after acting classifies the disappearance, confirmed by a second read, before the account does
anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from riskguard.execution.audit_store import EventKind, OrderState
from riskguard.execution.executor import Executor
from riskguard.sim.engine import OrderRequest, OrderType
from tests.daemon.conftest import BTC, Rig, StartRig, until


class VanishFirst:
    """The daemon's venue, with ``vanish`` run once just before the first position re-read is answered."""

    def __init__(self, venue: Any, vanish: Callable[[], None]) -> None:
        self._venue, self._vanish = venue, vanish

    def __getattr__(self, name: str) -> Any:
        return getattr(self._venue, name)

    async def positions(self, symbol: str) -> Any:
        if self._vanish is not None:
            self._vanish, vanish = None, self._vanish  # type: ignore[assignment]
            vanish()
        return await self._venue.positions(symbol)


def _close_by_hand(rig: Rig) -> None:
    account = rig.exchange.accounts["guarded-key"]
    [position] = account.positions.values()
    rig.exchange.place_order(account, OrderRequest("BTCUSDT", "buy", OrderType.MARKET, abs(position.size),
                                                   reduce_only=True))


def _liquidate(rig: Rig) -> None:
    account = rig.exchange.accounts["guarded-key"]
    [position] = account.positions.values()
    past = rig.exchange.liquidation_price(account, position) * 1.002
    assert rig.exchange.set_mark("BTCUSDT", past), "the emulator did not liquidate"


async def _run_squeeze_until_gone(rig: Rig) -> None:
    worker = rig.worker()
    while rig.sim.player.remaining and rig.exchange.accounts["guarded-key"].positions:
        await rig.step()
        # The mark the worker must settle on is the emulator's now: a liquidation moves it inside the step.
        await until(lambda: worker.idle.is_set()
                    and abs(worker.marks_seen.get(BTC, 0.0) - rig.exchange.marks["BTCUSDT"]) < 1e-6,
                    what="the step settled")
    await rig.stop()


def _classified(rig: Rig, cause: str) -> list[Any]:
    with rig.store() as store:
        states = store.events(kinds=(EventKind.STATE.value,))
    [event] = [e for e in states if "gone, confirmed by a second read" in e.message]
    assert event.data["symbol"] == "BTC/USDT:USDT" and event.data["side"] == "short"
    assert event.data["cause"].startswith(cause)
    return states


CASES = [(_close_by_hand, "closed outside riskguard"), (_liquidate, "liquidated (mark ")]


@pytest.mark.parametrize(("vanish", "cause"), CASES)
async def test_position_gone_and_streamed_before_the_order_skips_it(
        start_rig: StartRig, vanish: Callable[[Rig], None], cause: str) -> None:
    """The user-data stream's event for the change arrived before the re-read: the executor reads by REST,
    finds nothing to reduce, and sends nothing."""
    rig = await start_rig()
    worker = rig.worker()

    def gone_and_heard() -> None:
        vanish(rig)
        worker.private_event("position event")  # what the feed does with the ACCOUNT_UPDATE

    worker._executor_factory = lambda venue: Executor(VanishFirst(venue, gone_and_heard), worker.store)
    await _run_squeeze_until_gone(rig)
    # Nothing riskguard sent reached the venue (its ids start with "rg"); no intent was written either, only the
    # decision not to send, so that a rerun of the plan never closes a position opened since.
    assert not any(o.client_id.startswith("rg") for o in rig.emulator_orders())
    with rig.store() as store:
        assert [(o.state, o.amount) for o in store.orders()] == [(OrderState.SKIPPED, 0.0)]
        assert not [e for e in store.events(kinds=(EventKind.INTENT.value,))]
    states = _classified(rig, cause)
    [skipped] = [e for e in states if "the position is gone" in e.message]
    assert skipped.symbol == "BTC/USDT:USDT" and skipped.data["position"] is None


@pytest.mark.parametrize(("vanish", "cause"), CASES)
async def test_position_gone_before_the_stream_says_so_is_refused_by_the_venue(
        start_rig: StartRig, vanish: Callable[[Rig], None], cause: str) -> None:
    """The change is not on the stream yet when the close leaves (the same window a REST re-read has between
    its answer and the send): the close is reduce-only, so the venue refuses it and nothing is opened."""
    rig = await start_rig()
    worker = rig.worker()
    worker._executor_factory = lambda venue: Executor(VanishFirst(venue, lambda: vanish(rig)), worker.store)
    await _run_squeeze_until_gone(rig)
    ours = [o for o in rig.emulator_orders() if o.client_id.startswith("rg")]
    assert ours == []  # refused: never became an order at the emulator
    assert rig.exchange.accounts["guarded-key"].positions == {}  # nothing opened the other way
    with rig.store() as store:
        [record] = store.orders()
    assert record.state is OrderState.REJECTED and record.filled == 0
    _classified(rig, cause)
