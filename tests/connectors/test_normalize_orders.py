"""Open orders per venue: raw fields first, one model order per trigger leg, field-path errors.

Payloads are shaped as each venue sends them (Binance's Algo service row as ccxt documents it,
Bybit /v5/order/realtime, OKX orders-algo-pending and orders-pending, Hyperliquid frontendOpenOrders).
"""

from __future__ import annotations

import copy

import pytest
from docs_factory import binance_cross_doc

from riskguard.connectors.normalize import build_snapshot, normalizer_for
from riskguard.connectors.normalize.fields import Fields
from riskguard.connectors.snapshot_doc import parse_snapshot
from riskguard.errors import SnapshotError
from riskguard.model import ContractKind, MarginTier, Market, Order, OrderSide, PositionSide

BTC = "BTC/USDT:USDT"


def _market(symbol: str, contract_size: float = 1.0) -> Market:
    return Market(venue="x", symbol=symbol, kind=ContractKind.LINEAR, settle=symbol.split(":")[1],
                  contract_size=contract_size, price_tick=0.1, amount_step=0.001,
                  tiers=(MarginTier(0.0, 1e12, 0.004),))


def _orders(venue: str, info: dict, market: Market | None = None, **unified) -> tuple[Order, ...]:
    market = market or _market(BTC)
    payload = {"symbol": market.symbol, "info": info, **unified}
    return normalizer_for(venue).orders(Fields(payload, "o"), market)


BINANCE_ALGO = {  # /fapi/v1/openAlgoOrders, as in ccxt's binance.parse_order
    "algoId": 3358, "clientAlgoId": "yT58zmV3DSzMBQxc5tAJXU", "algoType": "CONDITIONAL", "orderType": "STOP_MARKET",
    "symbol": "BTCUSDT", "side": "SELL", "positionSide": "LONG", "timeInForce": "GTC", "quantity": "0.002",
    "algoStatus": "NEW", "triggerPrice": "100000.00", "price": "0", "icebergQuantity": None,
    "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": "MARK_PRICE", "priceMatch": "NONE",
    "closePosition": False, "priceProtect": False, "reduceOnly": False, "createTime": 1763458576201,
    "updateTime": 1763458576201, "triggerTime": 0, "goodTillDate": 0,
}


def test_binance_algo_order_when_hedge_leg_then_trigger_quantity_and_leg_from_raw_fields():
    (o,) = _orders("binanceusdm", BINANCE_ALGO, triggerPrice=1.0)  # the unified field is not read
    assert o == Order(id="3358", symbol=BTC, side=OrderSide.SELL, order_type="STOP_MARKET", amount=0.002,
                      trigger_price=100_000.0, price=None, reduce_only=False, position_side=PositionSide.LONG,
                      timestamp_ms=1763458576201)
    assert o.is_stop


def test_binance_close_position_when_no_quantity_then_amount_none_meaning_whole_position():
    (o,) = _orders("binanceusdm", {**BINANCE_ALGO, "closePosition": True, "quantity": "0"})
    assert o.amount is None and o.trigger_price == 100_000.0


def test_binance_regular_order_when_partly_filled_then_remaining_and_stop_price_zero_is_no_trigger():
    info = {"orderId": 8886774, "symbol": "BTCUSDT", "status": "PARTIALLY_FILLED", "price": "30000.0",
            "origQty": "0.500", "executedQty": "0.125", "type": "LIMIT", "side": "BUY", "positionSide": "BOTH",
            "stopPrice": "0", "reduceOnly": False, "closePosition": False, "time": 1, "updateTime": 2}
    (o,) = _orders("binanceusdm", info)
    assert (o.id, o.amount, o.price, o.trigger_price, o.is_stop, o.timestamp_ms) == ("8886774", 0.375, 30_000.0,
                                                                                     None, False, 2)


def test_bybit_conditional_when_linear_then_qty_less_executed_and_leg_from_position_idx():
    info = {"orderId": "f5f2d355", "symbol": "BTCUSDT", "side": "Sell", "orderType": "Market", "price": "0",
            "qty": "1.5", "cumExecQty": "0", "orderStatus": "Untriggered", "reduceOnly": True, "positionIdx": 1,
            "triggerPrice": "55000", "stopOrderType": "Stop", "closeOnTrigger": False, "updatedTime": "1757837618909"}
    (o,) = _orders("bybit", info)
    assert (o.id, o.side, o.order_type, o.amount, o.trigger_price, o.price) == ("f5f2d355", OrderSide.SELL, "Stop",
                                                                                1.5, 55_000.0, None)
    assert o.reduce_only and o.position_side is PositionSide.LONG and o.timestamp_ms == 1757837618909


def test_bybit_full_position_stop_loss_when_qty_zero_then_closes_whole_position():
    info = {"orderId": "sl-1", "side": "Buy", "orderType": "Market", "price": "0", "qty": "0", "cumExecQty": "0",
            "reduceOnly": True, "positionIdx": 0, "triggerPrice": "191.5", "stopOrderType": "StopLoss",
            "closeOnTrigger": True, "tpslMode": "Full"}
    (o,) = _orders("bybit", info, _market("SOL/USDT:USDT"))
    assert o.amount is None and o.trigger_price == 191.5 and o.side is OrderSide.BUY


def test_bybit_inverse_when_qty_in_usd_then_contracts_by_contract_size():
    info = {"orderId": "i-1", "side": "Sell", "orderType": "Market", "price": "0", "qty": "3000", "cumExecQty": "0",
            "reduceOnly": True, "positionIdx": 0, "triggerPrice": "58000", "stopOrderType": "Stop"}
    (o,) = _orders("bybit", info, _market("BTC/USD:BTC", contract_size=100.0))
    assert o.amount == 30.0


def test_okx_oco_when_stop_loss_and_take_profit_then_two_orders_under_one_algo_id():
    info = {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "algoId": "681096944655273984", "ordId": "",
            "ordType": "oco", "side": "sell", "posSide": "net", "sz": "150", "closeFraction": "",
            "slTriggerPx": "57000", "slOrdPx": "-1", "tpTriggerPx": "69000", "tpOrdPx": "68950", "triggerPx": "",
            "ordPx": "", "reduceOnly": "true", "state": "live", "uTime": "1795274994389"}
    sl, tp = _orders("okx", info)
    assert (sl.id, sl.trigger_price, sl.price, sl.amount) == ("681096944655273984", 57_000.0, None, 150.0)
    assert (tp.id, tp.trigger_price, tp.price, tp.amount) == ("681096944655273984", 69_000.0, 68_950.0, 150.0)
    assert sl.reduce_only and sl.order_type == "oco" and sl.position_side is PositionSide.BOTH


def test_okx_position_tpsl_when_close_fraction_then_whole_position_and_hedge_leg():
    info = {"algoId": "7", "ordType": "conditional", "side": "buy", "posSide": "short", "sz": "",
            "closeFraction": "1", "slTriggerPx": "3150.5", "slOrdPx": "-1", "reduceOnly": "true", "uTime": "5"}
    (o,) = _orders("okx", info)
    assert (o.amount, o.trigger_price, o.position_side, o.side) == (None, 3150.5, PositionSide.SHORT, OrderSide.BUY)


def test_okx_pending_limit_when_partly_filled_then_remaining_contracts_no_trigger():
    info = {"ordId": "312269865356374016", "ordType": "limit", "side": "buy", "posSide": "long", "px": "58000.1",
            "sz": "10", "accFillSz": "4", "reduceOnly": "false", "state": "partially_filled", "uTime": "9"}
    (o,) = _orders("okx", info)
    assert (o.amount, o.price, o.trigger_price, o.reduce_only) == (6.0, 58_000.1, None, False)


def test_okx_reduce_only_when_not_a_boolean_then_error_names_the_field():
    info = {"algoId": "7", "ordType": "conditional", "side": "sell", "sz": "1", "slTriggerPx": "1", "reduceOnly": "Y"}
    with pytest.raises(SnapshotError, match="expected a boolean, got 'Y'") as err:
        _orders("okx", info)
    assert err.value.where == "o.info.reduceOnly"


def test_hyperliquid_stop_market_when_trigger_then_slippage_bound_is_not_a_limit_price():
    info = {"coin": "ETH", "side": "A", "limitPx": "2707.5", "sz": "12.0", "oid": 503651661973, "timestamp": 17,
            "triggerCondition": "Price below 2850", "isTrigger": True, "triggerPx": "2850.0", "children": [],
            "isPositionTpsl": False, "reduceOnly": True, "orderType": "Stop Market", "origSz": "12.0",
            "tif": None, "cloid": None}
    (o,) = _orders("hyperliquid", info, _market("ETH/USDC:USDC"))
    assert (o.id, o.side, o.amount, o.trigger_price, o.price) == ("503651661973", OrderSide.SELL, 12.0, 2850.0, None)


def test_hyperliquid_position_tpsl_when_size_zero_then_whole_position():
    info = {"coin": "BTC", "side": "B", "limitPx": "81698", "sz": "0.0", "oid": 444774652117,
            "orderType": "Stop Market", "reduceOnly": True, "triggerPx": "81698",
            "triggerCondition": "Price above 81698", "isTrigger": True, "isPositionTpsl": True}
    (o,) = _orders("hyperliquid", info)
    assert o.amount is None and o.trigger_price == 81_698.0 and o.side is OrderSide.BUY


def test_hyperliquid_resting_limit_when_not_trigger_then_limit_price_and_no_trigger():
    info = {"coin": "BTC", "side": "B", "limitPx": "29792.0", "sz": "5.0", "oid": 91490942, "orderType": "Limit",
            "reduceOnly": False, "triggerPx": "0.0", "isTrigger": False, "isPositionTpsl": False}
    (o,) = _orders("hyperliquid", info)
    assert (o.amount, o.price, o.trigger_price) == (5.0, 29_792.0, None)


def test_generic_venue_when_unified_stop_loss_and_take_profit_then_one_order_each():
    unified = {"id": "9", "side": "sell", "type": "market", "amount": 2.0, "remaining": 1.5, "price": None,
               "stopLossPrice": 90.0, "takeProfitPrice": 120.0, "triggerPrice": 90.0, "reduceOnly": True}
    sl, tp = _orders("kraken", {}, **unified)
    assert (sl.trigger_price, tp.trigger_price, sl.amount) == (90.0, 120.0, 1.5)


# -- through the snapshot document ------------------------------------------------------------------


def _doc_with_orders(orders):
    doc = binance_cross_doc()
    if orders is not None:
        doc["accounts"][0]["open_orders"] = orders
    return doc


def _account(doc):
    return build_snapshot(parse_snapshot(doc, "snap.json"), "snap.json").accounts[0]


def _ccxt(info: dict, symbol: str = BTC) -> dict:
    return {"id": str(info["algoId"]), "symbol": symbol, "type": "market", "side": "sell", "info": info}


def test_snapshot_when_no_open_orders_key_then_loads_with_orders_unknown_not_empty():
    assert _account(_doc_with_orders(None)).open_orders is None
    assert _account(_doc_with_orders([])).open_orders == ()


def test_snapshot_when_orders_then_modelled_and_orders_on_symbols_without_market_data_kept_out():
    sol = _ccxt({**BINANCE_ALGO, "algoId": 1, "symbol": "SOLUSDT"}, "SOL/USDT:USDT")
    (o,) = _account(_doc_with_orders([_ccxt(BINANCE_ALGO), sol])).open_orders
    assert o.id == "3358" and o.symbol == BTC


def test_snapshot_when_order_quantity_not_a_number_then_error_names_the_full_path():
    bad = _ccxt({**BINANCE_ALGO, "quantity": "NaN"})
    with pytest.raises(SnapshotError, match="expected a number, got 'NaN'") as err:
        _account(_doc_with_orders([copy.deepcopy(_ccxt(BINANCE_ALGO)), bad]))
    assert err.value.where == "snap.json: accounts[0].open_orders[1].info.quantity"
