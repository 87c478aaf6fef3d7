"""The vectorized death search of the liquidation-level estimator against a plain scan, ties included."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskguard.risk.liqlevels import _death_columns, _first_at_or_below


def scan(t: np.ndarray, level: np.ndarray, crossing: np.ndarray, per_col: int, n_cols: int) -> np.ndarray:
    """Column of the first later bar whose crossing value reaches the level, bar by bar."""
    out = []
    for bar, lv in zip(t.tolist(), level.tolist(), strict=True):
        hit = next((s for s in range(bar + 1, crossing.size) if crossing[s] <= lv), None)
        out.append(n_cols if hit is None else hit // per_col)
    return np.array(out, dtype=np.int64)


# small integer prices, so equal values (a level exactly at a later low) are frequent
prices = st.lists(st.integers(0, 12), min_size=2, max_size=60)


@settings(max_examples=300, deadline=None)
@given(prices, st.integers(1, 7), st.lists(st.tuples(st.integers(0, 10_000), st.integers(-1, 13)), min_size=1,
                                            max_size=40))
def test_death_columns_when_any_path_then_match_bar_by_bar_scan(path, per_col, queries):
    crossing = np.asarray(path, dtype=float)
    n_cols = -(-crossing.size // per_col)
    t = np.array([q[0] % crossing.size for q in queries])
    level = np.array([float(q[1]) for q in queries])
    np.testing.assert_array_equal(_death_columns(t, level, crossing, per_col, n_cols),
                                  scan(t, level, crossing, per_col, n_cols))


def test_first_at_or_below_when_levels_fall_between_records_then_first_record_at_or_below():
    values = np.array([5.0, 7.0, 4.0, 6.0, 4.0, 1.0, 3.0])
    start = np.array([0, 0, 0, 1, 3, 6, 7, 0])
    level = np.array([5.0, 4.9, 0.5, 6.5, 4.0, 2.0, 9.0, 1.0])
    # 5 at once; 4.9 at the 4 (index 2); 0.5 never (7); from 1: 6.5 at the 4 (index 2, 7 is above it);
    # from 3: the tie 4 == 4 at index 4; from 6: 3 > 2 never; start past the end: never; 1 at index 5
    assert _first_at_or_below(values, start, level).tolist() == [0, 2, 7, 2, 4, 7, 7, 5]
