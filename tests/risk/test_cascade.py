import math
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskguard.risk.bands import Band as DetectedBand
from riskguard.risk.cascade import cascade_survival, simulate_cascade
from riskguard.risk.stress import StressAccount
from riskguard.risk.tiers import TierTable


@dataclass(frozen=True)
class Band:
    side: str
    price_low: float
    price_high: float
    notional: float


# mid 100; bid levels at offsets 0.5 %, 1 %, 2 % holding 995, 990 and 1 960 USDT
BIDS = [[99.5, 10.0], [99.0, 10.0], [98.0, 20.0]]
ASKS = [[100.5, 10.0], [101.0, 10.0], [102.0, 20.0]]


def run(bands, side="long", **overrides):
    kwargs = dict(side=side, mark=100.0, bids=BIDS, asks=ASKS, contract_size=1.0, inverse=False) | overrides
    return simulate_cascade(bands=bands, **kwargs)


def test_cascade_when_first_band_falls_short_of_the_second_then_stops():
    cascade = run([Band("long", 96, 97, 1_500), Band("long", 93, 95, 2_000)])
    # fires at 97: 995 @ 97·0.995, 505 @ 97·0.99 = 96.03 > 95 → the second band is never reached
    assert cascade.status == "ok"
    assert cascade.path == pytest.approx((96.03,))
    assert cascade.total_forced_notional == 1_500
    assert cascade.move_pct == pytest.approx(-3.97)


def test_cascade_when_first_band_reaches_the_second_then_carries_through_both():
    cascade = run([Band("long", 95, 96.5, 2_000), Band("long", 96, 97, 1_500)])
    # band 1 (listed second) fires first at 97 → 96.03 ≤ 96.5, so band 0 fires at 96.03 into what is left:
    # 485 @ 96.03·0.99 (level 2 had 505 of 990 eaten), then 1 515 of 1 960 @ 96.03·0.98 = 94.1094
    assert [s.band_index for s in cascade.steps] == [1, 0]
    assert [s.trigger_price for s in cascade.steps] == pytest.approx([97.0, 96.03])
    assert cascade.path == pytest.approx((96.03, 94.1094))
    assert cascade.final_price == pytest.approx(94.1094)
    assert cascade.total_forced_notional == 3_500
    assert cascade.move_pct == pytest.approx(-5.8906)
    assert cascade.unabsorbed_notional == 0.0


def test_cascade_refill_restores_consumed_depth_between_bands():
    bands = [Band("long", 96, 97, 1_500), Band("long", 95, 96.5, 1_500)]
    assert run(bands, refill=0.0).final_price == pytest.approx(96.03 * 0.98)  # level 2 half gone → level 3
    assert run(bands, refill=1.0).final_price == pytest.approx(96.03 * 0.99)  # fresh book: 995 + 505 again


def test_cascade_beyond_the_book_extrapolates_visible_density():
    cascade = run([Band("long", 96, 97, 5_000)])
    # 3 945 visible, 1 055 left; density 3 945 / 2 % = 197 250 per unit log move
    assert cascade.final_price == pytest.approx(97 * 0.98 * math.exp(-1_055 / 197_250))
    assert cascade.final_price == pytest.approx(94.55292481925312)
    assert cascade.unabsorbed_notional == 0.0


def test_cascade_without_impact_model_stops_at_the_book_and_reports_the_remainder():
    cascade = run([Band("long", 96, 97, 5_000)], beyond_book=None)
    assert cascade.final_price == pytest.approx(95.06)  # 97·0.98
    assert cascade.unabsorbed_notional == pytest.approx(1_055.0)


def test_short_cascade_walks_asks_upwards():
    cascade = run([Band("short", 104, 105, 100), Band("short", 103, 104, 1_500)], side="short")
    # fires at 103: 1 005 @ 103·1.005, 495 @ 103·1.01 = 104.03 ≥ 104 → next fires: 100 of 515 left @ ·1.01
    assert cascade.path == pytest.approx((104.03, 104.03 * 1.01))
    assert cascade.move_pct == pytest.approx(5.0703)


def test_cascade_of_inverse_book_values_levels_by_face_value():
    # 10 contracts × 100 USD = 1 000 USD per level, whatever the price
    cascade = run([Band("long", 96, 97, 1_500)], contract_size=100.0, inverse=True)
    assert cascade.final_price == pytest.approx(97 * 0.99)


def test_cascade_starts_at_mark_when_a_band_straddles_it_and_ignores_the_other_side():
    cascade = run([Band("long", 99, 101, 500), Band("short", 100.2, 102, 10_000)])
    assert cascade.steps[0].trigger_price == 100.0
    assert cascade.path == pytest.approx((99.5,))


def test_cascade_with_no_bands_on_that_side_does_not_move():
    cascade = run([Band("short", 103, 104, 1_000)])
    assert cascade.status == "ok" and cascade.steps == ()
    assert cascade.final_price == 100.0 and cascade.move_pct == 0.0


@pytest.mark.parametrize(
    ("overrides", "bands", "code"),
    [
        ({"bids": []}, [Band("long", 96, 97, 1)], "EMPTY_BOOK"),
        ({"bids": [[101.0, 1.0]]}, [Band("long", 96, 97, 1)], "CROSSED_BOOK"),
        ({"bids": [[math.nan, 1.0]]}, [Band("long", 96, 97, 1)], "BAD_LEVEL"),
        ({"mark": math.nan}, [Band("long", 96, 97, 1)], "BAD_PRICE"),
        ({}, [Band("long", math.nan, 97, 1)], "BAD_BAND: band 0"),
        ({}, [Band("long", 97, 96, 1)], "BAD_BAND: band 0"),
        ({}, [Band("long", 96, 97, -1)], "BAD_BAND: band 0"),
        ({"refill": 2.0}, [Band("long", 96, 97, 1)], "BAD_INPUT"),
        ({"side": "both"}, [], "BAD_INPUT"),
    ],
)
def test_cascade_when_input_is_bad_then_unknown_with_reason(overrides, bands, code):
    cascade = run(bands, **overrides)
    assert cascade.status == "unknown"
    assert cascade.reason.startswith(code)
    assert cascade.steps == ()


def user_long(margin):
    # long 1 @ 100, mmr 0.4 % → LP = (margin − 100)/(0.004 − 1): 90.3614 for margin 10
    return StressAccount.build(
        inverse=[False], side=[1], qty=[1.0], entry=[100.0], mark=[100.0], cross=[False],
        isolated_margin=[margin], cross_wallet=0.0, tiers=TierTable.flat(0.004), table=[0],
    )


def test_cascade_survival_stresses_the_account_at_the_final_price():
    carried = run([Band("long", 95, 96.5, 2_000), Band("long", 96, 97, 1_500)])
    result = cascade_survival(user_long(10.0), carried)
    assert result.price[0, 0] == pytest.approx(94.1094)
    assert result.survives.tolist() == [True]
    crash = run([Band("long", 96, 97, 20_000)])
    assert crash.final_price == pytest.approx(87.62918471906045)  # 95.06·exp(−16 055/197 250)
    assert cascade_survival(user_long(10.0), crash).survives.tolist() == [False]


def test_cascade_survival_when_cascade_is_unknown_then_unknown_and_not_surviving():
    result = cascade_survival(user_long(10.0), run([Band("long", 96, 97, 1)], bids=[]))
    assert result.status == "unknown"
    assert result.reason.startswith("EMPTY_BOOK")
    assert result.survives.tolist() == [False]


band_rows = st.lists(
    st.tuples(st.floats(0.7, 0.999), st.floats(0.0, 0.05), st.floats(0.0, 5_000.0)), min_size=1, max_size=5
)


@given(
    band_rows,
    st.floats(1.0, 10.0),
    st.floats(0.0, 1.0),
    st.sampled_from([1.0, None]),
    st.sampled_from(["long", "short"]),
)
def test_cascade_move_is_monotone_in_band_notional(rows, scale, refill, beyond_book, side):
    def bands(factor):
        if side == "long":
            return [Band("long", 100 * hi * (1 - w), 100 * hi, n * factor) for hi, w, n in rows]
        return [Band("short", 100 / hi, 100 / hi * (1 + w), n * factor) for hi, w, n in rows]

    small = run(bands(1.0), side=side, refill=refill, beyond_book=beyond_book)
    large = run(bands(scale), side=side, refill=refill, beyond_book=beyond_book)
    assert small.status == large.status == "ok"
    assert abs(large.move_pct) >= abs(small.move_pct) - 1e-9
    assert len(large.steps) >= len(small.steps)
    direction = -1 if side == "long" else 1
    assert all(direction * (b - a) >= 0 for a, b in zip(large.path, large.path[1:], strict=False))


def test_cascade_accepts_the_band_type_of_the_bands_module():
    detected = DetectedBand(
        side="long", price_low=96.0, price_high=97.0, notional=1_500.0, distance_pct=-3.0, peak_price=96.5
    )
    assert run([detected]).path == pytest.approx((96.03,))
