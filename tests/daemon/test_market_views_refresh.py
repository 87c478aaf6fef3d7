"""A long-running daemon's market signals follow the market: each full read brings a new order book, new bands
and new volatility, and the evaluation after it uses them.

The worker memoises each symbol's market view (bands, book ladder, volatility, crowding) so that streamed marks
between reads do not recompute them; the memo must end with the read it came from.  Kept for the daemon's
life, the first read's book went on pricing every exit: after the market had moved 10 %, the exit slippage was
still measured against a book around the start's price.
"""

from __future__ import annotations

from tests.daemon.conftest import BTC, StartRig, until


async def test_full_read_when_market_moved_then_signals_priced_on_the_new_book(start_rig: StartRig):
    rig = await start_rig(execute=False, wait_streams=False)  # 1 BTC short at 118,000
    worker = rig.worker()

    def fill_price() -> float:
        evaluated = worker.live.evaluated
        assert evaluated is not None and evaluated.signals, "no evaluated position"
        [signals] = evaluated.signals
        assert signals.fill.status == "ok", signals.fill.reason
        assert signals.fill.vwap is not None
        return signals.fill.vwap

    first = fill_price()
    assert abs(first / 118_000.0 - 1) < 0.01  # the close buys from asks near the start's mark

    assert rig.exchange.set_mark("BTCUSDT", 106_200.0) == []  # 10 % down: in the short's favour
    steps = worker.steps
    worker.request_read("test: market moved")
    await until(lambda: worker.steps > steps and worker.idle.is_set(), what="the evaluation after the read")
    assert worker.live.loaded is not None and worker.live.loaded.account is not None
    [position] = worker.live.loaded.account.positions
    assert position.symbol == BTC and position.mark_price == 106_200.0  # the read saw the move

    moved = fill_price()
    assert abs(moved / 106_200.0 - 1) < 0.01, f"exit priced at {moved:.2f} on the first read's book"
