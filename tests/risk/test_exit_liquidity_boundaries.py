"""Exit-cost edges: what an unusable close reports as filled, liquidation prices that cannot be a buffer, a
book used up exactly, and extra ccxt columns."""

from __future__ import annotations

import math

import pytest

from riskguard.risk.exit_liquidity import book_ladder, exit_buffer, exit_fill

BIDS = [[100.0, 1.0], [99.0, 1.0], [98.0, 2.0]]
ASKS = [[101.0, 1.0], [102.0, 3.0]]


def _close_long(contracts, mark=100.0, bids=BIDS, asks=ASKS):
    return exit_fill(side=+1, contracts=contracts, contract_size=1.0, inverse=False, mark=mark, bids=bids, asks=asks)


@pytest.mark.parametrize(("mark", "bids", "reason"), [
    (0.0, BIDS, "BAD_PRICE: mark must be > 0, got 0.0"),
    (math.inf, BIDS, "BAD_PRICE: mark must be > 0, got inf"),
    (100.0, [], "EMPTY_BOOK: no bids"),
])
def test_exit_fill_when_it_cannot_be_priced_then_nothing_filled_and_the_whole_size_unfilled(mark, bids, reason):
    fill = _close_long(3.0, mark=mark, bids=bids)
    assert (fill.status, fill.reason) == ("unknown", reason)
    assert (fill.filled_contracts, fill.unfilled_contracts) == (0.0, 3.0)
    assert fill.vwap is None and fill.worst_price is None and fill.slippage_cost is None


def test_exit_fill_when_size_is_not_finite_then_unknown_with_nothing_to_fill():
    fill = _close_long(math.inf)
    assert (fill.status, fill.reason) == ("unknown", "BAD_SIZE: contracts must be > 0, got inf")
    assert (fill.filled_contracts, fill.unfilled_contracts) == (0.0, 0.0)


def test_exit_fill_when_the_close_uses_up_the_whole_book_exactly_then_filled():
    fill = _close_long(4.0)
    assert fill.status == "ok" and fill.unfilled_contracts == 0.0
    assert fill.worst_price == 98.0 and fill.vwap == pytest.approx(98.75, rel=1e-12)
    assert fill.slippage_bp_vs_mark == pytest.approx(125.0, rel=1e-12)


def test_exit_fill_ignores_the_order_count_column_ccxt_adds():
    fill = _close_long(2.0, bids=[[100.0, 1.0, 7], [99.0, 1.0, 3]])
    assert fill.status == "ok" and fill.vwap == pytest.approx(99.5, rel=1e-12)


def test_book_ladder_mid_is_between_the_best_bid_and_ask():
    ladder, reason = book_ladder(BIDS, ASKS)
    assert reason is None and ladder is not None
    assert ladder.mid == 100.5
    assert ladder.closing_side(+1)[0].tolist() == [100.0, 1.0]
    assert ladder.closing_side(-1)[0].tolist() == [101.0, 1.0]


@pytest.mark.parametrize("lp", [math.inf, 0.0, -5.0])
def test_exit_buffer_when_the_liquidation_price_is_not_a_positive_number_then_unknown(lp):
    buffer = exit_buffer(+1, 100.0, lp, _close_long(1.0))
    assert buffer.status == "unknown"
    assert buffer.reason == f"BAD_PRICE: liquidation price {lp!r}"
    assert buffer.buffer_pct is None and buffer.buffer_net_of_slippage_pct is None


def test_exit_buffer_of_a_sub_dollar_coin_is_computed():
    # long at mark 0.8, liquidation 0.6: buffer 25 %; sells 1 at 0.8 and 1 at 0.792 → slippage 50 bp
    fill = exit_fill(side=+1, contracts=2.0, contract_size=1.0, inverse=False, mark=0.8,
                     bids=[[0.8, 1.0], [0.792, 1.0]], asks=[[0.81, 1.0]])
    buffer = exit_buffer(+1, 0.8, 0.6, fill)
    assert buffer.status == "ok"
    assert buffer.buffer_pct == pytest.approx(25.0, rel=1e-12)
    assert buffer.buffer_net_of_slippage_pct == pytest.approx(25.0 - 0.5, rel=1e-9)


def test_exit_fill_when_the_book_runs_out_then_the_worst_price_is_the_last_level_taken():
    fill = _close_long(6.0)
    assert fill.status == "insufficient_depth"
    assert (fill.filled_contracts, fill.unfilled_contracts, fill.worst_price) == (4.0, 2.0, 98.0)


def test_exit_fill_ignores_an_extra_column_even_when_it_is_not_a_number():
    # a feed that sends [price, amount, count] with the count missing (NaN): the book is still a book
    fill = _close_long(2.0, bids=[[100.0, 1.0, math.nan], [99.0, 1.0, math.nan]])
    assert fill.status == "ok" and fill.vwap == pytest.approx(99.5, rel=1e-12)


@pytest.mark.parametrize(("bids", "asks", "reason"), [
    (BIDS, [], "EMPTY_BOOK: no asks"),
    (BIDS, [[101.0, 0.0]], "EMPTY_BOOK: no asks with a positive amount"),
    (BIDS, [[101.0, -1.0]], "BAD_LEVEL: asks hold a non-finite, non-positive price or negative amount"),
    ([[100.0]], ASKS, "BAD_LEVEL: bids must be rows of [price, amount]"),
])
def test_book_ladder_names_the_side_that_is_unusable(bids, asks, reason):
    assert book_ladder(bids, asks) == (None, reason)
