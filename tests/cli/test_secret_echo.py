"""A venue error that echoes the whole request (URL, headers, body) leaks no credential and no signature, on any
venue: not on stdout, stderr, the debug log, the JSON document or a recorded snapshot.

Credentials hold quotes, backslashes, ``%``, ``+``, ``/`` and spaces, so the echo carries them JSON-escaped and
percent-encoded as well as verbatim. The emulator's echoes are recorded, and the test first checks that they did
carry the credentials and signatures: a leak check over an echo that held nothing would prove nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest
from aiohttp import web

import riskguard.sim.server as sim_server
from riskguard.connectors.redact import remember_secret
from riskguard.rules.codes import ExitCode
from riskguard.sim.venues import get_dialect
from riskguard.sim.venues.hyperliquid import wallet_of
from tests.cli.live_sim import NAME, live_config

API_KEY = 'RGk"ey\\Zq3 x+W9%2F/Lp'
SECRET = 'RGs"ec\\ret Mb5+Yc%41/Ue'
PASSPHRASE = 'RGp"as\\s Vn4+%Ls/8'
PRIVATE_KEY = "0x" + "c3" * 31 + "d9"

PRIVATE_PATH = {
    "binanceusdm": "/fapi/*/positionRisk",
    "binancecoinm": "/dapi/*/positionRisk",
    "bybit": "/v5/position/list",
    "okx": "/api/v5/account/positions",
    "hyperliquid": "/info",
}
SIGNATURE_FIELDS = ("signature", "X-BAPI-SIGN", "OK-ACCESS-SIGN")


def _scenario(venue: str):
    default = get_dialect(venue).default_scenario()
    if venue == "hyperliquid":
        account = dataclasses.replace(default.accounts[0], api_key=wallet_of(PRIVATE_KEY), secret=PRIVATE_KEY)
    else:
        account = dataclasses.replace(default.accounts[0], api_key=API_KEY, secret=SECRET, passphrase=PASSPHRASE)
    return dataclasses.replace(default, accounts=(account,))


def _spellings(value: str) -> set[str]:
    """How a value can appear in an echoed request: verbatim, any case, JSON-escaped (once or twice),
    percent- and form-encoded."""
    json_once = json.dumps(value)[1:-1]
    forms = {value, value.lower(), value.upper(), json_once, json.dumps(json_once)[1:-1]}
    return forms | {quote(value, safe=""), quote(value), quote_plus(value)}


def _leaks(values: list[str], text: str) -> list[str]:
    return [f"{v!r} as {form!r}" for v in values for form in _spellings(v) if form in text]


@pytest.fixture
def echoes(monkeypatch) -> list[dict]:
    """Every request the emulator echoed back, decoded."""
    seen: list[dict] = []
    original = sim_server._echo

    async def recording(request, fault) -> web.Response:
        response = await original(request, fault)
        seen.append(json.loads(response.text or "{}")["request"])
        return response

    monkeypatch.setattr(sim_server, "_echo", recording)
    return seen


def _signatures(echo: dict) -> list[str]:
    query = parse_qs(urlsplit(echo["url"]).query)
    found = [v for name in SIGNATURE_FIELDS for v in [*query.get(name, []), echo["headers"].get(name, "")] if v]
    if echo["body"].startswith("{"):
        signature = json.loads(echo["body"]).get("signature")
        if isinstance(signature, dict):
            found += [signature["r"], signature["s"]]
    return found


@pytest.mark.parametrize("venue", list(PRIVATE_PATH))
def test_echoed_request_leaks_no_secret_anywhere(run, start_sim, venue, tmp_path: Path, monkeypatch, caplog, echoes):
    caplog.set_level(logging.DEBUG)
    sim = start_sim(venue, _scenario(venue))
    config, secrets = live_config(tmp_path / "c.yaml", venue, sim, monkeypatch)
    if venue != "hyperliquid":
        assert set(secrets) >= {API_KEY, SECRET}

    recorded = tmp_path / "rec.json"  # also warms the venue cache, so the private reads go out early
    assert run("snapshot", "--config", str(config), "--account", NAME, "-o", str(recorded)).code == 0

    sim.admin("/__sim/faults", {"kind": "echo_request", "status": 400, "path": PRIVATE_PATH[venue]})
    table = run("check", "--config", str(config))
    document = run("check", "--config", str(config), "--format", "json")

    assert table.code == document.code == ExitCode.UNKNOWN
    assert document.json()["status"] == "unknown"
    assert "request rejected" in table.out + table.err, table.out + table.err
    echoed = json.dumps(echoes)
    assert echoes and _leaks(secrets[:1], echoed), "the emulator echoed no credential: nothing was tested"
    signatures = [s for echo in echoes for s in _signatures(echo)]
    if venue != "hyperliquid":  # Hyperliquid signs only orders; its reads carry the wallet address alone
        assert signatures, "the echoed requests carried no signature"
    outputs = {
        "stdout": table.out + document.out,
        "stderr": table.err + document.err,
        "log": caplog.text,
        "snapshot": recorded.read_text(),
    }
    for where, text in outputs.items():
        assert _leaks(secrets + signatures, text) == [], where


def test_last_resort_error_and_debug_traceback_are_redacted(run, monkeypatch):
    """An exception nobody expected, carrying a resolved credential (say, a venue body in a TypeError)."""
    secret = 'RGlast"resort\\Key 42'
    remember_secret(secret)

    def boom(*_args, **_kwargs):
        raise TypeError(f"cannot parse {json.dumps({'echo': secret})} or {quote(secret)}")

    monkeypatch.setattr("riskguard.check.check_config", boom)
    config = str(Path(__file__).parents[2] / "config.example.yaml")
    plain = run("check", "--config", config)
    monkeypatch.setenv("RISKGUARD_DEBUG", "1")
    debug = run("check", "--config", config)
    assert plain.code == debug.code == ExitCode.UNKNOWN
    assert "unexpected TypeError: cannot parse" in plain.err and "Traceback" in debug.err
    assert _leaks([secret], plain.out + plain.err + debug.out + debug.err) == []


def test_every_log_record_is_redacted_once_the_cli_ran(run, caplog):
    secret = "RGlog-Secret/with+plus%"
    remember_secret(secret)
    run("--version")  # main() installs the record factory
    caplog.set_level(logging.INFO)
    logging.getLogger("aiohttp.client").warning("sent %s and %s", quote_plus(secret), {"k": secret})
    assert "sent" in caplog.text and _leaks([secret], caplog.text) == []
