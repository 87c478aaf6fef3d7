"""`riskguard config show`: each account's resolved policy (after ``extends:`` and defaults), secrets masked.

Credentials appear as the environment variable they name and whether it is set, never its value.
"""

from __future__ import annotations

import os
import re
from typing import Any

from rich.console import Console
from rich.table import Table

from riskguard.config import AccountSpec, Config
from riskguard.rules.schema import Rule

SCHEMA = "riskguard.config/2"
_ENV = re.compile(r"^\$\{(\w+)\}$")


def _credential(ref: str) -> str:
    match = _ENV.match(ref)
    var = match.group(1) if match else "?"
    return f"${{{var}}} ({'set' if os.environ.get(var) else 'NOT SET'})"


def _rule(rule: Rule) -> dict[str, Any]:
    return rule.model_dump(mode="json", exclude_none=True)


def account_entry(spec: AccountSpec) -> dict[str, Any]:
    source = spec.config
    creds = {k: _credential(v) for k, v in source.credentials.model_dump().items() if v is not None}
    return {
        "name": spec.name,
        "source": source.venue or source.snapshot,
        "mode": spec.mode,
        "policy": spec.policy_name,
        "credentials": creds,
        "limits": spec.policy.model_dump(mode="json"),
        "rules": [_rule(r) for r in spec.rules],
    }


def config_document(config: Config) -> dict[str, Any]:
    accounts = [account_entry(s) for s in config.accounts.values()]
    return {"schema": SCHEMA, "path": str(config.path), "accounts": accounts}


def render(config: Config, out: Console) -> None:
    for spec in config.accounts.values():
        entry = account_entry(spec)
        out.print(
            f"[bold]{spec.name}[/]  {entry['source']}  policy [cyan]{spec.policy_name}[/]  mode {spec.mode}",
            highlight=False,
        )
        for field, shown in entry["credentials"].items():
            out.print(f"  credentials.{field}: {shown}", highlight=False)
        limits = ", ".join(f"{k}={v}" for k, v in entry["limits"].items() if v is not None)
        out.print(f"  limits: {limits}", highlight=False)
        if not spec.rules:
            out.print("  rules: none")
            continue
        table = Table("rule", "condition", "scope", "severity", "state", "actions", box=None, padding=(0, 1))
        for r in spec.rules:
            release = "" if r.release is None else f" (release {r.release:g})"
            cond = f"{r.metric} {r.op.symbol} {r.threshold:g}{release}"
            scope = ", ".join(f"{k}={v}" for k, v in r.scope.model_dump(exclude_none=True).items()) or "all"
            actions = ", ".join(a.strategy for a in r.actions) or "-"
            table.add_row(r.name, cond, scope, r.severity, r.state.value, actions)
        out.print(table)
