"""An estimate of the cut only changes how many vectorized scans the search makes, never the cut: the bracket
comes from the same grid and the same rows whatever the estimate, even where the slack is not monotone."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.risk.whatif import on_grid
from strategies._reduce import Scan, _grid, _search

STEP = 0.001


def _counted(slack) -> tuple[Scan, list[int]]:
    calls: list[int] = []

    def rows(amounts: np.ndarray) -> np.ndarray:
        calls.append(len(amounts))
        return np.array([slack(float(a)) for a in amounts])

    return Scan(rows, exact=True), calls


@settings(max_examples=200, deadline=None)
@given(
    top=st.integers(2, 60_000),
    root=st.floats(0.0, 1.0),
    off=st.one_of(st.floats(-2.0, 2.0), st.sampled_from([math.inf, -math.inf, math.nan, 1e9])),
    noise=st.integers(0, 2**32 - 1),
    monotone=st.booleans(),
)
def test_search_when_estimated_then_the_same_cut_as_without(top, root, off, noise, monotone):
    cap = top * STEP
    rng = np.random.default_rng(noise)
    flips = set(rng.integers(1, top, size=0 if monotone else 40).tolist())  # steps where the slack dips back

    def slack(amount: float) -> float:
        k = round(amount / STEP)
        return -1.0 if k in flips else amount - root * cap

    g0 = -1.0
    plain, _ = _counted(slack)
    without = _search(cap, STEP, slack, g0, plain)
    guessed, _ = _counted(slack)
    estimate = root * cap * (1 + off) if math.isfinite(off) else off
    with_estimate = _search(cap, STEP, slack, g0, Scan(guessed.rows, True, estimate))
    assert with_estimate == without


@settings(max_examples=100, deadline=None)
@given(top=st.integers(300, 60_000), root=st.floats(0.001, 1.0), power=st.sampled_from([0.5, 1.0, 3.0]),
       off=st.integers(-1, 1))
def test_search_when_the_estimate_is_within_a_step_then_one_scan(top, root, power, off):
    # Without an estimate two scans narrow the range (a grid, then the steps of one gap); an estimate within a
    # step puts both in the first call.
    cap = top * STEP
    threshold = root * cap

    def slack(amount: float) -> float:
        return (amount / cap) ** power - (threshold / cap) ** power

    answer = _search(cap, STEP, slack, -1.0)
    scan, calls = _counted(slack)
    estimate = answer + off * STEP
    assert _search(cap, STEP, slack, -1.0, Scan(scan.rows, True, estimate)) == answer
    assert len(calls) == 1
    plain, plain_calls = _counted(slack)
    _search(cap, STEP, slack, -1.0, plain)
    if answer < on_grid(top - 1, STEP):  # a cut short of the whole position takes the grid, then a gap
        assert len(plain_calls) == 2


@settings(max_examples=300, deadline=None)
@given(lo=st.integers(0, 10**7), span=st.integers(2, 70_000), width=st.integers(1, 300))
def test_grid_when_written_out_then_the_rounded_inner_points_of_linspace(lo, span, width):
    hi = lo + span
    ks = np.linspace(lo, hi, width + 2)[1:-1].round().astype(np.int64)
    expected = ks[(np.diff(ks, prepend=lo) > 0) & (ks < hi)].tolist()
    assert _grid(lo, hi, width) == expected


@pytest.mark.parametrize("width", [1, 2, 10, 256])
@pytest.mark.parametrize("extra", [-1, 0, 1, 2, 3])
def test_grid_when_the_span_is_about_the_width_then_still_the_points_of_linspace(width, extra):
    # Up to width + 1 steps the points are every step count in between; from width + 2 linspace spreads width
    # points, never more.
    lo, hi = 7, 7 + width + extra
    ks = np.linspace(lo, hi, width + 2)[1:-1].round().astype(np.int64)
    expected = ks[(np.diff(ks, prepend=lo) > 0) & (ks < hi)].tolist()
    assert _grid(lo, hi, width) == expected and len(expected) <= width
