from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from riskguard.cli import main

sys.path.insert(0, str(Path(__file__).parents[1]))


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def run(capsys, monkeypatch) -> Callable[..., Run]:
    """Invoke the real console entry point in-process and capture its exit code and streams."""

    def _run(*args: str) -> Run:
        monkeypatch.setattr(sys, "argv", ["riskguard", *args])
        with pytest.raises(SystemExit) as exc:
            main()
        captured = capsys.readouterr()
        return Run(exc.value.code, captured.out, captured.err)

    return _run


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, object], Path]:
    def _write(name: str, content: object) -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return path

    return _write
