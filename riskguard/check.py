"""`riskguard check`: load → compute → apply policy → verdicts.  The CLI only renders.

Market signals (bands, σ-buffer, exit slippage) ride beside the verdicts and never change them: the
liquidation math does not depend on market history, so missing history makes a signal unknown, not the
account (docs/check-json.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from riskguard.config import AccountConfig, AccountSpec, Config, Policy, load_config
from riskguard.connectors.snapshot_doc import SnapshotDoc, read_snapshot
from riskguard.connectors.source import Loaded, load_accounts
from riskguard.errors import ConfigError, DataUnavailable, RiskguardError, StaleData
from riskguard.market_view import PositionSignals, SymbolViews, account_signals, source_key
from riskguard.risk.account_risk import AccountRisk, evaluate_account
from riskguard.rules.codes import ReasonCode, Severity, Status
from riskguard.rules.engine import UNREAD, HitKey, RulesOutcome, evaluate_rules, with_rule_findings
from riskguard.rules.metrics import MetricTable
from riskguard.rules.plan import Plan
from riskguard.rules.planner import plan_account
from riskguard.rules.policy_check import AccountVerdict, evaluate_policy, failed_verdict


@dataclass(frozen=True, slots=True)
class CheckResult:
    accounts: tuple[AccountVerdict, ...]
    signals: Mapping[str, tuple[PositionSignals, ...]] = field(default_factory=dict)
    """Per account name, one entry per position of the verdict, in the same order."""
    rules: Mapping[str, RulesOutcome] = field(default_factory=dict)
    """Per account name: the policy rules that fired and the trading state."""
    plans: Mapping[str, Plan | None] = field(default_factory=dict)
    """Per account name: what the fired rules' strategies would do; None when no rule with actions fires."""

    @property
    def status(self) -> Status:
        return Status.of(max((a.status.severity for a in self.accounts), default=Severity.UNKNOWN))


def _error_code(error: RiskguardError) -> ReasonCode:
    if isinstance(error, StaleData):
        return ReasonCode.DATA_STALE
    if isinstance(error, DataUnavailable):
        return ReasonCode.FETCH_FAILED
    return ReasonCode.INVALID_INPUT


@dataclass(frozen=True, slots=True)
class Evaluated:
    """One account through limits, rules and strategies: what `check` reports and the gate judges."""

    verdict: AccountVerdict
    signals: Sequence[PositionSignals]
    rules: RulesOutcome
    plan: Plan | None


def evaluate_loaded(loaded: Loaded, views: SymbolViews, with_plan: bool = True,
                    memory: frozenset[HitKey] = frozenset(),
                    signals_of: Callable[[AccountRisk], Sequence[PositionSignals]] | None = None) -> Evaluated:
    """``memory``: the rules firing at the previous evaluation (the daemon carries it for release thresholds).

    ``signals_of``: the market signals of the evaluated positions, instead of ``account_signals`` (the gate
    computes them only where a rule or its answer reads them, with the same function)."""
    spec = loaded.spec
    venue = spec.config.venue or "snapshot"
    if loaded.error is not None:
        return Evaluated(failed_verdict(spec.name, venue, _error_code(loaded.error), str(loaded.error)), (), UNREAD,
                          None)
    assert loaded.snapshot is not None and loaded.account is not None
    account, snapshot = loaded.account, loaded.snapshot
    markets = snapshot.venues[account.venue]
    risk = evaluate_account(account, markets)
    if signals_of is None:
        signals: Sequence[PositionSignals] = account_signals(views, source_key(loaded), markets,
                                                             snapshot.taken_at_ms, risk, account.open_orders)
    else:
        signals = signals_of(risk)
    # Report under the name the user configured, not the name inside the snapshot.
    verdict = replace(evaluate_policy(account, snapshot, risk, spec.policy), name=spec.name)
    table = MetricTable(account, markets, risk, signals, snapshot.taken_at_ms, verdict.uniform_moves)
    outcome = evaluate_rules(spec.rules, spec.name, table, memory)
    verdict = with_rule_findings(verdict, outcome)
    plan = None
    # No plan from data that could not be evaluated: fail closed means nothing is recommended either.
    if with_plan and verdict.status is not Status.UNKNOWN:
        source = source_key(loaded)
        symbol_views = {p.symbol: views.get(source, markets, p.symbol, snapshot.taken_at_ms) for p in risk.positions}
        plan = plan_account(spec, account, markets, risk, symbol_views, outcome)
    return Evaluated(verdict, signals, outcome, plan)


def _result(loaded: list[Loaded]) -> CheckResult:
    views = SymbolViews()
    done = [evaluate_loaded(x, views) for x in loaded]
    return CheckResult(
        tuple(e.verdict for e in done),
        {e.verdict.name: tuple(e.signals) for e in done},
        {e.verdict.name: e.rules for e in done},
        {e.verdict.name: e.plan for e in done},
    )


def check_config(config: Config, account: str | None) -> CheckResult:
    return _result(load_accounts(config.select(account)))


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


def load_snapshot_accounts(path: Path, account: str | None, policy: Policy | None = None) -> list[Loaded]:
    doc, specs = snapshot_specs(path, policy)
    if account is not None:
        specs = [s for s in specs if s.name == account]
        if not specs:
            raise ConfigError(f"no account named {account!r} in the snapshot", str(path))
    return load_accounts(specs, {path: doc})


def check_snapshot(path: Path, account: str | None, policy: Policy | None = None) -> CheckResult:
    return _result(load_snapshot_accounts(path, account, policy))


def load_selected(
    config: Path | None, snapshot: Path | None, account: str | None, also: Sequence[str] = (),
    fine_history: bool = False,
) -> list[Loaded]:
    """The accounts a command works on: those of ``--config`` or every account in ``--snapshot``.

    :param also: symbols whose market data live accounts read too (``riskguard bands`` on a symbol not held).
    :param fine_history: live accounts read their venue's finest history (``load_accounts``).
    """
    if snapshot is not None and config is None:
        return load_snapshot_accounts(snapshot, account)
    if config is not None and snapshot is None:
        return load_accounts(load_config(config).select(account), also=also, fine_history=fine_history)
    raise ConfigError("give exactly one of --config FILE or --snapshot FILE")
