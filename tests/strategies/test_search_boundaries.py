"""The cut search at its edges: no amount step (plain bisection), the secant that picks the next step, and what
a straight-line slack costs.  Every expected number is worked out by hand in the test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from strategies._reduce import Scan, _search, _secant


def _counted(slack):
    calls: list[float] = []

    def g(amount: float) -> float:
        calls.append(amount)
        return slack(amount)

    return g, calls


@pytest.mark.parametrize("root", [1 / 3, 0.7, 1e-6, 0.25])
def test_search_without_an_amount_step_then_48_halvings_of_the_position(root):
    # No step: bisection of (0, cap] 48 times.  With cap 1 every midpoint is a multiple of 2⁻ⁿ, so the answer is
    # the smallest multiple of 2⁻⁴⁸ at or past the root (for 1/3: 93 824 992 236 886 / 2⁴⁸, not the 2⁻⁴⁹ one);
    # a root on a midpoint (0.25) meets there exactly (slack 0 meets) and is the answer itself.
    g, calls = _counted(lambda a: a - root)
    found = _search(1.0, None, g, -root)
    assert found == math.ceil(root * 2**48) / 2**48
    assert found >= root and found - root < 2**-48
    assert len(calls) == 48


def test_search_without_an_amount_step_when_only_the_whole_meets_then_the_whole():
    g, _ = _counted(lambda a: 0.0 if a >= 2.5 else -1.0)
    assert _search(2.5, None, g, -1.0) == 2.5


def test_search_when_the_position_is_off_the_step_grid_then_the_last_step_is_the_whole():
    # 2.5 contracts in steps of 1: the candidates are 1 and the whole 2.5 (2 would leave half a step that could
    # never be reduced).  Only 1 is evaluated; it misses, so the answer is the whole, not 2.
    g, calls = _counted(lambda a: 0.0 if a >= 2.5 else -1.0)
    assert _search(2.5, 1.0, g, -1.0) == 2.5
    assert calls == [1.0]
    # 1.5 contracts: under two steps the only candidate is the whole, whose slack the caller has already seen.
    g, calls = _counted(lambda a: 0.0 if a >= 1.5 else -1.0)
    assert _search(1.5, 1.0, g, -1.0) == 1.5
    assert calls == []


def _scanned(slack, exact: bool = True):
    sizes: list[list[float]] = []

    def rows(amounts: np.ndarray) -> np.ndarray:
        sizes.append(amounts.tolist())
        return np.array([slack(float(a)) for a in amounts])

    return Scan(rows, exact=exact), sizes


def _line(root):
    return lambda a: a - root


@pytest.mark.parametrize(
    ("predicted", "true", "answer", "evaluated"),
    [(300.5, _line(300.5), 301.0, [301.0, 300.0]),  # right: the cut 301 meets, its neighbour 300 misses
     # one step low: 300 misses, so the step above, 301, which meets (a curved slack, a² − 300.5², so that
     # the secant through 0 and 300 would land past it, on 302)
     (299.5, lambda a: a * a - 300.5**2, 301.0, [300.0, 301.0]),
     (1.5, _line(1.5), 2.0, [2.0, 1.0]),  # the answer at step 2: the step below is step 1, just above the known 0
     (998.5, _line(999.5), 1000.0, [999.0])],  # 999 misses: the answer is the whole, whose slack is known
)
def test_search_with_a_predicting_scan_then_the_landing_step_and_one_neighbour(predicted, true, answer, evaluated):
    # Steps of 1 up to 1 000; a scan that only predicts (a book's fill is left out) says where the slack turns
    # ≥ 0, and the search settles it with the full evaluation of that step and of the one on the other side.
    scan, _ = _scanned(_line(predicted), exact=False)
    g, calls = _counted(true)
    assert _search(1000.0, 1.0, g, true(0.0), scan) == answer
    assert calls == evaluated


def test_search_with_a_scan_when_under_two_steps_then_nothing_to_scan_or_evaluate():
    scan, sizes = _scanned(lambda a: 0.0 if a >= 1.5 else -1.0)
    g, calls = _counted(lambda a: 0.0 if a >= 1.5 else -1.0)
    assert _search(1.5, 1.0, g, -1.0, scan) == 1.5
    assert sizes == [] and calls == []


@pytest.mark.parametrize(("meets_at", "evaluated"), [(1.0, 1.0), (2.0, 2.0)])
def test_search_with_an_exact_scan_over_two_steps_then_the_scan_decides_and_the_cut_is_evaluated(meets_at,
                                                                                                   evaluated):
    # Two steps: the scan takes step 1; an exact scan needs no second look, so the one evaluation is the cut
    # itself (1 when step 1 meets; the whole, 2, when it misses).
    scan, sizes = _scanned(lambda a: a - meets_at)
    g, calls = _counted(lambda a: a - meets_at)
    assert _search(2.0, 1.0, g, -meets_at, scan) == meets_at
    assert sizes == [[1.0]] and calls == [evaluated]


def test_secant_through_the_two_latest_points():
    # The line through (2, −1) and (5, 2) has slope 1 and crosses zero at 3; an older point is not used.
    assert _secant([(0, -30.0), (2, -1.0), (5, 2.0)]) == 3.0
    # (0, −3) and (3, 3): slope 2, zero at 1.5.  Two points are enough.
    assert _secant([(0, -3.0), (3, 3.0)]) == 1.5
    assert _secant([(4, -6.0), (1, -3.0)]) == -2.0  # the line may cross outside the points (slope −1, zero at −2)


@pytest.mark.parametrize(
    "points",
    [[(0, -1.0)],  # one point: no line
     [(0, -3.0), (2, 1.0), (2, 4.0)],  # the same step twice
     [(0, -3.0), (1, -1.0), (3, -1.0)]],  # flat: the line never crosses zero
)
def test_secant_without_a_line_that_crosses_zero_then_none(points):
    assert _secant(points) is None


def test_search_when_the_slack_is_a_straight_line_then_three_evaluations():
    # Steps of 1 up to 1 000, slack 2·(a − 300.5) (g0 = −601).  The search looks at step 1 (−599); the secant
    # through (0, −601) and (1, −599) is the line itself and lands on 300.5, so it evaluates 301 (+1) and its
    # neighbour 300 (−1) and stops: 301 is the answer after three evaluations (bisection would take ten).
    g, calls = _counted(lambda a: 2 * (a - 300.5))
    assert _search(1000.0, 1.0, g, -601.0) == 301.0
    assert calls == [1.0, 301.0, 300.0]


@pytest.mark.parametrize(
    ("root", "evaluated"),
    [(300.0, [1.0, 300.0, 299.0]),  # the secant lands exactly on a step: that step (slack 0 meets), then 299
     (1.5, [1.0, 2.0])],  # the secant says 1.5: step 2 meets and the step below it, 1, is already known to miss
)
def test_search_when_the_slack_is_a_straight_line_through_a_step_then_the_secant_lands_on_it(root, evaluated):
    g, calls = _counted(lambda a: a - root)
    assert _search(1000.0, 1.0, g, -root) == math.ceil(root)
    assert calls == evaluated


def test_search_when_the_secant_overshoots_then_bisection_keeps_it_to_a_handful_of_evaluations():
    # Slack a² − 300.5²: the first secant, through (0, −90 300.25) and (1, −90 299.25), lands near 90 300, far
    # past the top, so the search bisects instead of probing the bracket's end.  1 000 steps take 10 halvings.
    g, calls = _counted(lambda a: a * a - 300.5**2)
    assert _search(1000.0, 1.0, g, -(300.5**2)) == 301.0
    assert len(calls) <= 10


def test_search_when_the_first_step_meets_then_one_evaluation():
    g, calls = _counted(lambda a: a - 0.5)
    assert _search(1000.0, 1.0, g, -0.5) == 1.0
    assert calls == [1.0]
