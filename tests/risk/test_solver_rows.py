"""``as_rows``: the risk core's one way of taking a scalar or an array as n rows."""

from __future__ import annotations

import numpy as np
import pytest

from riskguard.risk.solver import as_rows


def test_an_array_of_n_rows_of_the_dtype_is_used_as_it_is() -> None:
    given = np.array([1.5, 2.5, 3.5])
    assert as_rows(given, 3) is given  # no copy, no view: the point of the helper


def test_a_scalar_becomes_n_equal_rows_that_cannot_be_written() -> None:
    rows = as_rows(2.5, 4)
    assert rows.shape == (4,) and rows.tolist() == [2.5, 2.5, 2.5, 2.5] and rows.dtype == np.float64
    with pytest.raises(ValueError):
        rows[0] = 1.0


def test_values_take_the_dtype_asked_for() -> None:
    floats = as_rows(np.array([1, 2]), 2)
    assert floats.dtype == np.float64 and floats.tolist() == [1.0, 2.0]
    table = as_rows(np.array([0.0, 3.0]), 2, np.int64)
    assert table.dtype == np.int64 and table.tolist() == [0, 3]
    one = as_rows(np.array([7]), 3, np.int64)
    assert one.dtype == np.int64 and one.tolist() == [7, 7, 7]
