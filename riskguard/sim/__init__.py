"""Local exchange emulator (``riskguard sim``): real venue REST dialects over loopback HTTP.

Proves riskguard's live connector against the *real* ccxt code path (signing, request building,
response parsing) without a real venue, and lets users rehearse policies on a scripted mark path.

Layers: ``margin`` (instrument specs, independent numeric liquidation solver) → ``engine``
(venue-neutral exchange state) → ``market`` (synthetic public data) → ``scenario`` (files and path
player) → ``faults`` → ``venues`` (per-venue dialects) → ``server`` (aiohttp app, admin API).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from riskguard.sim.scenario import Scenario, ScenarioPlayer, load_scenario, parse_scenario
    from riskguard.sim.server import RunningSim, build_app, run, serve
    from riskguard.sim.venues import venues
    from riskguard.sim.wiring import ccxt_config, ccxt_urls

_HOME = {
    "Scenario": "scenario", "ScenarioPlayer": "scenario", "load_scenario": "scenario", "parse_scenario": "scenario",
    "RunningSim": "server", "build_app": "server", "run": "server", "serve": "server",
    "ccxt_config": "wiring", "ccxt_urls": "wiring", "venues": "venues",
}
"""Imported on first use, so that importing one part (the ccxt ``wiring``, say) does not start the rest."""


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = [
    "RunningSim",
    "Scenario",
    "ScenarioPlayer",
    "build_app",
    "ccxt_config",
    "ccxt_urls",
    "load_scenario",
    "parse_scenario",
    "run",
    "serve",
    "venues",
]
