"""The plan as a document other programs read: its JSON fields (docs/strategies.md), its hash, its order ids,
and the order checks at their edges."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
from plan_factory import account, flat_book, market, position, venue_of

from riskguard.rules.plan import IntendedOrder, OrderKind, Outcome, Plan, PositionOutcome, canonical_json
from riskguard.rules.strategy import MarketSignals, StrategyContext, make_plan
from strategies.reduce_size import ReduceSize
from strategies.staggered_stops import StaggeredStops

BTC = market("BTC/USDT:USDT", 0.004)
VENUE = venue_of(BTC)

POSITION_FIELDS = {"symbol", "side", "position_side", "margin_mode", "contracts", "liquidation_price", "buffer_pct",
                   "margin_ratio", "effective_leverage"}
POOL_FIELDS = {"asset", "equity", "maintenance_margin", "margin_ratio", "buffer_pct", "effective_leverage"}


def _reduce_plan() -> Plan:
    # Long 1 BTC at 50 000, wallet 10 000: the 30% buffer target cuts 0.34 (tests/strategies/test_worked_cases.py).
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000)), VENUE)
    return make_plan(ctx, [ReduceSize({"target": "buffer_pct", "value": 30})])


def _ladder_plan() -> Plan:
    acct = account(position(BTC.symbol, 1.0, 50_000), open_orders=())
    ctx = StrategyContext.build(acct, VENUE, signals={BTC.symbol: MarketSignals(book=flat_book(50_000))})
    return make_plan(ctx, [StaggeredStops()])


def _order(**changes) -> IntendedOrder:
    base = dict(account="a", symbol="X", side="sell", kind=OrderKind.MARKET, amount=1.0, strategy="s", rationale="r")
    return IntendedOrder(**(base | changes))


def test_plan_json_when_written_then_every_documented_field_with_its_value():
    doc = _reduce_plan().to_dict()
    assert set(doc) == {"account", "venue", "strategies", "orders", "before", "after", "reason_codes", "notes",
                        "content_hash"}
    assert (doc["account"], doc["venue"], doc["strategies"]) == ("acct", "binanceusdm", ["reduce_size"])
    assert (doc["reason_codes"], doc["notes"]) == (["PLAN_REDUCES_POSITION"], [])
    for when in ("before", "after"):
        assert set(doc[when]) == {"positions", "cross", "min_buffer_pct"}
        (pos,) = doc[when]["positions"]
        (pool,) = doc[when]["cross"]
        assert set(pos) == POSITION_FIELDS and set(pool) == POOL_FIELDS
        assert (pos["symbol"], pos["side"], pos["position_side"], pos["margin_mode"]) == (
            BTC.symbol, "long", "both", "cross")
        assert pool["asset"] == "USDT" and pos["buffer_pct"] == doc[when]["min_buffer_pct"]
    # 1 BTC before, 0.66 after the 0.34 cut; LP 40 160.64 before (buffer 19.68%), at most 35 000 after (≥ 30%).
    assert doc["before"]["positions"][0]["contracts"] == 1.0
    assert doc["after"]["positions"][0]["contracts"] == pytest.approx(0.66, abs=1e-12)
    assert doc["before"]["positions"][0]["liquidation_price"] == pytest.approx(40_000 / 0.996, rel=1e-9)
    assert doc["after"]["positions"][0]["buffer_pct"] >= 30 > doc["before"]["positions"][0]["buffer_pct"]


def test_plan_content_hash_when_recomputed_by_a_reader_then_sha256_of_sorted_compact_json():
    # What docs/strategies.md promises: anyone can check the hash from the document alone.
    plan = _reduce_plan()
    body = {k: v for k, v in json.loads(plan.to_json()).items() if k != "content_hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert plan.content_hash == hashlib.sha256(text.encode()).hexdigest()
    assert plan.to_json() == json.dumps(json.loads(plan.to_json()), sort_keys=True, separators=(",", ":"))


def test_canonical_json_when_same_mapping_in_another_order_then_same_bytes_and_non_finite_as_strings():
    assert canonical_json({"b": 1, "a": [1.5, math.inf, -math.inf, math.nan], "c": ("x", None)}) == (
        '{"a":[1.5,"inf","-inf","nan"],"b":1,"c":["x",null]}')
    assert canonical_json({"a": 1, "b": {"y": 2, "x": 3}}) == canonical_json({"b": {"x": 3, "y": 2}, "a": 1})
    assert canonical_json({1: "k"}) == '{"1":"k"}'


def test_plan_hash_when_any_part_differs_then_differs():
    plan = _reduce_plan()
    same = Plan(plan.account, plan.venue, plan.strategies, plan.orders, plan.before, plan.after, plan.reason_codes,
                plan.notes)
    assert same.content_hash == plan.content_hash
    variants = [
        Plan("other", plan.venue, plan.strategies, plan.orders, plan.before, plan.after, plan.reason_codes),
        Plan(plan.account, "bybit", plan.strategies, plan.orders, plan.before, plan.after, plan.reason_codes),
        Plan(plan.account, plan.venue, (), plan.orders, plan.before, plan.after, plan.reason_codes),
        Plan(plan.account, plan.venue, plan.strategies, (), plan.before, plan.after, plan.reason_codes),
        Plan(plan.account, plan.venue, plan.strategies, plan.orders, plan.after, plan.after, plan.reason_codes),
        Plan(plan.account, plan.venue, plan.strategies, plan.orders, plan.before, plan.before, plan.reason_codes),
        Plan(plan.account, plan.venue, plan.strategies, plan.orders, plan.before, plan.after, ()),
        Plan(plan.account, plan.venue, plan.strategies, plan.orders, plan.before, plan.after, plan.reason_codes,
             ("a note",)),
    ]
    assert len({v.content_hash for v in variants} | {plan.content_hash}) == len(variants) + 1


def test_client_order_id_at_first_and_last_index_then_distinct_and_out_of_range_refused():
    plan = _ladder_plan()
    assert len(plan.orders) == 3
    ids = [plan.client_order_id(i) for i in range(3)]
    assert ids == [f"rg{plan.content_hash[:24]}{i:02d}" for i in range(3)]
    for index in (-1, 3):
        with pytest.raises(IndexError, match=f"plan has 3 orders, no index {index}"):
            plan.client_order_id(index)


def test_min_buffer_pct_when_some_or_all_buffers_unknown_then_smallest_known_or_none():
    def pos(buffer):
        return PositionOutcome("X", "long", "both", "cross", 1.0, None, buffer, 0.1, 2.0)

    assert Outcome((pos(5.0), pos(None), pos(3.0)), ()).min_buffer_pct == 3.0
    assert Outcome((pos(None), pos(None)), ()).min_buffer_pct is None
    assert Outcome((), ()).to_dict() == {"positions": [], "cross": [], "min_buffer_pct": None}


def test_order_closes_side_when_sell_buy_or_no_trade():
    assert _order(side="sell").closes_side == "long"
    assert _order(side="buy").closes_side == "short"
    assert _order(kind=OrderKind.ADD_MARGIN).closes_side is None
    assert _order(kind=OrderKind.CANCEL, order_id="7").closes_side is None
    assert _order(kind=OrderKind.STOP_MARKET, trigger_price=1.0, side="buy").closes_side == "short"


@pytest.mark.parametrize("amount", [0.0, -0.0, -1e-12, math.inf, math.nan])
def test_order_amount_when_zero_negative_or_not_finite_then_refused(amount):
    with pytest.raises(ValueError, match="amount must be a finite number > 0"):
        _order(amount=amount)


def test_order_when_smallest_positive_amount_or_each_kind_complete_then_accepted():
    assert _order(amount=5e-324).amount == 5e-324
    assert _order(kind=OrderKind.LIMIT, price=1.0).price == 1.0
    assert _order(kind=OrderKind.STOP_MARKET, trigger_price=1.0).trigger_price == 1.0
    assert _order(kind=OrderKind.CANCEL, order_id="7").order_id == "7"
    with pytest.raises(ValueError, match="a cancel needs the order_id"):
        _order(kind=OrderKind.CANCEL, order_id="")
