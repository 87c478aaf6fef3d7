"""Reading numbers out of venue payloads with the field path in every error.

Venue JSON is stringly typed and sometimes sends "" or "0" for "unknown".  A
reader that silently turns those into 0.0 is how a missing liquidation price
becomes a "safe" position, so every accessor here either returns a validated
number or raises a SnapshotError naming the exact path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from riskguard.errors import SnapshotError


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
        return str(value)

    def opt_str(self, key: str) -> str | None:
        value = self.data.get(key)
        return None if value is None or value == "" else str(value)

    def num(self, key: str, *, positive: bool = False, nonnegative: bool = False) -> float:
        value = self.opt_num(key)
        if value is None:
            raise SnapshotError("required number is missing or empty", self.at(key))
        if positive and not value > 0:
            raise SnapshotError(f"must be > 0, got {value!r}", self.at(key))
        if nonnegative and value < 0:
            raise SnapshotError(f"must be >= 0, got {value!r}", self.at(key))
        return value

    def opt_num(self, key: str, *, zero_is_missing: bool = False) -> float | None:
        """A finite number, or None when absent/empty (and when 0 if the venue uses 0 for 'none')."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise SnapshotError(f"expected a number, got {value!r}", self.at(key))
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise SnapshotError(f"expected a number, got {value!r}", self.at(key)) from None
        if not math.isfinite(number):
            raise SnapshotError(f"expected a finite number, got {value!r}", self.at(key))
        if zero_is_missing and number == 0:
            return None
        return number

    def flag(self, key: str) -> bool:
        """A venue boolean (JSON ``true``, or OKX's ``"true"``); absent means false, anything else is an error.

        ``bool("false")`` is True, which is how a reduce-only flag gets read backwards.
        """
        value = self.data.get(key)
        if value is None or value == "" or value is False or value == "false":
            return False
        if value is True or value == "true":
            return True
        raise SnapshotError(f"expected a boolean, got {value!r}", self.at(key))

    def items(self, key: str) -> list[Fields]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise SnapshotError(f"expected a list, got {type(value).__name__}", self.at(key))
        return [Fields(v, f"{self.at(key)}[{i}]") for i, v in enumerate(value)]
