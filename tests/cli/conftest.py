from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from riskguard.cli import main
from riskguard.sim import Scenario, serve

sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.cli.live_sim import ThreadedSim


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


StartSim = Callable[[str, Scenario | None], ThreadedSim]


@pytest.fixture
def start_sim() -> Iterator[StartSim]:
    """``start_sim(venue, scenario=None)``: an emulator on a thread of its own (the CLI runs its own event loop
    with ``asyncio.run``), closed after the test."""
    started: list[ThreadedSim] = []

    def start(venue: str, scenario: Scenario | None = None) -> ThreadedSim:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name=f"sim-{venue}", daemon=True)
        thread.start()
        sim = asyncio.run_coroutine_threadsafe(serve(venue, scenario=scenario, autoplay=False), loop).result(30)
        started.append(ThreadedSim(sim, loop, thread))
        return started[-1]

    yield start
    for s in started:
        asyncio.run_coroutine_threadsafe(s.sim.close(), s.loop).result(30)
        s.loop.call_soon_threadsafe(s.loop.stop)
        s.thread.join(30)
        s.loop.close()


@pytest.fixture(autouse=True)
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The venue cache in the test's directory, never ~/.cache; the default TTL so the cache is used."""
    monkeypatch.setenv("RISKGUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RISKGUARD_CACHE_TTL_S", raising=False)
