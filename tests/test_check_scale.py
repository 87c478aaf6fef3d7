"""`check` stays linear in accounts: one snapshot file is normalized once, whatever it holds.

Normalizing the whole document once per account made `check` quadratic in time and memory (issue 8:
1,000 positions over 750 accounts took 46 s and 1.9 GB).  The timing lives in
bench/bench_check_scale.py; here the call count and the sharing are asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import riskguard.connectors.source as source
from riskguard.check import check_config, check_snapshot, snapshot_specs
from riskguard.config import load_config
from riskguard.connectors.snapshot_doc import read_snapshot
from riskguard.rules.codes import Status
from scripts.make_synthetic_snapshot import synthetic_doc

ACCOUNTS, POSITIONS = 8, 4


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    path = tmp_path / "synthetic.json"
    path.write_text(json.dumps(synthetic_doc(ACCOUNTS, POSITIONS, bars=60)), encoding="utf-8")
    return path


@pytest.fixture
def normalizations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The origin of every document normalization `check` asks for."""
    calls: list[str] = []
    real = source.build_snapshot

    def counting(doc, origin):
        calls.append(origin)
        return real(doc, origin)

    monkeypatch.setattr(source, "build_snapshot", counting)
    return calls


def test_synthetic_snapshot_when_generated_then_valid_multi_venue_cross_and_isolated(synthetic: Path):
    doc = read_snapshot(synthetic)  # the schema accepts it
    assert {a.venue for a in doc.accounts} == {"binanceusdm", "bybit"}
    modes = {p["marginMode"] for a in doc.accounts for p in a.positions}
    assert modes == {"cross", "isolated"}
    result = check_snapshot(synthetic, None)
    assert len(result.accounts) == ACCOUNTS
    for verdict in result.accounts:
        assert verdict.status is not Status.UNKNOWN, verdict.findings
        assert len(verdict.positions) == POSITIONS
    assert synthetic_doc(3, 2, bars=10) == synthetic_doc(3, 2, bars=10)  # seeded: reproducible


def test_check_snapshot_when_many_accounts_then_document_normalized_once(synthetic: Path, normalizations):
    doc, specs = snapshot_specs(synthetic)
    loaded = source.load_accounts(specs, {synthetic: doc})
    assert normalizations == [str(synthetic)]
    assert len(loaded) == ACCOUNTS and all(x.error is None for x in loaded)
    assert len({id(x.snapshot) for x in loaded}) == 1  # one model in memory, shared by every account
    check_snapshot(synthetic, None)
    assert normalizations == [str(synthetic)] * 2  # once more for the second command, not once per account


def test_check_config_when_accounts_share_a_file_then_it_is_normalized_once(
    synthetic: Path, tmp_path: Path, normalizations
):
    names = [f"acct-{i:05d}" for i in range(ACCOUNTS)]
    lines = ["accounts:"]
    for n in names:
        lines += [f"  {n}:", f"    snapshot: {synthetic}", f"    snapshot_account: {n}"]
    config = tmp_path / "config.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = check_config(load_config(config), None)
    assert [v.name for v in result.accounts] == names
    assert normalizations == [str(synthetic)]



def test_collector_paused_when_command_ends_or_fails_then_collector_as_it_was():
    import gc

    from riskguard.collector import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a failed read")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
