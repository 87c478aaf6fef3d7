"""Local exchange emulator (``riskguard sim``): real venue REST dialects over loopback HTTP.

Proves riskguard's live connector against the *real* ccxt code path (signing, request building,
response parsing) without a real venue, and lets users rehearse policies on a scripted mark path.

Layers: ``margin`` (instrument specs, independent numeric liquidation solver) → ``engine``
(venue-neutral exchange state) → ``market`` (synthetic public data) → ``scenario`` (files and path
player) → ``faults`` → ``venues`` (per-venue dialects) → ``server`` (aiohttp app, admin API).
"""

from riskguard.sim.scenario import Scenario, ScenarioPlayer, load_scenario, parse_scenario
from riskguard.sim.server import RunningSim, build_app, run, serve
from riskguard.sim.venues import ccxt_config, ccxt_urls, venues

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
