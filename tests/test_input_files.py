"""JSON input (snapshots, recorded venue answers): a number that would parse to inf, however it is spelled, is
refused with the file named; in-range numbers, subnormal underflow included, are read exactly."""

from __future__ import annotations

import pytest

from riskguard.errors import InputError
from riskguard.input_files import loads_json


@pytest.mark.parametrize("number", [
    "1e999", "1E+0309", "-1e309", "1e0000000309", "1" * 250 + "e99", "9" * 320 + ".5",
])
def test_loads_json_when_a_number_overflows_then_refused_with_where(number: str) -> None:
    with pytest.raises(InputError) as caught:
        loads_json('{"mark": 1.5, "x": [2, ' + number + "]}", "snap.json")
    assert "is out of range" in str(caught.value) and "snap.json" in str(caught.value)


@pytest.mark.parametrize(("text", "value"), [
    ("1e308", 1e308), ("1e-999", 0.0), ("1.5e99", 1.5e99), ("1" * 150 + ".0", float("1" * 150)),
    ("0.000001", 1e-6), ("-2.5", -2.5),
])
def test_loads_json_when_numbers_are_in_range_then_read_exactly(text: str, value: float) -> None:
    assert loads_json('{"ids": ["e100"], "v": ' + text + "}", "snap.json")["v"] == value


def test_loads_json_when_nan_or_infinity_literal_then_refused() -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(InputError, match="not a number JSON allows"):
            loads_json('{"v": ' + literal + "}", "snap.json")
