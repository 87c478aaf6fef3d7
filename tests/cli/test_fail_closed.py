"""Fail closed at the `check --snapshot` boundary: each class of inconsistent input is UNKNOWN (exit 3), with its
reason code and the field path, never OK — and never a traceback.

Every case starts from one account of the bundled paper snapshot (which checks cleanly) and breaks one thing.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from riskguard.rules.codes import ExitCode

PAPER = json.loads((Path(__file__).parents[2] / "riskguard" / "data" / "paper_snapshot.json").read_text())
TAKEN_AT = PAPER["taken_at"]
BTC, SOL, ETH = "BTC/USDT:USDT", "SOL/USDT:USDT", "ETH/USDC:USDC"
BINANCE, BYBIT, HYPERLIQUID = "binance-cross", "bybit-isolated", "hyperliquid-cross"
WHERE = "{path}: accounts[0]"


def _alone(name: str) -> dict[str, Any]:
    doc = copy.deepcopy(PAPER)
    [account] = [a for a in doc["accounts"] if a["name"] == name]
    doc["accounts"] = [account]
    doc["venues"] = {account["venue"]: doc["venues"][account["venue"]]}
    return doc


def _check(run, write, doc: dict[str, Any]) -> tuple[int, list[tuple[str, str]], str]:
    """Exit code, every (code, message) of the account and its positions, and stderr."""
    path = write("s.json", json.dumps(doc))
    r = run("check", "--snapshot", str(path), "--format", "json")
    assert "Traceback" not in r.err + r.out
    [account] = r.json()["accounts"]
    findings = [(f["code"], f["message"]) for f in account["findings"]]
    findings += [(f["code"], f["message"]) for p in account["positions"] for f in p["findings"]]
    return r.code, [(c, m.replace(str(path), "{path}")) for c, m in findings], r.err


def _document_error(run, write, doc: dict[str, Any]) -> str:
    """A document the check cannot read at all: exit 3, no account, and the error's ``where: message``."""
    path = write("s.json", json.dumps(doc))
    r = run("check", "--snapshot", str(path), "--format", "json")
    assert "Traceback" not in r.err + r.out
    report = r.json()
    assert r.code == ExitCode.UNKNOWN and report["status"] == "unknown" and report["accounts"] == []
    return f"{report['error']['where']}: {report['error']['message']}".replace(str(path), "{path}")


def assert_unknown(run, write, doc: dict[str, Any], code: str, text: str) -> list[tuple[str, str]]:
    """Assert the check is UNKNOWN with a ``code`` finding whose message contains ``text``; return the findings."""
    exit_code, findings, _ = _check(run, write, doc)
    assert exit_code == ExitCode.UNKNOWN, findings
    assert any(c == code and text in m for c, m in findings), findings
    return findings


@pytest.mark.parametrize("name", [BINANCE, BYBIT, HYPERLIQUID])
def test_check_when_paper_account_alone_then_not_unknown(run, write, name) -> None:
    """The baseline every other case breaks: each paper account evaluates (Binance's uniform-move warning and
    Bybit's breach are the paper accounts' own)."""
    code, findings, _ = _check(run, write, _alone(name))
    expected = {BINANCE: ExitCode.WARNING, BYBIT: ExitCode.BREACH, HYPERLIQUID: ExitCode.OK}[name]
    assert code == expected, findings


# -- the positions list and the margin the venue says positions hold ---------------------------------------------


@pytest.mark.parametrize("value", [None, "positions", {"symbol": BTC}], ids=["null", "string", "object"])
def test_check_when_positions_is_not_a_list_then_unknown_with_its_path(run, write, value) -> None:
    doc = _alone(BINANCE)
    doc["accounts"][0]["positions"] = value
    assert _document_error(run, write, doc) == "{path}: accounts[0].positions: Input should be a valid list"


@pytest.mark.parametrize(("name", "field"), [
    (BINANCE, "balance.info.totalPositionInitialMargin"),
    (BYBIT, "balance.info.result.list[0].totalMaintenanceMargin"),
    (HYPERLIQUID, "balance.info.crossMaintenanceMarginUsed"),
])
def test_check_when_no_positions_but_balance_says_positions_hold_margin_then_unknown(run, write, name, field) -> None:
    doc = _alone(name)
    doc["accounts"][0]["positions"] = []
    assert_unknown(run, write, doc,
        "POSITIONS_MARGIN_MISMATCH", f"{WHERE}.{field}: no open position, yet the venue says")


def test_check_when_a_position_row_is_missing_from_the_list_then_unknown(run, write) -> None:
    """The ETH row is lost (a page not read): the BTC row holds 497.5024 USDT of the account's 1205.7134."""
    doc = _alone(BINANCE)
    del doc["accounts"][0]["positions"][1]
    assert_unknown(run, write, doc, "POSITIONS_MARGIN_MISMATCH", f"{WHERE}.balance.info.assets[0].maintMargin: the "
             "positions read hold 497.5024 USDT of maintenance margin, the venue says 1205.7134: a position is missing")


def test_check_when_bybit_rows_hold_less_maintenance_than_the_wallet_says_then_unknown(run, write) -> None:
    doc = _alone(BYBIT)
    doc["accounts"][0]["positions"][0]["info"]["positionMM"] = "1000"
    assert_unknown(run, write, doc, "POSITIONS_MARGIN_MISMATCH", f"{WHERE}.balance.info.result.list[0].coin[0]."
             "totalPositionMM: the positions read hold 1000 USDT of maintenance margin, the venue says 1519.6")


@pytest.mark.parametrize(("gap", "expected"), [(0.0049, ExitCode.WARNING), (0.0051, ExitCode.UNKNOWN)])
def test_check_when_balance_read_at_a_moved_mark_then_gap_under_half_a_percent_is_not_a_missing_row(
    run, write, gap, expected
) -> None:
    """Positions and balance are two requests at two marks: the maintenance total moves with the mark between
    them.  Up to 0.5 % of the rows' 1205.7134 USDT is that move (the paper account's own warning stands); more
    is a missing row."""
    doc = _alone(BINANCE)
    info = doc["accounts"][0]["balance"]["info"]
    moved = f"{1205.7134 * (1 + gap):.4f}"
    info["totalMaintMargin"] = info["assets"][0]["maintMargin"] = moved
    code, findings, _ = _check(run, write, doc)
    assert code == expected, findings
    mismatch = [m for c, m in findings if c == "POSITIONS_MARGIN_MISMATCH"]
    assert mismatch == ([] if expected == ExitCode.WARNING else
                        [f"{WHERE}.balance.info.assets[0].maintMargin: the positions read hold 1205.7134 USDT of "
                         f"maintenance margin, the venue says {moved}: a position is missing from the list"])


def test_check_when_no_positions_and_no_position_margin_but_open_order_margin_then_ok(run, write) -> None:
    """Margin that open orders reserve is not margin positions hold: an account with only orders is no mismatch."""
    doc = _alone(BINANCE)
    account = doc["accounts"][0]
    account["positions"] = []
    info = account["balance"]["info"]
    for key in ("totalPositionInitialMargin", "totalMaintMargin"):
        info[key] = "0"
    for row in info["assets"]:
        row["positionInitialMargin"] = row["maintMargin"] = "0"
    info["totalOpenOrderInitialMargin"] = info["totalInitialMargin"] = "500"
    code, findings, _ = _check(run, write, doc)
    assert code == ExitCode.OK, findings


# -- marks and timestamps ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mark", "text"), [
    (-91250.4, "mark price must be > 0, got -91250.4"),
    (0, "mark price must be > 0, got 0.0"),
    ("NaN", "expected a number, got 'NaN'"),
    ("1e400", "expected a finite number, got '1e400'"),
])
def test_check_when_ticker_mark_is_not_a_positive_number_then_unknown(run, write, mark, text) -> None:
    doc = _alone(BINANCE)
    doc["venues"]["binanceusdm"]["tickers"][BTC]["markPrice"] = mark
    assert_unknown(run, write, doc, "INVALID_INPUT", f"venues.binanceusdm.tickers['{BTC}'].markPrice: {text}")


def test_check_when_ticker_mark_is_a_json_nan_then_the_document_is_refused(run, write) -> None:
    doc = _alone(BINANCE)
    doc["venues"]["binanceusdm"]["tickers"][BTC]["markPrice"] = float("nan")
    error = _document_error(run, write, doc)
    assert error.startswith("{path}") and "NaN" in error


def test_check_when_positions_carry_no_last_change_time_then_they_are_as_old_as_the_read(run, write) -> None:
    """Binance stamps a row with the position's last change, not with the read: without it the row is still as
    fresh as the read that returned it, so nothing is missing."""
    doc = _alone(BINANCE)
    before = _check(run, write, doc)[:2]
    for p in doc["accounts"][0]["positions"]:
        del p["info"]["updateTime"]
        p["timestamp"] = None
    assert _check(run, write, doc)[:2] == before


def test_check_when_snapshot_has_no_taken_at_then_unknown(run, write) -> None:
    doc = _alone(BINANCE)
    del doc["taken_at"]
    assert _document_error(run, write, doc) == "{path}: taken_at: Field required"


@pytest.mark.parametrize(("value", "shown"), [(True, "true"), ("1795275540932", "text '1795275540932'")])
def test_check_when_taken_at_is_not_a_number_then_unknown(run, write, value, shown) -> None:
    """The envelope is strict: ``true`` is not 1 and a numeric string is not a number."""
    doc = _alone(BINANCE)
    doc["taken_at"] = value
    assert _document_error(run, write, doc) == f"{{path}}: taken_at: must be a number, not {shown}"


def test_check_when_taken_at_is_in_the_future_then_unknown(run, write) -> None:
    doc = _alone(BINANCE)
    doc["taken_at"] = 4_102_444_800_000  # 2100-01-01
    error = _document_error(run, write, doc)
    assert error.startswith("{path}: taken_at: taken_at is ") and error.endswith("s in the future")


def test_check_when_a_position_timestamp_is_after_the_snapshot_then_inconsistent(run, write) -> None:
    doc = _alone(BINANCE)
    doc["accounts"][0]["positions"][0]["info"]["updateTime"] = TAKEN_AT + 60_000
    assert_unknown(run, write, doc, "DATA_INCONSISTENT", "position last changed 60s after the snapshot was taken")


def test_check_when_positions_were_last_changed_a_day_ago_then_not_stale(run, write) -> None:
    """A position held untouched for a day is not stale data: its row was read with the snapshot.  Reading the
    venue's last-change time as the data's age would make every held position UNKNOWN in production."""
    doc = _alone(BINANCE)
    before = _check(run, write, doc)[:2]
    for p in doc["accounts"][0]["positions"]:
        p["info"]["updateTime"] = TAKEN_AT - 86_400_000
    assert _check(run, write, doc)[:2] == before


def test_check_when_hyperliquid_account_read_is_ten_minutes_old_then_data_stale(run, write) -> None:
    """Hyperliquid positions carry no time: they are as old as the clearinghouseState read they came in.  The
    marks stay fresh, so the position clock alone decides: a planted bug that stops checking position ages must
    fail this test."""
    doc = _alone(HYPERLIQUID)
    doc["accounts"][0]["balance"]["info"]["time"] = TAKEN_AT - 600_000
    assert_unknown(run, write, doc, "DATA_STALE", "position is 600s old")


def test_check_when_hyperliquid_account_read_has_no_time_then_unknown(run, write) -> None:
    doc = _alone(HYPERLIQUID)
    del doc["accounts"][0]["balance"]["info"]["time"]
    assert_unknown(run, write, doc, "INVALID_INPUT", f"{WHERE}.balance.info.time: required number is missing")


# -- tiers and markets ------------------------------------------------------------------------------------------


def _bybit_single_tier(cap: str) -> dict[str, Any]:
    doc = _alone(BYBIT)
    tiers = doc["venues"]["bybit"]["leverage_tiers"][SOL]
    tiers[:] = tiers[:1]
    tiers[0]["info"]["riskLimitValue"] = cap
    doc["accounts"][0]["positions"][0]["info"]["riskLimitValue"] = cap  # the position sits in that one tier
    return doc


def test_check_when_tier_table_ends_below_the_short_at_its_liquidation_price_then_unknown(run, write) -> None:
    """The short holds 800 SOL: 151,960 USDT at mark 189.95, ~154,000 at its liquidation price above."""
    assert_unknown(run, write, _bybit_single_tier("153000"), "TIER_TABLE_INCOMPLETE",
             "tier table ends at 153000 (quote_notional), below the position's 154")


def test_check_when_tier_table_ends_below_the_position_at_mark_then_unknown_naming_the_table(run, write) -> None:
    assert_unknown(run, write, _bybit_single_tier("100000"), "TIER_TABLE_INCOMPLETE",
             f"{{path}}: venues.bybit.leverage_tiers['{SOL}']: the tier table of {SOL} ends at 100000")


def test_check_when_bybit_position_risk_limit_is_no_cap_of_the_tier_table_then_inconsistent(run, write) -> None:
    """The venue says which tier the position sits in; a table without that tier is not the venue's table."""
    doc = _alone(BYBIT)
    doc["accounts"][0]["positions"][0]["info"]["riskLimitValue"] = "250000"
    assert_unknown(run, write, doc,
        "DATA_INCONSISTENT", f"{WHERE}.positions[0].info.riskLimitValue: risk limit 250000 is "
             f"no tier's cap in the {SOL} tier table")


def test_check_when_a_tier_is_missing_then_its_deductions_give_it_away(run, write) -> None:
    doc = _alone(BINANCE)
    del doc["venues"]["binanceusdm"]["leverage_tiers"][BTC][1]
    assert_unknown(run, write, doc,
        "INVALID_INPUT", f"venues.binanceusdm.leverage_tiers['{BTC}']: the tier from 600000 "
             "deducts 950, but the tiers below it make it 1500: a tier is missing or the table is inconsistent")


def test_check_when_bybit_lowest_tier_is_missing_then_unknown(run, write) -> None:
    """Bybit's floors are rebuilt from the caps, so only the deduction shows the table lost its first tier."""
    doc = _alone(BYBIT)
    del doc["venues"]["bybit"]["leverage_tiers"][SOL][0]
    assert_unknown(run, write, doc,
        "INVALID_INPUT", f"venues.bybit.leverage_tiers['{SOL}']: the tier from 0 deducts 1000")


@pytest.mark.parametrize(("linear", "inverse", "text"), [
    (True, True, "market is both linear and inverse"),
    (False, False, "market is neither linear nor inverse"),
    ("yes", False, "expected a boolean, got 'yes'"),
])
def test_check_when_market_kind_is_not_exactly_one_then_unknown(run, write, linear, inverse, text) -> None:
    doc = _alone(BINANCE)
    doc["venues"]["binanceusdm"]["markets"][BTC] |= {"linear": linear, "inverse": inverse}
    assert_unknown(run, write, doc, "INVALID_INPUT", f"venues.binanceusdm.markets['{BTC}'].linear: {text}")


# -- position rows ----------------------------------------------------------------------------------------------


def test_check_when_a_one_way_position_row_is_duplicated_then_inconsistent(run, write) -> None:
    doc = _alone(BINANCE)
    rows = doc["accounts"][0]["positions"]
    rows.append(copy.deepcopy(rows[0]))
    assert_unknown(run, write, doc, "DATA_INCONSISTENT",
             f"{WHERE}.positions[2]: a second cross 'both' row for {BTC} (first at {WHERE}.positions[0])")


@pytest.mark.parametrize(("amount", "text"), [
    ("0", "size is 0 beside a notional of 109500.48"),
    ("-1.200", "size -1.2 and notional 109500.48 differ in sign"),
    ("2.400", "notional 109500.48 is not size × price (219000.96)"),
])
def test_check_when_position_amount_contradicts_its_notional_then_inconsistent(run, write, amount, text) -> None:
    doc = _alone(BINANCE)
    doc["accounts"][0]["positions"][0]["info"]["positionAmt"] = amount
    assert_unknown(run, write, doc, "DATA_INCONSISTENT", f"{WHERE}.positions[0].info.notional: {text}")


def test_check_when_hyperliquid_size_is_zero_beside_a_position_value_then_inconsistent(run, write) -> None:
    doc = _alone(HYPERLIQUID)
    doc["accounts"][0]["positions"][0]["info"]["position"]["szi"] = "0"
    assert_unknown(run, write, doc, "DATA_INCONSISTENT", "info.position.positionValue: size is 0 beside a notional")


@pytest.mark.parametrize(("name", "field", "value"), [
    (BYBIT, "tradeMode", 7),  # an unknown margin-mode code, once read as cross
    (BYBIT, "side", "Long"),
    (BYBIT, "positionIdx", 5),
    (BINANCE, "positionSide", "MIDDLE"),
    (BINANCE, "marginType", "portfolio"),
])
def test_check_when_a_raw_enum_field_has_an_unknown_value_then_unknown_with_its_path(
    run, write, name, field, value
) -> None:
    doc = _alone(name)
    doc["accounts"][0]["positions"][0]["info"][field] = value
    assert_unknown(run, write, doc, "INVALID_INPUT", f"{WHERE}.positions[0].info.{field}: unknown value {value!r}")


def test_check_when_hyperliquid_leverage_type_is_unknown_then_unknown_with_its_path(run, write) -> None:
    doc = _alone(HYPERLIQUID)
    doc["accounts"][0]["positions"][0]["info"]["position"]["leverage"]["type"] = "portfolio"
    assert_unknown(run, write, doc, "INVALID_INPUT", "info.position.leverage.type: unknown value 'portfolio'")


# -- balances and numbers ---------------------------------------------------------------------------------------


def test_check_when_balance_lacks_the_positions_settle_asset_then_data_missing_not_a_breach(run, write) -> None:
    doc = _alone(BINANCE)
    for row in doc["accounts"][0]["balance"]["info"]["assets"]:
        row["asset"] = "BUSD"
    findings = assert_unknown(run, write, doc,
        "DATA_MISSING", f"{WHERE}.balance: no USDT balance for the cross positions")
    assert not [c for c, _ in findings if c in ("ALREADY_LIQUIDATABLE", "CROSS_BUFFER_BELOW_MIN")]


@pytest.mark.parametrize(("text", "why"), [
    ("1_200", "expected a number"),
    (" 88900 ", "expected a number"),
    ("nan", "expected a number"),
    ("inf", "expected a number"),
    ("1e400", "expected a finite number"),
    ("0x10", "expected a number"),
])
def test_check_when_a_number_is_spelled_loosely_then_unknown_with_its_path(run, write, text, why) -> None:
    doc = _alone(BINANCE)
    doc["accounts"][0]["positions"][0]["info"]["entryPrice"] = text
    assert_unknown(run, write, doc, "INVALID_INPUT", f"{WHERE}.positions[0].info.entryPrice: {why}, got {text!r}")


def test_check_when_a_hedge_leg_sits_beside_a_one_way_row_then_inconsistent(run, write) -> None:
    doc = _alone(BINANCE)
    rows = doc["accounts"][0]["positions"]
    rows.append(copy.deepcopy(rows[0]))
    rows[2]["info"]["positionSide"] = "LONG"
    assert_unknown(run, write, doc, "DATA_INCONSISTENT",
             f"{WHERE}.positions[2]: a 'long' leg beside a one-way row for {BTC} (first at {WHERE}.positions[0])")


def test_check_when_a_hyperliquid_margin_table_id_is_not_a_number_then_unknown_with_its_path(run, write) -> None:
    doc = _alone(HYPERLIQUID)
    doc["venues"]["hyperliquid"]["raw"]["meta"]["marginTables"][0][0] = "abc"
    assert_unknown(run, write, doc,
        "INVALID_INPUT", "venues.hyperliquid.raw.meta.marginTables[0][0]: expected a number")
