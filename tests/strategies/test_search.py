"""The cut search finds the smallest whole number of steps that meets the target, whatever the slack's shape."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.risk.whatif import on_grid
from strategies._reduce import Scan, _search

STEP = 0.001


@settings(max_examples=300, deadline=None)
@given(
    top=st.integers(1, 50_000),
    root=st.floats(0.0, 1.0),
    power=st.sampled_from([0.3, 1.0, 2.0, 6.0]),
    inf_beyond=st.one_of(st.none(), st.floats(0.0, 1.0)),
)
def test_search_when_monotone_slack_then_smallest_step_that_meets_it(top, root, power, inf_beyond):
    cap = top * STEP
    threshold = root * cap
    calls = []

    def slack(amount: float) -> float:
        calls.append(amount)
        if inf_beyond is not None and amount >= threshold + inf_beyond * (cap - threshold):
            return math.inf  # past some size no price liquidates
        return (amount / cap) ** power - (threshold / cap) ** power

    g0 = slack(0.0) if threshold > 0 else -1.0
    found = _search(cap, STEP, slack, g0 if g0 < 0 else -1e-12)
    grid = [on_grid(k, STEP) for k in range(1, top)] + [cap]  # the amounts a venue accepts, then the whole
    assert found == next(a for a in grid if slack(a) >= 0)


@settings(max_examples=200, deadline=None)
@given(
    top=st.integers(2, 50_000),
    root=st.floats(0.0, 1.0),
    power=st.sampled_from([0.3, 1.0, 2.0, 6.0]),
    skew=st.sampled_from([0.0, -0.002, 0.002, 0.05]),
)
def test_search_when_scanned_then_same_answer_and_one_evaluation_when_the_scan_is_exact(top, root, power, skew):
    """A scan gives the same answer as the one-by-one search; an exact scan (skew 0) costs one evaluation
    (the cut itself), a predicting one (skewed: it misjudges the sizes) is corrected by the evaluations."""
    cap = top * STEP
    threshold = root * cap
    calls = []

    def slack(amount: float, skew: float = 0.0) -> float:
        return (amount * (1 + skew) / cap) ** power - (threshold / cap) ** power

    def g(amount: float) -> float:
        calls.append(amount)
        return slack(amount)

    g0 = -1.0 if threshold == 0 else slack(0.0)
    plain = _search(cap, STEP, slack, g0)
    scan = Scan(lambda amounts: np.array([slack(float(a), skew) for a in amounts]), exact=skew == 0.0)
    assert _search(cap, STEP, g, g0, scan) == plain
    if skew == 0.0:
        assert len(calls) == 1
