"""Access to the golden vectors and to the venues' display rounding."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

VECTORS = Path(__file__).parent / "vectors"


def case(venue: str, case_id: str) -> dict:
    cases = json.loads((VECTORS / f"{venue}.json").read_text(encoding="utf-8"))["cases"]
    return next(c for c in cases if c["id"] == case_id)


def shown(x: float, decimals: int, rounding: str = ROUND_HALF_UP) -> float:
    """The number as the venue prints it: ``decimals`` places, rounded its way."""
    return float(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=rounding))


def as_quoted(x: float, quoted: float | str) -> float:
    """``x`` at the number of decimals the venue quoted ``quoted`` with."""
    return shown(x, max(0, -Decimal(str(quoted)).normalize().as_tuple().exponent))
