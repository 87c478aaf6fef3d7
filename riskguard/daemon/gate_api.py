"""The pre-trade gate over local HTTP, answered from the daemon's live state (docs/daemon.md, "Gate API").

A bot asks before each order and gets the same document as ``riskguard check --order … --format json`` in
about a millisecond, instead of a process start and a venue read.  The answer is only as good as the state:
an account whose last evaluation is UNKNOWN (stale data, a failed read, a stream down past ``stale_s``) gets
exit code 3, never a pass.

* ``POST /v1/gate``  ``{"order": "ACCOUNT SYMBOL buy|sell SIZE [market|limit PRICE] [LEVx]"}`` → the gate
  document plus ``exit_code``;
* ``GET /v1/size?account=&symbol=&side=[&leverage=]`` → the size document;
* ``GET /v1/health`` → per account: state, data age.

Loopback TCP or a Unix socket only: the answer reveals positions.

One :class:`~riskguard.gate.Gate` per account is kept while the worker's live read is the same object: its
market views and the pre-order evaluation serve every order on that read.  A new read (a full read or a
streamed mark) is a new object, and the next request builds a new gate; an UNKNOWN state is checked on every
request before any gate is used.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from aiohttp import web

from riskguard.connectors.source import Loaded
from riskguard.daemon.worker import UNKNOWN, AccountWorker
from riskguard.errors import InputError, RiskguardError
from riskguard.gate import Gate, parse_order
from riskguard.report.gate_report import gate_document, size_document
from riskguard.rules.codes import ExitCode

WORKERS = web.AppKey("workers", dict[str, AccountWorker])
GATES = web.AppKey("gates", dict[str, tuple[Loaded, Gate]])
"""Per account: the live read a gate was built from, and the gate."""


def _gate(app: web.Application, worker: AccountWorker) -> Gate | None:
    loaded = worker.live.loaded
    if worker.live.state == UNKNOWN or loaded is None or loaded.snapshot is None or loaded.account is None:
        return None
    gates = app[GATES]
    held = gates.get(worker.name)
    if held is not None and held[0] is loaded:
        return held[1]
    gate = Gate(worker.spec, loaded.snapshot, loaded.account)
    gates[worker.name] = (loaded, gate)
    return gate


def _unknown(account: str, why: str) -> web.Response:
    return web.json_response({"account": account, "exit_code": int(ExitCode.UNKNOWN), "status": "unknown",
                              "error": why})


def _worker(workers: Mapping[str, AccountWorker], name: str) -> AccountWorker:
    if name not in workers:
        raise InputError(f"no account named {name!r} (have: {', '.join(workers)})", "account")
    return workers[name]


async def _gate_handler(request: web.Request) -> web.Response:
    try:
        body = await request.json()
        order = parse_order(str(body.get("order", "")))
        workers = request.app[WORKERS]
        worker = _worker(workers, order.account)
    except (ValueError, AttributeError) as exc:
        return web.json_response({"exit_code": int(ExitCode.UNKNOWN), "error": f"bad request: {exc}"}, status=400)
    except RiskguardError as exc:
        return web.json_response({"exit_code": int(ExitCode.UNKNOWN), "error": str(exc)}, status=400)
    gate = _gate(request.app, worker)
    if gate is None:
        return _unknown(order.account, "the daemon has no usable live state for the account (UNKNOWN)")
    try:
        result = gate.check(order)
    except RiskguardError as exc:
        return _unknown(order.account, str(exc))
    return web.json_response({**gate_document(result), "exit_code": result.exit_code,
                              "data_age_s": round(time.time() - worker.live.data_ms / 1000, 3)})


async def _size_handler(request: web.Request) -> web.Response:
    q = request.query
    try:
        workers = request.app[WORKERS]
        worker = _worker(workers, q.get("account", ""))
        leverage = float(q["leverage"]) if q.get("leverage") else None
    except (RiskguardError, ValueError) as exc:
        return web.json_response({"exit_code": int(ExitCode.UNKNOWN), "error": str(exc)}, status=400)
    gate = _gate(request.app, worker)
    if gate is None:
        return _unknown(worker.name, "the daemon has no usable live state for the account (UNKNOWN)")
    try:
        result = gate.size(q.get("symbol", ""), q.get("side", ""), leverage)
    except RiskguardError as exc:
        return web.json_response({"exit_code": int(ExitCode.UNKNOWN), "error": str(exc)}, status=400)
    return web.json_response({**size_document(result), "exit_code": 0})


async def _health(request: web.Request) -> web.Response:
    now = time.time()
    return web.json_response({"accounts": {
        name: {"state": w.live.state, "data_age_s": round(now - w.live.data_ms / 1000, 3) if w.live.data_ms else None,
               "kill_switch": w.kill.tripped, "stream_healthy": w.stream_healthy}
        for name, w in request.app[WORKERS].items()}})


def build_gate_app(workers: Mapping[str, AccountWorker]) -> web.Application:
    app = web.Application()
    app[WORKERS] = dict(workers)
    app[GATES] = {}
    app.add_routes([web.post("/v1/gate", _gate_handler), web.get("/v1/size", _size_handler),
                    web.get("/v1/health", _health)])
    return app
