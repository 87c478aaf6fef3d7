"""StrictModel: numbers only as numbers, flags only as booleans, at any depth of list/dict/Optional/Annotated."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import Field, ValidationError

from riskguard.strict_model import StrictModel


class Limits(StrictModel):
    cap: float = 1.0
    count: int = 0
    maybe: float | None = None
    either: int | float = 0
    bounded: Annotated[float, Field(gt=0)] = 1.0
    on: bool = False
    series: list[list[float]] = Field(default_factory=list)
    by_name: dict[str, float] = Field(default_factory=dict)
    tags: tuple[str, ...] = ()
    mode: Literal["a", "b"] = "a"
    label: str | int = "x"
    rows: list[Annotated[list[float], Field(min_length=2)]] = Field(default_factory=list)
    flags: dict[str, list[bool]] | None = None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"cap": 2, "count": 3, "maybe": None, "either": 1.5, "bounded": 4}, (2.0, 3, None, 1.5, 4.0)),
        ({"maybe": 0.5}, (1.0, 0, 0.5, 0, 1.0)),
    ],
)
def test_numbers_accepted_as_numbers(values, expected):
    m = Limits(**values)
    assert (m.cap, m.count, m.maybe, m.either, m.bounded) == expected


def test_other_types_keep_pydantic_behaviour():
    m = Limits(tags=["x"], mode="b", label=5, series=[[1, 2.5]], by_name={"a": 1})
    assert m.tags == ("x",) and m.mode == "b" and m.label == 5 and m.series == [[1.0, 2.5]]


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"cap": "1_200"}, "cap\n  Value error, must be a number, not text '1_200'"),
        ({"cap": True}, "must be a number, not true"),
        ({"count": "3"}, "must be a number, not text '3'"),
        ({"maybe": "0.5"}, "must be a number, not text '0.5'"),
        ({"either": False}, "must be a number, not false"),
        ({"bounded": "4"}, "must be a number, not text '4'"),
        ({"on": "yes"}, "must be true or false, not text 'yes'"),
        ({"on": 1}, "must be true or false, not 1"),
        ({"series": [[1, "2"]]}, "must be a number, not text '2'"),
        ({"by_name": {"a": "on"}}, "must be a number, not text 'on'"),
        ({"rows": [[1, 2], [3.5, True]]}, "rows\n  Value error, must be a number, not true"),
        ({"flags": {"a": [True, "no"]}}, "must be true or false, not text 'no'"),
        ({"cap": float("nan")}, "finite number"),
        ({"bounded": float("inf")}, "finite number"),
        ({"nope": 1}, "Extra inputs are not permitted"),
    ],
)
def test_lax_conversions_and_non_finite_refused(values, needle):
    with pytest.raises(ValidationError) as exc:
        Limits(**values)
    assert needle in str(exc.value)
