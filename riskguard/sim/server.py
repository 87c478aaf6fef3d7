"""HTTP front of the emulator: venue dialect routes, fault middleware and ``/__sim/`` admin API.

Admin endpoints are venue-neutral and never faulted:

* ``GET  /__sim/state``  — ``SimExchange.snapshot()`` plus armed faults and the path cursor.
* ``POST /__sim/mark``   — ``{"symbol": "BTCUSDT", "price": 58000}`` or ``{"marks": {...}}``;
  returns the liquidations it caused.
* ``POST /__sim/step``   — apply the next scenario path event; returns liquidations.
* ``GET/POST/DELETE /__sim/faults`` — list, arm (one ``Fault`` object or a list), clear.
* ``GET/DELETE /__sim/requests`` — the venue requests received (monotonic ``at_s``, method, path, and
  ``answered_s`` once answered), oldest first; DELETE returns them and clears the log.  Shows what a client
  sent and which requests waited for an answer before they were sent (``request_rounds``).

The server binds loopback only: it holds API secrets in plain text and has no business being
reachable from anywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from riskguard.errors import InputError
from riskguard.sim.engine import Liquidation, OrderRejected
from riskguard.sim.faults import DATA_FAULTS, Fault, FaultKind
from riskguard.sim.scenario import Scenario, ScenarioPlayer, load_scenario
from riskguard.sim.venues import Dialect, get_dialect

PLAYER = web.AppKey("player", ScenarioPlayer)
DIALECT = web.AppKey("dialect", Dialect)
REQUESTS = web.AppKey("requests", deque)
_REQUEST_LOG_SIZE = 10_000
_REQUEST_FAULTS = web.RequestKey("data_faults", dict)
_FAULTS = TypeAdapter(Fault | list[Fault])

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_faults(request: web.Request) -> dict[FaultKind, Fault]:
    """Data faults (empty liquidation price, stale timestamps) that apply to this request."""
    return request.get(_REQUEST_FAULTS, {})


@web.middleware
async def _fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/__sim/"):
        return await handler(request)
    received = Received(time.monotonic(), request.method, request.path)
    request.app[REQUESTS].append(received)
    try:
        return await _answer(request, handler)
    finally:
        received.answered_s = time.monotonic()


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    faults = request.app[PLAYER].faults.take(request.path)
    request[_REQUEST_FAULTS] = {f.kind: f for f in faults if f.kind in DATA_FAULTS}
    for fault in faults:
        if fault.kind is FaultKind.HOLD:
            await request.app[_HOLDS].wait(last=fault.count == 1, timeout_s=fault.hang_s)
        elif fault.kind is FaultKind.LATENCY:
            await asyncio.sleep(fault.latency_ms / 1000)
        elif fault.kind is FaultKind.TIMEOUT:
            await asyncio.sleep(fault.hang_s)
        elif fault.kind in (FaultKind.RATE_LIMIT, FaultKind.BANNED, FaultKind.SERVER_ERROR):
            return request.app[DIALECT].fault_response(fault)
        elif fault.kind is FaultKind.ECHO_REQUEST:
            return await _echo(request, fault)
    response = await handler(request)
    lost = next((f for f in faults if f.kind is FaultKind.LOST_RESPONSE), None)
    if lost is not None:
        await asyncio.sleep(lost.hang_s)  # the request took effect; the client gives up before this answer
    if any(f.kind is FaultKind.MALFORMED_JSON for f in faults) and isinstance(response, web.Response):
        broken = (response.text or "{}")[: max(len(response.text or "") // 2, 1)] + '{"'
        return web.Response(status=200, text=broken, content_type="application/json")
    for fault in faults:
        if fault.kind is FaultKind.WRONG_SHAPE and isinstance(response, web.Response):
            response = _reshaped(response, fault)
    return response


def _reshaped(response: web.Response, fault: Fault) -> web.Response:
    """``response`` with ``fault.value`` at ``fault.pointer``, or unchanged when the answer has no such key."""
    body = json.loads(response.text or "null")
    if not fault.pointer:
        return web.json_response(fault.value)
    *parents, last = fault.pointer.split(".")
    node = body
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or last not in node:
        return response
    node[last] = fault.value
    return web.json_response(body)


async def _echo(request: web.Request, fault: Fault) -> web.Response:
    """The request, verbatim, in an error body (see ``FaultKind.ECHO_REQUEST``)."""
    echo = {"url": str(request.rel_url), "headers": dict(request.headers), "body": await request.text()}
    body = {"code": -1, "retCode": 10001, "status": "err", "msg": "request rejected", "request": echo}
    return web.json_response(body, status=fault.status)


class _Holds:
    """Where ``hold`` faults keep their requests until the last of them arrives."""

    def __init__(self) -> None:
        self._release = asyncio.Event()

    async def wait(self, last: bool, timeout_s: float) -> None:
        if last:
            self._release.set()
            self._release = asyncio.Event()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), timeout_s)


_HOLDS = web.AppKey("holds", _Holds)


@dataclass(slots=True)
class Received:
    """One venue request as it arrived; times are system-wide monotonic, comparable with a client's clock.

    ``answered_s`` is when the server let go of the answer (``None`` while it is being answered).
    """

    at_s: float
    method: str
    path: str
    answered_s: float | None = None


def request_rounds(requests: Iterable[Received]) -> int:
    """How many answers a client waited for, one after another: the longest chain of requests each sent after
    the one before it was answered.  ``1`` means everything was asked side by side.

    Arrival order is not enough on a loaded machine, where requests sent together can arrive far apart; an
    answer that had not left the server cannot have been waited for.  Hold the answers (``FaultKind.HOLD``) so
    that requests sent together are all in before any is answered.
    """
    depth: list[tuple[float, int]] = []  # (answered_s, rounds up to and including that request)
    rounds = 0
    for r in sorted(requests, key=lambda r: r.at_s):
        mine = 1 + max((d for answered, d in depth if answered <= r.at_s), default=0)
        rounds = max(rounds, mine)
        depth.append((r.answered_s if r.answered_s is not None else float("inf"), mine))
    return rounds


async def _requests(request: web.Request) -> web.Response:
    log = request.app[REQUESTS]
    body = {"requests": [asdict(r) for r in log]}
    if request.method == "DELETE":
        log.clear()
    return web.json_response(body)


def _liquidations_view(events: list[Liquidation]) -> list[dict]:
    return [{"api_key": e.api_key, "symbol": e.symbol, "leg": e.leg, "size": e.size, "price": e.price,
             "time_ms": e.time_ms} for e in events]


async def _state(request: web.Request) -> web.Response:
    player = request.app[PLAYER]
    state = player.exchange.snapshot()
    state["faults"] = [_FAULTS.dump_python(f, mode="json") for f in player.faults.armed]
    state["path_position"] = player.position
    state["path_remaining"] = len(player.remaining)
    return web.json_response(state)


async def _mark(request: web.Request) -> web.Response:
    body = await request.json()
    marks = body.get("marks") or {body["symbol"]: body["price"]}
    events: list[Liquidation] = []
    try:
        for symbol, price in marks.items():
            events.extend(request.app[PLAYER].exchange.set_mark(symbol, float(price)))
    except OrderRejected as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"liquidations": _liquidations_view(events)})


async def _step(request: web.Request) -> web.Response:
    player = request.app[PLAYER]
    events = player.step()
    return web.json_response({"liquidations": _liquidations_view(events), "path_position": player.position,
                              "path_remaining": len(player.remaining)})


async def _faults(request: web.Request) -> web.Response:
    book = request.app[PLAYER].faults
    if request.method == "DELETE":
        book.clear()
    elif request.method == "POST":
        try:
            parsed = _FAULTS.validate_python(await request.json())
        except (ValidationError, json.JSONDecodeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        for fault in parsed if isinstance(parsed, list) else [parsed]:
            book.arm(fault)
    return web.json_response({"faults": [_FAULTS.dump_python(f, mode="json") for f in book.armed]})


def build_app(venue: str, scenario: Scenario | None = None, clock: Callable[[], int] | None = None
              ) -> web.Application:
    """The emulator for ``venue``; ``scenario`` fills in over the dialect's default scenario.

    :param clock: epoch-milliseconds source for the exchange (tests pin it; default wall time).
    """
    dialect = get_dialect(venue)
    player = ScenarioPlayer((scenario or Scenario()).over(dialect.default_scenario()), clock)
    app = web.Application(middlewares=[_fault_middleware])
    app[PLAYER] = player
    app[DIALECT] = dialect
    app[REQUESTS] = deque(maxlen=_REQUEST_LOG_SIZE)
    app[_HOLDS] = _Holds()
    app.add_routes([
        web.get("/__sim/state", _state),
        web.post("/__sim/mark", _mark),
        web.post("/__sim/step", _step),
        web.get("/__sim/faults", _faults),
        web.post("/__sim/faults", _faults),
        web.delete("/__sim/faults", _faults),
        web.get("/__sim/requests", _requests),
        web.delete("/__sim/requests", _requests),
    ])
    app.add_routes(dialect.routes(player))
    from riskguard.sim.streams import attach  # websocket streams where the venue has them

    attach(app, venue)
    return app


@dataclass(frozen=True)
class RunningSim:
    """A started emulator: where it listens and its live state."""

    base_url: str
    app: web.Application
    runner: web.AppRunner

    @property
    def player(self) -> ScenarioPlayer:
        return self.app[PLAYER]

    @property
    def requests(self) -> deque[Received]:
        """The venue requests received so far (``clear()`` it to start counting afresh)."""
        return self.app[REQUESTS]

    async def close(self) -> None:
        await self.runner.cleanup()


async def _autoplay(app: web.Application) -> None:
    """Apply path events at their ``at_s`` offsets from start (unless stepped past already)."""
    from riskguard.sim.streams import HUB

    player = app[PLAYER]
    loop = asyncio.get_running_loop()
    started = loop.time()
    while player.remaining:
        await asyncio.sleep(max(player.remaining[0].at_s - (loop.time() - started), 0.0))
        player.step()
        if HUB in app:
            await app[HUB].publish()


async def _autoplay_context(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_autoplay(app))
    yield
    task.cancel()


async def serve(venue: str, host: str = "127.0.0.1", port: int = 0, scenario: Scenario | None = None,
                autoplay: bool = False, clock: Callable[[], int] | None = None) -> RunningSim:
    """Start the emulator on loopback; ``port=0`` picks a free port (see ``RunningSim.base_url``)."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the emulator binds loopback only, not {host}")
    app = build_app(venue, scenario, clock)
    if autoplay:
        app.cleanup_ctx.append(_autoplay_context)
    # close() gives requests still in flight (a hanging TIMEOUT fault) 10 ms, then cancels them, instead of
    # waiting up to aiohttp's 60 s: nobody is left to read their answers.  (0 would mean "no limit" to aiohttp.)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.01)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    return RunningSim(f"http://{host}:{bound_port}", app, runner)


def run(venue: str, port: int = 0, scenario_path: str | Path | None = None, host: str = "127.0.0.1") -> None:
    """Blocking entry point for ``riskguard sim``: serve until interrupted, playing the path in real time.

    Bad input (port, venue, scenario file, a port already taken) is an ``InputError`` saying which.
    """
    if not 0 <= port <= 65535:
        raise InputError(f"--port must be between 0 and 65535 (0 picks a free port), got {port}")
    try:
        get_dialect(venue)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    scenario = load_scenario(scenario_path) if scenario_path else None

    async def main() -> None:
        sim = await serve(venue, host, port, scenario, autoplay=True)
        print(f"riskguard sim: {venue} emulator at {sim.base_url} (Ctrl-C to stop)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await sim.close()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except (ValueError, OrderRejected) as exc:  # raised while building the exchange, before serving
        where = str(scenario_path) if scenario_path else None
        raise InputError(f"the scenario is refused: {exc}", where) from None
