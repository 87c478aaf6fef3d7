"""The shipped cascades: the unguarded account is liquidated, the guarded one survives; every order once."""

from __future__ import annotations

from collections import Counter

import pytest

from riskguard.daemon.rehearsal import SCENARIOS, main
from riskguard.execution.audit_store import OrderState
from tests.daemon.conftest import Rig, StartRig


async def _walk(rig: Rig) -> None:
    while rig.sim.player.remaining:
        await rig.settle(await rig.step())


@pytest.mark.parametrize("name, liquidated_at", [("short-squeeze", 122_500.0), ("long-flush", 113_500.0)])
async def test_guarded_survives_the_cascade_the_naked_one_does_not(start_rig: StartRig, name: str,
                                                                   liquidated_at: float) -> None:
    rig = await start_rig(SCENARIOS[name])
    await _walk(rig)
    await rig.stop()
    liquidations = {e.api_key: e.price for e in rig.exchange.liquidations}
    assert liquidations == {"naked-key": liquidated_at}
    guarded = rig.exchange.accounts["guarded-key"]
    [position] = guarded.positions.values()
    assert 0 < abs(position.size) < 1.0
    assert (position.size < 0) == (name == "short-squeeze")
    liquidation = rig.exchange.liquidation_price(guarded, position)
    final = rig.exchange.marks["BTCUSDT"]
    assert (liquidation - final) / final > 0.03 if name == "short-squeeze" else (final - liquidation) / final > 0.03
    # Exactly once: every order at the emulator has its own client id, and the audit store has each as filled
    # with the amount the emulator filled.
    orders = rig.emulator_orders()
    ids = Counter(o.client_id for o in orders)
    assert orders and max(ids.values()) == 1
    with rig.store() as store:
        recorded = {r.client_order_id: r for r in store.orders()}
    for o in orders:
        assert recorded[o.client_id].state is OrderState.FILLED
        assert recorded[o.client_id].filled == pytest.approx(o.filled)
    assert sum(o.filled for o in orders) == pytest.approx(1.0 - abs(position.size))


def test_rehearsal_command_prints_the_before_after_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["short-squeeze"]) == 0
    text = capsys.readouterr().out
    assert "LIQUIDATED at 122,500" in text
    assert "survived, reduced" in text
    assert main(["nope"]) == 3
