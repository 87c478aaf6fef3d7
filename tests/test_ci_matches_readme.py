"""`.ci/run` runs exactly the README's test command, so what CI proves is what a new user runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_ci_runs_the_readme_test_command_when_both_are_read_then_they_are_the_same_line() -> None:
    blocks = re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    install_and_check, tests = blocks[0].strip(), blocks[1].strip()
    assert install_and_check.startswith("pip install . && riskguard check --config config.example.yaml")
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci = [line for line in run.splitlines() if line.startswith("python3")]
    assert ci == [tests]
    assert "ruff check ." in tests and "mypy riskguard" in tests and tests.endswith("pytest")
