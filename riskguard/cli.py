"""Command line: a thin shell over check/snapshot/sim.  Exit codes are the contract.

0 ok · 1 warning · 2 breach · 3 could not evaluate (bad input, missing/stale data,
failed read).  Usage errors also exit 3, never click's default 2, so a gate
script can never mistake a typo for a breach.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from riskguard.errors import RiskguardError
from riskguard.rules.codes import ExitCode

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


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def _fail(exc: RiskguardError, fmt: Format = Format.TABLE) -> None:
    if fmt is Format.JSON:
        where = getattr(exc, "where", None)
        message = getattr(exc, "message", str(exc))
        doc = {
            "schema": "riskguard.check/1",
            "status": "unknown",
            "exit_code": int(ExitCode.UNKNOWN),
            "error": {"message": message, "where": where},
            "accounts": [],
        }
        print(json.dumps(doc, indent=2))
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    raise _exit(int(ExitCode.UNKNOWN))


@app.command()
def check(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config with accounts and policies")
    ] = None,
    snapshot: Annotated[Path | None, typer.Option("--snapshot", "-s", help="evaluate a snapshot file directly")] = None,
    account: Annotated[str | None, typer.Option("--account", "-a", help="only this account")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table for people, json for machines")] = Format.TABLE,
) -> None:
    """Evaluate accounts against their policies; the exit code gates a trade."""
    from riskguard.check import check_config, check_snapshot
    from riskguard.config import load_config

    try:
        if (config is None) == (snapshot is None):
            raise RiskguardError("give exactly one of --config FILE or --snapshot FILE")
        result = check_snapshot(snapshot, account) if snapshot else check_config(load_config(config), account)
    except RiskguardError as exc:
        _fail(exc, fmt)
    if fmt is Format.JSON:
        from riskguard.report.check_json import check_document

        print(json.dumps(check_document(result), indent=2))
    else:
        from riskguard.report.check_table import render

        render(result, out)
    raise _exit(int(result.status.exit_code))


@app.command("snapshot")
def record_snapshot(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config")],
    account: Annotated[str, typer.Option("--account", "-a", help="live account to record")],
    output: Annotated[Path, typer.Option("--output", "-o", help="snapshot file to write")],
) -> None:
    """Record a live account in the snapshot format (no secrets are written)."""
    import asyncio

    from riskguard.config import load_config
    from riskguard.connectors.snapshot_doc import write_snapshot

    try:
        spec = load_config(config).select(account)[0]
        if not spec.config.is_live:
            raise RiskguardError(f"account {account!r} is not a live account; nothing to record")
        from riskguard.connectors.live import fetch_snapshot_doc

        doc = asyncio.run(fetch_snapshot_doc(spec))
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
        err.print(f"[bold red]error:[/] {exc}")
        raise _exit(int(ExitCode.UNKNOWN)) from None


def main() -> None:
    _outcome.clear()
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else int(ExitCode.UNKNOWN))
        if not _outcome and code != 0:
            code = int(ExitCode.UNKNOWN)  # click usage errors exit 2, which a gate script would read as "breach"
        sys.exit(code)


if __name__ == "__main__":
    main()
