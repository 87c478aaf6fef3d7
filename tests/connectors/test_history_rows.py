"""Market history rows (open interest, funding, long/short ratio, taker flow): numbers read strictly, each error
naming its row and field."""

from __future__ import annotations

import copy
import json

import pytest

from riskguard.config import bundled_snapshot
from riskguard.connectors.normalize import build_snapshot
from riskguard.connectors.snapshot_doc import parse_snapshot
from riskguard.errors import SnapshotError

BTC = "BTC/USDT:USDT"
PAPER = json.loads(bundled_snapshot("paper").read_text())


def _series(edit):
    doc = copy.deepcopy(PAPER)
    edit(doc["venues"]["binanceusdm"])
    snap = build_snapshot(parse_snapshot(doc, "snap.json", now_ms=doc["taken_at"]), "snap.json")
    return snap.venues["binanceusdm"].series[BTC]


def _rows(vd, kind, rows):
    vd[kind] = {**vd.get(kind, {}), BTC: rows}


def test_history_rows_when_plain_numbers_then_read_as_floats_and_rows_without_the_figure_left_out():
    def edit(vd):
        _rows(vd, "open_interest_history", [
            {"timestamp": 1_000, "openInterestAmount": 5, "openInterestValue": 7.5},
            {"timestamp": 2_000, "openInterestAmount": "", "openInterestValue": "8.25"},
            {"timestamp": 3_000.0, "openInterestAmount": 6.5},
        ])
        _rows(vd, "long_short_ratio_history", [{"timestamp": 1_000, "longShortRatio": 1.25}])
        _rows(vd, "taker_volume", [{"timestamp": 1_000, "buyVolume": 0, "sellVolume": "3"}])

    series = _series(edit)
    assert series.open_interest == ((1000.0, 5.0), (3000.0, 6.5))
    assert series.open_interest_value == ((1000.0, 7.5), (2000.0, 8.25))
    assert series.long_short_ratio == ((1000.0, 1.25),)
    assert series.taker_volume == ((1000.0, 0.0, 3.0),)
    assert all(type(x) is float for row in series.open_interest + series.taker_volume for x in row)


@pytest.mark.parametrize(
    ("kind", "rows", "message"),
    [
        ("funding_history", [{"timestamp": 1, "fundingRate": 0.1}, {"timestamp": 2, "fundingRate": "1_0"}],
         "funding_history['BTC/USDT:USDT'][1].fundingRate: expected a number, got '1_0'"),
        ("funding_history", [{"timestamp": True, "fundingRate": 0.1}],
         "funding_history['BTC/USDT:USDT'][0].timestamp: expected a number, got True"),
        ("open_interest_history", [{"timestamp": 1, "openInterestAmount": 10 ** 400}],
         "open_interest_history['BTC/USDT:USDT'][0].openInterestAmount: expected a finite number"),
        ("long_short_ratio_history", [{"timestamp": 1, "longShortRatio": 0}],
         "long_short_ratio_history['BTC/USDT:USDT'][0].longShortRatio: must be > 0, got 0.0"),
        ("taker_volume", [{"timestamp": 1, "buyVolume": 1, "sellVolume": -2}],
         "taker_volume['BTC/USDT:USDT'][0].sellVolume: must be >= 0, got -2.0"),
    ],
)
def test_history_rows_when_a_value_is_bad_then_the_error_names_its_row(kind, rows, message):
    with pytest.raises(SnapshotError) as exc:
        _series(lambda vd: _rows(vd, kind, rows))
    assert message in str(exc.value)

