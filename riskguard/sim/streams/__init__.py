"""Websocket streams of the emulator (positions, orders, mark price) for the venues whose ccxt.pro streams it
serves, beside the REST dialects.  ``attach(app)`` wires a ``StreamHub`` into an emulator app: the venue's
websocket routes, a middleware that pushes what every request changed, and the admin endpoints

* ``GET /__sim/streams`` — open connections per channel, events pushed, connections dropped;
* ``GET/POST/DELETE /__sim/streams/faults`` — list, arm (a ``StreamFault`` or a list), clear.

``ccxt_pro_config`` is ``riskguard.sim.wiring.ccxt_config`` plus the websocket urls, for ccxt.pro clients.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from riskguard.sim.engine import AccountSpec
from riskguard.sim.streams.hub import Pushed, StreamFault, StreamFaultKind, StreamHub, Subscriber

HUB = web.AppKey("stream_hub", StreamHub)
STREAMING_VENUES = ("binanceusdm", "binancecoinm")
_FAULTS = TypeAdapter(StreamFault | list[StreamFault])

__all__ = ["HUB", "STREAMING_VENUES", "Pushed", "StreamFault", "StreamFaultKind", "StreamHub", "Subscriber",
           "attach", "ccxt_pro_config"]


def _hub_for(venue: str, app: web.Application) -> tuple[StreamHub, list[web.RouteDef]]:
    from riskguard.sim.server import PLAYER

    exchange = app[PLAYER].exchange
    if venue in ("binanceusdm", "binancecoinm"):
        from riskguard.sim.streams import binance

        hub = StreamHub(exchange, binance.BinanceRenderer())
        return hub, binance.routes(hub, "fapi" if venue == "binanceusdm" else "dapi")
    module: Any = importlib.import_module("riskguard.sim.streams.bybit")
    hub = StreamHub(exchange, module.BybitRenderer())
    return hub, module.routes(hub)


@web.middleware
async def _publish_after(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    if not isinstance(response, web.WebSocketResponse):
        await request.app[HUB].publish()
    return response


async def _status(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    return web.json_response({
        "connections": {c: sum(1 for s in hub.subscribers if s.channel == c) for c in ("public", "private")},
        "pushed": len(hub.pushed), "dropped": hub.dropped,
    })


async def _faults(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    if request.method == "DELETE":
        hub.clear()
    elif request.method == "POST":
        try:
            parsed = _FAULTS.validate_python(await request.json())
        except (ValidationError, json.JSONDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        for fault in parsed if isinstance(parsed, list) else [parsed]:
            await hub.arm(fault)
    return web.json_response({"faults": [_FAULTS.dump_python(f, mode="json") for f in hub.faults]})


def attach(app: web.Application, venue: str) -> StreamHub | None:
    """Serve ``venue``'s streams on ``app`` (None for a venue without emulated streams: it is polled by REST)."""
    if venue not in STREAMING_VENUES:
        return None
    hub, routes = _hub_for(venue, app)
    app[HUB] = hub
    app.middlewares.append(_publish_after)
    app.add_routes([*routes, web.get("/__sim/streams", _status), web.get("/__sim/streams/faults", _faults),
                    web.post("/__sim/streams/faults", _faults), web.delete("/__sim/streams/faults", _faults)])
    return hub


def ccxt_pro_config(venue: str, base_url: str, account: AccountSpec | None = None) -> dict[str, Any]:
    """A ccxt.pro constructor config for the emulator: REST as ``ccxt_config`` plus the websocket urls."""
    from riskguard.sim.wiring import ccxt_config

    config = ccxt_config(venue, base_url, account)
    ws_base = "ws" + base_url.rstrip("/").removeprefix("http")
    if venue not in STREAMING_VENUES:
        return config
    module = importlib.import_module(f"riskguard.sim.streams.{'bybit' if venue == 'bybit' else 'binance'}")
    extra = module.ws_urls(ws_base)
    config["urls"] = {**config["urls"], "api": {**config["urls"]["api"], **extra["api"]}}
    return config
