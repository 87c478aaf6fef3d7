"""The `riskguard` executable's fast path: compact JSON from pydantic-core, and an exit that leaves the
report's objects to the operating system (riskguard.cli.console).  What must not change: every byte of
output reaches the reader, the exit code is the check's, and text outside ASCII is escaped."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from riskguard.check import check_snapshot
from riskguard.cli import _compact_json
from riskguard.report.check_json import check_document
from scripts.make_synthetic_snapshot import synthetic_doc

RISKGUARD = [sys.executable, "-m", "riskguard.cli"]


def _snapshot(tmp_path: Path, rename: dict[str, str] | None = None) -> Path:
    doc = synthetic_doc(12, 4, bars=60)
    for account in doc["accounts"]:
        account["name"] = (rename or {}).get(account["name"], account["name"])
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _run(path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Buffered stdout, as on a user's machine (PYTHONUNBUFFERED would hide a missing flush)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([*RISKGUARD, "check", "--snapshot", str(path), *args], capture_output=True,
                          timeout=120, env={**env, "COLUMNS": "200"})


def test_piped_json_when_fast_exit_then_whole_document_and_the_checks_exit_code(tmp_path: Path):
    path = _snapshot(tmp_path)
    expected = check_snapshot(path, None)
    proc = _run(path, "--format", "json")
    assert proc.returncode == expected.status.exit_code == 2, proc.stderr
    assert proc.stdout.endswith(b"}\n") and proc.stdout.count(b"\n") == 1  # one compact line, all of it
    assert json.loads(proc.stdout) == check_document(expected)
    assert proc.stderr == b""


def test_piped_table_when_fast_exit_then_every_account_row_reaches_the_reader(tmp_path: Path):
    path = _snapshot(tmp_path)
    names = [a.name for a in check_snapshot(path, None).accounts]
    proc = _run(path)
    assert proc.returncode == 2, proc.stderr
    text = proc.stdout.decode()
    assert all(name in text for name in names) and len(names) == 12
    assert text.endswith("\n")


def test_piped_json_when_name_outside_ascii_then_escaped_as_before(tmp_path: Path):
    first = synthetic_doc(12, 4, bars=60)["accounts"][0]["name"]
    path = _snapshot(tmp_path, {first: "账户-α"})
    proc = _run(path, "--format", "json")
    assert proc.stdout.isascii()
    assert b"\\u8d26\\u6237-\\u03b1" in proc.stdout
    assert json.loads(proc.stdout)["accounts"][0]["name"] == "账户-α"


finite = st.floats(allow_nan=False, allow_infinity=False)
values = st.recursive(
    st.none() | st.booleans() | finite | st.integers(-(2**70), 2**70) | st.text(st.characters(max_codepoint=127)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_compact_json_when_any_report_value_then_reads_back_to_the_same_value(value):
    """Shortest round-trip numbers: every float reads back to the same bits, -0.0 included."""
    text = _compact_json(value)
    assert "\n" not in text and text.isascii()
    back = json.loads(text)
    assert back == value
    if isinstance(value, float):
        assert math.copysign(1.0, back) == math.copysign(1.0, value)


def test_compact_json_when_spelling_differs_then_value_is_the_same():
    assert _compact_json({"p": 7.784842838790758e-08, "big": 1e16, "tuple": (1, 2)}) == (
        '{"p":7.784842838790758e-8,"big":1e+16,"tuple":[1,2]}'
    )
