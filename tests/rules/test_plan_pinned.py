"""Plans pinned by hand: the orders a batch of accounts gets through the rules, and one plan's whole document
and content hash, every number worked out in the comments.

Markets have one tier with no maintenance rate and the taker fee is zero, so a long's liquidation price is
where the wallet W is lost, LP = mark − W/q, and its buffer is W/q %; a short's LP = mark + W/q.  Entries are
at mark, so cutting books no profit or loss and leaves W (and every other position of the pool) as it was.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from plan_factory import account, market, position, venue_of

from riskguard.config import AccountConfig, AccountSpec, Policy
from riskguard.model import Side
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.engine import evaluate_rules
from riskguard.rules.metrics import MetricTable
from riskguard.rules.plan import IntendedOrder, OrderKind, Outcome, Plan, PoolOutcome, PositionOutcome
from riskguard.rules.planner import plan_account
from riskguard.rules.schema import Rule
from riskguard.rules.strategy import create_strategy

SYMBOLS = [f"T{i}/USDT:USDT" for i in range(3)]
MARKETS = [market(s, 0.0, tick=0.1, step=0.001) for s in SYMBOLS]
VENUE = venue_of(*MARKETS)
THIN = Rule.model_validate({
    "name": "thin", "metric": "liquidation_buffer_pct", "op": "below", "threshold": 8,
    "actions": [{"strategy": "reduce_size", "params": {"target": "buffer_pct", "value": 10}}],
})
SPEC = AccountSpec("pinned", AccountConfig(snapshot="memory"), Policy(), None, "pinned", rules=(THIN,),
                   actions={"thin": tuple(create_strategy(a.strategy, a.params) for a in THIN.actions)})


def _plan(*held: tuple[float, Side], wallet: float) -> Plan | None:
    acct = account(*(position(SYMBOLS[i], q, 100.0, side=side) for i, (q, side) in enumerate(held)),
                   wallet=wallet, taker=0.0)
    risk = evaluate_account(acct, VENUE)
    outcome = evaluate_rules(SPEC.rules, acct.name, MetricTable(acct, VENUE, risk, None, 0))
    return plan_account(SPEC, acct, VENUE, risk, {}, outcome)


# A buffer of W/q % below 8 fires; the smallest cut a leaves q − a ≤ W/10 (buffer 10 %).  Each q − W/10 is exact
# in binary, and one step less leaves q − a + 0.001, whose price rounds (toward entry, 0.1 tick) to a 9.9 % buffer.
BATCH = [
    # (positions (contracts, side), wallet, expected orders (symbol index, order side, amount))
    (((2.0, Side.LONG),), 5.0, [(0, "sell", 1.5)]),  # 2.5 %: keep 0.5
    (((1.0, Side.LONG),), 2.5, [(0, "sell", 0.75)]),  # 2.5 %: keep 0.25
    (((3.0, Side.SHORT),), 15.0, [(0, "buy", 1.5)]),  # 5 %: keep 1.5
    (((10.0, Side.SHORT),), 50.0, [(0, "buy", 5.0)]),  # 5 %: keep 5
    (((4.0, Side.LONG),), 30.0, [(0, "sell", 1.0)]),  # 7.5 %: keep 3
    (((2.0, Side.LONG),), 16.0, []),  # 8 %: not below the threshold, no plan
    # one pool, W = 5: buffers 2.5 % (q 2) and 1.25 % (q 4); the worse goes first, and neither cut moves W
    (((2.0, Side.LONG), (4.0, Side.SHORT)), 5.0, [(1, "buy", 3.5), (0, "sell", 1.5)]),
    # W = 12: 6 % (q 2) fires, 24 % (q 0.5) does not; only the first is cut, to 1.2
    (((2.0, Side.LONG), (0.5, Side.LONG)), 12.0, [(0, "sell", 0.8)]),
]


@pytest.mark.parametrize(("held", "wallet", "expected"), BATCH)
def test_rules_plan_when_buffers_thin_then_the_hand_worked_cuts(held, wallet, expected):
    plan = _plan(*held, wallet=wallet)
    if not expected:
        assert plan is None
        return
    assert plan is not None
    got = [(SYMBOLS.index(o.symbol), o.side, o.amount) for o in plan.orders]
    assert got == expected
    assert all(o.kind is OrderKind.MARKET and o.price == 100.0 and o.reduce_only for o in plan.orders)
    cut = {o.symbol for o in plan.orders}
    assert [p.buffer_pct for p in plan.after.positions if p.symbol in cut] == [10.0] * len(cut)


def _canonical(document: dict) -> str:
    """The canonical JSON the plan module documents: sorted keys, no whitespace, non-finite floats as strings."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)


def test_plan_document_and_hash_when_one_long_cut_then_as_worked_by_hand():
    # Long 2 at 100, W = 5: LP = 100 − 5/2 = 97.5, buffer (100 − 97.5)/100·100, MM 0, equity 5, leverage
    # 200/5 = 40.  Cut 1.5 at mark: 0.5 left, LP = 100 − 5/0.5 = 90, buffer 10, leverage 50/5 = 10.
    plan = _plan((2.0, Side.LONG), wallet=5.0)
    assert plan is not None
    before_buffer = (100 - 97.5) / 100 * 100

    def figures(contracts: float, lp: float, buffer: float, leverage: float) -> dict:
        row = {"symbol": SYMBOLS[0], "side": "long", "position_side": "both", "margin_mode": "cross",
               "contracts": contracts, "liquidation_price": lp, "buffer_pct": buffer, "margin_ratio": 0.0,
               "effective_leverage": leverage}
        pool = {"asset": "USDT", "equity": 5.0, "maintenance_margin": 0.0, "margin_ratio": 0.0, "buffer_pct": 100.0,
                "effective_leverage": leverage}
        return {"positions": [row], "cross": [pool], "min_buffer_pct": buffer}

    document = {
        "account": "acct", "venue": "binanceusdm", "strategies": ["reduce_size"],
        "orders": [{
            "account": "acct", "symbol": SYMBOLS[0], "side": "sell", "kind": "market", "amount": 1.5, "price": 100.0,
            "trigger_price": None, "position_side": "both", "position_contracts": 2.0, "reduce_only": True,
            "strategy": "reduce_size",
            "rationale": "buffer_pct 2.5 misses 10; cutting 1.5 of 2 contracts (smallest cut) -> 10",
            "reason_codes": ["PLAN_REDUCES_POSITION"], "order_id": None,
        }],
        "before": figures(2.0, 97.5, before_buffer, 40.0),
        "after": figures(0.5, 90.0, 10.0, 10.0),
        "reason_codes": ["PLAN_REDUCES_POSITION"], "notes": [],
    }
    expected_hash = hashlib.sha256(_canonical(document).encode()).hexdigest()
    assert plan.to_dict() == {**document, "content_hash": expected_hash}
    assert plan.content_hash == expected_hash
    assert plan.client_order_id(0) == f"rg{expected_hash[:24]}00"


def test_plan_hash_when_figures_not_finite_then_written_as_strings():
    # No price liquidates (buffer None) and equity ≤ 0 (leverage, ratio +inf): the canonical text writes "inf".
    inf = float("inf")
    row = PositionOutcome(SYMBOLS[0], "long", "both", "cross", 1.0, None, None, inf, inf)
    pool = PoolOutcome("USDT", -1.0, 2.0, inf, -inf, inf)
    order = IntendedOrder("acct", SYMBOLS[0], "sell", OrderKind.MARKET, 1.0, "reduce_size", "close", "both", 1.0, 100.0)
    plan = Plan("acct", "binanceusdm", ("reduce_size",), (order,), Outcome((row,), (pool,)), Outcome((), ()),
                ("PLAN_CLOSES_POSITION",))
    figures = {"symbol": SYMBOLS[0], "side": "long", "position_side": "both", "margin_mode": "cross", "contracts": 1.0,
               "liquidation_price": None, "buffer_pct": None, "margin_ratio": "inf", "effective_leverage": "inf"}
    document = {
        "account": "acct", "venue": "binanceusdm", "strategies": ["reduce_size"],
        "orders": [{"account": "acct", "symbol": SYMBOLS[0], "side": "sell", "kind": "market", "amount": 1.0,
                    "price": 100.0, "trigger_price": None, "position_side": "both", "position_contracts": 1.0,
                    "reduce_only": True, "strategy": "reduce_size", "rationale": "close", "reason_codes": [],
                    "order_id": None}],
        "before": {"positions": [figures],
                   "cross": [{"asset": "USDT", "equity": -1.0, "maintenance_margin": 2.0, "margin_ratio": "inf",
                              "buffer_pct": "-inf", "effective_leverage": "inf"}],
                   "min_buffer_pct": None},
        "after": {"positions": [], "cross": [], "min_buffer_pct": None},
        "reason_codes": ["PLAN_CLOSES_POSITION"], "notes": [],
    }
    assert plan.content_hash == hashlib.sha256(_canonical(document).encode()).hexdigest()
