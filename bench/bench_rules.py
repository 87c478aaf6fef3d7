"""Rules and plans: one cross account of 50 positions, 10,000 positions over 1,000 accounts.

Targets (issue 9): rules + plan under 5 ms per account; the 10,000 positions under 1 s (the pre-trade gate's
figures are in ``bench_gate.py``).  "Rules + plan" is the metric table, every rule of the policy and, where rules with
actions fire, the strategies and the plan; the risk figures (``evaluate_account``) and market signals it
reads are measured apart, as "whole evaluation", because ``riskguard check`` computes them anyway.
Single-account figures are the best of 20 runs (the reference machine is shared), totals are one pass.
Synthetic Binance USDⓈ-M accounts (flat 1% tier, about a third of the positions near liquidation so rules
fire and plans are built).  Run: ``python bench/bench_rules.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from riskguard.check import evaluate_loaded
from riskguard.config import AccountConfig, AccountSpec, Policy
from riskguard.connectors.source import Loaded
from riskguard.market_view import SymbolViews, account_signals
from riskguard.model import (
    Account,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    Position,
    Quote,
    Side,
    Snapshot,
    VenueMarkets,
)
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.engine import evaluate_rules
from riskguard.rules.metrics import MetricTable
from riskguard.rules.planner import plan_account
from riskguard.rules.schema import Rule
from riskguard.rules.strategy import create_strategy

TAKEN_AT = 1_763_640_000_000
VENUE = "binanceusdm"
SYMBOLS = [f"C{i:03d}/USDT:USDT" for i in range(100)]
MARKETS = VenueMarkets(
    VENUE,
    {s: Market(VENUE, s, ContractKind.LINEAR, "USDT", 1.0, 0.01, 0.001, (MarginTier(0, 1e12, 0.01, 0.0, 50),))
     for s in SYMBOLS},
    {s: Quote(100.0, TAKEN_AT - 1_000, funding_rate=0.0001) for s in SYMBOLS},
)
RULES = tuple(
    Rule.model_validate(r)
    for r in (
        {"name": "thin", "metric": "liquidation_buffer_pct", "op": "below", "threshold": 8, "release": 10,
         "state": "reducing", "actions": [{"strategy": "reduce_size", "params": {"target": "buffer_pct",
                                                                                  "value": 10}}]},
        {"name": "lever", "metric": "effective_leverage", "op": "above", "threshold": 20, "severity": "breach"},
        {"name": "drain", "metric": "buffer_after_funding_pct", "op": "below", "threshold": 3},
        {"name": "pool", "metric": "cross_margin_ratio", "op": "above", "threshold": 0.5, "state": "halted",
         "actions": [{"strategy": "close_worst_first", "params": {"target": "buffer_pct", "value": 60}}]},
        {"name": "lopsided", "metric": "leverage_asymmetry", "op": "above", "threshold": 12,
         "actions": [{"strategy": "alert_only"}]},
    )
)
ACTIONS = {r.name: tuple(create_strategy(a.strategy, a.params) for a in r.actions) for r in RULES}
SPEC = AccountSpec("bench", AccountConfig(snapshot="memory"), Policy(), None, "bench", rules=RULES, actions=ACTIONS)


def make_account(rng: np.random.Generator, n: int, name: str, leverage: float | None = None) -> Account:
    symbols = rng.choice(SYMBOLS, size=n, replace=False)
    positions = []
    for s in symbols:
        side = Side.LONG if rng.random() < 0.7 else Side.SHORT
        entry = 100.0 * (1 + side.sign * rng.uniform(-0.05, 0.05))
        positions.append(Position(str(s), side, float(rng.integers(1, 50)), entry, 100.0, MarginMode.CROSS,
                                  leverage=10.0, timestamp_ms=TAKEN_AT - 2_000))
    notional = sum(p.contracts * 100 for p in positions)
    wallet = notional / (leverage or rng.uniform(3, 40))  # some accounts comfortable, some near the edge
    return Account(name, VENUE, {"USDT": AssetBalance("USDT", wallet, wallet)}, tuple(positions),
                   fees=FeeRates(0.0002, 0.0005))


def rules_and_plan(account: Account, views: SymbolViews) -> None:
    risk = evaluate_account(account, MARKETS)
    signals = account_signals(views, "bench", MARKETS, TAKEN_AT, risk, account.open_orders)
    table = MetricTable(account, MARKETS, risk, signals, TAKEN_AT)
    start = time.perf_counter()
    outcome = evaluate_rules(RULES, account.name, table)
    middle = time.perf_counter()
    plan_account(SPEC, account, MARKETS, risk, {}, outcome)
    RULE_TIMES.append(middle - start)
    PLAN_TIMES.append(time.perf_counter() - middle)


RULE_TIMES: list[float] = []
PLAN_TIMES: list[float] = []


def best(fn: Callable[[], None], repeats: int = 5) -> float:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return min(out)


def main() -> None:
    rng = np.random.default_rng(9)
    views = SymbolViews()

    snapshot = Snapshot(TAKEN_AT, {VENUE: MARKETS}, ())
    for label, wallet_leverage in (("calm", 4.0), ("stressed", 45.0)):
        big = make_account(rng, 50, "cross-50", wallet_leverage)
        RULE_TIMES.clear()
        PLAN_TIMES.clear()
        for _ in range(20):
            rules_and_plan(big, views)
        rules, plan = min(RULE_TIMES), min(PLAN_TIMES)  # best of 20: the machine is shared
        whole = best(lambda big=big: evaluate_loaded(Loaded(SPEC, snapshot, big, None), views), 5)
        print(f"one cross account, 50 positions, {label}: rules {rules * 1e3:.2f} ms + plan {plan * 1e3:.2f} ms "
              f"(target < 5 ms); whole evaluation (risk, limits, rules, plan; signals as rules read them) "
              f"{whole * 1e3:.2f} ms")

    accounts = [make_account(rng, 10, f"a{i}") for i in range(1_000)]
    RULE_TIMES.clear()
    PLAN_TIMES.clear()
    start = time.perf_counter()
    for a in accounts:
        rules_and_plan(a, views)
    wall = time.perf_counter() - start
    planned = sum(1 for t in PLAN_TIMES if t > 1e-4)
    print(f"10,000 positions over 1,000 accounts: rules {sum(RULE_TIMES):.3f} s + plans {sum(PLAN_TIMES):.3f} s "
          f"(target < 1 s; {planned} accounts needed a plan); with risk and signals {wall:.3f} s")
    light = tuple(r for r in RULES if r.metric != "buffer_after_funding_pct")
    prepared = []
    for a in accounts:
        risk = evaluate_account(a, MARKETS)
        prepared.append((a, risk, account_signals(views, "bench", MARKETS, TAKEN_AT, risk, None)))
    start = time.perf_counter()
    for a, risk, signals in prepared:
        evaluate_rules(light, a.name, MetricTable(a, MARKETS, risk, signals, TAKEN_AT))
    print(f"  the same rules without the funding-drain rule (it re-solves each account with the funding paid): "
          f"{time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
