"""The venue-neutral core: numeric liquidation solver, order rules, liquidation, scenarios, faults."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from riskguard.sim.engine import (
    AccountSpec,
    OrderRejected,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionSpec,
    RejectReason,
    SimExchange,
)
from riskguard.sim.faults import Fault, FaultBook, FaultKind
from riskguard.sim.margin import (
    Exposure,
    Instrument,
    MarginMode,
    margin_surplus,
    solve_liquidation_price,
    tier_schedule,
)
from riskguard.sim.scenario import Scenario, ScenarioPlayer, load_scenario, parse_scenario

BTC_TIERS = tier_schedule((50_000, 0.004, 125), (250_000, 0.005, 100), (1_000_000, 0.01, 50), (1e12, 0.025, 20))
BTCUSDT = Instrument(symbol="BTCUSDT", base="BTC", quote="USDT", settle="USDT", inverse=False, contract_size=1.0,
                     price_tick=0.1, amount_step=0.001, tiers=BTC_TIERS)
ETHUSDT = Instrument(symbol="ETHUSDT", base="ETH", quote="USDT", settle="USDT", inverse=False, contract_size=1.0,
                     price_tick=0.01, amount_step=0.001, tiers=tier_schedule((1e12, 0.005, 100)))
BTCUSD = Instrument(symbol="BTCUSD_PERP", base="BTC", quote="USD", settle="BTC", inverse=True, contract_size=100.0,
                    price_tick=0.1, amount_step=1.0, tiers=tier_schedule((5, 0.004, 125), (1e9, 0.005, 100)))


def closed_form_isolated_linear(wallet: float, size: float, entry: float) -> float:
    """Binance FAQ single-position isolated LP, with the tier chosen at the LP (golden reference)."""
    side = 1 if size > 0 else -1
    q = abs(size)
    for tier in BTC_TIERS:
        price = (wallet + tier.cum - side * q * entry) / (q * (tier.mmr - side))
        if tier.floor <= q * price < tier.cap:
            return price
    raise AssertionError("no consistent tier")


def exchange_with(*positions: PositionSpec, balance: float = 10_000.0, hedge: bool = False,
                  marks: dict[str, float] | None = None) -> SimExchange:
    return SimExchange([BTCUSDT, ETHUSDT, BTCUSD],
                       [AccountSpec(api_key="k", secret="s", balances={"USDT": balance, "BTC": 1.0},
                                    hedge_mode=hedge, positions=positions)],
                       marks or {"BTCUSDT": 60_000.0, "ETHUSDT": 3_000.0, "BTCUSD_PERP": 60_000.0})


def test_tier_schedule_when_built_from_caps_then_cum_matches_binance_faq_example() -> None:
    tiers = tier_schedule((50_000, 0.004, 125), (250_000, 0.005, 100), (1_000_000, 0.01, 50))
    assert [t.floor for t in tiers] == [0, 50_000, 250_000]
    assert tiers[1].cum == pytest.approx(50.0)
    assert tiers[2].cum == pytest.approx(250_000 * (0.01 - 0.005) + 50)  # 1,300 USDT, the FAQ's number


def test_solver_when_isolated_linear_long_then_equals_closed_form_across_tiers() -> None:
    exposure = Exposure(BTCUSDT, 5.0, 60_000.0, 60_000.0)  # 300k notional: tier 3 at entry, tier 2 at LP
    solved = solve_liquidation_price(30_000.0, [exposure])
    assert solved == pytest.approx(closed_form_isolated_linear(30_000.0, 5.0, 60_000.0), rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(size=st.floats(0.01, 40.0).flatmap(lambda q: st.sampled_from([q, -q])),
       leverage=st.floats(2.0, 100.0))
def test_solver_when_random_isolated_position_then_matches_closed_form(size: float, leverage: float) -> None:
    entry = 60_000.0
    wallet = abs(size) * entry / leverage
    exposure = Exposure(BTCUSDT, size, entry, entry)
    assume(margin_surplus(wallet, [exposure]) > 0)  # opened above maintenance, as a venue would require
    solved = solve_liquidation_price(wallet, [exposure])
    assert solved == pytest.approx(closed_form_isolated_linear(wallet, size, entry), rel=1e-9)


def test_solver_when_inverse_isolated_long_then_equals_coinm_formula() -> None:
    contracts, entry, margin = 300.0, 60_000.0, 0.02
    solved = solve_liquidation_price(margin, [Exposure(BTCUSD, contracts, entry, entry)])
    q = contracts * 100.0
    tier = BTCUSD.tier_for(contracts, solved)
    assert solved == pytest.approx(q * (tier.mmr + 1) / (margin + tier.cum + q / entry), rel=1e-10)


def test_solver_when_cross_then_other_positions_stay_at_their_marks() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=1.0, entry=60_000.0),
                       PositionSpec(symbol="ETHUSDT", size=-10.0, entry=2_900.0), balance=20_000.0)
    account = ex.accounts["k"]
    btc = account.positions[("BTCUSDT", "both")]
    other_mm = 10 * 3_000.0 * 0.005
    other_upnl = -10 * (3_000.0 - 2_900.0)
    solved = ex.liquidation_price(account, btc)
    assert solved is not None
    tier = BTCUSDT.tier_for(1.0, solved)
    # Binance FAQ cross form: (WB − TMM1 + UPNL1 + cum − Q·EP) / (Q·MMR − Q)
    expected = (20_000.0 - other_mm + other_upnl + tier.cum - 60_000.0) / (tier.mmr - 1.0)
    assert solved == pytest.approx(expected, rel=1e-10)


def test_solver_when_hedge_legs_in_cross_then_both_share_one_price() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=2.0, entry=60_000.0, leg="long"),
                       PositionSpec(symbol="BTCUSDT", size=-0.5, entry=61_000.0, leg="short"),
                       balance=8_000.0, hedge=True)
    account = ex.accounts["k"]
    long_lp = ex.liquidation_price(account, account.positions[("BTCUSDT", "long")])
    short_lp = ex.liquidation_price(account, account.positions[("BTCUSDT", "short")])
    assert long_lp == short_lp
    assert long_lp is not None and long_lp < 60_000.0


def test_solver_when_long_fully_collateralised_then_no_liquidation_price() -> None:
    assert solve_liquidation_price(70_000.0, [Exposure(BTCUSDT, 1.0, 60_000.0, 60_000.0)]) is None


def test_reduce_only_when_order_would_increase_then_rejected() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=1.0, entry=60_000.0))
    with pytest.raises(OrderRejected) as caught:
        ex.place_order(ex.accounts["k"], OrderRequest("BTCUSDT", "buy", OrderType.MARKET, 0.1, reduce_only=True))
    assert caught.value.reason is RejectReason.REDUCE_ONLY_WOULD_INCREASE


def test_reduce_only_when_order_would_flip_then_rejected() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=1.0, entry=60_000.0))
    with pytest.raises(OrderRejected) as caught:
        ex.place_order(ex.accounts["k"], OrderRequest("BTCUSDT", "sell", OrderType.MARKET, 1.5, reduce_only=True))
    assert caught.value.reason is RejectReason.REDUCE_ONLY_WOULD_INCREASE
    assert ex.accounts["k"].positions[("BTCUSDT", "both")].size == 1.0


def test_reduce_only_when_order_reduces_then_fills_and_realises_pnl() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=1.0, entry=50_000.0))
    account = ex.accounts["k"]
    order = ex.place_order(account, OrderRequest("BTCUSDT", "sell", OrderType.MARKET, 0.4, reduce_only=True))
    assert order.status is OrderStatus.FILLED
    assert account.positions[("BTCUSDT", "both")].size == pytest.approx(0.6)
    trade = account.trades[-1]
    assert trade.realized_pnl == pytest.approx(0.4 * (order.average - 50_000.0))
    assert account.balances["USDT"] == pytest.approx(10_000.0 + trade.realized_pnl - trade.fee)


def test_market_order_when_margin_insufficient_then_rejected() -> None:
    ex = exchange_with(balance=100.0)
    with pytest.raises(OrderRejected) as caught:
        ex.place_order(ex.accounts["k"], OrderRequest("BTCUSDT", "buy", OrderType.MARKET, 1.0))
    assert caught.value.reason is RejectReason.INSUFFICIENT_MARGIN


def test_stop_market_when_mark_crosses_trigger_then_fills() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=1.0, entry=60_000.0))
    account = ex.accounts["k"]
    stop = ex.place_order(account, OrderRequest("BTCUSDT", "sell", OrderType.STOP_MARKET, 1.0,
                                                trigger_price=58_000.0, reduce_only=True))
    ex.set_mark("BTCUSDT", 58_500.0)
    assert account.orders[stop.id].status is OrderStatus.OPEN
    ex.set_mark("BTCUSDT", 57_900.0)
    assert account.orders[stop.id].status is OrderStatus.FILLED
    assert ("BTCUSDT", "both") not in account.positions


def test_order_log_when_orders_fill_and_cancel_then_only_open_ones_stay_open_and_every_setting_is_a_change() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=2.0, entry=60_000.0))
    account = ex.accounts["k"]
    stops = [ex.place_order(account, OrderRequest("BTCUSDT", "sell", OrderType.STOP_MARKET, 0.5,
                                                  trigger_price=price, reduce_only=True, client_id=f"s{i}"))
             for i, price in enumerate((59_000.0, 58_000.0, 57_000.0))]
    ex.cancel_order(account, "BTCUSDT", stops[2].id)
    ex.set_mark("BTCUSDT", 58_900.0)  # the first stop fires
    assert list(account.orders.open) == [stops[1].id]
    assert [o.id for o in account.open_orders("BTCUSDT")] == [stops[1].id]
    assert account.orders.changes == [stops[0].id, stops[1].id, stops[2].id, stops[2].id, stops[0].id]
    assert [account.orders[s.id].status for s in stops] == [OrderStatus.FILLED, OrderStatus.OPEN,
                                                            OrderStatus.CANCELED]


def test_find_order_when_a_client_id_is_taken_twice_then_the_first_placed_of_the_symbol_is_found() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=2.0, entry=60_000.0),
                       PositionSpec(symbol="ETHUSDT", size=10.0, entry=3_000.0))
    account = ex.accounts["k"]

    def stop(symbol: str, trigger: float) -> int:
        request = OrderRequest(symbol, "sell", OrderType.STOP_MARKET, 0.5, trigger_price=trigger, reduce_only=True,
                               client_id="same")
        return ex.place_order(account, request).id

    eth, btc_first, btc_second = stop("ETHUSDT", 2_900.0), stop("BTCUSDT", 59_000.0), stop("BTCUSDT", 58_000.0)
    assert ex.find_order(account, "BTCUSDT", client_id="same").id == btc_first
    assert ex.find_order(account, "ETHUSDT", client_id="same").id == eth
    assert ex.find_order(account, "BTCUSDT", order_id=btc_second).id == btc_second
    assert ex.find_order(account, "BTCUSDT", order_id=btc_second, client_id="same").id == btc_first
    with pytest.raises(OrderRejected) as caught:
        ex.find_order(account, "BTCUSDT", order_id=eth)  # another symbol's order
    assert caught.value.reason is RejectReason.UNKNOWN_ORDER
    with pytest.raises(OrderRejected):
        ex.find_order(account, "BTCUSDT", client_id="other")


def test_stop_market_when_trigger_already_crossed_then_rejected() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=1.0, entry=60_000.0))
    with pytest.raises(OrderRejected) as caught:
        ex.place_order(ex.accounts["k"], OrderRequest("BTCUSDT", "sell", OrderType.STOP_MARKET, 1.0,
                                                      trigger_price=61_000.0))
    assert caught.value.reason is RejectReason.WOULD_TRIGGER_IMMEDIATELY


def test_scenario_when_account_declares_a_stop_then_it_rests_and_fires_on_the_mark() -> None:
    player = ScenarioPlayer(parse_scenario({
        "marks": {"BTCUSDT": 60_000},
        "accounts": [{"api_key": "k", "secret": "s", "balances": {"USDT": 10_000},
                      "positions": [{"symbol": "BTCUSDT", "size": 0.5, "entry": 61_000}],
                      "orders": [{"symbol": "BTCUSDT", "side": "sell", "amount": 0.5, "trigger_price": 57_500,
                                  "reduce_only": True}]}],
    }).over(Scenario(instruments=(BTCUSDT,))))
    account = player.exchange.accounts["k"]
    (stop,) = account.open_orders()
    assert (stop.type, stop.side, stop.amount, stop.trigger_price, stop.reduce_only) == (
        OrderType.STOP_MARKET, "sell", 0.5, 57_500.0, True)
    player.exchange.set_mark("BTCUSDT", 57_400.0)
    assert account.orders[stop.id].status is OrderStatus.FILLED and account.positions == {}


def test_scenario_when_declared_stop_would_not_reduce_then_the_scenario_is_refused() -> None:
    spec = {"api_key": "k", "secret": "s", "balances": {"USDT": 10_000},
            "orders": [{"symbol": "BTCUSDT", "side": "sell", "amount": 0.5, "trigger_price": 57_500,
                        "reduce_only": True}]}
    with pytest.raises(ValueError, match="REDUCE_ONLY_WOULD_INCREASE"):
        ScenarioPlayer(parse_scenario({"marks": {"BTCUSDT": 60_000}, "accounts": [spec]})
                       .over(Scenario(instruments=(BTCUSDT,))))


def test_resting_limit_when_mark_reaches_price_then_fills_as_maker() -> None:
    ex = exchange_with()
    account = ex.accounts["k"]
    order = ex.place_order(account, OrderRequest("BTCUSDT", "buy", OrderType.LIMIT, 0.1, price=59_000.0))
    assert order.status is OrderStatus.OPEN
    ex.set_mark("BTCUSDT", 58_990.0)
    assert account.orders[order.id].status is OrderStatus.FILLED
    assert account.trades[-1].maker
    assert account.positions[("BTCUSDT", "both")].entry == 59_000.0


def test_isolated_position_when_mark_crosses_liquidation_price_then_liquidated() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=1.0, entry=60_000.0, margin_mode=MarginMode.ISOLATED,
                                    isolated_margin=3_000.0))
    account = ex.accounts["k"]
    lp = ex.liquidation_price(account, account.positions[("BTCUSDT", "both")])
    assert lp is not None
    assert ex.set_mark("BTCUSDT", lp + 1.0) == []
    events = ex.set_mark("BTCUSDT", lp - 1.0)
    assert [(e.symbol, e.size) for e in events] == [("BTCUSDT", 1.0)]
    assert account.positions == {}
    assert account.balances["USDT"] == 10_000.0  # the cross wallet is untouched by an isolated loss


def test_cross_pool_when_liquidated_then_all_cross_positions_close_and_wallet_empties() -> None:
    ex = exchange_with(PositionSpec(symbol="BTCUSDT", size=1.0, entry=60_000.0),
                       PositionSpec(symbol="ETHUSDT", size=1.0, entry=3_000.0), balance=2_000.0)
    account = ex.accounts["k"]
    lp = ex.liquidation_price(account, account.positions[("BTCUSDT", "both")])
    assert lp is not None
    events = ex.set_mark("BTCUSDT", lp * 0.999)
    assert {e.symbol for e in events} == {"BTCUSDT", "ETHUSDT"}
    assert account.balances["USDT"] == 0.0


def test_scenario_when_unknown_key_then_rejected() -> None:
    with pytest.raises(ValidationError):
        parse_scenario({"accounts": [{"api_key": "k", "secret": "s", "balances": {}, "leverag": 5}]})


def test_scenario_when_yaml_file_then_path_steps_move_marks_and_arm_faults(tmp_path) -> None:
    file = tmp_path / "crash.yaml"
    file.write_text(
        "marks: {BTCUSDT: 60000}\n"
        "accounts:\n"
        "  - {api_key: k, secret: s, balances: {USDT: 1000},\n"
        "     positions: [{symbol: BTCUSDT, size: 1, entry: 60000, margin_mode: isolated, isolated_margin: 3000}]}\n"
        "path:\n"
        "  - {at_s: 1, marks: {BTCUSDT: 58000}, faults: [{kind: rate_limit, count: 2}]}\n"
        "  - {at_s: 2, marks: {BTCUSDT: 50000}, clear_faults: true}\n"
    )
    default = Scenario(instruments=(BTCUSDT,), marks={"BTCUSDT": 1.0})
    player = ScenarioPlayer(load_scenario(file).over(default))
    assert player.exchange.marks["BTCUSDT"] == 60_000.0
    assert player.step() == []
    assert [f.kind for f in player.faults.armed] == [FaultKind.RATE_LIMIT]
    assert [e.symbol for e in player.step()] == ["BTCUSDT"]
    assert player.faults.armed == ()
    assert player.step() == []  # past the end: nothing happens


def test_fault_book_when_count_and_path_given_then_applies_only_that_often_and_there() -> None:
    book = FaultBook((Fault(kind=FaultKind.SERVER_ERROR, path="/fapi/*/account", count=2),))
    assert book.take("/fapi/v1/depth") == []
    assert len(book.take("/fapi/v3/account")) == 1
    assert len(book.take("/fapi/v2/account")) == 1
    assert book.take("/fapi/v3/account") == []
