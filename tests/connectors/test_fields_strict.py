"""Strict readers under the normalizers: numbers, enum codes and tier tables, each error naming its path."""

from __future__ import annotations

import math

import pytest

from riskguard.connectors.normalize.fields import Fields, parse_number
from riskguard.errors import SnapshotError
from riskguard.model import ContractKind, MarginMode, MarginTier, Market, TierBasis


@pytest.mark.parametrize(("value", "number"), [
    ("12", 12.0), ("-1.5e3", -1500.0), (".5", 0.5), ("5.", 5.0), ("+3", 3.0), (3, 3.0), (2.5, 2.5), ("0", 0.0),
])
def test_parse_number_when_plainly_written_then_read(value, number) -> None:
    assert parse_number(value, "p") == number


@pytest.mark.parametrize(("value", "message"), [
    ("1_200", "expected a number, got '1_200'"),
    (" 12 ", "expected a number, got ' 12 '"),
    ("12\n", "expected a number, got '12\\n'"),
    ("nan", "expected a number, got 'nan'"),
    ("Infinity", "expected a number, got 'Infinity'"),
    ("١٢", "expected a number, got '١٢'"),  # Arabic-Indic digits: float() reads them as 12
    ("1e400", "expected a finite number, got '1e400'"),
    (math.nan, "expected a finite number, got nan"),
    (10**400, "expected a finite number"),
    (True, "expected a number, got True"),
    ([1], "expected a number, got [1]"),
])
def test_parse_number_when_not_a_number_a_venue_sends_then_error_with_path(value, message) -> None:
    with pytest.raises(SnapshotError) as err:
        parse_number(value, "acct.positions[0].info.size")
    assert err.value.where == "acct.positions[0].info.size" and err.value.message.startswith(message)


def test_enum_when_code_unknown_then_error_lists_the_known_ones() -> None:
    f = Fields({"tradeMode": 7}, "p.info")
    with pytest.raises(SnapshotError) as err:
        f.enum("tradeMode", {0: MarginMode.CROSS, 1: MarginMode.ISOLATED})
    assert str(err.value) == "p.info.tradeMode: unknown value 7 (expected one of 0, 1)"


def test_enum_when_absent_then_default_but_never_for_a_value_sent() -> None:
    legs = {"BOTH": "both"}
    assert Fields({}, "p").enum("positionSide", legs, default="both") == "both"
    with pytest.raises(SnapshotError, match="unknown value 'both'"):
        Fields({"positionSide": "both"}, "p").enum("positionSide", legs, default="both")


@pytest.mark.parametrize("value", [["cross"], {"x": 1}, True])
def test_str_when_value_is_a_list_object_or_bool_then_error(value) -> None:
    with pytest.raises(SnapshotError, match="expected a string"):
        Fields({"symbol": value}, "p").str("symbol")


def _market(tiers: list[tuple[float, float]], basis: TierBasis = TierBasis.QUOTE_NOTIONAL) -> Market:
    rows = tuple(MarginTier(floor=f, cap=c, mmr=0.01 * (i + 1)) for i, (f, c) in enumerate(tiers))
    return Market("okx", "X", ContractKind.LINEAR, "USDT", 1.0, None, None, rows, basis)


def test_market_when_contract_tiers_start_one_contract_above_the_last_cap_then_accepted() -> None:
    market = _market([(0, 500), (501, 1000), (1001, math.inf)], TierBasis.CONTRACTS)
    assert market.tiers_reach(10_000, 1.0)


@pytest.mark.parametrize(("tiers", "basis", "text"), [
    ([(0, 500), (502, 1000)], TierBasis.CONTRACTS, "tier from 502 does not continue the one capped at 500"),
    ([(0, 500), (501, 1000)], TierBasis.QUOTE_NOTIONAL, "tier from 501 does not continue the one capped at 500"),
    ([(0, 500), (400, 1000)], TierBasis.QUOTE_NOTIONAL, "tier from 400 does not continue the one capped at 500"),
    ([(50_000, 250_000)], TierBasis.QUOTE_NOTIONAL, "the tier table starts at 50000, not 0"),
])
def test_market_when_a_tier_is_missing_or_overlaps_then_rejected(tiers, basis, text) -> None:
    with pytest.raises(ValueError, match=text):
        _market(tiers, basis)


def test_tier_size_when_inverse_then_coins_at_that_price() -> None:
    market = Market("binancecoinm", "BTC/USD:BTC", ContractKind.INVERSE, "BTC", 100.0, None, None,
                    (MarginTier(0, 5, 0.01),), TierBasis.BASE_QUANTITY)
    assert market.tier_size(200, 40_000) == 0.5
    assert market.tiers_reach(200, 40_000) and not market.tiers_reach(200, 3_000)  # 6.67 BTC at 3,000
