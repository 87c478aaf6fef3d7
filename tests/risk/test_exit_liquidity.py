import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskguard.risk.exit_liquidity import book_ladder, exit_buffer, exit_fill, walk_levels

BIDS = [[100.0, 1.0], [99.0, 1.0], [98.0, 2.0]]
ASKS = [[101.0, 1.0], [102.0, 3.0]]


def close_long(contracts, bids=BIDS, asks=ASKS, mark=100.0, contract_size=1.0):
    return exit_fill(
        side=+1, contracts=contracts, contract_size=contract_size, inverse=False, mark=mark, bids=bids, asks=asks
    )


def test_exit_fill_when_long_closes_through_three_levels_then_vwap_and_slippage_by_hand():
    fill = close_long(3.0, contract_size=0.001)
    # sells 1 @ 100, 1 @ 99, 1 @ 98 → VWAP 99
    assert fill.status == "ok" and fill.reason is None
    assert fill.vwap == pytest.approx(99.0, rel=1e-12)
    assert fill.worst_price == 98.0
    assert fill.slippage_bp_vs_mark == pytest.approx(100.0, rel=1e-12)  # (100 − 99)/100
    assert fill.slippage_bp_vs_mid == pytest.approx(1.5 / 100.5 * 1e4, rel=1e-12)  # mid 100.5: 149.25 bp
    assert fill.slippage_bp_vs_mid == pytest.approx(149.25373134328358, rel=1e-12)
    assert fill.slippage_cost == pytest.approx(0.003, rel=1e-12)  # 3 × 0.001 BTC × 1 USDT
    assert (fill.filled_contracts, fill.unfilled_contracts) == (3.0, 0.0)


def test_exit_fill_when_short_inverse_closes_into_asks_then_harmonic_vwap():
    asks = [[100.0, 1.0], [101.0, 1.0], [104.0, 2.0]]
    fill = exit_fill(
        side=-1, contracts=3.0, contract_size=100.0, inverse=True, mark=100.0, bids=[[99.0, 5.0]], asks=asks
    )
    vwap = 3 / (1 / 100 + 1 / 101 + 1 / 104)  # USD per coin of 300 USD bought back
    assert fill.vwap == pytest.approx(vwap, rel=1e-12)
    assert fill.vwap == pytest.approx(101.63849825828925, rel=1e-12)
    assert fill.slippage_bp_vs_mark == pytest.approx(163.84982582892462, rel=1e-9)
    assert fill.slippage_bp_vs_mid == pytest.approx(214.92444806927097, rel=1e-9)  # mid 99.5
    assert fill.slippage_cost == pytest.approx(300 * (1 / 100 - 1 / vwap), rel=1e-12)  # 0.04836 BTC
    assert fill.slippage_cost == pytest.approx(0.04836252856054799, rel=1e-9)


def test_exit_fill_when_book_is_too_thin_then_insufficient_depth_without_a_cost():
    fill = close_long(5.0)
    assert fill.status == "insufficient_depth"
    assert fill.reason == "INSUFFICIENT_DEPTH: book holds 4 of 5 contracts"
    assert fill.filled_contracts == 4.0 and fill.unfilled_contracts == 1.0
    assert fill.vwap == pytest.approx(98.75, rel=1e-12)  # (100 + 99 + 2·98)/4, filled part only
    assert fill.slippage_bp_vs_mark is None and fill.slippage_bp_vs_mid is None and fill.slippage_cost is None


@pytest.mark.parametrize(("contracts", "vwap", "worst"), [(0.5, 100.0, 100.0), (1.0, 100.0, 100.0),
                                                         (1.5, 149.5 / 1.5, 99.0), (2.0, 99.5, 99.0)])
def test_exit_fill_when_the_book_is_deeper_than_the_close_then_it_stops_at_the_last_level_reached(
    contracts, vwap, worst
):
    # A level exactly used up (1.0, 2.0 contracts) ends the walk: the next level's price is not the worst fill.
    fill = close_long(contracts)
    assert fill.status == "ok" and fill.worst_price == worst and fill.vwap == pytest.approx(vwap, rel=1e-12)
    assert fill.slippage_bp_vs_mark == pytest.approx((100.0 - vwap) / 100.0 * 1e4, rel=1e-12, abs=1e-12)


def test_exit_fill_sorts_levels_and_drops_deleted_ones():
    shuffled = [[98.0, 2.0], [100.0, 1.0], [97.0, 0.0], [99.0, 1.0]]
    assert close_long(3.0, bids=shuffled).vwap == pytest.approx(99.0, rel=1e-12)


@pytest.mark.parametrize(
    ("bids", "asks", "code"),
    [
        ([], ASKS, "EMPTY_BOOK"),
        (BIDS, [], "EMPTY_BOOK"),
        ([[100.0, 0.0]], ASKS, "EMPTY_BOOK"),
        ([[101.0, 1.0]], [[101.0, 1.0]], "CROSSED_BOOK"),
        ([[102.0, 1.0]], ASKS, "CROSSED_BOOK"),
        ([[math.nan, 1.0]], ASKS, "BAD_LEVEL"),
        ([[100.0, math.nan]], ASKS, "BAD_LEVEL"),
        ([[100.0, -1.0]], ASKS, "BAD_LEVEL"),
        ([[0.0, 1.0]], ASKS, "BAD_LEVEL"),
        ([100.0, 1.0], ASKS, "BAD_LEVEL"),
    ],
)
def test_exit_fill_when_book_is_unusable_then_unknown_with_reason(bids, asks, code):
    fill = close_long(1.0, bids=bids, asks=asks)
    assert fill.status == "unknown"
    assert fill.reason.startswith(code + ":")
    assert fill.vwap is None and fill.slippage_bp_vs_mark is None
    assert fill.unfilled_contracts == 1.0


def test_crossed_book_reason_names_the_prices():
    assert book_ladder([[102.0, 1.0]], ASKS) == (None, "CROSSED_BOOK: best bid 102 >= best ask 101")


@pytest.mark.parametrize(("mark", "contracts", "code"), [(math.nan, 1.0, "BAD_PRICE"), (100.0, 0.0, "BAD_SIZE")])
def test_exit_fill_when_mark_or_size_is_bad_then_unknown(mark, contracts, code):
    fill = close_long(contracts, mark=mark)
    assert fill.status == "unknown" and fill.reason.startswith(code)


def test_exit_buffer_for_textbook_long_is_buffer_minus_slippage():
    lp = (1000 - 10000) / (0.004 - 1)  # 9 036.1446
    bids = [[10000.0, 0.5], [9900.0, 0.5]]
    fill = exit_fill(
        side=+1, contracts=1.0, contract_size=1.0, inverse=False, mark=10000.0, bids=bids, asks=[[10001.0, 1.0]]
    )
    assert fill.slippage_bp_vs_mark == pytest.approx(50.0, rel=1e-12)  # VWAP 9 950
    buffer = exit_buffer(+1, 10000.0, lp, fill)
    assert buffer.status == "ok"
    assert buffer.buffer_pct == pytest.approx(9.638554216867469, rel=1e-12)
    assert buffer.exit_slippage_bp == pytest.approx(50.0, rel=1e-12)
    assert buffer.buffer_net_of_slippage_pct == pytest.approx(9.138554216867469, rel=1e-12)


def test_exit_buffer_for_a_short_measures_upwards():
    fill = exit_fill(
        side=-1, contracts=1.0, contract_size=1.0, inverse=False, mark=100.0, bids=[[99.0, 1.0]], asks=[[101.0, 1.0]]
    )
    buffer = exit_buffer(-1, 100.0, 110.0, fill)
    assert buffer.buffer_net_of_slippage_pct == pytest.approx(10.0 - 1.0, rel=1e-12)


def test_exit_buffer_when_fill_is_partial_then_unknown_with_fill_reason():
    buffer = exit_buffer(+1, 100.0, 90.0, close_long(5.0))
    assert buffer.status == "unknown"
    assert buffer.reason == "INSUFFICIENT_DEPTH: book holds 4 of 5 contracts"
    assert buffer.buffer_net_of_slippage_pct is None and buffer.exit_slippage_bp is None


def test_exit_buffer_when_no_price_liquidates_then_infinite():
    buffer = exit_buffer(+1, 100.0, None, close_long(1.0))
    assert buffer.buffer_net_of_slippage_pct == math.inf


def test_exit_buffer_when_liquidation_price_is_nan_then_unknown():
    assert exit_buffer(+1, 100.0, math.nan, close_long(1.0)).reason.startswith("BAD_PRICE")


def test_walk_levels_takes_best_levels_first():
    assert walk_levels([2.0, 3.0, 4.0], 4.0).tolist() == [2.0, 2.0, 0.0]


def test_walk_levels_when_tiny_depth_precedes_a_large_level_then_large_level_is_untouched():
    # with cumsum − amount the depth ahead of 1 960 would round to 0 and the order would take from it too
    assert walk_levels([1e-35, 1e-35, 1960.0], 1e-38).tolist() == [1e-38, 0.0, 0.0]


prices = st.floats(1.0, 1e5)
amounts = st.floats(1e-3, 1e3)
gaps = st.floats(1e-4, 0.5)


@given(
    st.lists(st.tuples(prices, amounts), min_size=1, max_size=12),
    st.lists(st.tuples(gaps, amounts), min_size=1, max_size=12),
    st.floats(1e-3, 1.0),
    st.floats(1e-3, 1.0),
    st.booleans(),
    st.sampled_from([1, -1]),
)
def test_slippage_is_non_negative_and_non_decreasing_with_size(bid_rows, ask_gaps, f1, f2, inverse, side):
    top_bid = max(p for p, _ in bid_rows)
    bids = [[p, a] for p, a in bid_rows]
    asks = [[top_bid * (1 + g), a] for g, a in ask_gaps]
    mark = (top_bid + min(a[0] for a in asks)) / 2
    depth = sum(a for _, a in (bid_rows if side > 0 else asks))
    small, large = sorted((f1 * depth, f2 * depth))

    def fill(size):
        return exit_fill(
            side=side, contracts=size, contract_size=1.0, inverse=inverse, mark=mark, bids=bids, asks=asks
        )

    f_small, f_large = fill(small), fill(large)
    assert f_small.status == f_large.status == "ok"
    assert f_small.slippage_bp_vs_mid >= -1e-9
    assert f_large.slippage_bp_vs_mid >= f_small.slippage_bp_vs_mid - 1e-9
    assert f_large.slippage_bp_vs_mark >= f_small.slippage_bp_vs_mark - 1e-9
