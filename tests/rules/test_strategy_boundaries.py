"""The strategy interface at its edges: venue order limits at the step / minimum / notional boundary, the context's
fee and scope, the resolver's answers, and how ``make_plan`` assembles codes, notes and the after-figures."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import pytest
from plan_factory import account, market, position, venue_of

from riskguard.errors import ConfigError
from riskguard.model import ContractKind, PositionSide, Side
from riskguard.risk.whatif import AddMargin as AddMarginFill
from riskguard.risk.whatif import Reduce
from riskguard.rules.plan import IntendedOrder, OrderKind
from riskguard.rules.strategy import (
    MarketSignals,
    OrderLimits,
    PositionRef,
    Proposal,
    Strategy,
    StrategyContext,
    StrategyParams,
    builtin_strategies,
    create_strategy,
    immediate_fills,
    make_plan,
    resolve_strategy,
)
from strategies.add_margin import AddMarginParams
from strategies.alert_only import AlertOnly
from strategies.reduce_size import ReduceSize

BTC = market("BTC/USDT:USDT", 0.004)
ALT = market("ALT/USDT:USDT", 0.01, step=0.1)
INV = market("BTC/USD:BTC", 0.005, venue="binancecoinm", step=1.0, kind=ContractKind.INVERSE, contract_size=100.0,
             settle="BTC")
VENUE = venue_of(BTC, ALT)


def _ctx(*positions, **kw) -> StrategyContext:
    return StrategyContext.build(account(*positions, **{k: v for k, v in kw.items() if k in ("taker", "wallet")}),
                                 VENUE, **{k: v for k, v in kw.items() if k not in ("taker", "wallet")})


def _order(**changes) -> IntendedOrder:
    base = dict(account="acct", symbol=BTC.symbol, side="sell", kind=OrderKind.MARKET, amount=0.25, strategy="s",
                rationale="r")
    return IntendedOrder(**(base | changes))


# -- OrderLimits -------------------------------------------------------------------------------------------

def test_limits_floor_and_ceil_when_amount_is_a_whole_number_of_steps_in_binary_noise_then_unchanged():
    # 0.3/0.1 = 2.9999999999999996 and 1.1/0.1 = 11.000000000000002: the venue prints 0.3 and 1.1, on its grid.
    limits = OrderLimits(0.1, 0.1)
    assert (limits.floor(0.3), limits.ceil(1.1)) == (0.3, 1.1)
    assert (limits.floor(0.3999), limits.ceil(0.3001)) == (0.3, 0.4)  # off the grid: down / up one step
    assert (limits.floor(0.0999), limits.ceil(0.0001)) == (0.0, 0.1)
    free = OrderLimits(None, 0.0)
    assert (free.floor(0.123456789), free.ceil(0.123456789)) == (0.123456789, 0.123456789)


def test_limits_accepts_at_the_minimum_amount_and_notional_and_refuses_one_step_under():
    # ALT at 100: 0.5 contracts is 50 of notional.  Minimum 0.5 contracts and 50 notional: exactly those pass.
    limits = OrderLimits(0.1, 0.5, 50.0)
    assert limits.accepts(ALT, 0.5, 100.0)
    assert not limits.accepts(ALT, 0.4, 100.0)  # one step under the minimum amount
    assert not limits.accepts(ALT, 0.5, 99.99)  # notional 49.995 < 50
    assert not limits.accepts(ALT, 0.55, 100.0)  # off the step
    assert OrderLimits(None, 0.0).accepts(ALT, 0.55, 100.0)  # no step: any size


def test_limits_accepts_a_large_whole_number_of_steps_carrying_binary_noise():
    # 12 345 674 steps of 0.1 computed in floats is 1 234 567.4000000001: on the grid for the venue.
    amount = 12_345_674 * 0.1
    assert amount != 1_234_567.4 and OrderLimits(0.1, 0.1).accepts(ALT, amount, 100.0)
    assert not OrderLimits(0.1, 0.1).accepts(ALT, 1_234_567.45, 100.0)  # half a step off


def test_limits_notional_when_linear_or_inverse_then_quote_or_face_value():
    limits = OrderLimits(1.0, 1.0)
    assert limits.notional(ALT, 3.0, 100.0) == 300.0  # 3 contracts of 1 ALT at 100
    assert limits.notional(INV, 3.0, 50_000.0) == 300.0  # 3 contracts of 100 USD face, whatever the price


def test_limits_of_market_then_one_step_minimum_and_no_minimum_notional():
    assert OrderLimits.of(ALT) == OrderLimits(0.1, 0.1, 0.0)
    assert OrderLimits.of(market("X/USDT:USDT", 0.01, step=None)) == OrderLimits(None, 0.0, 0.0)


# -- StrategyContext and PositionRef ----------------------------------------------------------------------

def test_context_taker_fee_when_known_then_the_accounts_else_the_assumed_rate():
    known, unknown = _ctx(position(BTC.symbol, 1.0, 50_000)), _ctx(position(BTC.symbol, 1.0, 50_000), taker=None)
    assert (known.taker_fee, known.fee_assumed) == (0.0004, False)
    assert (unknown.taker_fee, unknown.fee_assumed) == (0.001, True)


def test_context_limits_for_when_given_then_those_else_the_markets():
    given = OrderLimits(0.01, 0.05, 10.0)
    ctx = _ctx(position(BTC.symbol, 1.0, 50_000), limits={BTC.symbol: given})
    assert ctx.limits_for(BTC.symbol) is given and ctx.limits_for(ALT.symbol) == OrderLimits(0.1, 0.1, 0.0)


def test_context_scope_and_position_lookup_by_symbol_side_and_leg():
    long_leg = position(BTC.symbol, 1.0, 50_000, leg=PositionSide.LONG)
    short_leg = position(BTC.symbol, 2.0, 50_000, side=Side.SHORT, leg=PositionSide.SHORT)
    ctx = StrategyContext.build(account(long_leg, short_leg, hedge=True), VENUE,
                                scope=(PositionRef(BTC.symbol, Side.SHORT, PositionSide.SHORT),))
    assert [ctx.in_scope(p) for p in ctx.account.positions] == [False, True]
    assert ctx.position(PositionRef(BTC.symbol, Side.SHORT, PositionSide.SHORT))[0].contracts == 2.0
    with pytest.raises(KeyError, match=r"acct: no short BTC/USDT:USDT \(long leg\) position"):
        ctx.position(PositionRef(BTC.symbol, Side.SHORT, PositionSide.LONG))
    assert str(PositionRef(BTC.symbol, Side.LONG)) == "long BTC/USDT:USDT"
    whole = StrategyContext.build(account(long_leg, short_leg, hedge=True), VENUE)
    assert all(whole.in_scope(p) for p in whole.account.positions)


def test_proposal_sum_keeps_each_part_in_order():
    a = Proposal((_order(amount=0.1),), ("A",), ("a",))  # type: ignore[arg-type]
    b = Proposal((_order(amount=0.2),), ("B",), ("b",))  # type: ignore[arg-type]
    total = a + b
    assert ([o.amount for o in total.orders], total.reason_codes, total.notes) == ([0.1, 0.2], ("A", "B"), ("a", "b"))


# -- parameters and discovery -------------------------------------------------------------------------------

def test_strategy_params_when_given_as_a_model_then_kept_as_is():
    params = AddMarginParams(buffer_pct=5, max_amount=10)
    assert resolve_strategy("add_margin")(params).params is params


def test_strategy_params_when_nested_value_bad_then_error_names_the_dotted_path():
    class Nested(Strategy):
        name = "nested"

        class Params(StrategyParams):
            inner: AddMarginParams

        def propose(self, ctx):
            return Proposal()

    with pytest.raises(ConfigError, match=r"strategy 'nested' parameter inner\.max_amount: Field required"):
        Nested({"inner": {"buffer_pct": 5}})


def test_create_strategy_when_name_or_parameter_bad_then_the_error_says_where():
    with pytest.raises(ConfigError, match=r"^policy.yaml:9: strategy 'reduce_size' parameter value"):
        create_strategy("reduce_size", {"target": "buffer_pct", "value": -1}, where="policy.yaml:9")
    with pytest.raises(ConfigError, match=r"^policy.yaml:9: unknown strategy 'reduce_sise'"):
        create_strategy("reduce_sise", where="policy.yaml:9")


def test_market_signals_of_view_when_no_band_profile_then_bands_unknown_not_empty():
    book, vol = object(), object()
    unknown = SimpleNamespace(bands=SimpleNamespace(profile=None, bands=[]), volatility=vol, book=book)
    assert MarketSignals.of_view(unknown) == MarketSignals(None, vol, book)  # type: ignore[arg-type]
    known = SimpleNamespace(bands=SimpleNamespace(profile=object(), bands=[]), volatility=None, book=None)
    assert MarketSignals.of_view(known).bands == ()


def test_builtin_strategies_are_the_shipped_modules_by_name_and_not_the_helpers():
    found = builtin_strategies()
    assert sorted(found) == ["add_margin", "alert_only", "close_worst_first", "reduce_size", "staggered_stops"]
    assert found["alert_only"] is AlertOnly and all(cls.name == name for name, cls in found.items())


def test_resolve_when_unknown_and_nothing_close_then_no_hint_and_the_shipped_list():
    with pytest.raises(ConfigError) as err:
        resolve_strategy("zzzz")
    assert str(err.value) == ("unknown strategy 'zzzz' (shipped: add_margin, alert_only, close_worst_first, "
                              "reduce_size, staggered_stops)")


@pytest.mark.parametrize(("spec", "message"), [
    ("pkg_rg_none:Thing", "policy.yaml:2: cannot load strategy module 'pkg_rg_none'"),
    ("rel/strategy", "policy.yaml:2: strategy file 'rel/strategy' does not exist"),
    ("strategy.py", "policy.yaml:2: strategy file 'strategy.py' does not exist"),
])
def test_resolve_when_spec_names_a_module_or_file_then_user_loader_says_where(spec, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        resolve_strategy(spec, where="policy.yaml:2")
    assert str(err.value).startswith(message) and "shipped" not in str(err.value)


def test_user_file_in_a_directory_with_a_colon_then_the_class_after_the_last_colon(tmp_path):
    folder = tmp_path / "a:b"
    folder.mkdir()
    path = folder / "mine.py"
    path.write_text(_ONE)
    assert resolve_strategy(f"{path}:Mine").name == "mine"


def test_user_files_each_their_own_module_so_inspect_finds_each_source(tmp_path):
    first, second = tmp_path / "first.py", tmp_path / "second.py"
    first.write_text(_ONE)
    second.write_text(_ONE.replace("'mine'", "'other'"))
    a, b = resolve_strategy(str(first)), resolve_strategy(str(second))
    assert (a.name, b.name) == ("mine", "other")
    assert (inspect.getfile(a), inspect.getfile(b)) == (str(first), str(second))


def test_user_module_when_zero_or_two_strategies_then_must_name_one(tmp_path):
    two = tmp_path / "two.py"
    two.write_text("from riskguard.rules.strategy import Proposal, Strategy\n"
                   "from strategies.alert_only import AlertOnly\n"  # imported: not one of the file's own
                   "class A(Strategy):\n    name = 'a'\n    def propose(self, ctx): return Proposal()\n"
                   "class B(A):\n    name = 'b'\n"
                   "class Base(Strategy):\n    name = 'base'\n")  # abstract: propose not implemented
    with pytest.raises(ConfigError, match=r"^policy.yaml:5: .*must define exactly one Strategy subclass or name one "
                                          r"\(found: A, B\)"):
        resolve_strategy(str(two), where="policy.yaml:5")
    assert resolve_strategy(f"{two}:B").name == "b"
    none = tmp_path / "none.py"
    none.write_text("X = 1\n")
    with pytest.raises(ConfigError, match=r"\(found: none\)"):
        resolve_strategy(str(none))
    with pytest.raises(ConfigError) as err:
        resolve_strategy(f"{two}:Zzzz", where="policy.yaml:4")
    assert str(err.value) == f"policy.yaml:4: {str(two)!r} defines no Strategy subclass 'Zzzz'"


_ONE = "from riskguard.rules.strategy import Proposal, Strategy\n" \
       "class Mine(Strategy):\n    name = 'mine'\n    def propose(self, ctx): return Proposal()\n"


# -- assembly ----------------------------------------------------------------------------------------------

def test_immediate_fills_when_market_add_margin_stop_and_cancel_then_only_the_first_two_fill():
    ctx = _ctx(position(BTC.symbol, 1.0, 50_000, 49_000), position(ALT.symbol, 10, 100, isolated_margin=100))
    orders = [
        _order(amount=0.25, price=48_000.0),  # fills at its own price
        _order(amount=0.5),  # no price: at the mark
        _order(symbol=ALT.symbol, kind=OrderKind.ADD_MARGIN, amount=20.0),
        _order(kind=OrderKind.STOP_MARKET, trigger_price=45_000.0),
        _order(kind=OrderKind.CANCEL, order_id="7"),
    ]
    assert immediate_fills(ctx, orders) == [
        Reduce(BTC.symbol, Side.LONG, 0.25, 48_000.0), Reduce(BTC.symbol, Side.LONG, 0.5, 49_000.0),
        AddMarginFill(ALT.symbol, Side.LONG, 20.0)]


def test_make_plan_when_nothing_to_do_then_no_action_and_no_fee_note():
    plan = make_plan(_ctx(position(BTC.symbol, 1.0, 50_000), taker=None),
                     [ReduceSize({"target": "buffer_pct", "value": 10})])  # buffer 19.68% already ≥ 10
    assert (plan.orders, plan.reason_codes, plan.notes) == ((), ("PLAN_NO_ACTION",), ())
    assert plan.after == plan.before


def test_make_plan_when_a_strategy_only_reports_then_its_code_and_not_no_action():
    plan = make_plan(_ctx(position(BTC.symbol, 1.0, 50_000), taker=None), [AlertOnly(), AlertOnly()])
    assert (plan.reason_codes, plan.notes, plan.strategies) == (("PLAN_ALERT_ONLY",), (), ("alert_only",) * 2)


def test_make_plan_when_chained_then_second_strategy_sees_the_first_ones_fill():
    # The 30% target cuts 0.34 of 1 BTC; a second identical strategy sees 0.66 BTC meeting 30% and adds nothing.
    strategies = [ReduceSize({"target": "buffer_pct", "value": 30}), ReduceSize({"target": "buffer_pct", "value": 30})]
    plan = make_plan(_ctx(position(BTC.symbol, 1.0, 50_000)), strategies)
    assert [o.amount for o in plan.orders] == [0.34]
    assert plan.reason_codes == ("PLAN_REDUCES_POSITION",)
    assert plan.after.positions[0].contracts == pytest.approx(0.66, abs=1e-12)
    assert plan.after.cross[0].equity == pytest.approx(10_000 - 0.0004 * 0.34 * 50_000)
