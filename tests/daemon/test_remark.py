"""A streamed mark applied to the last full read (``remark_snapshot``) evaluates as a fresh REST read at that mark does.

The daemon evaluates every mark tick on the last read rewritten by ``remark`` instead of reading the account
again; if the two disagreed, the daemon would act (or not) on numbers no read of the venue would give.
"""

from __future__ import annotations

import dataclasses

import pytest

from riskguard.check import evaluate_loaded
from riskguard.connectors.normalize import build_snapshot
from riskguard.connectors.source import Loaded
from riskguard.daemon.remark import remark_snapshot
from riskguard.errors import DataUnavailable
from riskguard.market_view import SymbolViews
from tests.daemon.conftest import BTC, StartRig


def _evaluated(worker, snapshot):  # type: ignore[no-untyped-def]
    account = snapshot.account(worker.name)
    return evaluate_loaded(Loaded(worker.spec, snapshot, account, None), SymbolViews())


@pytest.mark.parametrize("new_mark", [119_400.0, 116_200.5])
async def test_streamed_remark_equals_a_fresh_rest_read(start_rig: StartRig, new_mark: float) -> None:
    rig = await start_rig(accounts={"guarded": "recommend"}, execute=False)
    worker = rig.worker()
    before, _ = await worker.read_doc(worker.spec)
    rig.exchange.set_mark("BTCUSDT", new_mark)
    fresh, _ = await worker.read_doc(worker.spec)
    # What the daemon evaluates: the rewritten read, its market series taken from the read's own snapshot.
    doc, streamed = remark_snapshot(before, build_snapshot(before, "read"), {BTC: new_mark}, fresh.taken_at, "tick")
    assert doc.taken_at == fresh.taken_at
    assert build_snapshot(doc, "tick").venues == streamed.venues  # the series taken over are the ones it holds
    got, want = _evaluated(worker, streamed).verdict, _evaluated(worker, build_snapshot(fresh, "fresh")).verdict
    assert got.risk is not None and want.risk is not None
    [p_got], [p_want] = got.risk.positions, want.risk.positions
    assert p_got.mark_price == p_want.mark_price == new_mark
    # Every figure of the position (PnL, notional, margin, liquidation and buffer) and of the cross account.
    a, b = dataclasses.asdict(p_got), dataclasses.asdict(p_want)
    numbers = [k for k, v in b.items() if isinstance(v, float)]
    assert {k: a[k] for k in numbers} == pytest.approx({k: b[k] for k in numbers}, rel=1e-9, abs=1e-6)
    assert {k: a[k] for k in a if k not in numbers} == {k: b[k] for k in b if k not in numbers}
    assert got.risk.cross == want.risk.cross
    assert got.uniform_moves == want.uniform_moves
    assert got.status == want.status
    assert [f.message for p in got.positions for f in p.findings] == [
        f.message for p in want.positions for f in p.findings]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0, -1.0])
async def test_a_mark_that_is_not_a_price_fails_closed(start_rig: StartRig, bad: float) -> None:
    rig = await start_rig(accounts={"guarded": "recommend"}, execute=False)
    worker = rig.worker()
    before, _ = await worker.read_doc(worker.spec)
    with pytest.raises(DataUnavailable, match="not a price"):
        remark_snapshot(before, build_snapshot(before, "read"), {BTC: bad}, before.taken_at + 1, "tick")
