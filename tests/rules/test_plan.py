"""Plan values (serialization, content hash, order ids) and the strategy resolver."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from plan_factory import account, market, position, venue_of

from riskguard.errors import ConfigError
from riskguard.rules.plan import IntendedOrder, OrderKind, Plan
from riskguard.rules.strategy import StrategyContext, create_strategy, make_plan, resolve_strategy
from strategies.reduce_size import ReduceSize

BTC = market("BTC/USDT:USDT", 0.004)
VENUE = venue_of(BTC)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"
# The example in docs/strategies.md ("Your own strategy") is the strategy these tests load.
USER_STRATEGY = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)


def _plan(value: float = 30) -> Plan:
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000)), VENUE)
    return make_plan(ctx, [ReduceSize({"target": "buffer_pct", "value": value})])


def test_plan_when_made_twice_from_same_inputs_then_same_hash_and_ids():
    a, b = _plan(), _plan()
    assert a.content_hash == b.content_hash and len(a.content_hash) == 64
    assert a.client_order_id(0) == b.client_order_id(0) == f"rg{a.content_hash[:24]}00"
    assert a.client_order_id(0).isalnum() and len(a.client_order_id(0)) == 28


def test_plan_when_an_order_differs_then_hash_differs():
    assert _plan(30).content_hash != _plan(31).content_hash


def test_plan_to_json_when_parsed_then_strict_json_with_hash_of_the_body():
    plan = _plan()
    doc = json.loads(plan.to_json())
    assert doc["content_hash"] == plan.content_hash
    assert doc["orders"][0] | {"rationale": ""} == {
        "account": "acct", "symbol": BTC.symbol, "side": "sell", "kind": "market", "amount": 0.34,
        "price": 50_000, "trigger_price": None, "position_side": "both", "position_contracts": 1.0,
        "reduce_only": True, "strategy": "reduce_size", "rationale": "", "reason_codes": ["PLAN_REDUCES_POSITION"],
        "order_id": None,
    }
    assert doc["after"]["min_buffer_pct"] >= 30


def test_plan_json_when_pool_equity_is_zero_then_inf_is_a_string():
    # Wallet 0 and mark at entry: pool equity 0, margin ratio MM/0 = +inf, written as "inf".
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000), wallet=0.0), VENUE)
    doc = json.loads(make_plan(ctx, [create_strategy("alert_only")]).to_json())
    assert doc["before"]["cross"][0]["margin_ratio"] == "inf"


def test_plan_client_order_id_when_index_out_of_range_then_index_error():
    with pytest.raises(IndexError, match="plan has 1 orders"):
        _plan().client_order_id(1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reduce_only": False}, "only holds reduce-only"),
        ({"amount": 0.0}, "amount must be a finite number > 0"),
        ({"side": "long"}, "side must be buy or sell"),
        ({"kind": OrderKind.STOP_MARKET}, "needs a trigger_price"),
        ({"kind": OrderKind.LIMIT}, "needs a price"),
        ({"kind": OrderKind.CANCEL}, "needs the order_id"),
    ],
)
def test_intended_order_when_invalid_then_refused(changes, message):
    base = dict(account="a", symbol="X", side="sell", kind=OrderKind.MARKET, amount=1.0, strategy="s", rationale="r")
    with pytest.raises(ValueError, match=message):
        IntendedOrder(**(base | changes))


def test_resolve_when_shipped_name_then_class():
    assert resolve_strategy("reduce_size") is ReduceSize


def test_resolve_when_unknown_name_then_config_error_with_hint_and_where():
    with pytest.raises(ConfigError, match=r"policy.yaml:7: unknown strategy 'reduce_sise'; did you mean 'reduce_size'"):
        resolve_strategy("reduce_sise", where="policy.yaml:7")


def test_create_when_bad_parameter_then_config_error_names_it():
    with pytest.raises(ConfigError, match="strategy 'reduce_size' parameter value: Input should be greater than 0"):
        create_strategy("reduce_size", {"target": "buffer_pct", "value": -1})
    with pytest.raises(ConfigError, match="parameter valu: Extra inputs are not permitted"):
        create_strategy("reduce_size", {"target": "buffer_pct", "value": 1, "valu": 2})


def test_user_strategy_when_loaded_from_file_then_planned_like_a_shipped_one(tmp_path):
    path = tmp_path / "flatten.py"
    path.write_text(USER_STRATEGY)
    strategy = create_strategy(str(path))
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000)), VENUE)
    plan = make_plan(ctx, [strategy])
    assert [(o.strategy, o.amount) for o in plan.orders] == [("flatten", 1.0)] and plan.after.positions == ()


def test_user_strategy_when_module_path_then_class_loaded(tmp_path, monkeypatch):
    (tmp_path / "mypkg_rg").mkdir()
    (tmp_path / "mypkg_rg" / "__init__.py").write_text("")
    (tmp_path / "mypkg_rg" / "flatten.py").write_text(USER_STRATEGY)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve_strategy("mypkg_rg.flatten:Flatten").name == "flatten"
    with pytest.raises(ConfigError, match="defines no Strategy subclass 'Flaten'; did you mean 'Flatten'"):
        resolve_strategy("mypkg_rg.flatten:Flaten")


def test_user_strategy_when_module_missing_then_config_error():
    with pytest.raises(ConfigError, match="cannot load strategy module 'no_such_mod_rg'"):
        resolve_strategy("no_such_mod_rg:Thing")


def test_plan_when_taker_fee_unknown_then_assumed_rate_used_and_said():
    # Fee assumed 0.1%: cutting 0.34 BTC at 50 000 costs 17, not 6.8 → wallet 9 983 after the plan.
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000), taker=None), VENUE)
    plan = make_plan(ctx, [ReduceSize({"target": "buffer_pct", "value": 30})])
    assert plan.notes[-1] == "taker fee unknown: 0.10% assumed for the figures after the plan"
    assert plan.after.cross[0].equity == pytest.approx(10_000 - 0.001 * plan.orders[0].amount * 50_000)


def test_user_strategy_when_file_missing_then_config_error_says_where(tmp_path):
    with pytest.raises(ConfigError, match=r"policy.yaml:3: strategy file '.*nope.py' does not exist"):
        resolve_strategy(str(tmp_path / "nope.py"), where="policy.yaml:3")


def test_user_strategy_when_file_fails_to_import_then_config_error_with_the_cause(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"cannot load strategy module .*broken\.py.*RuntimeError: boom"):
        resolve_strategy(str(path))
