"""The position book: the last full read's positions, served only while the user-data stream certifies them."""

from __future__ import annotations

from typing import Any

from riskguard.daemon.book import BookFirstVenue, PositionBook
from riskguard.execution.executor import Executor
from riskguard.execution.guard import LivePosition
from tests.daemon.conftest import StartRig

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
SHORT = LivePosition(BTC, "short", "both", 1.0)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _seeded() -> tuple[PositionBook, Clock]:
    clock = Clock()
    book = PositionBook(clock, max_age_s=60)
    book.connected()
    clock.t += 1
    book.seed(book.read_start(), [SHORT])
    return book, clock


def test_a_read_covered_by_a_live_quiet_stream_is_served() -> None:
    book, clock = _seeded()
    clock.t += 59
    assert book.positions(BTC) == [SHORT]
    assert book.positions(ETH) == []  # none held, as the read said


def test_without_a_live_stream_nothing_is_served() -> None:
    clock = Clock()
    book = PositionBook(clock, max_age_s=60)
    book.seed(book.read_start(), [SHORT])
    assert book.positions(BTC) is None


def test_a_stream_that_connected_after_the_read_began_does_not_cover_it() -> None:
    clock = Clock()
    book = PositionBook(clock, max_age_s=60)
    start = book.read_start()
    clock.t += 0.5
    book.connected()  # events between the read and this moment were never heard
    book.seed(start, [SHORT])
    assert book.positions(BTC) is None


def test_an_event_during_or_after_the_read_voids_it() -> None:
    book, _ = _seeded()
    start = book.read_start()
    book.event()  # the read may predate this change
    book.seed(start, [SHORT])
    assert book.positions(BTC) is None
    fresh, _ = _seeded()
    fresh.event()
    assert fresh.positions(BTC) is None


def test_a_lost_stream_voids_the_book_until_a_read_after_the_reconnect() -> None:
    book, clock = _seeded()
    book.lost()
    assert book.positions(BTC) is None
    clock.t += 1
    assert book.connected() is True  # the caller asks for a read to reseed
    assert book.connected() is False
    assert book.positions(BTC) is None  # the old read is not revived
    clock.t += 1
    book.seed(book.read_start(), [SHORT])
    assert book.positions(BTC) == [SHORT]


def test_an_old_read_is_not_served() -> None:
    book, clock = _seeded()
    clock.t += 60.01
    assert book.positions(BTC) is None


class Rest:
    venue = "binanceusdm"

    def __init__(self) -> None:
        self.reads = 0

    async def positions(self, symbol: str) -> list[LivePosition]:
        self.reads += 1
        return [LivePosition(symbol, "short", "both", 0.4)]

    def min_amount(self, symbol: str) -> float:
        return 0.001


async def test_only_the_first_re_read_of_a_symbol_comes_from_the_book() -> None:
    book, _ = _seeded()
    rest = Rest()
    venue: Any = BookFirstVenue(rest, book, trusted=lambda: True)
    assert await venue.positions(BTC) == [SHORT] and rest.reads == 0
    # After our own order the position changes: the remainder and the verification read by REST.
    assert (await venue.positions(BTC))[0].contracts == 0.4 and rest.reads == 1
    assert venue.min_amount(BTC) == 0.001  # everything else is the venue's
    assert venue.from_book == 1


async def test_an_unhealthy_stream_reads_by_rest() -> None:
    book, _ = _seeded()
    rest = Rest()
    venue: Any = BookFirstVenue(rest, book, trusted=lambda: False)
    assert (await venue.positions(BTC))[0].contracts == 0.4 and rest.reads == 1 and venue.from_book == 0


async def test_the_daemon_caps_its_first_close_at_the_streamed_position(start_rig: StartRig) -> None:
    rig = await start_rig()
    worker = rig.worker()
    used: list[Any] = []

    def executor(venue: Any) -> Executor:
        used.append(venue)
        return Executor(venue, worker.store)

    worker._executor_factory = executor
    while rig.sim.player.remaining and not rig.emulator_orders():
        await rig.settle(await rig.step())
    await rig.stop()
    assert used and used[0].from_book == 1  # no REST re-read stood between the breach and the close
    [order] = rig.emulator_orders()
    with rig.store() as store:
        [record] = store.orders()
    assert order.reduce_only and record.client_order_id == order.client_id and record.filled == order.filled
    assert rig.exchange.accounts["guarded-key"].positions  # reduced, not closed or flipped
