"""Edges of stop selection the main stop tests leave open: a short's trigger at mark, a short's ordering."""

from __future__ import annotations

from riskguard.model import Order, OrderSide, PositionSide
from riskguard.risk.stops import check_stops, position_stops

BTC = "BTC/USDT:USDT"


def _buy(id: str, trigger: float) -> Order:
    return Order(id=id, symbol=BTC, side=OrderSide.BUY, order_type="STOP_MARKET", amount=1.0, trigger_price=trigger,
                 position_side=PositionSide.BOTH)


def test_position_stops_when_short_then_a_trigger_at_mark_is_not_a_stop_and_the_nearest_comes_first():
    orders = [_buy("far", 66_000.0), _buy("at-mark", 60_000.0), _buy("near", 61_000.0), _buy("mid", 63_000.0)]
    stops = position_stops(orders, symbol=BTC, side="short", position_side="both", mark_price=60_000.0)
    assert [o.id for o in stops] == ["near", "mid", "far"]


def test_check_stops_when_short_and_liquidation_unknown_then_beyond_is_none_not_false():
    (check,) = check_stops((_buy("a", 70_000.0),), side="short", liquidation_price=65_000.0,
                           liquidation_known=False, stop_bands=None)
    assert check.beyond_liquidation is None
    assert check.in_band is None
