"""``rule_columns`` shares one ``RuleColumns`` per (venue rules, margin-mode pattern) across accounts: it must
answer each key with that key's own columns, never with another venue's or another margin-mode pattern's, and
a shared answer must not be writable by one reader under another."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from riskguard.model import AccountType
from riskguard.risk.account_risk import rule_columns
from riskguard.risk.venue_math import RuleColumns
from riskguard.risk.venue_rules import VENUES, rules_for

RULES = [rules_for(v) for v in VENUES] + [rules_for("bybit", AccountType.CLASSIC), rules_for("somewhere-else")]
PATTERNS = [np.array(p, dtype=bool) for p in ([False], [True], [False, True], [True, False], [True, True, False],
                                               [False, False, False])]


def _built(rules, isolated):
    return RuleColumns.build([rules], np.zeros(len(isolated), dtype=np.int64), isolated)


def _same(a: RuleColumns, b: RuleColumns) -> bool:
    return all(np.array_equal(getattr(a, f.name), getattr(b, f.name)) and getattr(a, f.name).dtype
               == getattr(b, f.name).dtype for f in fields(RuleColumns))


def test_each_key_is_answered_with_its_own_columns_in_any_order():
    keys = [(r, p) for r in RULES for p in PATTERNS]
    first = [rule_columns(r, p) for r, p in keys]
    again = [rule_columns(r, p) for r, p in reversed(keys)][::-1]  # now answered from the cache
    for (rules, isolated), a, b in zip(keys, first, again, strict=True):
        assert _same(a, _built(rules, isolated)), (rules, isolated)
        assert _same(b, _built(rules, isolated)), (rules, isolated)


def test_venues_or_patterns_that_differ_get_columns_that_differ():
    # OKX and Binance show isolated prices differently; Gate counts the fee in maintenance, Binance does not
    okx, binance, gate = rules_for("okx"), rules_for("binanceusdm"), rules_for("gate")
    iso = np.array([True, False])
    assert not np.array_equal(rule_columns(okx, iso).liquidation_convention,
                              rule_columns(binance, iso).liquidation_convention)
    assert rule_columns(gate, iso).fee_in_maintenance.tolist() == [True, True]
    assert rule_columns(binance, iso).fee_in_maintenance.tolist() == [False, False]
    # the same venue: a cross row is an estimate on Gate, an isolated one is not; the pattern decides per row
    assert rule_columns(gate, np.array([True, False])).estimate.tolist() == [False, True]
    assert rule_columns(gate, np.array([False, True])).estimate.tolist() == [True, False]
    # the same bytes mean the same pattern only at the same length
    assert rule_columns(gate, np.array([False])).estimate.tolist() == [True]
    assert rule_columns(gate, np.array([False, False])).estimate.tolist() == [True, True]


def test_a_shared_answer_cannot_be_written():
    cols = rule_columns(rules_for("okx"), np.array([True, False, True]))
    for f in fields(RuleColumns):
        with pytest.raises(ValueError):
            getattr(cols, f.name)[0] = 1
    assert _same(rule_columns(rules_for("okx"), np.array([True, False, True])),
                 _built(rules_for("okx"), np.array([True, False, True])))
