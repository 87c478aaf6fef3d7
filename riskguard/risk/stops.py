"""A position's stops: the open trigger orders that close it on an adverse move, and where each sits.

An order closes a position when it trades the position's symbol and leg on the opposite side: in hedge
mode the order names its leg (Binance ``positionSide``, Bybit ``positionIdx``, OKX ``posSide``), in
one-way mode both are ``both``.  A closing trigger on the favourable side of mark is a take-profit: it
does not protect the position, so it is not a stop here.

Two things make a stop worse than it looks: a trigger inside a crowded liquidation band fires into the
forced orders of that band (slippage), and a trigger at or beyond the liquidation price never fires
before the position is liquidated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from riskguard.model import Order, OrderSide
from riskguard.risk.bands import Band, Side


def position_stops(
    orders: Iterable[Order], *, symbol: str, side: Side, position_side: str, mark_price: float
) -> tuple[Order, ...]:
    """The stops of one position, nearest to mark first."""
    closing = OrderSide.SELL if side == "long" else OrderSide.BUY

    def adverse(trigger: float) -> bool:
        return trigger < mark_price if side == "long" else trigger > mark_price

    stops = [
        o
        for o in orders
        if o.symbol == symbol
        and o.side is closing
        and o.position_side == position_side
        and o.trigger_price is not None
        and adverse(o.trigger_price)
    ]
    return tuple(sorted(stops, key=lambda o: abs(o.trigger_price - mark_price)))  # type: ignore[operator]


@dataclass(frozen=True)
class StopCheck:
    order: Order
    in_band: bool | None
    """None when the bands are unknown."""
    band: Band | None
    beyond_liquidation: bool | None
    """The trigger lies at or beyond the liquidation price; None when that price is unknown."""


def check_stops(
    stops: Sequence[Order],
    *,
    side: Side,
    liquidation_price: float | None,
    liquidation_known: bool,
    stop_bands: Sequence[Band | None] | None,
) -> tuple[StopCheck, ...]:
    """Each stop against the liquidation price and the bands.

    :param liquidation_price: None with ``liquidation_known`` means no price liquidates the position.
    :param stop_bands: the band holding each stop's trigger (``Proximity.stop_bands``), None when the bands
        are unknown.
    """
    out = []
    for i, order in enumerate(stops):
        trigger = order.trigger_price
        assert trigger is not None
        beyond: bool | None = None
        if liquidation_known:
            lp = liquidation_price
            beyond = lp is not None and (trigger <= lp if side == "long" else trigger >= lp)
        band = None if stop_bands is None else stop_bands[i]
        out.append(StopCheck(order, None if stop_bands is None else band is not None, band, beyond))
    return tuple(out)
