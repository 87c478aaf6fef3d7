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

H_MS = 3_600_000
EIGHT_H_MS = 8 * H_MS


def eight_hourly(n=90):
    """n settled rates alternating 1 and 3 bp: mean 2 bp, sample std 1 bp·√(n/(n−1))."""
    ts = [i * EIGHT_H_MS for i in range(n)]
    rates = [0.0001 if i % 2 == 0 else 0.0003 for i in range(n)]
    return ts, rates, n * EIGHT_H_MS  # as_of = one interval after the newest point


def test_funding_signal_zscore_and_annualised_rate_by_hand():
    ts, rates, as_of = eight_hourly()
    signal = funding_signal(ts, rates, current_rate=0.0005, as_of_ms=as_of)
    assert signal.status == "ok" and signal.reason is None
    assert signal.n_points == 90
    assert signal.interval_seconds == 8 * 3600
    assert signal.zscore == pytest.approx((0.0005 - 0.0002) / (0.0001 * math.sqrt(90 / 89)), rel=1e-9)
    assert signal.zscore == pytest.approx(2.983286778035259, rel=1e-9)
    assert signal.annualised_pct == pytest.approx(54.75, rel=1e-12)  # 0.05 % × 1 095 intervals a year


def test_funding_signal_uses_only_the_lookback_window_before_as_of():
    ts, rates, as_of = eight_hourly()
    ts, rates = [*ts, as_of], [*rates, 0.05]  # a point at as_of itself is the current rate: excluded
    older = [-EIGHT_H_MS * k for k in range(1, 11)]  # 10 points older than 30 days: excluded
    signal = funding_signal([*older, *ts], [0.01] * 10 + rates, current_rate=0.0005, as_of_ms=as_of)
    assert signal.n_points == 90
    assert signal.zscore == pytest.approx(2.983286778035259, rel=1e-9)


def test_funding_signal_when_history_is_short_then_unknown():
    ts, rates, as_of = eight_hourly(10)
    signal = funding_signal(ts, rates, current_rate=0.0005, as_of_ms=as_of)
    assert signal.status == "unknown"
    assert signal.reason == "TOO_SHORT: 10 funding points in the lookback, need 30"
    assert signal.zscore is None and signal.rate is None


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda ts, r, a: (ts, [0.0002] * len(r), a), "FLAT_HISTORY"),
        (lambda ts, r, a: (ts, [math.nan, *r[1:]], a), "BAD_VALUE"),
        (lambda ts, r, a: ([ts[1], ts[0], *ts[2:]], r, a), "UNSORTED"),
        (lambda ts, r, a: (ts, r, a + 2 * EIGHT_H_MS), "STALE"),
        (lambda ts, r, a: (ts, r[:-1], a), "BAD_SHAPE"),
    ],
)
def test_funding_signal_when_history_is_unusable_then_unknown(mutate, code):
    ts, rates, as_of = mutate(*eight_hourly())
    signal = funding_signal(ts, rates, current_rate=0.0005, as_of_ms=as_of)
    assert signal.status == "unknown" and signal.reason.startswith(code + ":")


def test_funding_signal_when_current_rate_is_nan_then_unknown():
    ts, rates, as_of = eight_hourly()
    assert funding_signal(ts, rates, math.nan, as_of).reason.startswith("BAD_VALUE")


def quarter_hourly_oi(hours=25):
    """OI sampled every 15 min, growing by 10 contracts a sample."""
    n = hours * 4 + 1
    return [i * H_MS // 4 for i in range(n)], [1_000.0 + 10 * i for i in range(n)]


def test_open_interest_changes_over_1h_4h_24h_by_hand():
    ts, oi = quarter_hourly_oi()
    changes = open_interest_changes(ts, oi, as_of_ms=ts[-1] + 60_000)
    assert [c.window_seconds for c in changes] == [3_600, 14_400, 86_400]
    assert [c.status for c in changes] == ["ok", "ok", "ok"]
    # last sample 2 000; 1 h earlier 1 960, 4 h earlier 1 840, 24 h earlier 1 040
    assert [c.change_pct for c in changes] == pytest.approx(
        [(2000 / 1960 - 1) * 100, (2000 / 1840 - 1) * 100, (2000 / 1040 - 1) * 100]
    )
    assert changes[2].change_pct == pytest.approx(92.3076923076923)


def test_open_interest_changes_are_measured_in_time_not_rows():
    ts, oi = quarter_hourly_oi()
    # drop every other sample older than 2 h: row counts change, timestamps do not
    keep = [i for i in range(len(ts)) if i >= len(ts) - 9 or i % 2 == 0]
    changes = open_interest_changes([ts[i] for i in keep], [oi[i] for i in keep], as_of_ms=ts[-1])
    assert changes[1].change_pct == pytest.approx((2000 / 1840 - 1) * 100)
    assert changes[2].change_pct == pytest.approx((2000 / 1040 - 1) * 100)


def test_open_interest_change_when_no_sample_near_the_window_start_then_that_window_is_unknown():
    ts, oi = quarter_hourly_oi()
    target = ts[-1] - 4 * H_MS
    keep = [i for i, t in enumerate(ts) if abs(t - target) > H_MS // 2]
    changes = open_interest_changes([ts[i] for i in keep], [oi[i] for i in keep], as_of_ms=ts[-1])
    assert [c.status for c in changes] == ["ok", "unknown", "ok"]
    assert changes[1].reason == "NO_SAMPLE: nothing within 900s of 14400s before the last sample"
    assert changes[1].change_pct is None


def test_open_interest_change_when_history_is_short_then_long_windows_are_unknown():
    ts, oi = quarter_hourly_oi(hours=2)
    changes = open_interest_changes(ts, oi, as_of_ms=ts[-1])
    assert [c.status for c in changes] == ["ok", "unknown", "unknown"]


def test_open_interest_change_when_feed_is_stale_then_every_window_unknown():
    ts, oi = quarter_hourly_oi()
    changes = open_interest_changes(ts, oi, as_of_ms=ts[-1] + H_MS)
    assert all(c.status == "unknown" and c.reason.startswith("STALE") for c in changes)


@pytest.mark.parametrize(
    ("ts", "oi", "code"),
    [([0, 1], [1.0], "BAD_SHAPE"), ([1, 0], [1.0, 2.0], "UNSORTED"), ([], [], "STALE")],
)
def test_open_interest_change_when_history_is_malformed_then_unknown(ts, oi, code):
    assert open_interest_changes(ts, oi, as_of_ms=1)[0].reason.startswith(code)


def test_open_interest_change_when_start_value_is_nan_then_unknown():
    ts, oi = quarter_hourly_oi()
    oi[4] = math.nan  # the sample exactly 24 h before the last
    changes = open_interest_changes(ts, oi, as_of_ms=ts[-1])
    assert changes[2].reason.startswith("BAD_VALUE") and changes[0].status == "ok"


def test_basis_of_a_perpetual_is_not_annualised():
    b = basis(101.0, 100.0)
    assert b.status == "ok"
    assert b.basis_pct == pytest.approx(1.0)
    assert b.annualised_pct is None


def test_basis_of_a_dated_future_is_annualised_simply():
    b = basis(102.0, 100.0, seconds_to_expiry=30 * 86_400)
    assert b.annualised_pct == pytest.approx(2.0 * 365 / 30)  # 24.33 %


@pytest.mark.parametrize(
    ("price", "ref", "expiry", "code"),
    [(math.nan, 100, None, "BAD_PRICE"), (101, 0.0, None, "BAD_PRICE"), (101, 100, 0.0, "EXPIRED")],
)
def test_basis_when_input_is_bad_then_unknown(price, ref, expiry, code):
    b = basis(price, ref, expiry)
    assert b.status == "unknown" and b.reason.startswith(code) and b.annualised_pct is None


def funding(z, rate):
    return FundingSignal("ok", None, rate, 28_800, rate * 1095 * 100, z, 90)


def oi_4h(change_pct):
    return [OpenInterestChange(14_400, "ok", None, change_pct)]


@pytest.mark.parametrize(
    ("z", "rate", "oi", "state"),
    [
        (2.0, 0.0005, 5.0, "crowded_long"),  # both thresholds met exactly
        (2.5, 0.0005, 12.0, "crowded_long"),
        (-2.5, -0.0003, 6.0, "crowded_short"),
        (2.5, 0.0005, 4.9, "not_crowded"),  # OI not rising enough
        (1.9, 0.0005, 12.0, "not_crowded"),  # funding not elevated
        (2.5, -0.0001, 12.0, "not_crowded"),  # z high but rate still negative: shorts pay less, not longs more
        (-2.5, 0.0001, 12.0, "not_crowded"),
    ],
)
def test_crowding_flag_needs_elevated_funding_of_the_right_sign_and_rising_oi(z, rate, oi, state):
    flag = crowding_flag(funding(z, rate), oi_4h(oi))
    assert flag.state == state


def test_crowding_flag_reason_carries_the_evidence():
    flag = crowding_flag(funding(2.5, 0.0005), oi_4h(12.0))
    assert flag.reason == "funding z +2.50 (rate +0.000500), OI +12.00% over 14400s"


def test_crowding_flag_when_a_leg_is_unknown_then_unknown_even_if_the_other_rules_it_out():
    ts, rates, as_of = eight_hourly(5)
    short_funding = funding_signal(ts, rates, 0.0005, as_of)
    flag = crowding_flag(short_funding, oi_4h(-20.0))
    assert flag.state == "unknown"
    assert flag.reason == "funding TOO_SHORT: 5 funding points in the lookback, need 30"
    unknown_oi = [OpenInterestChange(14_400, "unknown", "STALE: x", None)]
    assert crowding_flag(funding(0.1, 0.0001), unknown_oi).reason == "open interest STALE: x"
    assert crowding_flag(funding(3.0, 0.001), oi_4h(10.0), CrowdingThresholds(oi_window_seconds=3_600)).state == (
        "unknown"
    )
