"""Every command and the Python example of docs/policies.md run, with the exit codes the page states."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGE = (ROOT / "docs" / "policies.md").read_text()
COMMANDS = re.findall(r"^(riskguard .+?)\s+# exit (\d)$", PAGE, re.M)  # the bash blocks, one command a line
PYTHON = re.findall(r"```python\n(.*?)```", PAGE, re.S)


def test_page_has_examples():
    assert len(COMMANDS) >= 8 and len(PYTHON) == 1


@pytest.mark.parametrize(("command", "code"), COMMANDS)
def test_documented_command_exits_as_stated(run, monkeypatch, command, code):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    assert run(*args).code == int(code)


def test_python_example_runs(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exec(compile(PYTHON[0], "docs/policies.md", "exec"), {})
    printed = capsys.readouterr().out.split()
    assert float(printed[0]) > 0 and float(printed[1]) > 20  # the LP once filled, its buffer in %
