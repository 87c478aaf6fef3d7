"""`riskguard check`: load → compute → apply policy → verdicts.  The CLI only renders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from riskguard.config import AccountConfig, AccountSpec, Config, Policy
from riskguard.connectors.snapshot_doc import SnapshotDoc, read_snapshot
from riskguard.connectors.source import Loaded, load_accounts
from riskguard.errors import ConfigError, DataUnavailable, RiskguardError, StaleData
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules.codes import ReasonCode, Severity, Status
from riskguard.rules.policy_check import AccountVerdict, evaluate_policy, failed_verdict


@dataclass(frozen=True, slots=True)
class CheckResult:
    accounts: tuple[AccountVerdict, ...]

    @property
    def status(self) -> Status:
        return Status.of(max((a.status.severity for a in self.accounts), default=Severity.UNKNOWN))


def _error_code(error: RiskguardError) -> ReasonCode:
    if isinstance(error, StaleData):
        return ReasonCode.DATA_STALE
    if isinstance(error, DataUnavailable):
        return ReasonCode.FETCH_FAILED
    return ReasonCode.INVALID_INPUT


def _verdict(loaded: Loaded) -> AccountVerdict:
    spec = loaded.spec
    venue = spec.config.venue or "snapshot"
    if loaded.error is not None:
        return failed_verdict(spec.name, venue, _error_code(loaded.error), str(loaded.error))
    assert loaded.snapshot is not None and loaded.account is not None
    account = loaded.account
    risk = evaluate_account(account, loaded.snapshot.venues[account.venue])
    return evaluate_policy(account, loaded.snapshot, risk, spec.policy)


def check_config(config: Config, account: str | None) -> CheckResult:
    return CheckResult(tuple(_verdict(x) for x in load_accounts(config.select(account))))


def snapshot_specs(path: Path, policy: Policy | None = None) -> tuple[SnapshotDoc, list[AccountSpec]]:
    """One spec per account inside a snapshot file, for `check --snapshot` without a config."""
    doc = read_snapshot(path)
    return doc, [
        AccountSpec(
            name=a.name,
            config=AccountConfig(snapshot=str(path), snapshot_account=a.name),
            policy=policy or Policy(),
            snapshot_path=path,
            where=str(path),
        )
        for a in doc.accounts
    ]


def check_snapshot(path: Path, account: str | None, policy: Policy | None = None) -> CheckResult:
    doc, specs = snapshot_specs(path, policy)
    if account is not None:
        specs = [s for s in specs if s.name == account]
        if not specs:
            raise ConfigError(f"no account named {account!r} in the snapshot", str(path))
    return CheckResult(tuple(_verdict(x) for x in load_accounts(specs, {path: doc})))
