"""An emulator on its own thread and event loop, for CLI tests: the CLI drives live reads with ``asyncio.run``."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from riskguard.sim import RunningSim
from riskguard.sim.engine import AccountSpec

NAME = "rehearsal"


@dataclass
class ThreadedSim:
    """An emulator serving from its own event loop on a daemon thread."""

    sim: RunningSim
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    @property
    def account(self) -> AccountSpec:
        return self.sim.player.scenario.accounts[0]

    def admin(self, path: str, body: dict | None = None) -> dict:
        """The venue-neutral admin API (``/__sim/...``), over HTTP so the emulator's own loop does the work."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.sim.base_url + path, data=data, method="POST" if data else "GET")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def positions(self) -> list[dict]:
        return self.admin("/__sim/state")["accounts"][self.account.api_key]["positions"]


def credentials_yaml(venue: str, account: AccountSpec, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """The config's ``credentials:`` mapping (env-var references only) and the values that must never be written."""
    if venue == "hyperliquid":
        values = {"wallet_address": account.api_key, "private_key": account.secret}
    else:
        values = {"api_key": account.api_key, "secret": account.secret}
        if venue == "okx":
            values["password"] = account.passphrase
    refs = []
    for field, value in values.items():
        var = f"RG_SIM_{field.upper()}"
        monkeypatch.setenv(var, value)
        refs.append(f'{field}: "${{{var}}}"')
    secrets = [v for v in values.values() if v]
    secrets += [v.removeprefix("0x") for v in secrets if v.startswith("0x")]
    return "{" + ", ".join(refs) + "}", secrets


def live_config(
    path: Path, venue: str, sim: ThreadedSim, monkeypatch: pytest.MonkeyPatch, name: str = NAME
) -> tuple[Path, list[str]]:
    """A config with one live account, ``name``, reading ``sim`` with its account's credentials from the environment."""
    credentials, secrets = credentials_yaml(venue, sim.account, monkeypatch)
    path.write_text(
        "version: 1\n"
        "accounts:\n"
        f"  {name}:\n"
        f"    venue: {venue}\n"
        f"    endpoint: {sim.sim.base_url}\n"
        f"    credentials: {credentials}\n"
        "    timeout_s: 20\n"
    )
    return path, secrets
