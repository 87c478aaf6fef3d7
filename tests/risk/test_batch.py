"""``liquidation_frame``: the docs example runs and prints venue numbers; bad rows are named."""

from __future__ import annotations

import contextlib
import io
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from golden import case, shown

from riskguard.errors import InputError
from riskguard.model import MarginTier
from riskguard.risk import batch
from riskguard.risk.batch import liquidation_frame

API_DOC = Path(__file__).parents[2] / "docs" / "api.md"


def _doc_blocks() -> tuple[str, str]:
    text = API_DOC.read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    output = re.search(r"Output:\n\n```text\n(.*?)```", text, re.S).group(1)
    return code, output


def test_api_doc_example_when_run_then_prints_the_documented_output():
    code, documented = _doc_blocks()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(API_DOC), "exec"), {})
    assert printed.getvalue() == documented


def test_api_doc_example_when_printed_then_matches_the_venues_liquidation_prices():
    _, documented = _doc_blocks()
    shown_prices = [float(x) for x in re.findall(r"shown ([0-9.]+)", documented)]
    usdm = case("binanceusdm", "api-positionrisk-hedge-isolated-long-btcusdt")
    coinm = case("binancecoinm", "api-positionrisk-isolated-btcusd-perp-long")
    okx = case("okx", "okx-linear-isolated-long-eth-usdt-swap-api")
    bybit = case("bybit", "bybit-classic-usdt-isolated-long-ex1")
    assert shown(shown_prices[0], 2) == usdm["expected"]["liquidation_price"]
    assert abs(shown_prices[1] - coinm["expected"]["liquidation_price"]) <= 1e-8  # printed half-up, Binance truncates
    assert abs(shown_prices[2] - float(okx["expected"]["liquidation_price"])) <= 1e-8
    assert shown_prices[3] == float(bybit["expected"]["liquidation_price"])


def _frame(**changes) -> pd.DataFrame:
    rows = {
        "venue": ["binanceusdm", "binanceusdm"],
        "symbol": ["BTC", "BTC"],
        "side": ["long", -1],
        "contracts": [1.0, 2.0],
        "contract_size": [1.0, 1.0],
        "entry_price": [100.0, 100.0],
        "mark_price": [100.0, 100.0],
        "margin": [10.0, 20.0],
        "inverse": [False, False],
    }
    rows.update(changes)
    return pd.DataFrame(rows, index=["a", "b"])


TIERS = {"BTC": [MarginTier(0.0, math.inf, 0.01)]}


def test_liquidation_frame_when_valid_then_closed_form_prices():
    out = liquidation_frame(_frame(), TIERS)
    assert list(out.index) == ["a", "b"]
    assert out["liquidation_price"].tolist() == pytest.approx([90 / 0.99, 110 / 1.01])
    assert out["liquidation_price_displayed"].tolist() == out["liquidation_price"].tolist()
    assert out["display_rule"].tolist() == ["exact root, unrounded"] * 2
    assert out["bankruptcy_price"].tolist() == pytest.approx([90.0, 110.0])
    assert out["margin_ratio"].tolist() == pytest.approx([0.1, 0.1])
    assert out["buffer_pct"].tolist() == pytest.approx([(1 - 90 / 99) * 100, (110 / 1.01 - 100)])
    assert out["method"].tolist() == ["venue rules"] * 2


def test_liquidation_frame_when_marks_moved_then_ratio_and_buffer_are_the_hand_worked_ones():
    """Linear long 2 @ 100 marked 95, inverse short 100 USD @ 100 marked 110, a long already under water."""
    frame = pd.DataFrame(
        {
            "venue": ["binanceusdm", "binancecoinm", "binanceusdm"],
            "symbol": ["BTC"] * 3,
            "side": ["long", "short", "long"],
            "contracts": [2.0, 100.0, 1.0],
            "contract_size": [1.0, 1.0, 1.0],
            "entry_price": [100.0, 100.0, 100.0],
            "mark_price": [95.0, 110.0, 90.0],
            "margin": [30.0, 0.5, 5.0],
            "inverse": [False, True, False],
        }
    )
    out = liquidation_frame(frame, TIERS)
    # a: equity 30 + 2·(95 − 100) = 20, MM 2·95·1 % = 1.9; liquidation where 2P − 170 = 0.02·P
    # b: equity 0.5 − 100·(1/100 − 1/110) = 100/110 − 0.5, MM 1 % of 100/110 coins; 100/P − 0.5 = 1/P at P = 198
    # c: equity 5 − 10 < 0: the ratio is infinite, not a number divided by a negative equity
    assert out["margin_ratio"].tolist() == pytest.approx([1.9 / 20, (1 / 110) / (100 / 110 - 0.5), math.inf], rel=1e-12)
    assert out["liquidation_price"].tolist()[:2] == pytest.approx([170 / 1.98, 198.0], rel=1e-12)
    assert out["buffer_pct"].tolist()[:2] == pytest.approx([(95 - 170 / 1.98) / 95 * 100, 80.0], rel=1e-12)
    assert out.dtypes.to_dict() == {
        "liquidation_price": np.float64,
        "liquidation_price_displayed": np.float64,
        "display_rule": "category",
        "bankruptcy_price": np.float64,
        "bankruptcy_price_displayed": np.float64,
        "maintenance_margin": np.float64,
        "tier": np.int64,
        "margin_ratio": np.float64,
        "buffer_pct": np.float64,
        "is_estimate": bool,
        "method": "category",
    }


@pytest.mark.parametrize("dtype", [object, "category"])
@pytest.mark.parametrize(
    "changes",
    [{"margin_mode": ["isolated", "isolated"]}, {"venue": ["okx", "okx"], "taker_fee": [0.0005, 0.0005]}],
    ids=["isolated legs", "a venue whose legs do not share a price"],
)
def test_liquidation_frame_when_labelled_legs_cannot_share_a_price_then_each_is_solved_alone(changes, dtype):
    """Only Binance cross legs share one price; a hedge_group label on other rows changes nothing."""
    frame = _frame(**{"margin_mode": ["cross", "cross"], **changes})
    labelled = frame.assign(hedge_group=pd.Series(["h", "h"], index=frame.index, dtype=dtype))
    pd.testing.assert_frame_equal(liquidation_frame(labelled, TIERS), liquidation_frame(frame, TIERS))


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ({"symbol": ["BTC", "ETH"]}, "df['b'].symbol", "unknown symbol (no tier table given), got 'ETH'"),
        ({"side": ["long", "up"]}, "df['b'].side", "side must be 'long', 'short', +1 or −1, got 'up'"),
        ({"venue": ["binanceusdm", ""]}, "df['b'].venue", "venue must be a ccxt id, got ''"),
        ({"venue": ["binanceusdm", 7]}, "df['b'].venue", "venue must be a ccxt id, got 7"),
    ],
)
def test_liquidation_frame_when_a_label_is_unknown_then_the_whole_message(changes, where, message):
    with pytest.raises(InputError) as err:
        liquidation_frame(_frame(**changes), TIERS)
    assert (err.value.where, err.value.message) == (where, message)


def test_liquidation_frame_when_okx_then_fee_in_requirement_and_one_tick_only_on_isolated():
    frame = _frame(
        venue=["okx", "okx"],
        side=["long", "long"],
        taker_fee=[0.0005] * 2,
        price_tick=[0.01] * 2,
        margin_mode=["isolated", "cross"],
        contracts=[1.0, 1.0],
        margin=[10.0, 10.0],
    )
    out = liquidation_frame(frame, TIERS)
    root = 90 / (1 - 0.01 - 0.0005)  # equity = notional·(mmr + taker fee)
    assert out["liquidation_price"].tolist() == pytest.approx([root, root], rel=1e-12)
    # Isolated payloads show the root plus one tick; no cross payload shows an offset, so none is applied.
    assert out["liquidation_price_displayed"].tolist() == pytest.approx([root + 0.01, root], rel=1e-12)
    assert out["display_rule"].tolist() == ["exact root moved one tick toward entry", "exact root, unrounded"]
    assert out["is_estimate"].tolist() == [False, True]


def test_liquidation_frame_when_no_price_tick_then_raw_price_kept_and_display_unknown():
    frame = _frame(
        venue=["bybit", "bybit"],
        account_type=["classic"] * 2,
        taker_fee=[0.0] * 2,
        leverage=[10.0] * 2,
        price_tick=[math.nan, 0.5],
    )
    out = liquidation_frame(frame, TIERS)
    # Classic MM is fixed at entry (1 and 2 USDT): LP = entry ∓ (margin − MM)/qty, on the tick already.
    assert out["liquidation_price"].tolist() == pytest.approx([91.0, 109.0])
    assert math.isnan(out["liquidation_price_displayed"]["a"])
    assert out["display_rule"].tolist() == ["unknown: the market has no price tick", "rounded toward entry to the tick"]
    assert out["liquidation_price_displayed"]["b"] == 109.0
    assert out["buffer_pct"]["a"] == pytest.approx(9.0)  # from the raw root: a price, never "none"


def test_liquidation_frame_when_venue_has_no_rules_then_labelled_generic_estimate():
    out = liquidation_frame(_frame(venue=["kucoinfutures", "binanceusdm"]), TIERS)
    assert out["method"].tolist() == ["generic estimate", "venue rules"]
    assert out["is_estimate"].tolist() == [True, False]


@pytest.mark.parametrize(
    ("changes", "where", "problem"),
    [
        ({"entry_price": [100.0, math.nan]}, "df['b'].entry_price", "finite"),
        ({"contracts": [-1.0, 2.0]}, "df['a'].contracts", "> 0"),
        ({"mark_price": [100.0, 0.0]}, "df['b'].mark_price", "> 0"),
        ({"symbol": ["BTC", "DOGE"]}, "df['b'].symbol", "unknown symbol"),
        ({"side": ["long", "flat"]}, "df['b'].side", "side"),
        ({"inverse": [False, "yes"]}, "df['b'].inverse", "boolean"),
        ({"venue": ["okx", None]}, "df['b'].venue", "ccxt id"),
        ({"account_type": ["standard", "pro"]}, "df['b'].account_type", "one of"),
        ({"margin_mode": ["cross", "portfolio"]}, "df['b'].margin_mode", "one of"),
        ({"taker_fee": [0.0, -0.001]}, "df['b'].taker_fee", ">= 0"),
        ({"tier_index": [0, 1.5]}, "df['b'].tier_index", "integer"),
        ({"price_tick": [0.1, 0.0]}, "df['b'].price_tick", "> 0"),
        ({"venue": ["binanceusdm", "okx"]}, "df['b'].taker_fee", "counts the taker fee"),
        ({"margin_mode": ["cross"] * 2, "hedge_group": ["g", "g"], "margin": [10.0, 11.0]}, "df['b'].margin", "share"),
        (
            {"margin_mode": ["cross"] * 2, "hedge_group": ["g", "g"], "inverse": [False, True]},
            "df['b'].inverse",
            "share",
        ),
        (
            {"venue": ["bybit", "bybit"], "taker_fee": [0.00055] * 2, "leverage": [10.0, math.nan]},
            "df['b'].leverage",
            "leverage > 0",
        ),
    ],
)
def test_liquidation_frame_when_bad_value_then_input_error_names_row_and_column(changes, where, problem):
    with pytest.raises(InputError) as err:
        liquidation_frame(_frame(**changes), TIERS)
    assert err.value.where == where
    assert problem in err.value.message


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2"])
def test_liquidation_frame_when_workers_not_a_whole_number_above_zero_then_input_error(workers):
    with pytest.raises(InputError) as err:
        liquidation_frame(_frame(), TIERS, workers=workers)
    assert err.value.where == "liquidation_frame(workers=)"
    assert err.value.message == f"workers must be a whole number >= 1, got {workers!r}"


def test_liquidation_frame_when_column_missing_then_named():
    with pytest.raises(InputError, match=r"missing column.*margin"):
        liquidation_frame(_frame().drop(columns=["margin"]), TIERS)


def test_risk_core_when_imported_then_pandas_stays_unloaded():
    """The account evaluation path must not pay for pandas; only the batch API loads it."""
    probe = (
        "import sys, riskguard.risk.account_risk, riskguard.connectors.normalize; "
        "assert 'pandas' not in sys.modules, 'pandas imported'; "
        "import riskguard.risk.batch; assert 'pandas' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


@pytest.mark.parametrize("workers", [1, 3])
def test_liquidation_frame_when_rows_span_several_blocks_then_each_row_equals_its_small_frame_result(workers: int):
    """A million-row frame runs in blocks, on threads, and solves its hedge pairs beside them: no row may change."""
    small = _frame(
        venue=["bybit", "okx"],
        account_type=["classic", "standard"],
        margin_mode=["isolated", "cross"],
        taker_fee=[0.00055, 0.0005],
        leverage=[10.0, 20.0],
        price_tick=[0.5, math.nan],
    )
    small = pd.concat(
        [
            small,
            _frame(margin_mode=["cross", "cross"], hedge_group=["h", "h"], margin=[15.0, 15.0]).set_axis(["c", "d"]),
            _frame(venue=["hyperliquid", "gate"], taker_fee=[math.nan, 0.0005], price_tick=[0.1, 0.1]).set_axis(
                ["e", "f"]
            ),
        ]
    )
    small = small.fillna({"account_type": "standard", "margin_mode": "isolated"})
    copies = 45_000  # 270,000 rows: two full blocks and a partial one
    big = pd.concat([small] * copies, ignore_index=True)
    big["hedge_group"] = np.where(big["hedge_group"].notna(), np.repeat(np.arange(copies), len(small)), None)
    want = liquidation_frame(small, TIERS)
    assert len(big) > 2 * batch._BLOCK
    got = liquidation_frame(big, TIERS, workers=workers)
    for column in want.columns:
        expected = np.tile(want[column].to_numpy(), copies)
        values = got[column].to_numpy()
        if values.dtype.kind == "f":
            assert np.array_equal(values, expected, equal_nan=True), column
        else:
            assert (values == expected).all(), column
    assert got["liquidation_price"].iloc[2] == got["liquidation_price"].iloc[3]  # the hedge pair shares one price
