"""A position that vanishes between the plan and its order: nothing is sent, and the daemon says why it is gone.

The hook runs inside the executor's position re-read right before the close (the last moment before a send):
the position is closed by hand there, or liquidated by the mark jumping past its liquidation price.  The
executor must skip the close (sending it would open a new position if the venue ignored reduce-only) and the
read after acting must classify the disappearance, confirmed by a second read, before the account does anything
else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from riskguard.execution.audit_store import EventKind
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


@pytest.mark.parametrize(("vanish", "cause"), [
    (_close_by_hand, "closed outside riskguard"),
    (_liquidate, "liquidated (mark "),
])
async def test_position_gone_between_plan_and_order(start_rig: StartRig, vanish: Callable[[Rig], None],
                                                     cause: str) -> None:
    rig = await start_rig()
    worker = rig.worker()
    worker._executor_factory = lambda venue: Executor(VanishFirst(venue, lambda: vanish(rig)), worker.store)
    while rig.sim.player.remaining and rig.exchange.accounts["guarded-key"].positions:
        await rig.step()
        # The mark the worker must settle on is the emulator's now: a liquidation moves it inside the step.
        await until(lambda: worker.idle.is_set()
                    and abs(worker.marks_seen.get(BTC, 0.0) - rig.exchange.marks["BTCUSDT"]) < 1e-6,
                    what="the step settled")
    await rig.stop()
    # Nothing riskguard sent reached the venue; the only order there (if any) is the hand close.
    # Nothing riskguard sent reached the venue (its ids start with "rg"); no intent was written either.
    assert not any(o.client_id.startswith("rg") for o in rig.emulator_orders())
    with rig.store() as store:
        states = store.events(kinds=(EventKind.STATE.value,))
        assert store.orders() == []
    [skipped] = [e for e in states if "the position is gone" in e.message]
    gone = [e for e in states if "gone, confirmed by a second read" in e.message]
    assert skipped.symbol == "BTC/USDT:USDT" and skipped.data["position"] is None
    [event] = gone
    assert event.data["symbol"] == "BTC/USDT:USDT" and event.data["side"] == "short"
    assert event.data["cause"].startswith(cause)
