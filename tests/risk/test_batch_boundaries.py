"""Boundaries of batch.py's ``liquidation_frame``: label columns given as categories, numbers given as text,
the edges of each numeric check and the messages that name a bad row (docs/mutation.md, "batch.py")."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_batch import TIERS, _frame  # the same two-row frame and one-tier table

from riskguard.errors import InputError
from riskguard.model import MarginTier
from riskguard.risk.batch import liquidation_frame

# Binance USD-M, one tier at 1 %: long 1 BTC on 10 USDT liquidates at 90/0.99, short 2 BTC on 20 at 110/1.01.
LIQ = [90 / 0.99, 110 / 1.01]


def _bad(frame: pd.DataFrame, tiers=TIERS) -> InputError:
    with pytest.raises(InputError) as err:
        liquidation_frame(frame, tiers)
    return err.value


def test_liquidation_frame_when_labels_are_categories_then_same_prices_as_text():
    frame = _frame(margin_mode=["isolated", "isolated"], account_type=["standard", "standard"],
                   tier_basis=["notional", "notional"])
    # unused categories (a venue, an account type no row holds) must not change a row's rules
    frame["venue"] = pd.Categorical(frame["venue"], categories=["kucoinfutures", "binanceusdm"])
    frame["symbol"] = pd.Categorical(frame["symbol"], categories=["ETH", "BTC"])
    frame["side"] = pd.Categorical(["short", "long"], categories=["long", "short"])
    frame["account_type"] = pd.Categorical(frame["account_type"], categories=["classic", "standard"])
    frame["margin_mode"] = pd.Categorical(frame["margin_mode"], categories=["cross", "isolated"])
    frame["tier_basis"] = pd.Categorical(frame["tier_basis"], categories=["contracts", "notional"])
    frame["contracts"] = [2.0, 1.0]
    frame["margin"] = [20.0, 10.0]
    out = liquidation_frame(frame, {"BTC": TIERS["BTC"], "ETH": [MarginTier(0.0, math.inf, 0.5)]})
    assert out["liquidation_price"].tolist() == pytest.approx(LIQ[::-1], rel=1e-15)
    assert out["method"].tolist() == ["venue rules"] * 2


def test_liquidation_frame_when_category_value_missing_then_named():
    frame = _frame()
    frame["side"] = pd.Categorical(["long", None], categories=["long", "short"])
    err = _bad(frame)
    assert (err.where, err.message) == ("df['b'].side", "side must be 'long', 'short', +1 or −1, got nan")


def test_liquidation_frame_when_numbers_are_text_then_parsed_or_named():
    out = liquidation_frame(_frame(entry_price=["100", "1e2"], margin=["10", "20.0"]), TIERS)
    assert out["liquidation_price"].tolist() == pytest.approx(LIQ, rel=1e-15)
    err = _bad(_frame(entry_price=["100", "abc"]))
    assert (err.where, err.message) == ("df['b'].entry_price", "must be a finite number, got 'abc'")


def test_liquidation_frame_when_several_rows_bad_then_first_named_and_rest_counted():
    err = _bad(_frame(contracts=[-1.0, -2.0]))
    assert (err.where, err.message) == ("df['a'].contracts", "must be > 0, got -1.0 (and 1 more rows)")
    err = _bad(_frame(margin=[math.inf, 1.0]))
    assert (err.where, err.message) == ("df['a'].margin", "must be a finite number, got inf")


def test_liquidation_frame_when_tier_table_empty_then_named():
    err = _bad(_frame(), {"BTC": []})
    assert err.where == "tiers['BTC']"
    assert err.message == "empty tier table: every symbol needs at least one margin tier"


def test_liquidation_frame_when_mark_moved_then_ratio_counts_the_upnl():
    out = liquidation_frame(_frame(mark_price=[105.0, 105.0]), TIERS)
    # MM at mark: 1 % of 105 and of 210; equity: 10 + 1·5 = 15 (long), 20 − 2·5 = 10 (short)
    assert out["maintenance_margin"].tolist() == pytest.approx([1.05, 2.1], rel=1e-15)
    assert out["margin_ratio"].tolist() == pytest.approx([1.05 / 15, 2.1 / 10], rel=1e-15)
    assert out["liquidation_price"].tolist() == pytest.approx(LIQ, rel=1e-15)  # margin and entry decide it
    assert out["buffer_pct"].tolist() == pytest.approx([(105 - LIQ[0]) / 105 * 100, (LIQ[1] - 105) / 105 * 100])


def test_liquidation_frame_when_inverse_and_mark_moved_then_ratio_counts_the_coin_upnl():
    # COIN-M: 10 contracts of 10 USD = 100 USD face on 0.1 BTC, entry 100, mark 125
    frame = _frame(venue=["binancecoinm"] * 2, inverse=[True, True], contracts=[10.0, 10.0], contract_size=[10.0, 10.0],
                   margin=[0.1, 0.1], mark_price=[125.0, 125.0])
    out = liquidation_frame(frame, TIERS)
    # uPnL ±100·(1/100 − 1/125) = ±0.2 BTC; MM 1 % of 100/125 = 0.008 BTC; the short's equity is −0.1
    assert out["maintenance_margin"].tolist() == pytest.approx([0.008, 0.008], rel=1e-12)
    assert out["margin_ratio"]["a"] == pytest.approx(0.008 / 0.3, rel=1e-12)
    assert out["margin_ratio"]["b"] == math.inf
    # long: 0.1 + 100·(1/100 − 1/P) = 0.01·100/P  →  P = 101/1.1
    assert out["liquidation_price"]["a"] == pytest.approx(101 / 1.1, rel=1e-12)


def test_liquidation_frame_when_no_equity_then_ratio_infinite():
    out = liquidation_frame(_frame(margin=[-5.0, 0.0]), TIERS)
    assert out["margin_ratio"].tolist() == [math.inf, math.inf]
    # no requirement either (a 0 % tier): 0/0 is not a ratio, the position has nothing left
    free = {"BTC": [MarginTier(0.0, math.inf, 0.0)]}
    assert liquidation_frame(_frame(margin=[0.0, 0.0]), free)["margin_ratio"].tolist() == [math.inf, math.inf]


@pytest.mark.parametrize(
    "changes",
    [
        {"margin_mode": ["isolated"] * 2},  # isolated legs never share a price
        {"venue": ["okx"] * 2, "taker_fee": [0.0, 0.0], "margin_mode": ["cross"] * 2},  # nor on other venues
    ],
)
def test_liquidation_frame_when_hedge_label_where_legs_do_not_share_then_each_row_alone(changes):
    out = liquidation_frame(_frame(hedge_group=["g", "g"], **changes), TIERS)
    assert out["liquidation_price"].tolist() == pytest.approx(LIQ, rel=1e-15)


@pytest.mark.parametrize(
    ("changes", "column", "got"),
    [
        ({"mark_price": [100.0, 101.0]}, "mark_price", "101.0"),
        ({"venue": ["binanceusdm", "binancecoinm"]}, "venue", "'binancecoinm'"),
        ({"symbol": ["BTC", "ETH"]}, "symbol", "'ETH'"),
    ],
)
def test_liquidation_frame_when_hedge_legs_disagree_then_column_named(changes, column, got):
    frame = _frame(margin_mode=["cross"] * 2, hedge_group=["g", "g"], margin=[15.0, 15.0], **changes)
    err = _bad(frame, {**TIERS, "ETH": TIERS["BTC"]})
    assert (err.where, err.message) == (f"df['b'].{column}", f"hedge legs of one group must share it, got {got}")


def test_liquidation_frame_when_every_contract_is_two_units_then_scaled():
    out = liquidation_frame(_frame(contract_size=[2.0, 2.0]), TIERS)
    # 2 and 4 BTC on 10 and 20 USDT: long (100 − 10/2)/0.99, short (100 + 20/4)/1.01
    assert out["liquidation_price"].tolist() == pytest.approx([95 / 0.99, 105 / 1.01], rel=1e-15)
    assert out["maintenance_margin"].tolist() == pytest.approx([2.0, 4.0], rel=1e-15)


def test_liquidation_frame_when_okx_reports_a_tier_on_one_row_then_only_that_row_uses_it():
    tiers = {"BTC": [MarginTier(0.0, 1_000.0, 0.01), MarginTier(1_000.0, math.inf, 0.02)]}
    frame = _frame(venue=["okx"] * 2, taker_fee=[0.0005] * 2, tier_index=[1, -1])
    out = liquidation_frame(frame, tiers)
    # row a: OKX keeps the tier it reports (2 %), row b reports none: the tier of its 200 USDT (1 %)
    assert out["tier"].tolist() == [1, 0]
    assert out["maintenance_margin"].tolist() == pytest.approx([100 * 0.0205, 200 * 0.0105], rel=1e-15)
    assert out["liquidation_price"].tolist() == pytest.approx([90 / (1 - 0.0205), 110 / (1 + 0.0105)], rel=1e-12)


def test_liquidation_frame_when_bybit_leverage_is_one_then_accepted():
    frame = _frame(venue=["bybit"] * 2, account_type=["classic"] * 2, taker_fee=[0.0] * 2, leverage=[1.0, 1.0])
    # no fee to reserve: LP = entry ∓ (margin − MM at entry)/qty, as at any leverage
    assert liquidation_frame(frame, TIERS)["liquidation_price"].tolist() == pytest.approx([91.0, 109.0], rel=1e-15)


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ({"venue": ["okx", "okx"]}, "df['a'].taker_fee",
         "this venue counts the taker fee: give it (>= 0), got 'no such column' (and 1 more rows)"),
        ({"venue": ["bybit"] * 2, "taker_fee": [0.00055] * 2}, "df['a'].leverage",
         "Bybit reserves the closing fee: give leverage > 0, got 'no such column' (and 1 more rows)"),
    ],
)
def test_liquidation_frame_when_rule_input_missing_then_exact_message(changes, where, message):
    err = _bad(_frame(**changes))
    assert (err.where, err.message) == (where, message)


def test_liquidation_frame_when_unused_category_is_no_account_type_then_ignored():
    frame = _frame()
    frame["account_type"] = pd.Categorical(["standard"] * 2, categories=["standard", "pro"])
    assert liquidation_frame(frame, TIERS)["liquidation_price"].tolist() == pytest.approx(LIQ, rel=1e-15)


def test_liquidation_frame_when_no_rows_then_empty_result_with_every_column():
    out = liquidation_frame(_frame().iloc[:0], TIERS)
    assert len(out) == 0
    assert list(out.columns) == [
        "liquidation_price", "liquidation_price_displayed", "display_rule", "bankruptcy_price",
        "bankruptcy_price_displayed", "maintenance_margin", "tier", "margin_ratio", "buffer_pct", "is_estimate",
        "method",
    ]


def test_liquidation_frame_when_numbers_are_integers_then_same_prices_as_floats():
    ints = _frame(contracts=[1, 2], contract_size=[1, 1], entry_price=[100, 100], mark_price=[100, 100],
                  margin=[10, 20])
    assert liquidation_frame(ints, TIERS)["liquidation_price"].tolist() == pytest.approx(LIQ, rel=1e-15)
    text = _frame(entry_price=["100", "100"], margin=["10", "20"])  # parsed to integers
    assert liquidation_frame(text, TIERS)["liquidation_price"].tolist() == pytest.approx(LIQ, rel=1e-15)


def test_liquidation_frame_when_inverse_is_an_object_column_of_booleans_then_read():
    # row a COIN-M long, 100 USD face on 0.1 BTC: 0.1 + 100·(1/100 − 1/P) = 0.01·100/P → P = 101/1.1
    frame = _frame(venue=["binancecoinm", "binanceusdm"], contracts=[10.0, 2.0], contract_size=[10.0, 1.0],
                   margin=[0.1, 20.0])
    frame["inverse"] = pd.Series([True, False], dtype=object, index=frame.index)
    out = liquidation_frame(frame, TIERS)
    assert out["liquidation_price"].tolist() == pytest.approx([101 / 1.1, LIQ[1]], rel=1e-12)


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        # an unknown (NaN) optional value must not hide a bad one in the same column
        ({"price_tick": [math.nan, 0.0]}, "df['b'].price_tick", "must be > 0, got 0.0"),
        ({"taker_fee": [math.nan, -0.001]}, "df['b'].taker_fee", "must be >= 0, got -0.001"),
        ({"leverage": [-5.0, 10.0]}, "df['a'].leverage", "must be > 0, got -5.0"),  # on any venue
        ({"margin": [-math.inf, 10.0]}, "df['a'].margin", "must be a finite number, got -inf"),
        ({"tier_index": [-2, 0]}, "df['a'].tier_index", "must be an integer tier index or -1, got -2"),
        ({"tier_index": [0, 1.5]}, "df['b'].tier_index", "must be an integer tier index or -1, got 1.5"),
        ({"inverse": [True, "yes"]}, "df['b'].inverse", "inverse must be a boolean, got 'yes'"),
        ({"venue": ["binanceusdm", ""]}, "df['b'].venue", "venue must be a ccxt id, got ''"),
        ({"symbol": ["BTC", "DOGE"]}, "df['b'].symbol", "unknown symbol (no tier table given), got 'DOGE'"),
    ],
)
def test_liquidation_frame_when_value_out_of_range_then_exact_message(changes, where, message):
    err = _bad(_frame(**changes))
    assert (err.where, err.message) == (where, message)


def test_liquidation_frame_when_okx_tiers_count_contracts_then_tier_by_contract_count():
    # floors in contracts: 1 contract sits in the 1 % tier although its 100 USDT would pass the 1.5 floor
    tiers = {"BTC": [MarginTier(0.0, 1.5, 0.01), MarginTier(1.5, math.inf, 0.02)]}
    frame = _frame(venue=["okx"] * 2, taker_fee=[0.0005] * 2, tier_basis=["contracts", "contracts"])
    out = liquidation_frame(frame, tiers)
    assert out["tier"].dtype == np.int64 and out["tier"].tolist() == [0, 1]
    assert out["maintenance_margin"].tolist() == pytest.approx([100 * 0.0105, 200 * 0.0205], rel=1e-15)
    assert out["liquidation_price"].tolist() == pytest.approx([90 / (1 - 0.0105), 110 / (1 + 0.0205)], rel=1e-12)


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ({"tier_basis": ["notional", "coins"]}, "df['b'].tier_basis",
         "must be one of notional, contracts, got 'coins'"),
        ({"margin_mode": ["cross", "portfolio"]}, "df['b'].margin_mode",
         "must be one of isolated, cross, got 'portfolio'"),
    ],
)
def test_liquidation_frame_when_label_not_allowed_then_exact_message(changes, where, message):
    err = _bad(_frame(**changes))
    assert (err.where, err.message) == (where, message)


def test_liquidation_frame_when_columns_missing_then_all_named_with_the_required_list():
    err = _bad(_frame().drop(columns=["margin", "inverse"]))
    assert err.where == "df"
    assert err.message == (
        "missing column(s) margin, inverse; required: venue, symbol, side, contracts, contract_size, entry_price, "
        "mark_price, margin, inverse"
    )


def test_liquidation_frame_when_no_rows_and_hedge_columns_then_empty_result():
    # no row means no rule set: the hedge flags must still be booleans (this raised a numpy TypeError)
    frame = _frame(margin_mode=["cross"] * 2, hedge_group=["g", "g"]).iloc[:0]
    assert liquidation_frame(frame, TIERS).shape == (0, 11)


@pytest.mark.parametrize(
    ("column", "value"),
    [("side", ["x"]), ("symbol", {"a": 1}), ("venue", {"okx"}), ("margin_mode", ["cross", "isolated"])],
)
def test_liquidation_frame_when_label_is_a_container_then_input_error_names_it(column, value):
    # a list, dict or set is no label: an InputError naming the row, not a TypeError from pandas
    frame = _frame()
    frame[column] = pd.Series(["cross" if column == "margin_mode" else frame[column].iloc[0], value],
                              index=frame.index, dtype=object)
    err = _bad(frame)
    assert (err.where, err.message) == (f"df['b'].{column}", f"must be a label (text or a number), got {value!r}")
