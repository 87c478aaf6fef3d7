"""Command line: a thin shell over check/snapshot/sim.  Exit codes are the contract.

0 ok · 1 warning · 2 breach · 3 could not evaluate (bad input, missing/stale data,
failed read).  Usage errors also exit 3, never click's default 2, so a gate
script can never mistake a typo for a breach.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO

import typer
from rich.console import Console
from rich.markup import escape

from riskguard.connectors.redact import install_log_redaction, redact_known
from riskguard.errors import ConfigError, RiskguardError
from riskguard.rules.codes import ExitCode

if TYPE_CHECKING:
    from riskguard.risk.liqlevels import EstimatorConfig

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="riskguard: venue-exact liquidation risk for leveraged crypto derivatives.",
    pretty_exceptions_enable=False,
)
_WIDE = None if sys.stdout.isatty() else 200  # piped output: don't squeeze tables into 80 columns
out = Console(width=_WIDE)
err = Console(stderr=True, width=_WIDE)
_outcome: list[int] = []
"""Exit code a command decided; anything else that exits 2 is a usage error and is remapped to 3."""


def _exit(code: int) -> typer.Exit:
    _outcome.append(code)
    return typer.Exit(code)


def _print_json(doc: object) -> None:
    """Indented for a person at a terminal; compact when piped, where speed matters (a thousand accounts make
    a 26 MB document).  The values are the same either way."""
    if sys.stdout.isatty():
        print(json.dumps(doc, indent=2))
    else:
        print(_compact_json(doc))


def _compact_json(doc: object) -> str:
    """One line, encoded by pydantic-core's Rust serializer: three times faster than the standard library's
    C encoder on a thousand-account report, which is a tenth of `check`'s time.  Numbers are written in their
    shortest round-trip form (``1e-8`` where the standard library writes ``1e-08``: the same value).

    The standard library's encoding is kept where the two would differ in more than spelling: for text
    outside ASCII, which it escapes as ``\\uXXXX`` so that any stdout encoding carries it, and for a value
    the Rust serializer does not know.  No cycle check: a report is a tree of fresh dicts and lists."""
    import pydantic_core

    try:
        encoded: bytes | None = pydantic_core.to_json(doc, inf_nan_mode="constants")
    except pydantic_core.PydanticSerializationError:
        encoded = None
    if encoded is not None and encoded.isascii():
        return encoded.decode("ascii")
    return json.dumps(doc, separators=(",", ":"), check_circular=False)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def _fail(exc: RiskguardError, fmt: Format = Format.TABLE, schema: str = "riskguard.check/1") -> None:
    if fmt is Format.JSON:
        where = getattr(exc, "where", None)
        message = redact_known(getattr(exc, "message", str(exc)))
        doc = {
            "schema": schema,
            "status": "unknown",
            "exit_code": int(ExitCode.UNKNOWN),
            "error": {"message": message, "where": where},
            "accounts": [],
        }
        _print_json(doc)
    err.print(f"[bold red]error:[/] {escape(redact_known(str(exc)))}", highlight=False, markup=True, soft_wrap=True)
    raise _exit(int(ExitCode.UNKNOWN))


@app.command()
def check(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config with accounts and policies")
    ] = None,
    snapshot: Annotated[Path | None, typer.Option("--snapshot", "-s", help="evaluate a snapshot file directly")] = None,
    account: Annotated[str | None, typer.Option("--account", "-a", help="only this account")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table for people, json for machines")] = Format.TABLE,
    wide: Annotated[bool, typer.Option("--wide", help="every table column, however wide the terminal")] = False,
    order: Annotated[
        str | None, typer.Option("--order", help='gate an order: "ACCOUNT SYMBOL buy|sell SIZE [market|limit PRICE] '
                                 '[LEVx]"; evaluated as if filled, the exit code is the answer')
    ] = None,
    execute: Annotated[
        bool, typer.Option("--execute", help="send each plan's reduce-only orders, once, for accounts with "
                           "mode: execute (docs/execution.md); recorded in the audit store")
    ] = False,
    via: Annotated[
        str | None, typer.Option("--via", help="ask a running daemon's gate API (http://127.0.0.1:PORT or "
                                 "unix:/path) instead of reading the venue; goes with --order")
    ] = None,
) -> None:
    """Evaluate accounts against their policies; the exit code gates a trade."""
    if via is not None:
        _gate_via(via, order, fmt)
    if order is not None:
        _gate_order(config, snapshot, order, fmt)
    from riskguard.collector import collector_paused, keep_until_exit

    with collector_paused():
        from riskguard.check import check_config, check_snapshot
        from riskguard.config import load_config

        try:
            if snapshot is not None and config is None:
                result = check_snapshot(snapshot, account)
            elif config is not None and snapshot is None:
                result = check_config(load_config(config), account)
            else:
                raise RiskguardError("give exactly one of --config FILE or --snapshot FILE")
        except RiskguardError as exc:
            _fail(exc, fmt)
        document: object = None
        if fmt is Format.JSON:
            from riskguard.report.check_json import check_document

            document = check_document(result)
            _print_json(document)
        else:
            from riskguard.report.check_table import render

            render(result, out, wide=wide)
    if not execute:  # a run that sends orders ends the ordinary way, its audit store and connections closed
        keep_until_exit(result, document)
    if execute and _execute_plans(config, snapshot, account, result, fmt):
        raise _exit(int(ExitCode.UNKNOWN))
    raise _exit(int(result.status.exit_code))


def _execute_plans(config: Path | None, snapshot: Path | None, account: str | None, result: Any, fmt: Format
                   ) -> bool:
    """``check --execute``: run each plan once (docs/execution.md); True when an outcome is left unresolved."""
    from riskguard.config import load_config
    from riskguard.execution.run_check import execute_check

    try:
        if config is None or snapshot is not None:
            raise RiskguardError("--execute goes with --config FILE (the account's mode decides)")
        loaded = load_config(config)
        outcomes = execute_check(loaded, result, loaded.select(account))
    except RiskguardError as exc:
        _fail(exc, fmt)
    for o in outcomes:
        err.print(f"[bold]{escape(o.account)}[/]: {o.action}: {escape(redact_known(o.message))}", highlight=False)
    return any(o.unresolved for o in outcomes)


@app.command("snapshot")
def record_snapshot(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config")],
    account: Annotated[str, typer.Option("--account", "-a", help="live account to record")],
    output: Annotated[Path, typer.Option("--output", "-o", help="snapshot file to write")],
    fine_history: Annotated[
        bool, typer.Option("--fine-history", help="a week of the venue's finest history (5-minute bars where "
                           "served), as `bands` reads it, instead of the hourly history `check` reads")
    ] = False,
) -> None:
    """Record a live account in the snapshot format (no secrets are written).

    By default the recording holds what `check` read live, so `check --snapshot` on it replays that check."""
    import asyncio

    from riskguard.config import load_config
    from riskguard.connectors.snapshot_doc import write_snapshot

    try:
        spec = load_config(config).select(account)[0]
        if not spec.config.is_live:
            raise RiskguardError(f"account {account!r} is not a live account; nothing to record")
        from riskguard.connectors.live import HOURLY_HISTORY, default_history, fetch_snapshot_doc

        history = default_history(spec.config.venue) if fine_history else HOURLY_HISTORY
        doc = asyncio.run(fetch_snapshot_doc(spec, history=history))
        write_snapshot(doc, output)
    except RiskguardError as exc:
        _fail(exc)
    positions = sum(len(a.positions) for a in doc.accounts)
    err.print(f"wrote {output} ({positions} position(s))")


@app.command()
def sim(
    venue: Annotated[str, typer.Option("--venue", help="binanceusdm, binancecoinm, bybit, okx or hyperliquid")],
    port: Annotated[int, typer.Option("--port", help="TCP port on 127.0.0.1 (0 = pick a free one)")] = 0,
    scenario: Annotated[Path | None, typer.Option("--scenario", help="scenario file (YAML or JSON)")] = None,
) -> None:
    """Run the local exchange emulator on 127.0.0.1 (see docs/sim.md)."""
    from riskguard.sim.server import run

    try:
        run(venue, port, scenario)
    except RiskguardError as exc:
        _fail(exc)
    except (ValueError, KeyError, OSError) as exc:
        _fail(RiskguardError(str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)))


def _leverage_prior(text: str | None) -> EstimatorConfig | None:
    from riskguard.risk.liqlevels import parse_leverage_prior

    if text is None:
        return None
    try:
        return parse_leverage_prior(text)
    except ValueError as exc:
        raise ConfigError(f"--leverage-prior: {exc}") from None


@app.command()
def bands(
    symbol: Annotated[str, typer.Argument(help="unified symbol, e.g. BTC/USDT:USDT")],
    exchange: Annotated[str | None, typer.Option("--exchange", "-e", help="live public market data of a venue")] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="with --exchange: a riskguard sim URL instead of the venue")
    ] = None,
    snapshot: Annotated[Path | None, typer.Option("--snapshot", "-s", help="market data of a snapshot file")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="market data of the config's accounts")] = None,
    account: Annotated[str | None, typer.Option("--account", "-a", help="only this account (and its venue)")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table for people, json for machines")] = Format.TABLE,
    plot: Annotated[Path | None, typer.Option("--plot", help="write the liquidation heatmap PNG here")] = None,
    leverage_prior: Annotated[
        str | None,
        typer.Option("--leverage-prior", help="LEV:PCT,... e.g. 5:15,10:25,20:25,25:15,50:12,100:8 (docs/bands.md)"),
    ] = None,
) -> None:
    """Estimate where other traders' liquidations crowd around mark (docs/bands.md); exit 3 when unknown."""
    from riskguard.check import load_selected
    from riskguard.market_view import public_bands, symbol_bands
    from riskguard.report.bands_report import SCHEMA, bands_document, exit_code, render

    try:
        if exchange is not None and (snapshot is not None or config is not None or account is not None):
            raise ConfigError("give one of --exchange VENUE, --snapshot FILE or --config FILE (--account)")
        if endpoint is not None and exchange is None:
            raise ConfigError("--endpoint goes with --exchange VENUE")
        prior = _leverage_prior(leverage_prior)
        with err.status(f"estimating liquidation bands for {symbol}…"):
            if exchange is not None:
                from riskguard.connectors.source import load_market

                found = public_bands(load_market(exchange, symbol, endpoint), symbol, prior)
            else:
                loaded = load_selected(config, snapshot, account, also=(symbol,), fine_history=True)
                found = symbol_bands(loaded, symbol, prior)
            view = found.view
            if plot is not None and view.bands.estimate.heatmap is not None:
                from riskguard.report.heatmap import render_heatmap

                render_heatmap(
                    view.bands.estimate.heatmap,
                    plot,
                    mark_price=view.bands.mark_price,
                    price_times=view.bar_open_ms.astype("datetime64[ms]"),
                    prices=view.closes,
                    liquidation_prices=found.liquidation_prices,
                    stop_prices=found.stop_prices,
                    bands=view.bands.bands,
                    title=f"{symbol} on {view.venue}: estimated liquidation levels",
                    quote=view.quote,
                    window_pct=max(12.0, *(abs(b.distance_pct) + 1 for b in view.bands.bands)),
                    as_of_ms=view.as_of_ms,
                )
    except RiskguardError as exc:
        _fail(exc, fmt, SCHEMA)
    written = plot if plot is not None and view.bands.estimate.heatmap is not None else None
    if fmt is Format.JSON:
        _print_json(bands_document(found, written))
    else:
        render(found, out, written)
    if plot is not None and written is None:
        err.print(f"[bold magenta]no heatmap written:[/] the estimate is unknown ({view.bands.reason})")
    raise _exit(exit_code(found))


@app.command()
def stress(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config with accounts")] = None,
    snapshot: Annotated[Path | None, typer.Option("--snapshot", "-s", help="stress a snapshot file directly")] = None,
    account: Annotated[str | None, typer.Option("--account", "-a", help="only this account")] = None,
    shock: Annotated[
        str, typer.Option("--shock", help="comma-separated % moves of every mark, e.g. -10%,+10%")
    ] = "-30%,-20%,-10%,-5%,+5%,+10%,+20%,+30%",
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table for people, json for machines")] = Format.TABLE,
) -> None:
    """Which positions liquidate if every mark moves by a shock, and how far band cascades carry.

    Exit 2 when an account does not survive a shock or a cascade, 3 when it cannot be computed.
    """
    from riskguard.check import load_selected
    from riskguard.market_view import stress_accounts
    from riskguard.report.stress_report import EXIT, SCHEMA, overall, parse_shocks, render, stress_document

    try:
        shocks = parse_shocks(shock)
        with err.status("stressing accounts and simulating cascades…"):
            result = stress_accounts(load_selected(config, snapshot, account), shocks)
    except RiskguardError as exc:
        _fail(exc, fmt, SCHEMA)
    if fmt is Format.JSON:
        _print_json(stress_document(result, shocks))
    else:
        render(result, shocks, out)
    raise _exit(EXIT[overall(result)])


def _gate_order(config: Path | None, snapshot: Path | None, order: str, fmt: Format) -> None:
    from riskguard.report.gate_report import GATE_SCHEMA, gate_document, render_gate

    try:
        if config is None or snapshot is not None:
            raise RiskguardError("--order goes with --config FILE (the account's policy decides)")
        from riskguard.gate import check_order

        result = check_order(config, order)
    except RiskguardError as exc:
        _fail(exc, fmt, GATE_SCHEMA)
    if fmt is Format.JSON:
        _print_json(gate_document(result))
    else:
        render_gate(result, out)
    raise _exit(result.exit_code)


def _gate_via(via: str, order: str | None, fmt: Format) -> None:
    """``check --order … --via URL``: the daemon answers from its live state; its exit code is the gate."""
    from riskguard.daemon.client import ask_gate
    from riskguard.order_text import parse_order

    try:
        if order is None:
            raise RiskguardError("--via goes with --order (the daemon answers the pre-trade gate)")
        parse_order(order)  # a malformed order is the caller's error wherever the daemon is, or whether it runs
        document = ask_gate(via, order)
    except RiskguardError as exc:
        _fail(exc, fmt, "riskguard.gate/1")
    code = int(document.get("exit_code", int(ExitCode.UNKNOWN)))
    if fmt is Format.JSON:
        print(json.dumps(document, indent=2))
    else:
        verdict = document.get("status", "unknown")
        reason = document.get("error") or "; ".join(f.get("message", "") for f in document.get("findings", [])[:3])
        out.print(f"gate via daemon: {escape(order or '')} → {verdict} (exit {code})"
                  + (f": {escape(reason)}" if reason else ""), highlight=False)
    raise _exit(code)


@app.command("daemon")
def daemon_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config (version 2) with accounts and policies")],
    execute: Annotated[bool, typer.Option("--execute", help="send plans for accounts whose mode is execute")] = False,
) -> None:
    """Watch every account, re-evaluate on every update, act on the policy; serves the gate API (docs/daemon.md)."""
    from riskguard.config import load_config
    from riskguard.daemon.runner import run_daemon

    try:
        loaded = load_config(config)
    except RiskguardError as exc:
        _fail(exc)
    raise _exit(run_daemon(loaded, execute))


@app.command("size")
def size_command(
    account: Annotated[str, typer.Argument(help="account name in the config")],
    symbol: Annotated[str, typer.Argument(help="unified symbol, e.g. BTC/USDT:USDT")],
    side: Annotated[str, typer.Argument(help="buy or sell")],
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config with accounts and policies")],
    leverage: Annotated[float | None, typer.Option("--leverage", help="leverage of a new isolated position")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table for people, json for machines")] = Format.TABLE,
) -> None:
    """The largest order that keeps every rule of the account's policy satisfied (gate exit 0), and what binds."""
    from riskguard.report.gate_report import SIZE_SCHEMA, render_size, size_document

    try:
        from riskguard.gate import size

        result = size(config, account, symbol, side, leverage)
    except RiskguardError as exc:
        _fail(exc, fmt, SIZE_SCHEMA)
    if fmt is Format.JSON:
        _print_json(size_document(result))
    else:
        render_size(result, out)
    raise _exit(int(ExitCode.OK))


@app.command("log")
def log_command(
    account: Annotated[str | None, typer.Option("--account", "-a", help="only this account")] = None,
    since: Annotated[str | None, typer.Option("--since", help="1h, 30m, 2d or an ISO time (UTC)")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table for people, json for machines")] = Format.TABLE,
    db: Annotated[Path | None, typer.Option("--db", help="audit store file (default: RISKGUARD_AUDIT_DB or "
                                            "~/.local/share/riskguard/audit.sqlite3)")] = None,
) -> None:
    """Show the audit store: evaluations, plans, order intents, requests, answers, fills, errors."""
    from riskguard.execution.audit_log import SCHEMA, log_document, parse_since, render_log
    from riskguard.execution.audit_store import AuditStore, default_path

    try:
        path = db if db is not None else default_path()
        if not path.exists():
            raise RiskguardError(f"no audit store at {path} (nothing executed yet, or give --db FILE)")
        since_ms = parse_since(since) if since else None
        with AuditStore(path) as store:
            events = store.events(account, since_ms)
    except RiskguardError as exc:
        _fail(exc, fmt, SCHEMA)
    if fmt is Format.JSON:
        _print_json(log_document(events, str(path)))
    else:
        render_log(events, out)
    raise _exit(int(ExitCode.OK))


config_app = typer.Typer(no_args_is_help=True, help="Check or show a config file without touching any venue.")
app.add_typer(config_app, name="config")


@config_app.command("validate")
def config_validate(file: Annotated[Path, typer.Argument(help="YAML config file")]) -> None:
    """Exit 0 when FILE is valid (schema, policies, strategies, credential variables set), else 3 with file:line."""
    from riskguard.config import load_config, validate_for_use

    try:
        config = load_config(file)
        validate_for_use(config)
    except RiskguardError as exc:
        _fail(exc)
    policies = sorted({s.policy_name for s in config.accounts.values()})
    out.print(f"{file}: valid, {len(config.accounts)} account(s), policies: {', '.join(policies)}", highlight=False)
    raise _exit(int(ExitCode.OK))


@config_app.command("show")
def config_show(
    file: Annotated[Path, typer.Argument(help="YAML config file")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table for people, json for machines")] = Format.TABLE,
) -> None:
    """Print each account's resolved policy (extends and defaults applied); secrets are never shown."""
    from riskguard.config import load_config
    from riskguard.report.config_show import SCHEMA, config_document, render

    try:
        config = load_config(file)
    except RiskguardError as exc:
        _fail(exc, fmt, SCHEMA)
    if fmt is Format.JSON:
        _print_json(config_document(config))
    else:
        render(config, out)
    raise _exit(int(ExitCode.OK))
def _print_version(requested: bool) -> None:
    if requested:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"riskguard {version('riskguard')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            print("riskguard (version unknown: package not installed)")
        raise _exit(0)


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """Options before the command (typer calls this first)."""


class _PipeSafeStdout:
    """stdout that turns into /dev/null when the reader goes away (``riskguard check | head -1``).

    A closed pipe must not change the verdict: the command keeps running to its
    own exit code instead of dying on BrokenPipeError, which would exit 3 (or 1).
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._silence()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._silence()

    def _silence(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError, ValueError):  # no real file descriptor (captured in tests)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())  # the interpreter's final flush goes nowhere, silently

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


DEBUG_ENV = "RISKGUARD_DEBUG"


def _unexpected(exc: BaseException) -> int:
    """Any exception a command did not handle: one line on stderr and exit 3, never a traceback or exit 1."""
    if os.environ.get(DEBUG_ENV):
        print(redact_known(traceback.format_exc()), file=sys.stderr, end="")
    if isinstance(exc, RiskguardError):
        text = str(exc)
    else:
        first = next((line for line in str(exc).splitlines() if line.strip()), "")
        text = f"unexpected {type(exc).__name__}" + (f": {first[:300]}" if first else "")
        text += f" (a bug in riskguard; run with {DEBUG_ENV}=1 for the traceback)"
    err.print(f"[bold red]error:[/] {escape(redact_known(text))}", highlight=False, markup=True, soft_wrap=True)
    return int(ExitCode.UNKNOWN)


def main() -> NoReturn:
    """Console entry point: runs the typer app and enforces the exit-code contract on whatever happens."""
    _outcome.clear()
    install_log_redaction()
    stdout = sys.stdout
    sys.stdout = _PipeSafeStdout(stdout)
    try:
        try:
            app()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else int(ExitCode.UNKNOWN))
            if not _outcome and code != 0:
                code = int(ExitCode.UNKNOWN)  # click usage errors exit 2, which a gate script would read as "breach"
        except Exception as exc:
            code = _unexpected(exc)
        sys.stdout.flush()
    finally:
        sys.stdout = stdout
    sys.exit(code)


def console() -> None:
    """The `riskguard` executable: main(), then, when the command kept its large objects to the end
    (``riskguard.collector.keep_until_exit``), an exit that skips freeing them.  Output is flushed first;
    riskguard registers no exit handlers, and logging's are run here."""
    from riskguard.collector import objects_kept

    try:
        main()
    except SystemExit as exc:
        if not objects_kept():
            raise
        code = exc.code if isinstance(exc.code, int) else int(ExitCode.UNKNOWN)
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away: the exit code still stands
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
