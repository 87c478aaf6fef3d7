"""Which open orders are a position's stops, and where each sits against its liquidation price and the bands."""

from __future__ import annotations

from riskguard.model import Order, OrderSide, PositionSide
from riskguard.risk.bands import Band
from riskguard.risk.stops import StopCheck, check_stops, position_stops

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _order(id: str, side: OrderSide, trigger: float | None, symbol: str = BTC,
           leg: PositionSide = PositionSide.BOTH) -> Order:
    return Order(id=id, symbol=symbol, side=side, order_type="STOP_MARKET", amount=1.0, trigger_price=trigger,
                 position_side=leg)


def test_position_stops_when_long_then_sell_triggers_below_mark_nearest_first():
    orders = [
        _order("far", SELL, 55_000.0),
        _order("near", SELL, 59_000.0),
        _order("take-profit", SELL, 65_000.0),  # closes on a favourable move: not a stop
        _order("opens-more", BUY, 58_000.0),  # same side as the position
        _order("limit", SELL, None),  # no trigger
        _order("other-symbol", SELL, 2_900.0, symbol=ETH),
        _order("at-mark", SELL, 60_000.0),
    ]
    stops = position_stops(orders, symbol=BTC, side="long", position_side="both", mark_price=60_000.0)
    assert [o.id for o in stops] == ["near", "far"]


def test_position_stops_when_short_then_buy_triggers_above_mark():
    orders = [_order("stop", BUY, 62_000.0), _order("take-profit", BUY, 55_000.0), _order("wrong-side", SELL, 61_000.0)]
    stops = position_stops(orders, symbol=BTC, side="short", position_side="both", mark_price=60_000.0)
    assert [o.id for o in stops] == ["stop"]


def test_position_stops_when_hedge_mode_then_only_the_orders_of_the_positions_leg():
    orders = [
        _order("long-leg-stop", SELL, 58_000.0, leg=PositionSide.LONG),
        _order("short-leg-open", SELL, 57_000.0, leg=PositionSide.SHORT),  # sells into the short leg: opens it
        _order("one-way", SELL, 56_000.0),
    ]
    stops = position_stops(orders, symbol=BTC, side="long", position_side="long", mark_price=60_000.0)
    assert [o.id for o in stops] == ["long-leg-stop"]


BAND = Band("long", 57_500.0, 58_500.0, 2_300_000.0, -2.5, 58_000.0)


def test_check_stops_when_long_then_band_membership_and_beyond_liquidation_per_stop():
    stops = (_order("in-band", SELL, 58_000.0), _order("beyond", SELL, 53_977.72), _order("clear", SELL, 56_000.0))
    checks = check_stops(stops, side="long", liquidation_price=53_977.72, liquidation_known=True,
                         stop_bands=[BAND, None, None])
    assert checks == (
        StopCheck(stops[0], True, BAND, False),
        StopCheck(stops[1], False, None, True),  # at the liquidation price: liquidated first
        StopCheck(stops[2], False, None, False),
    )


def test_check_stops_when_short_then_beyond_is_at_or_above_the_liquidation_price():
    stops = (_order("a", BUY, 191.86), _order("b", BUY, 191.85), _order("c", BUY, 195.0))
    checks = check_stops(stops, side="short", liquidation_price=191.86, liquidation_known=True, stop_bands=None)
    assert [c.beyond_liquidation for c in checks] == [True, False, True]
    assert all(c.in_band is None and c.band is None for c in checks)  # bands unknown: not "outside"


def test_check_stops_when_no_price_liquidates_then_never_beyond_and_when_unknown_then_none():
    stops = (_order("a", SELL, 1.0),)
    (none,) = check_stops(stops, side="long", liquidation_price=None, liquidation_known=True, stop_bands=[None])
    (unknown,) = check_stops(stops, side="long", liquidation_price=None, liquidation_known=False, stop_bands=[None])
    assert (none.beyond_liquidation, none.in_band) == (False, False)
    assert unknown.beyond_liquidation is None
