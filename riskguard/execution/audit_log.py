"""``riskguard log``: the audit store read back, as a table for people or JSON for machines.

JSON (``riskguard.log/1``): ``{"schema", "db", "events": [{"id", "ts_ms", "time", "run_id", "account", "kind",
"client_order_id", "symbol", "message", "data"}]}``, oldest first.  ``time`` is ISO 8601 UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskguard.errors import InputError
from riskguard.execution.audit_store import Event

SCHEMA = "riskguard.log/1"
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, now: datetime | None = None) -> int:
    """Epoch ms from ``1h``/``30m``/``2d``/``45s`` (before now) or an ISO 8601 time (UTC unless it says)."""
    now = now or datetime.now(UTC)
    if match := _RELATIVE.match(value.strip()):
        start = now - timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])
        return int(start.timestamp() * 1000)
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--since: {value!r} is neither a duration like 1h, 30m, 2d nor an ISO time like "
                         "2026-12-01T06:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log_document(events: list[Event], db: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "db": db, "events": [{**e.to_dict(), "time": iso(e.ts_ms)} for e in events]}


def render_log(events: list[Event], console: Console) -> None:
    if not events:
        console.print("no audit events match", highlight=False)
        return
    table = Table(box=None, header_style="bold")
    for column in ("time (UTC)", "account", "kind", "symbol", "client order id", "message"):
        table.add_column(column, overflow="fold")
    for e in events:
        table.add_row(iso(e.ts_ms), escape(e.account), e.kind, escape(e.symbol or ""), e.client_order_id or "",
                      escape(e.message))
    console.print(table)
