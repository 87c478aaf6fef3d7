"""``riskguard check --execute``: each account's plan, executed once, and everything recorded.

Two switches must both say so before anything is sent: the account's ``mode: execute`` in the config and
``--execute`` on the command line.  An account in ``recommend`` mode gets its plan recorded as "not executed"
and nothing is sent; a paper (snapshot) account has no venue to send to.  The evaluation, its findings and the
plan are recorded in the audit store either way, so the log shows why riskguard acted or did not.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from riskguard.config import AccountSpec, Config
from riskguard.errors import RiskguardError
from riskguard.execution.audit_store import AuditStore, EventKind, OrderState, default_path
from riskguard.execution.executor import ExecutionReport, Executor
from riskguard.rules.codes import Status
from riskguard.rules.plan import OrderKind, Plan


@dataclass(frozen=True, slots=True)
class AccountOutcome:
    account: str
    action: str
    """``executed``, ``recommend`` (mode says no), ``unknown`` (the evaluation is), ``no_plan``, ``paper`` or
    ``failed``."""
    message: str
    report: ExecutionReport | None = None

    @property
    def unresolved(self) -> bool:
        """An order whose outcome is still unknown, or an execution that failed: the caller exits 3."""
        if self.action == "failed":
            return True
        if self.report is None:
            return False
        return bool(self.report.errors) or any(o.state is OrderState.UNKNOWN for o in self.report.orders)


def execute_check(config: Config, result: Any, accounts: Iterable[AccountSpec]) -> list[AccountOutcome]:
    """Record each account's evaluation and plan; execute the plans the account mode allows."""
    store = AuditStore(default_path(config.audit_db))
    try:
        return [_account(store, spec, result) for spec in accounts]
    finally:
        store.close()


def _account(store: AuditStore, spec: AccountSpec, result: Any) -> AccountOutcome:
    run_id = uuid.uuid4().hex[:16]
    verdict = next((a for a in result.accounts if a.name == spec.name), None)
    if verdict is not None:
        store.event(run_id, spec.name, EventKind.EVALUATION, f"status {verdict.status.value}",
                    {"status": verdict.status.value, "venue": verdict.venue})
        findings = [*verdict.findings, *(f for p in verdict.positions for f in p.findings)]
        for f in findings:
            store.event(run_id, spec.name, EventKind.FINDING, f.message,
                        {"code": f.code.value, "value": f.value, "limit": f.limit}, symbol=f.symbol)
    plan: Plan | None = result.plans.get(spec.name)
    orders = [o for o in plan.orders if o.kind is not OrderKind.ADD_MARGIN] if plan else []
    if plan is None or not orders:
        return AccountOutcome(spec.name, "no_plan", "no orders planned")
    if verdict is None or verdict.status is Status.UNKNOWN:
        # Fail closed: a plan made from data that could not all be read or trusted is not acted on.
        store.event(run_id, spec.name, EventKind.PLAN, "not executed: the evaluation is unknown", plan.to_dict())
        return AccountOutcome(spec.name, "unknown", f"evaluation unknown: would send {len(orders)} order(s), "
                              "sent none")
    if spec.mode != "execute":
        store.event(run_id, spec.name, EventKind.PLAN, f"not executed: account mode is {spec.mode}", plan.to_dict())
        return AccountOutcome(spec.name, "recommend", f"mode {spec.mode}: would send {len(orders)} order(s), "
                              "sent none (set mode: execute on the account to allow it)")
    if not spec.config.is_live:
        store.event(run_id, spec.name, EventKind.PLAN, "not executed: paper account", plan.to_dict())
        return AccountOutcome(spec.name, "paper", f"paper account: would send {len(orders)} order(s), sent none")
    try:
        report = asyncio.run(_execute(spec, plan, store))
    except RiskguardError as exc:
        store.event(run_id, spec.name, EventKind.ERROR, str(exc), {"plan_hash": plan.content_hash})
        return AccountOutcome(spec.name, "failed", str(exc))
    done = sum(o.state in (OrderState.FILLED, OrderState.SENT, OrderState.CANCELED) for o in report.orders)
    verified = {True: "verified", False: "differs from the plan", None: "not verified"}[report.verified]
    return AccountOutcome(spec.name, "executed", f"{done}/{len(report.orders)} order(s) done, {verified}", report)


async def _execute(spec: AccountSpec, plan: Plan, store: AuditStore) -> ExecutionReport:
    from riskguard.execution.venue_client import open_venue

    async with open_venue(spec) as venue:
        return await Executor(venue, store).execute(plan)
