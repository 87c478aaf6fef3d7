"""Live-connector fixtures: an emulator per venue with distinctive credentials, and the account spec pointing at it.

Credentials are unusual strings so a test can grep every output for them; fees are zero
so the emulator's fee-free liquidation solver and riskguard's venue rules (which add
Bybit's closing-fee reserve and OKX's fee term) compute the same price.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from riskguard.config import AccountConfig, AccountSpec, Credentials, Policy
from riskguard.sim import RunningSim, Scenario, serve
from riskguard.sim.venues import get_dialect
from riskguard.sim.venues.hyperliquid import wallet_of

VENUES = ("binanceusdm", "binancecoinm", "bybit", "okx", "hyperliquid")
API_KEY = "RGkey-7Zq3xW9vLp2Ns8Kd4Tf6Hj"
SECRET = "RGsecret-Mb5Yc1Ue0Rw7Qa3Xg9Zp"
PASSPHRASE = "RGpass-Vn4Ls8Dk2Jh"
PRIVATE_KEY = "0x" + "5e" * 31 + "a7"
WALLET = wallet_of(PRIVATE_KEY)
SECRETS = (API_KEY, SECRET, PASSPHRASE, PRIVATE_KEY, PRIVATE_KEY.removeprefix("0x"), WALLET)

StartSim = Callable[..., Awaitable[RunningSim]]


def scenario_for(venue: str, **account_changes: Any) -> Scenario:
    """The dialect's default scenario with its first account holding the test credentials and no fees."""
    default = get_dialect(venue).default_scenario()
    first = default.accounts[0]
    key, secret = (WALLET, PRIVATE_KEY) if venue == "hyperliquid" else (API_KEY, SECRET)
    account = dataclasses.replace(
        first, api_key=key, secret=secret, passphrase=PASSPHRASE, maker_fee=0.0, taker_fee=0.0, **account_changes
    )
    return dataclasses.replace(default, accounts=(account,))


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tier cache in the test's own directory; credentials in environment variables."""
    monkeypatch.setenv("RISKGUARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RISKGUARD_CACHE_TTL_S", raising=False)
    for var, value in (("RG_KEY", API_KEY), ("RG_SECRET", SECRET), ("RG_PASS", PASSPHRASE),
                       ("RG_WALLET", WALLET), ("RG_PRIVATE", PRIVATE_KEY)):
        monkeypatch.setenv(var, value)


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """``await start_sim(venue, scenario=None)``: a running emulator (test credentials by default), closed after."""
    running: list[RunningSim] = []

    async def start(venue: str, scenario: Scenario | None = None) -> RunningSim:
        sim = await serve(venue, scenario=scenario or scenario_for(venue))
        running.append(sim)
        return sim

    yield start
    for sim in running:
        await sim.close()


def live_spec(venue: str, sim: RunningSim | None, **config: Any) -> AccountSpec:
    """A live account reading ``sim`` with the test credentials from the environment."""
    if venue == "hyperliquid":
        credentials = Credentials(wallet_address="${RG_WALLET}", private_key="${RG_PRIVATE}")
    else:
        credentials = Credentials(api_key="${RG_KEY}", secret="${RG_SECRET}",
                                  password="${RG_PASS}" if venue == "okx" else None)
    settings = {"venue": venue, "credentials": credentials, "timeout_s": 3.0, **config}
    if sim is not None:
        settings["endpoint"] = sim.base_url
    return AccountSpec(name="live", config=AccountConfig(**settings), policy=Policy(), snapshot_path=None,
                       where="test.yaml:1 (accounts.live)")
