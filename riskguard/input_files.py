"""Reading user files safely: a size limit, UTF-8 only, and JSON with strict numbers.

A config or snapshot is read whole into memory and then parsed; without a
limit, a wrong path (a disk image, ``/dev/zero``) would exhaust memory before
any message could be printed.  The limits are documented in docs/snapshot.md.

JSON as Python reads it accepts ``NaN``/``Infinity`` and turns ``1e999`` into
infinity; none of these is a number a venue or a limit can mean, so they are
errors here rather than values that make every later comparison false.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from riskguard.errors import InputError

MB = 1024 * 1024
MAX_CONFIG_BYTES = 16 * MB
"""Configs and scenarios: ten thousand accounts with policy overrides take about 3 MB."""
MAX_SNAPSHOT_BYTES = 64 * MB
"""Snapshots: market data (books, candles, tiers) for hundreds of accounts."""
MAX_DEPTH = 64
"""YAML nesting deeper than any config or scenario needs (they nest about 6 levels)."""


def read_text(path: Path, max_bytes: int, what: str, error: type[InputError] = InputError) -> str:
    """The file's text, or ``error`` naming the file: unreadable, a directory, too large, or not UTF-8."""
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror or exc}", str(path)) from None
    if len(raw) > max_bytes:
        raise error(f"{what} is larger than the {max_bytes // MB} MB limit (see docs/snapshot.md)", str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"{what} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        raise error(message, str(path)) from None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def loads_json(text: str, origin: str, error: type[InputError] = InputError) -> Any:
    """Decode JSON, rejecting NaN/Infinity, out-of-range numbers and nesting the parser cannot follow.

    The error names ``origin:line:column`` for syntax errors.  Nesting is not
    walked after parsing (that walk would cost more than the parse): a
    document nested deeper than Python's recursion limit fails here, and the
    schema rejects any structure where a snapshot has fixed, shallow fields.
    """
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise error(f"invalid JSON: {exc.msg}", f"{origin}:{exc.lineno}:{exc.colno}") from None
    except RecursionError:
        raise error("invalid JSON: nested too deeply", origin) from None
    except ValueError as exc:  # NaN/Infinity, 1e999, or an integer with thousands of digits
        raise error(f"invalid JSON: {exc}", origin) from None
