"""Invariants of every shipped strategy over random accounts: all venues of the model, linear and inverse,
isolated and cross, one-way and hedge mode, with and without fees, books and open orders.

* no planned order increases exposure, flips a side or exceeds its position;
* every order respects the venue's amount step, minimum amount, minimum notional and price tick;
* after the plan the target holds, or the plan carries the reason code that says why not.
"""

from __future__ import annotations

import math
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_factory import flat_book

from riskguard.model import (
    Account,
    AccountType,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    Position,
    PositionSide,
    Side,
    TierBasis,
    VenueMarkets,
)
from riskguard.risk.whatif import on_grid
from riskguard.rules.plan import OrderKind, Plan
from riskguard.rules.strategy import MarketSignals, OrderLimits, StrategyContext, make_plan
from strategies.add_margin import AddMargin
from strategies.close_worst_first import CloseWorstFirst
from strategies.reduce_size import ReduceSize
from strategies.staggered_stops import StaggeredStops

VENUES = [("binanceusdm", AccountType.STANDARD), ("binancecoinm", AccountType.STANDARD),
          ("bybit", AccountType.UNIFIED), ("bybit", AccountType.CLASSIC), ("okx", AccountType.STANDARD),
          ("hyperliquid", AccountType.STANDARD)]
# symbol, inverse, settle, contract size, reference price, amount step, tick
SYMBOLS = [("BTC/USDT:USDT", False, "USDT", 1.0, 60_000.0, 0.001, 0.1),
           ("SOL/USDT:USDT", False, "USDT", 1.0, 150.0, 0.1, 0.01),
           ("BTC/USD:BTC", True, "BTC", 100.0, 60_000.0, 1.0, 0.1),
           ("ETH/USD:ETH", True, "ETH", 10.0, 3_000.0, 1.0, 0.01)]
TOL = 1e-9


def _market(venue: str, spec, floor_mult: float, mmr: float) -> Market:
    symbol, inverse, settle, cs, _price, step, tick = spec
    basis = {"okx": TierBasis.CONTRACTS, "binancecoinm": TierBasis.BASE_QUANTITY}.get(venue, TierBasis.QUOTE_NOTIONAL)
    floor = {TierBasis.CONTRACTS: 500 * floor_mult, TierBasis.BASE_QUANTITY: 5 * floor_mult}.get(
        basis, 100_000 * floor_mult)
    cum = 0.0 if basis is TierBasis.CONTRACTS else floor * mmr  # continuity: floor·(2mmr − mmr)
    tiers = (MarginTier(0, floor, mmr, 0.0), MarginTier(floor, 1e15, 2 * mmr, cum))
    return Market(venue, symbol, ContractKind.INVERSE if inverse else ContractKind.LINEAR, settle, cs, tick, step,
                  tiers, basis)


@st.composite
def cases(draw):
    venue, account_type = draw(st.sampled_from(VENUES))
    hedge = draw(st.booleans())
    specs = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True))
    markets, positions, limits, signals = {}, [], {}, {}
    for spec in specs:
        m = _market(venue, spec, draw(st.sampled_from([0.5, 1.0, 3.0])), draw(st.sampled_from([0.004, 0.01, 0.02])))
        markets[m.symbol] = m
        _, inverse, _, cs, price, step, _ = spec
        limits[m.symbol] = OrderLimits(step, step * draw(st.sampled_from([1, 1, 5])),
                                       draw(st.sampled_from([0.0, 5.0, 100.0])) if not inverse else 0.0)
        mark = price * draw(st.floats(0.9, 1.1))
        signals[m.symbol] = MarketSignals(book=flat_book(mark, amount=draw(st.sampled_from([5.0, 500.0, 50_000.0]))))
        legs = [(PositionSide.BOTH, draw(st.sampled_from([Side.LONG, Side.SHORT])))]
        if hedge:
            legs = [(PositionSide(s.value), s) for s in draw(st.lists(st.sampled_from([Side.LONG, Side.SHORT]),
                                                                         min_size=1, max_size=2, unique=True))]
        for leg, side in legs:
            contracts = step * draw(st.integers(1, 20_000))
            entry = mark * draw(st.floats(0.8, 1.2))
            value = contracts * cs / entry if inverse else contracts * cs * entry
            leverage = draw(st.sampled_from([2.0, 10.0, 25.0, 50.0]))
            isolated = draw(st.booleans())
            positions.append(Position(m.symbol, side, contracts, entry, mark,
                                      MarginMode.ISOLATED if isolated else MarginMode.CROSS, leg, leverage,
                                      value / leverage * draw(st.floats(0.5, 2.0)) if isolated else None))
    balances = {a: AssetBalance(a, w, w) for a, w in
                {"USDT": draw(st.floats(100, 1e6)), "BTC": draw(st.floats(0.01, 20)),
                 "ETH": draw(st.floats(0.1, 300))}.items()}
    fees = draw(st.sampled_from([FeeRates(0.0002, 0.0005), FeeRates(0.0, 0.0002), None]))
    orders = draw(st.sampled_from([(), None]))
    account = Account("acct", venue, balances, tuple(positions), fees, account_type, hedge, open_orders=orders)
    ctx = StrategyContext.build(account, VenueMarkets(venue, markets), signals=signals, limits=limits)
    return ctx


STRATEGIES = st.one_of(
    st.builds(lambda v: ReduceSize({"target": "buffer_pct", "value": v}), st.floats(1, 60)),
    st.builds(lambda v: ReduceSize({"target": "effective_leverage", "value": v}), st.floats(1, 20)),
    st.builds(lambda v: CloseWorstFirst({"target": "buffer_pct", "value": v}), st.floats(95, 99.99)),
    st.builds(lambda v, cap: AddMargin({"buffer_pct": v, "max_amount": cap, "margin_step": 1e-4}),
              st.floats(1, 40), st.floats(0.01, 1e5)),
    st.builds(lambda n, g: StaggeredStops({"levels": n, "grading": g}), st.integers(1, 6),
              st.sampled_from(["rising", "equal"])),
)


def _on_grid(x: float, step: float) -> bool:
    return abs(x / step - round(x / step)) < 1e-6


def assert_orders_valid(ctx: StrategyContext, plan: Plan) -> None:
    held = {(p.symbol, p.position_side.value): p for p in ctx.account.positions}
    sold: dict[tuple[str, str, OrderKind], float] = defaultdict(float)
    for o in plan.orders:
        assert o.reduce_only
        if o.kind in (OrderKind.ADD_MARGIN, OrderKind.CANCEL):
            continue
        p = held[(o.symbol, o.position_side)]
        assert o.closes_side == p.side.value, "an order on the position's own side would increase it"
        sold[(o.symbol, o.position_side, o.kind)] += o.amount
        assert sold[(o.symbol, o.position_side, o.kind)] <= p.contracts * (1 + TOL), "more than the position"
        market, limits = ctx.market(o.symbol), ctx.limits_for(o.symbol)
        price = o.trigger_price if o.kind is OrderKind.STOP_MARKET else o.price
        assert price is not None
        assert limits.accepts(market, o.amount, price), (o.amount, price, limits)
        step = limits.amount_step
        assert step is None or o.amount == p.contracts or o.amount == on_grid(round(o.amount / step), step), (
            "the decimal the venue prints, not binary noise", o.amount)
        if o.kind is OrderKind.STOP_MARKET:
            assert market.price_tick is None or _on_grid(price, market.price_tick)
            assert (price < p.mark_price) if p.side is Side.LONG else (price > p.mark_price)


def assert_target_met_or_explained(ctx: StrategyContext, strategy, plan: Plan) -> None:
    codes = set(plan.reason_codes)
    excused = bool(codes & {"PLAN_TARGET_UNREACHABLE", "PLAN_INPUT_MISSING"})
    if isinstance(strategy, ReduceSize):
        target, value = strategy.params.target.value, strategy.params.value
        for p in plan.after.positions:
            if target == "buffer_pct" and p.buffer_pct is not None:
                assert p.buffer_pct >= value or excused, (p, plan.notes)
            if target == "effective_leverage":
                assert p.effective_leverage <= value or excused, (p, plan.notes)
    elif isinstance(strategy, CloseWorstFirst):
        for pool in plan.after.cross:
            assert pool.buffer_pct >= strategy.params.value or excused, (pool, plan.notes)
    elif isinstance(strategy, AddMargin):
        for p in plan.after.positions:
            if p.margin_mode == "isolated" and p.buffer_pct is not None:
                assert p.buffer_pct >= strategy.params.buffer_pct or excused, (p, plan.notes)
    else:
        for o in plan.orders:
            if o.kind is OrderKind.STOP_MARKET:
                lp = next(p.liquidation_price for p in plan.before.positions
                          if p.symbol == o.symbol and p.position_side == o.position_side)
                assert lp is not None and math.isfinite(lp)
                assert (o.trigger_price > lp) if o.side == "sell" else (o.trigger_price < lp)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ctx=cases(), strategy=STRATEGIES)
def test_plan_when_random_account_then_reduce_only_valid_orders_and_target_met_or_explained(ctx, strategy):
    plan = make_plan(ctx, [strategy])
    assert_orders_valid(ctx, plan)
    assert_target_met_or_explained(ctx, strategy, plan)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ctx=cases(), buffer=st.floats(1, 40), pool=st.floats(95, 99.99), levels=st.integers(1, 5))
def test_plan_when_strategies_chained_then_orders_and_stops_together_never_exceed_the_position(
    ctx, buffer, pool, levels
):
    chain = [AddMargin({"buffer_pct": buffer, "max_amount": 1e4, "margin_step": 1e-4}),
             ReduceSize({"target": "buffer_pct", "value": buffer}),
             CloseWorstFirst({"target": "buffer_pct", "value": pool}),
             StaggeredStops({"levels": levels})]
    plan = make_plan(ctx, chain)
    assert_orders_valid(ctx, plan)
    # Every market order filled and every stop fired still closes at most the position, never flips it.
    closing: dict[tuple[str, str], float] = defaultdict(float)
    for o in plan.orders:
        if o.kind in (OrderKind.MARKET, OrderKind.STOP_MARKET):
            closing[(o.symbol, o.position_side)] += o.amount
    held = {(p.symbol, p.position_side.value): p.contracts for p in ctx.account.positions}
    for key, amount in closing.items():
        assert amount <= held[key] * (1 + TOL), (key, amount, held[key])
