"""Edges of the crowding signals that mutation survivors showed untested (docs/mutation.md).

Funding histories are 8-hourly (28 800 s) unless a test says otherwise; every expected number is worked by hand.
"""

from __future__ import annotations

import math

import pytest

from riskguard.risk.crowding import (
    CrowdingThresholds,
    FundingSignal,
    OpenInterestChange,
    basis,
    crowding_flag,
    funding_signal,
    open_interest_changes,
)

EIGHT_H_MS = 8 * 3_600_000
THIRTY_DAYS_MS = 30 * 86_400_000


def eight_hourly(n: int) -> tuple[list[int], list[float], int]:
    """n rates alternating 1 and 3 bp, the first at 0, as_of one interval after the newest."""
    return [i * EIGHT_H_MS for i in range(n)], [0.0001 if i % 2 == 0 else 0.0003 for i in range(n)], n * EIGHT_H_MS


def test_funding_signal_when_exactly_min_points_then_ok() -> None:
    ts, rates, as_of = eight_hourly(30)
    signal = funding_signal(ts, rates, 0.0005, as_of)
    assert signal.status == "ok" and signal.n_points == 30


def test_funding_signal_when_a_point_is_1_ms_older_than_the_lookback_then_it_is_left_out() -> None:
    # 90 points span 0 .. 89 intervals and as_of is 90 intervals = 30 days: the point at 0 opens the window.
    ts, rates, as_of = eight_hourly(90)
    assert as_of - THIRTY_DAYS_MS == 0
    signal = funding_signal([-1, *ts], [0.5, *rates], 0.0005, as_of)
    assert signal.status == "ok" and signal.n_points == 90
    assert signal.zscore == pytest.approx((0.0005 - 0.0002) / (0.0001 * math.sqrt(90 / 89)), rel=1e-9)


@pytest.mark.parametrize(
    ("after_newest_ms", "status"),
    [(EIGHT_H_MS * 3 // 2, "ok"), (2 * EIGHT_H_MS, "ok"), (2 * EIGHT_H_MS + 1_000, "unknown")],
)
def test_funding_signal_is_stale_only_beyond_two_intervals_after_the_newest_point(after_newest_ms, status) -> None:
    ts, rates, _ = eight_hourly(90)
    signal = funding_signal(ts, rates, 0.0005, ts[-1] + after_newest_ms)
    assert signal.status == status
    if status == "unknown":
        assert signal.reason == "STALE: newest funding point is 57601s old, interval 28800s"
        assert signal.n_points == 88  # the window moved 1 interval + 1 s on: the points at 0 and 1 interval left it


def test_funding_signal_when_points_are_1_ms_apart_then_they_are_still_sorted() -> None:
    ts = list(range(30))
    rates = [0.0001 if i % 2 == 0 else 0.0003 for i in range(30)]
    signal = funding_signal(ts, rates, 0.0005, as_of_ms=30)
    assert signal.status == "ok" and signal.interval_seconds == 0.001


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda ts, r: ([*ts[:-1], ts[-2]], r), "UNSORTED: funding timestamps must strictly increase"),
        (lambda ts, r: (ts, [*r[:-1], math.inf]), "BAD_VALUE: funding history holds a non-finite rate"),
        (
            lambda ts, r: (ts, [0.0002] * len(r)),
            "FLAT_HISTORY: every funding rate in the lookback is equal; z-score undefined",
        ),
    ],
)
def test_funding_signal_when_unusable_then_the_reason_in_full_and_the_points_counted(edit, reason) -> None:
    ts, rates, as_of = eight_hourly(90)
    signal = funding_signal(*edit(ts, rates), 0.0005, as_of)
    assert signal.status == "unknown" and signal.reason == reason
    assert signal.n_points == 90
    assert (signal.rate, signal.zscore, signal.interval_seconds, signal.annualised_pct) == (None, None, None, None)


def test_funding_signal_when_too_short_or_misshapen_then_the_points_counted() -> None:
    ts, rates, as_of = eight_hourly(10)
    assert funding_signal(ts, rates, 0.0005, as_of).n_points == 10
    misshapen = funding_signal(ts, rates[:-1], 0.0005, as_of)
    assert misshapen.reason == "BAD_SHAPE: funding timestamps and rates differ in length"
    assert misshapen.n_points == 0  # nothing was read


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")  # no spacing: NaN
def test_funding_signal_when_one_point_is_enough_then_one_rate_is_a_flat_history() -> None:
    signal = funding_signal([0], [0.0001], 0.0005, as_of_ms=EIGHT_H_MS, min_points=1)
    assert signal.status == "unknown" and signal.reason.startswith("FLAT_HISTORY:") and signal.n_points == 1


def test_basis_of_prices_below_1_is_still_a_basis() -> None:
    b = basis(0.5, 0.4)
    assert b.status == "ok" and b.basis_pct == pytest.approx(25.0)


def test_basis_when_price_is_zero_then_unknown() -> None:
    b = basis(0.0, 100.0)
    assert b.status == "unknown" and b.reason == "BAD_PRICE: price 0.0, reference 100.0" and b.basis_pct is None


def test_basis_of_a_dated_future_carries_status_basis_and_carry() -> None:
    b = basis(102.0, 100.0, seconds_to_expiry=30 * 86_400)
    assert (b.status, b.reason) == ("ok", None)
    assert b.basis_pct == pytest.approx(2.0)
    assert b.annualised_pct == pytest.approx(2.0 * 365 / 30)


def test_basis_half_a_second_before_expiry_is_still_annualised() -> None:
    b = basis(100.0001, 100.0, seconds_to_expiry=0.5)
    assert b.status == "ok"
    assert b.annualised_pct == pytest.approx(0.0001 * 365 * 86_400 / 0.5, rel=1e-6)  # 6 307.2 %


def test_basis_when_expired_then_unknown_carry_but_the_basis_is_kept() -> None:
    b = basis(101.0, 100.0, seconds_to_expiry=0.0)
    assert b.status == "unknown" and b.basis_pct == pytest.approx(1.0) and b.annualised_pct is None


def funding(z: float | None, rate: float | None) -> FundingSignal:
    return FundingSignal("ok", None, rate, 28_800, None if rate is None else rate * 1095 * 100, z, 90)


OI_4H_UP = [OpenInterestChange(14_400, "ok", None, 12.0)]


@pytest.mark.parametrize("rate_z", [(0.0, 2.5), (0.0, -2.5)])
def test_crowding_flag_when_funding_is_exactly_zero_then_no_side_pays_and_none_is_crowded(rate_z) -> None:
    rate, z = rate_z
    assert crowding_flag(funding(z, rate), OI_4H_UP).state == "not_crowded"


def test_crowding_flag_when_the_oi_leg_is_unknown_then_state_unknown() -> None:
    flag = crowding_flag(funding(3.0, 0.001), [OpenInterestChange(14_400, "unknown", "STALE: x", None)])
    assert (flag.state, flag.reason) == ("unknown", "open interest STALE: x")


def test_crowding_flag_when_the_window_is_missing_then_it_is_named() -> None:
    flag = crowding_flag(funding(3.0, 0.001), OI_4H_UP, CrowdingThresholds(oi_window_seconds=3_600))
    assert (flag.state, flag.reason) == ("unknown", "NO_OI_WINDOW: no 3600s open-interest change")


@pytest.mark.parametrize(("z", "rate"), [(3.0, None), (None, 0.001)])
def test_crowding_flag_when_the_funding_signal_is_half_known_then_unknown(z, rate) -> None:
    assert crowding_flag(funding(z, rate), OI_4H_UP).state == "unknown"


def test_crowding_flag_when_funding_is_negative_but_not_elevated_then_not_crowded() -> None:
    flag = crowding_flag(funding(-1.0, -0.0003), OI_4H_UP)
    assert (flag.state, flag.reason) == ("not_crowded", "funding z -1.00 (rate -0.000300), OI +12.00% over 14400s")


def test_crowding_flag_when_crowded_short_then_the_evidence_is_given() -> None:
    flag = crowding_flag(funding(-2.5, -0.0003), OI_4H_UP)
    assert (flag.state, flag.reason) == ("crowded_short", "funding z -2.50 (rate -0.000300), OI +12.00% over 14400s")


def test_crowding_flag_when_short_thresholds_are_met_exactly_then_crowded_short() -> None:
    assert crowding_flag(funding(-2.0, -0.0003), [OpenInterestChange(14_400, "ok", None, 5.0)]).state == "crowded_short"


# -- open interest ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("after_newest_ms", "status"), [(900_000, "ok"), (900_001, "unknown")])
def test_open_interest_changes_are_stale_only_beyond_the_tolerance(after_newest_ms, status) -> None:
    changes = open_interest_changes([0, 3_600_000], [1_000.0, 1_100.0], 3_600_000 + after_newest_ms, (3_600,))
    assert changes[0].status == status
    if status == "unknown":
        assert changes[0].window_seconds == 3_600
        assert changes[0].reason == "STALE: no open-interest sample within 900s before as_of"


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        ([0, 0, 900_000], "UNSORTED: open-interest timestamps must strictly increase"),
        ([0, 900_000], "BAD_SHAPE: open-interest timestamps and values differ in length"),
    ],
)
def test_open_interest_changes_when_malformed_then_the_reason_in_full_for_every_window(ts, reason) -> None:
    changes = open_interest_changes(ts, [1_000.0, 1_100.0, 1_200.0], 900_000)
    assert [(c.window_seconds, c.status, c.reason) for c in changes] == [
        (3_600, "unknown", reason),
        (14_400, "unknown", reason),
        (86_400, "unknown", reason),
    ]


def test_open_interest_changes_when_samples_are_1_ms_apart_then_they_are_still_sorted() -> None:
    changes = open_interest_changes([0, 1, 2], [1_000.0, 1_050.0, 1_100.0], as_of_ms=2, windows_seconds=(0.002,))
    assert changes[0].status == "ok" and changes[0].change_pct == pytest.approx(10.0)


def test_open_interest_changes_when_one_sample_then_no_window_has_a_change() -> None:
    # Even a window shorter than the tolerance: a change needs two samples.
    changes = open_interest_changes([0], [1_000.0], as_of_ms=0, windows_seconds=(600, 3_600))
    assert [(c.window_seconds, c.status) for c in changes] == [(600, "unknown"), (3_600, "unknown")]
    assert changes[1].reason == "NO_SAMPLE: nothing within 900s of 3600s before the last sample"


@pytest.mark.parametrize(
    ("ts", "oi", "change_pct"),
    [
        # 1 h before 4 700 s is 1 100 s: the sample at 1 000 s (100 s off) beats 1 500 s (400 s off).
        ([0, 500_000, 1_000_000, 1_500_000, 4_700_000], [1_000.0, 1_100.0, 1_200.0, 1_300.0, 1_500.0], 25.0),
        # 1 h before 3 600 s is the first sample exactly; the next one, 800 s later, is within tolerance too.
        ([0, 800_000, 3_600_000], [1_000.0, 1_100.0, 1_500.0], 50.0),
        # 1 h before 3 602 s is the sample at 2 s exactly; the one at 0 is 2 s off.
        ([0, 2_000, 3_602_000], [1_000.0, 1_100.0, 2_000.0], (2_000 / 1_100 - 1) * 100),
    ],
)
def test_open_interest_change_starts_at_the_sample_nearest_the_window_start(ts, oi, change_pct) -> None:
    (change,) = open_interest_changes(ts, oi, as_of_ms=ts[-1], windows_seconds=(3_600,))
    assert change.status == "ok" and change.change_pct == pytest.approx(change_pct)


def test_open_interest_change_when_the_start_sample_is_exactly_the_tolerance_off_then_it_still_counts() -> None:
    # 1 h before 5 400 s is 1 800 s; the only earlier sample, at 900 s, is 900 s off: at the tolerance, not beyond.
    (change,) = open_interest_changes([900_000, 5_400_000], [1_000.0, 1_100.0], 5_400_000, (3_600,))
    assert change.status == "ok" and change.change_pct == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("first", "last", "change_pct"),
    [(0.5, 0.25, -50.0), (1_000.0, 0.0, -100.0), (0.5, 1.0, 100.0)],
)
def test_open_interest_change_of_small_or_zero_amounts_is_measured(first, last, change_pct) -> None:
    (change,) = open_interest_changes([0, 3_600_000], [first, last], 3_600_000, (3_600,))
    assert change.status == "ok" and change.change_pct == pytest.approx(change_pct)


@pytest.mark.parametrize(("first", "last"), [(0.0, 1_000.0), (math.inf, 1_000.0), (1_000.0, math.nan), (1.0, -1.0)])
def test_open_interest_change_when_an_end_is_not_an_amount_then_unknown(first, last) -> None:
    (change,) = open_interest_changes([0, 3_600_000], [first, last], 3_600_000, (3_600,))
    assert (change.window_seconds, change.status, change.reason, change.change_pct) == (
        3_600,
        "unknown",
        "BAD_VALUE: open interest is not a finite amount",
        None,
    )
