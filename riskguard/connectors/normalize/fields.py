"""Reading numbers out of venue payloads with the field path in every error.

Venue JSON is stringly typed and sometimes sends "" or "0" for "unknown".  A
reader that silently turns those into 0.0 is how a missing liquidation price
becomes a "safe" position, so every accessor here either returns a validated
number or raises a SnapshotError naming the exact path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from riskguard.errors import SnapshotError

E = TypeVar("E")
Text = str
"""``str`` under a name ``Fields.str`` does not shadow in the annotations below that method."""

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
"""A number as venues print one.  ``float()`` also takes ``"1_200"``, ``" 12 "``, ``"nan"`` and ``"inf"``:
none of those is a number a venue sends, so each is an error rather than a guess."""


class DataIssueError(SnapshotError):
    """A row that contradicts the rest of the account: the account is read without it and its verdict is UNKNOWN.

    ``code`` is the reason code (a ``ReasonCode`` value) it is reported under.
    """

    def __init__(self, code: str, message: str, where: str) -> None:
        self.code = code
        super().__init__(message, where)


SIZE_NOTIONAL_TOLERANCE = 1e-3
"""Relative gap allowed between a row's notional and size × price from the same row (venue rounding)."""


def check_size_vs_notional(size: float, notional: float | None, price: float, where: str, *, signed: bool) -> None:
    """A row's size and the notional the venue printed beside it must describe the same position.

    ``price`` is the notional of one unit of ``size`` (mark × contract size for linear contracts, contract
    size ÷ mark for inverse ones); a zero size beside a non-zero notional is a row read half-way, not "flat".
    """
    if notional is None:
        return
    if size == 0:
        if notional != 0:
            raise DataIssueError("DATA_INCONSISTENT", f"size is 0 beside a notional of {notional!r}", where)
        return
    if signed and notional != 0 and (notional > 0) != (size > 0):
        raise DataIssueError("DATA_INCONSISTENT", f"size {size!r} and notional {notional!r} differ in sign", where)
    expected = abs(size) * price
    if abs(abs(notional) - expected) > SIZE_NOTIONAL_TOLERANCE * expected:
        raise DataIssueError(
            "DATA_INCONSISTENT", f"notional {notional!r} is not size × price ({expected:.10g})", where
        )


def _text(value: Any, where: str) -> str:
    """A venue string (ids may come as JSON integers); a list or object there is a payload of the wrong shape."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SnapshotError(f"expected a string, got {value!r}", where)
    return str(value)


def _finite(value: Any) -> float | None:
    """The number ``value`` spells, or None when it spells none (or no finite one)."""
    if isinstance(value, float):
        number = value
    elif isinstance(value, str):
        # Cheaper than the pattern, and the same: what float() takes beyond it is "_", padding, non-ASCII
        # digits and the words nan/inf/infinity (not finite anyway).
        if "_" in value or not value.isascii() or value != value.strip():
            return None
        try:
            number = float(value)
        except ValueError:
            return None
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _not_a_number(value: Any, where: str) -> SnapshotError:
    finite = (isinstance(value, str) and _DECIMAL.fullmatch(value)) or (
        isinstance(value, int | float) and not isinstance(value, bool))
    return SnapshotError(f"expected a {'finite ' if finite else ''}number, got {value!r}", where)


def parse_number(value: Any, where: str) -> float:
    """A finite float from a JSON number or a plainly written decimal string; anything else names ``where``."""
    number = _finite(value)
    if number is None:
        raise _not_a_number(value, where)
    return number


class Fields:
    """A mapping plus the path it was found at, e.g. ``accounts[0].positions[2].info``."""

    __slots__ = ("data", "path")

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise SnapshotError(f"expected an object, got {type(data).__name__}", path)
        self.data = data
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def child(self, key: str) -> Fields:
        return Fields(self.data.get(key), self.at(key)) if key in self.data else Fields({}, self.at(key))

    def has(self, key: str) -> bool:
        value = self.data.get(key)
        return value is not None and value != ""

    def str(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key)
        if value is None or value == "":
            if default is not None:
                return default
            raise SnapshotError("required field is missing or empty", self.at(key))
        return _text(value, self.at(key))

    def opt_str(self, key: Text) -> Text | None:
        value = self.data.get(key)
        return None if value is None or value == "" else _text(value, self.at(key))

    def num(self, key: Text, *, positive: bool = False, nonnegative: bool = False) -> float:
        value = self.opt_num(key)
        if value is None:
            raise SnapshotError("required number is missing or empty", self.at(key))
        if positive and not value > 0:
            raise SnapshotError(f"must be > 0, got {value!r}", self.at(key))
        if nonnegative and value < 0:
            raise SnapshotError(f"must be >= 0, got {value!r}", self.at(key))
        return value

    def opt_num(self, key: Text, *, zero_is_missing: bool = False) -> float | None:
        """A finite number, or None when absent/empty (and when 0 if the venue uses 0 for 'none')."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        number = _finite(value)
        if number is None:
            raise _not_a_number(value, self.at(key))
        if zero_is_missing and number == 0:
            return None
        return number

    def enum(self, key: Text, values: Mapping[Any, E], default: E | None = None) -> E:
        """One of a venue field's known codes; an unknown or absent one is an error, never a default guess.

        ``default`` applies only when the field is absent or empty (e.g. Binance one-way rows without
        ``positionSide``), never to a value the venue did send.
        """
        value = self.data.get(key)
        if (value is None or value == "") and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int) or value not in values:
            known = ", ".join(repr(v) for v in values)
            raise SnapshotError(f"unknown value {value!r} (expected one of {known})", self.at(key))
        return values[value]

    def flag(self, key: Text) -> bool:
        """A venue boolean (JSON ``true``, or OKX's ``"true"``); absent means false, anything else is an error.

        ``bool("false")`` is True, which is how a reduce-only flag gets read backwards.
        """
        value = self.data.get(key)
        if value is None or value == "" or value is False or value == "false":
            return False
        if value is True or value == "true":
            return True
        raise SnapshotError(f"expected a boolean, got {value!r}", self.at(key))

    def items(self, key: Text) -> list[Fields]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise SnapshotError(f"expected a list, got {type(value).__name__}", self.at(key))
        return [Fields(v, f"{self.at(key)}[{i}]") for i, v in enumerate(value)]
