"""``liquidation_frame``: the docs example runs and prints venue numbers; bad rows are named."""

from __future__ import annotations

import contextlib
import io
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from golden import case, shown

from riskguard.errors import InputError
from riskguard.model import MarginTier
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
    liq = [float(x) for x in re.findall(r"liq ([0-9.]+)", documented)]
    usdm = case("binanceusdm", "api-positionrisk-hedge-isolated-long-btcusdt")
    coinm = case("binancecoinm", "api-positionrisk-isolated-btcusd-perp-long")
    assert shown(liq[0], 2) == usdm["expected"]["liquidation_price"]
    assert abs(liq[1] - coinm["expected"]["liquidation_price"]) <= 1e-8  # printed half-up, Binance truncates


def _frame(**changes) -> pd.DataFrame:
    rows = {
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
    assert out["bankruptcy_price"].tolist() == pytest.approx([90.0, 110.0])
    assert out["margin_ratio"].tolist() == pytest.approx([0.1, 0.1])
    assert out["buffer_pct"].tolist() == pytest.approx([(1 - 90 / 99) * 100, (110 / 1.01 - 100)])


@pytest.mark.parametrize(
    ("changes", "where", "problem"),
    [
        ({"entry_price": [100.0, math.nan]}, "df['b'].entry_price", "finite"),
        ({"contracts": [-1.0, 2.0]}, "df['a'].contracts", "> 0"),
        ({"mark_price": [100.0, 0.0]}, "df['b'].mark_price", "> 0"),
        ({"symbol": ["BTC", "DOGE"]}, "df['b'].symbol", "unknown symbol"),
        ({"side": ["long", "flat"]}, "df['b'].side", "side"),
        ({"inverse": [False, "yes"]}, "df['b'].inverse", "boolean"),
        ({"mmr_add": [0.0, -0.001]}, "df['b'].mmr_add", ">= 0"),
        ({"fixed_tier": [0, 1.5]}, "df['b'].fixed_tier", "integer"),
    ],
)
def test_liquidation_frame_when_bad_value_then_input_error_names_row_and_column(changes, where, problem):
    with pytest.raises(InputError) as err:
        liquidation_frame(_frame(**changes), TIERS)
    assert err.value.where == where
    assert problem in err.value.message


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
