"""Scenario files: the emulator's initial state plus a timed mark-price path.

A scenario is YAML or JSON parsed strictly (unknown keys fail) into frozen dataclasses::

    instruments: []          # empty/omitted: the venue dialect's default instruments
    marks: {BTCUSDT: 60000}  # initial marks; omitted symbols keep the dialect default
    accounts:                # empty/omitted: the dialect's default accounts
      - api_key: k
        secret: s
        balances: {USDT: 10000}
        positions: [{symbol: BTCUSDT, size: 0.5, entry: 61000, leverage: 20}]
    faults: [{kind: latency, latency_ms: 50}]
    path:                    # applied in order by POST /__sim/step, or at ``at_s`` when autoplaying
      - {at_s: 5, marks: {BTCUSDT: 58000}}
      - {at_s: 10, marks: {BTCUSDT: 52000}, faults: [{kind: rate_limit, count: 3}]}

``ScenarioPlayer`` owns the live state built from a scenario and walks its path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from pydantic import TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from riskguard.errors import InputError
from riskguard.input_files import MAX_CONFIG_BYTES, loads_json, read_text
from riskguard.sim.engine import AccountSpec, Liquidation, SimExchange
from riskguard.sim.faults import Fault, FaultBook
from riskguard.sim.margin import STRICT, Instrument
from riskguard.yaml_loader import load_yaml


@dataclass(frozen=True, config=STRICT)
class PathStep:
    """One event of the mark path: new marks and/or faults, ``at_s`` seconds after start."""

    at_s: float = 0.0
    marks: dict[str, float] | None = None
    faults: tuple[Fault, ...] = ()
    clear_faults: bool = False


@dataclass(frozen=True, config=STRICT)
class Scenario:
    instruments: tuple[Instrument, ...] = ()
    marks: dict[str, float] | None = None
    accounts: tuple[AccountSpec, ...] = ()
    faults: tuple[Fault, ...] = ()
    path: tuple[PathStep, ...] = ()

    def over(self, default: Scenario) -> Scenario:
        """This scenario with whatever it leaves out taken from ``default`` (a dialect's)."""
        instruments = self.instruments or default.instruments
        symbols = {i.symbol for i in instruments}
        marks = {s: p for s, p in {**(default.marks or {}), **(self.marks or {})}.items() if s in symbols}
        return replace(self, instruments=instruments, marks=marks, accounts=self.accounts or default.accounts)


_ADAPTER = TypeAdapter(Scenario)


def parse_scenario(data: object) -> Scenario:
    """Validate a decoded scenario document; raises ``pydantic.ValidationError`` on bad input."""
    return _ADAPTER.validate_python(data or {})


def load_scenario(path: str | Path) -> Scenario:
    """Read a ``.json`` or ``.yaml``/``.yml`` scenario file.

    Raises ``InputError`` naming file:line (YAML) or the file and field path
    (JSON) for anything wrong: unreadable, too large, malformed, or not a valid scenario.
    """
    path = Path(path)
    if path.suffix == ".json":
        text = read_text(path, MAX_CONFIG_BYTES, "scenario")
        data = loads_json(text, str(path))

        def where(loc: tuple[object, ...]) -> str:
            return f"{path} ({'.'.join(map(str, loc))})" if loc else str(path)
    else:
        loaded = load_yaml(path, what="scenario")
        data, where = loaded.data, loaded.where
    if data is not None and not isinstance(data, dict):
        raise InputError("a scenario must be a mapping (instruments, marks, accounts, faults, path)", str(path))
    try:
        return parse_scenario(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = f"unknown key {loc[-1]!r}" if err["type"] == "unexpected_keyword_argument" else err["msg"]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InputError(msg.removeprefix("Value error, ") + more, where(loc)) from None


class ScenarioPlayer:
    """Live emulator state (exchange + armed faults) built from a complete scenario, and its path cursor."""

    def __init__(self, scenario: Scenario, clock: Callable[[], int] | None = None) -> None:
        self.scenario = scenario
        kwargs = {"clock": clock} if clock else {}
        self.exchange = SimExchange(scenario.instruments, scenario.accounts, scenario.marks or {}, **kwargs)
        self.faults = FaultBook(scenario.faults)
        self.position = 0

    @property
    def remaining(self) -> tuple[PathStep, ...]:
        return self.scenario.path[self.position:]

    def step(self) -> list[Liquidation]:
        """Apply the next path event; returns the liquidations it caused. No-op at the end of the path."""
        if self.position >= len(self.scenario.path):
            return []
        event = self.scenario.path[self.position]
        self.position += 1
        if event.clear_faults:
            self.faults.clear()
        for fault in event.faults:
            self.faults.arm(fault)
        liquidations: list[Liquidation] = []
        for symbol, price in (event.marks or {}).items():
            liquidations.extend(self.exchange.set_mark(symbol, price))
        return liquidations
