"""The text of a proposed order (``--order``, the gate API's ``order`` field): its grammar and its parser.

Apart from the gate so that ``check --order … --via URL`` can refuse a malformed order before it contacts the
daemon, without importing the risk stack a local check needs (about 0.4 s).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from riskguard.errors import InputError

ORDER_FORMAT = "ACCOUNT SYMBOL buy|sell SIZE [market|limit PRICE] [LEVx]"
_LEVERAGE = re.compile(r"^(\d+(?:\.\d+)?)x$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ProposedOrder:
    account: str
    symbol: str
    side: str
    """``buy`` or ``sell``."""
    amount: float
    """Contracts, as the venue counts them."""
    price: float | None = None
    """Limit price; None for a market order (filled at mark for the what-if)."""
    leverage: float | None = None

    def __str__(self) -> str:
        kind = "market" if self.price is None else f"limit {self.price:g}"
        lev = "" if self.leverage is None else f" {self.leverage:g}x"
        return f"{self.account} {self.symbol} {self.side} {self.amount:g} {kind}{lev}"


def _number(token: str, what: str, text: str) -> float:
    try:
        value = float(token)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise _malformed(text, f"{what} must be a number > 0, got {token!r}")
    return value


def _malformed(text: str, what: str) -> InputError:
    return InputError(f"malformed order {text!r}: {what}; expected \"{ORDER_FORMAT}\"", "--order")


def parse_order(text: str) -> ProposedOrder:
    """``"ACCOUNT SYMBOL buy|sell SIZE [market|limit PRICE] [LEVx]"``; anything else is an InputError."""
    tokens = text.split()
    if len(tokens) < 4:
        raise _malformed(text, f"{len(tokens)} word(s), need at least 4")
    account, symbol, side, size, *rest = tokens
    if side not in ("buy", "sell"):
        raise _malformed(text, f"side must be buy or sell, got {side!r}")
    amount = _number(size, "SIZE", text)
    price = leverage = None
    if rest and rest[0] in ("market", "limit"):
        kind = rest.pop(0)
        if kind == "limit":
            if not rest:
                raise _malformed(text, "limit needs a PRICE")
            price = _number(rest.pop(0), "PRICE", text)
    if rest and (match := _LEVERAGE.match(rest[0])):
        leverage = _number(match.group(1), "leverage", text)
        rest.pop(0)
    if rest:
        raise _malformed(text, f"unexpected {' '.join(rest)!r}")
    return ProposedOrder(account, symbol, side, amount, price, leverage)
