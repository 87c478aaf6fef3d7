"""The venue-rules path returns, bit for bit, what it returned before its speed rewrite (see venue_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest
from venue_reference import FIXTURE, OUTPUTS, evaluate

from riskguard.risk import solver

SAVED = np.load(FIXTURE)
INPUTS = {k: SAVED[k] for k in SAVED.files if not k.startswith("out_")}


@pytest.fixture(scope="module", params=[0, len(INPUTS["qty"]) + 1], ids=["bit selects", "np.where below _FEW"])
def now(request) -> dict[str, np.ndarray]:
    """Both ways ``solver.pick`` selects: bit masks (large batches) and ``np.where`` (a few rows)."""
    with pytest.MonkeyPatch.context() as patch, np.errstate(all="ignore"):
        patch.setattr(solver, "_FEW", request.param)
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
