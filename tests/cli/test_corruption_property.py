"""Property: a corrupted snapshot never reads better than it is.

Each bundled paper account is checked alone, then again with one field of its document corrupted (removed,
negated, set to NaN, to a string or to null, or a list element duplicated).  The corrupted check must exit 3
(UNKNOWN), or leave the verdict exactly as it was, or come out worse than the uncorrupted one (a finding that
fires on nonsense is loud, not dangerous).  What it must never do is read better: a lower exit code than the
truth with a verdict that differs from it.

"The verdict" is narrow on purpose: every account and position status, every finding's code, and the numbers
the findings are judged on (liquidation price, margin ratio, buffer, maintenance margin, equity, tier and rate,
cross summaries).  Display-only figures (initial margin, the venue's own liquidation price, market signals) may
change when an optional field they are read from is absent, because the venues themselves send those fields
empty at times; they decide nothing.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskguard.rules.codes import ExitCode

PAPER = Path(__file__).parents[2] / "riskguard" / "data" / "paper_snapshot.json"
DOC = json.loads(PAPER.read_text())
ACCOUNTS = [a["name"] for a in DOC["accounts"]]

HISTORY = ("ohlcv", "funding_history", "open_interest_history", "order_books", "funding_rates")
"""Series that feed the market signals only; the check's docs say their absence never changes a verdict."""
VERDICT_NUMBERS = ("liquidation_price", "margin_ratio", "buffer_pct", "maintenance_margin", "equity", "tier", "mmr",
                   "contracts", "entry_price", "mark_price", "side", "margin_mode", "position_side", "settle")


def _alone(name: str) -> dict[str, Any]:
    """The paper document with only account ``name`` and its venue."""
    doc = copy.deepcopy(DOC)
    [account] = [a for a in doc["accounts"] if a["name"] == name]
    doc["accounts"] = [account]
    doc["venues"] = {account["venue"]: doc["venues"][account["venue"]]}
    return doc


def _paths(node: Any, path: tuple = (), history: bool = False) -> Iterator[tuple]:
    """Every place a corruption can hit, outside the market history (or, with ``history``, inside it only); of a
    long list only its first and last element, so that candles and book levels do not drown the rest."""
    in_history = len(path) >= 3 and path[0] == "venues" and path[2] in HISTORY
    if path and (in_history if history else True) and (len(path) > 3 or not history):
        yield path
    if isinstance(node, dict):
        for key, value in node.items():
            if len(path) == 2 and path[0] == "venues" and (key in HISTORY) != history:
                continue
            yield from _paths(value, (*path, key), history)
    elif isinstance(node, list):
        for i in sorted({0, len(node) - 1}) if node else ():
            yield from _paths(node[i], (*path, i), history)


def _history_paths(doc: dict[str, Any]) -> list[tuple]:
    return list(_paths(doc, history=True))


def _negate(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return not value
    if isinstance(value, int | float):
        return -value
    if isinstance(value, str):
        return value[1:] if value.startswith("-") else "-" + value
    return value


def _corrupt(doc: dict[str, Any], path: tuple, how: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if how == "remove":
        del parent[last]
    elif how == "duplicate":
        if isinstance(parent, list):
            parent.insert(last, copy.deepcopy(parent[last]))
        else:
            parent[last] = [parent[last], copy.deepcopy(parent[last])]
    else:
        parent[last] = {"negate": _negate(parent[last]), "nan": math.nan, "string": "x1_2", "null": None}[how]
    return out


def _verdict(report: dict[str, Any]) -> Any:
    def position(p: dict[str, Any]) -> tuple:
        return (p["status"], sorted(f["code"] for f in p["findings"]), [p.get(k) for k in VERDICT_NUMBERS])

    return [
        (a["status"], sorted(f["code"] for f in a["findings"]), a.get("cross"), [position(p) for p in a["positions"]])
        for a in report["accounts"]
    ]


HOW = st.sampled_from(["remove", "negate", "nan", "string", "null", "duplicate"])
SETTINGS = settings(max_examples=100, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _check(run, write, doc: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    r = run("check", "--snapshot", str(write("s.json", json.dumps(doc))), "--format", "json")
    return r.code, (r.json() if r.out.strip() else None)


_BASELINES: dict[str, tuple[int, Any]] = {}


def _baseline(run, write, name: str) -> tuple[int, Any]:
    if name not in _BASELINES:
        code, report = _check(run, write, _alone(name))
        assert code != ExitCode.UNKNOWN and report is not None, "the paper account checks cleanly"
        _BASELINES[name] = (code, _verdict(report))
    return _BASELINES[name]


@st.composite
def corruptions(draw: st.DrawFn) -> tuple[str, tuple, str]:
    name = draw(st.sampled_from(ACCOUNTS))
    path = draw(st.sampled_from(list(_paths(_alone(name)))))
    return name, path, draw(HOW)


@SETTINGS
@given(corruptions())
def test_check_when_one_field_of_a_snapshot_is_corrupted_then_unknown_or_never_better(run, write, case) -> None:
    name, path, how = case
    base_code, base_verdict = _baseline(run, write, name)
    code, report = _check(run, write, _corrupt(_alone(name), path, how))
    if code == ExitCode.UNKNOWN:
        return
    assert report is not None
    assert code >= base_code, f"{how} {path}: exit {code} reads better than the truth ({base_code})"
    if code == base_code:
        assert _verdict(report) == base_verdict, f"{how} {path}: exit {code} with a different verdict"


@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.sampled_from(ACCOUNTS).flatmap(lambda n: st.tuples(st.just(n), st.sampled_from(_history_paths(_alone(n))),
                                                              HOW)))
def test_check_when_market_history_is_corrupted_then_the_verdict_stands_or_unknown(run, write, case) -> None:
    name, path, how = case
    base_code, base_verdict = _baseline(run, write, name)
    code, report = _check(run, write, _corrupt(_alone(name), path, how))
    assert code == ExitCode.UNKNOWN or (code == base_code and report is not None and _verdict(report) == base_verdict)
