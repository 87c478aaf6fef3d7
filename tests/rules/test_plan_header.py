"""A plan names the account, the venue and the strategies it was made with (they are in its JSON and its hash)."""

from __future__ import annotations

from plan_factory import account, market, position, venue_of

from riskguard.rules.strategy import StrategyContext, make_plan
from strategies.alert_only import AlertOnly
from strategies.reduce_size import ReduceSize


def test_the_plan_names_its_account_venue_and_strategies_in_order():
    btc = market("BTC/USDT:USDT", 0.004)
    acct = account(position(btc.symbol, 1.0, 50_000))
    plan = make_plan(StrategyContext.build(acct, venue_of(btc)),
                     [ReduceSize({"target": "effective_leverage", "value": 4.999}), AlertOnly()])
    assert (plan.account, plan.venue, plan.strategies) == ("acct", "binanceusdm", ("reduce_size", "alert_only"))
    assert plan.to_dict()["account"] == "acct"
