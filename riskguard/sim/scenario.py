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

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import yaml
from pydantic import TypeAdapter
from pydantic.dataclasses import dataclass

from riskguard.sim.engine import AccountSpec, Liquidation, SimExchange
from riskguard.sim.faults import Fault, FaultBook
from riskguard.sim.margin import STRICT, Instrument


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
    """Read a ``.json`` or ``.yaml``/``.yml`` scenario file."""
    path = Path(path)
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return parse_scenario(data)


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
