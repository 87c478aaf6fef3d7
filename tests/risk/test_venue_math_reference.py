"""The venue-rules path returns, bit for bit, what it returned before its speed rewrite (see venue_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest
from venue_reference import FIXTURE, OUTPUTS, VENUES, evaluate

from riskguard.risk import solver, tiers

SAVED = np.load(FIXTURE)
INPUTS = {k: SAVED[k] for k in SAVED.files if not k.startswith("out_")}


@pytest.fixture(scope="module", params=[1, len(INPUTS["qty"]) + 1], ids=["large-batch paths", "small-batch paths"])
def now(request) -> dict[str, np.ndarray]:
    """Both ways ``solver.pick`` selects (bit masks, or ``np.where`` for a few rows) and both ways
    ``tiers.count_floors`` counts (bucket lookup, or climbing column by column for a few rows)."""
    with pytest.MonkeyPatch.context() as patch, np.errstate(all="ignore"):
        patch.setattr(solver, "_FEW", request.param)
        patch.setattr(tiers, "_BUCKETED", request.param)
        return evaluate(INPUTS)


def test_the_frozen_sample_spans_every_branch_the_rewrite_touches():
    rules = SAVED["out_liq_rule"]
    assert set(np.unique(rules)) == {0, 1, 2, 3, 4}  # every display rule and "unknown" occur
    assert (SAVED["out_fixed_tier"] >= 0).any() and (SAVED["out_fixed_tier"] < 0).any()
    assert (SAVED["out_reserve"] > 0).any() and np.isnan(SAVED["out_liq"]).any()
    assert (SAVED["out_tier"] > 0).sum() > 500  # tiers beyond the first are crossed, not just tier 0
    assert np.isnan(INPUTS["taker"]).any() and INPUTS["by_contracts"].any() and INPUTS["inverse"].any()


@pytest.mark.parametrize("name", OUTPUTS)
def test_each_output_equals_the_saved_one_bit_for_bit(now, name):
    got, want = now[name], SAVED[f"out_{name}"]
    assert got.dtype.kind == want.dtype.kind and got.shape == want.shape
    same = (got == want) | (np.isnan(got) & np.isnan(want)) if got.dtype.kind == "f" else got == want
    bad = np.flatnonzero(~same)
    assert bad.size == 0, f"{name}: {bad.size} rows differ, first row {bad[:1]}: {got[bad[:1]]} vs {want[bad[:1]]}"


ROW_ARRAYS = [k for k in INPUTS if INPUTS[k].shape == INPUTS["qty"].shape]


@pytest.mark.parametrize("venue", range(len(VENUES)))
def test_one_venues_rows_alone_equal_the_saved_ones_bit_for_bit(venue):
    """A single venue's rows (an account's, or a batch of one venue): every rule mask is all one way, so
    ``pick`` copies instead of selecting; the bits must not change."""
    rows = np.flatnonzero(INPUTS["venue"] == venue)
    alone = {k: v[rows] if k in ROW_ARRAYS else v for k, v in INPUTS.items()}
    with pytest.MonkeyPatch.context() as patch, np.errstate(all="ignore"):
        patch.setattr(solver, "_FEW", 1)
        patch.setattr(tiers, "_BUCKETED", 1)
        got = evaluate(alone)
    for name in OUTPUTS:
        have, want = got[name], SAVED[f"out_{name}"][rows]
        same = (have == want) | (np.isnan(have) & np.isnan(want)) if want.dtype.kind == "f" else have == want
        assert same.all(), f"{name}: {np.flatnonzero(~same)[:3]}"
