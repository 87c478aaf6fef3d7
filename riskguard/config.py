"""The YAML configuration: accounts, where their data comes from, and their policies.

Strict on purpose: an unknown key is a typo that would otherwise silently
disable a limit, so it is an error that names file and line.  Credentials are
never written in the file, only the names of environment variables that hold
them, resolved when the account is actually used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from riskguard.connectors.redact import remember_secret
from riskguard.daemon.settings import DaemonSettings
from riskguard.errors import ConfigError
from riskguard.rules.metric_catalog import suggest
from riskguard.rules.schema import KnownKeys, PolicyDef, Rule
from riskguard.rules.schema import StrictModel as StrictSchema
from riskguard.strict_model import StrictModel
from riskguard.yaml_loader import LoadedYaml, load_yaml

if TYPE_CHECKING:
    from riskguard.rules.strategy import Strategy

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
BUNDLED_PREFIX = "bundled:"
DEFAULT_POLICY = "default"
"""The policy of an account that names none, when the file defines no policy of that name: the v1 limits."""


class _Strict(KnownKeys, StrictModel):
    """Extra keys (with the nearest known one named), lax number/flag conversions and NaN/inf are errors
    (see riskguard/strict_model.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Policy(_Strict):
    """Minimal limits until the rule engine lands; every field has a documented default."""

    max_effective_leverage: float = Field(20.0, gt=0, description="breach above this notional ÷ equity")
    warn_effective_leverage: float | None = Field(
        None, gt=0, description="warning above this; defaults to 80% of the maximum"
    )
    min_liquidation_buffer_pct: float = Field(
        5.0, ge=0, lt=100, description="breach when mark is closer than this % to the liquidation price"
    )
    warn_liquidation_buffer_pct: float | None = Field(
        None, ge=0, lt=100, description="warning below this buffer; defaults to twice the minimum"
    )
    max_liquidation_gap_bp: float = Field(
        1.0, ge=0, description="computed vs venue liquidation price gap above this is a finding"
    )
    max_data_age_s: float = Field(120.0, gt=0, description="mark prices or positions older than this are stale")
    min_uniform_move_pct: float | None = Field(
        None,
        ge=0,
        lt=100,
        description="cross accounts: breach when a move of every mark together by less than this % (down or up) "
        "liquidates the pool; defaults to min_liquidation_buffer_pct",
    )
    warn_uniform_move_pct: float | None = Field(
        None, ge=0, lt=100, description="warning below this uniform move; defaults to the liquidation buffer warning"
    )

    @model_validator(mode="after")
    def _warnings_inside_limits(self) -> Policy:
        if self.warn_effective_leverage is not None and self.warn_effective_leverage > self.max_effective_leverage:
            raise ValueError("warn_effective_leverage must not exceed max_effective_leverage")
        warn = self.warn_liquidation_buffer_pct
        if warn is not None and warn < self.min_liquidation_buffer_pct:
            raise ValueError("warn_liquidation_buffer_pct must not be below min_liquidation_buffer_pct")
        if self.uniform_move_warning < self.uniform_move_minimum:
            raise ValueError("warn_uniform_move_pct must not be below min_uniform_move_pct")
        return self

    @property
    def leverage_warning(self) -> float:
        return self.warn_effective_leverage or 0.8 * self.max_effective_leverage

    @property
    def buffer_warning(self) -> float:
        return self.warn_liquidation_buffer_pct or 2 * self.min_liquidation_buffer_pct

    @property
    def uniform_move_minimum(self) -> float:
        """A cross pool's uniform move is its buffer, so by default it answers to the same limits."""
        return self.min_liquidation_buffer_pct if self.min_uniform_move_pct is None else self.min_uniform_move_pct

    @property
    def uniform_move_warning(self) -> float:
        if self.warn_uniform_move_pct is not None:
            return self.warn_uniform_move_pct
        return max(self.buffer_warning, self.uniform_move_minimum)


class Credentials(_Strict):
    api_key: str | None = Field(None, description="${ENV_VAR} holding the API key")
    secret: str | None = Field(None, description="${ENV_VAR} holding the API secret")
    password: str | None = Field(None, description="${ENV_VAR} holding the passphrase (OKX)")
    wallet_address: str | None = Field(None, description="${ENV_VAR} holding the wallet address (Hyperliquid)")
    private_key: str | None = Field(None, description="${ENV_VAR} holding the signing key (Hyperliquid)")

    @field_validator("*")
    @classmethod
    def _env_reference_only(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_REF.match(value):
            raise ValueError("credentials must be an environment variable reference like ${MY_VENUE_KEY}")
        return value


class AccountSource(_Strict):
    """Where an account's data comes from; the same in every config version."""

    venue: str | None = Field(None, description="ccxt exchange id for a live account, e.g. binanceusdm")
    snapshot: str | None = Field(
        None, description="snapshot file (relative to this config) or 'bundled:paper' for a paper account"
    )
    snapshot_account: str | None = Field(None, description="which account inside the snapshot; defaults to the name")
    credentials: Credentials = Field(default_factory=Credentials)
    sandbox: bool = Field(False, description="use the venue's testnet/demo environment where ccxt supports it")
    endpoint: str | None = Field(None, description="base URL override, e.g. http://127.0.0.1:8901 for riskguard sim")
    symbols: list[str] | None = Field(None, description="market-data symbols to read besides those with positions")
    account_type: Literal["standard", "unified", "classic"] = "standard"
    timeout_s: float = Field(10.0, gt=0, description="deadline for all reads of one check, retries included")

    @model_validator(mode="after")
    def _one_source(self) -> AccountSource:
        if (self.venue is None) == (self.snapshot is None):
            raise ValueError("an account needs exactly one of 'venue' (live) or 'snapshot' (paper/replay)")
        if self.snapshot is not None and (self.endpoint or self.sandbox):
            raise ValueError("'endpoint' and 'sandbox' only apply to live accounts")
        return self

    @property
    def is_live(self) -> bool:
        return self.venue is not None


class AccountConfig(AccountSource):
    """A version-1 account: policy overrides inline, ``execute`` as a flag."""

    execute: bool = Field(False, description="allow riskguard to send reduce-only orders for this account")
    policy: dict[str, Any] = Field(default_factory=dict, description="overrides of the top-level policy")


class ConfigFile(_Strict):
    version: Literal[1] = 1
    policy: Policy = Field(default_factory=Policy)
    accounts: dict[str, AccountConfig] = Field(min_length=1)


Mode = Literal["recommend", "execute"]


class Defaults(StrictSchema):
    policy: str | None = Field(None, description="policy of accounts that name none")
    mode: Mode = Field("recommend", description="recommend: plans are shown; execute: the executor may send them")


class AccountConfigV2(AccountSource):
    """A version-2 account: its policy by name, and whether riskguard may act on it."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    policy: str | None = Field(None, description="name of a policy under `policies:`; defaults.policy if absent")
    mode: Mode | None = Field(None, description="recommend | execute; defaults.mode if absent")


class ConfigFileV2(StrictSchema):
    version: Literal[2]
    defaults: Defaults = Defaults.model_validate({})
    policies: dict[str, PolicyDef] = Field(default_factory=dict)
    accounts: dict[str, AccountConfigV2] = Field(min_length=1)
    audit_db: str | None = Field(None, description="audit store (SQLite) file, relative to this config; default "
                                 "$RISKGUARD_AUDIT_DB or ~/.local/share/riskguard/audit.sqlite3")
    daemon: DaemonSettings = Field(default_factory=lambda: DaemonSettings.model_validate({}))


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """An account ready to use: effective policy, resolved paths, and where it was declared."""

    name: str
    config: AccountSource
    policy: Policy
    snapshot_path: Path | None
    where: str
    rules: tuple[Rule, ...] = ()
    policy_name: str = DEFAULT_POLICY
    mode: Mode = "recommend"
    actions: Mapping[str, tuple[Strategy, ...]] = field(default_factory=dict)
    """Per rule name, its actions as strategy instances (resolved and their parameters checked at load)."""

    def secret(self, field: str) -> SecretStr | None:
        """Resolve one credential from the environment; a missing variable is an error naming it."""
        ref = getattr(self.config.credentials, field)
        if ref is None:
            return None
        var = _ENV_REF.match(ref).group(1)  # type: ignore[union-attr]
        value = os.environ.get(var)
        if not value:
            raise ConfigError(f"environment variable {var} (credentials.{field}) is not set", self.where)
        remember_secret(value)
        return SecretStr(value)


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    accounts: Mapping[str, AccountSpec]
    audit_db: Path | None = None
    """The audit store file (``audit_db:`` in a version-2 config); None: RISKGUARD_AUDIT_DB or the data directory."""
    daemon: DaemonSettings = field(default_factory=lambda: DaemonSettings.model_validate({}))
    """``riskguard daemon`` settings (version 2 configs; docs/daemon.md)."""

    def select(self, name: str | None) -> list[AccountSpec]:
        if name is None:
            return list(self.accounts.values())
        if name not in self.accounts:
            raise ConfigError(f"no account named {name!r} (have: {', '.join(self.accounts)})", str(self.path))
        return [self.accounts[name]]


def load_config(path: Path) -> Config:
    """Parse and validate a config file; every error is a ``ConfigError`` naming file:line and the key path."""
    loaded = load_yaml(path, error=ConfigError)
    data = loaded.data
    if not isinstance(data, dict):
        raise ConfigError("the config must be a mapping with an 'accounts' section", str(path))
    if data.get("version") == 2:
        return _load_v2(path, loaded, data)
    for key in ("policies", "defaults"):
        if key in data:
            raise ConfigError(
                f"'{key}:' belongs to config version 2: add 'version: 2' at the top and move the v1 'policy:' "
                "limits into a policy's 'limits:' (docs/policies.md, \"Migrating from version 1\")",
                loaded.where((key,)),
            )
    try:
        parsed = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, loaded) from None
    specs = {}
    base_policy = parsed.policy.model_dump()
    for name, account in parsed.accounts.items():
        where = loaded.where(("accounts", name))
        try:
            policy = Policy.model_validate({**base_policy, **account.policy})
        except ValidationError as exc:
            raise _validation_error(exc, loaded, ("accounts", name, "policy")) from None
        mode: Mode = "execute" if account.execute else "recommend"
        specs[name] = AccountSpec(name, account, policy, _snapshot_path(path, account.snapshot), where, mode=mode)
    return Config(path=path, accounts=specs)


def _validation_error(exc: ValidationError, loaded: LoadedYaml, prefix: tuple[Any, ...] = ()) -> ConfigError:
    """The first error as a ConfigError at file:line, with the key path and, for a typo, the nearest key."""
    err = exc.errors()[0]
    loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = f"unknown key {loc[-1]!r}"
    elif err["type"] == "unknown_key":
        loc = (*loc, err["ctx"]["key"])
    elif err["type"] == "finite_number":
        msg = "must be a finite number"
    elif err["type"].endswith("_type") or err["type"] in ("literal_error", "enum"):
        msg = f"{msg}, got {err['input']!r}"
    return ConfigError(msg, loaded.where(loc))


def _load_v2(path: Path, loaded: LoadedYaml, data: dict[str, Any]) -> Config:
    try:
        parsed = ConfigFileV2.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, loaded) from None
    resolved: dict[str, _Resolved] = {}
    specs = {}
    for name, account in parsed.accounts.items():
        where = loaded.where(("accounts", name))
        policy_name = account.policy or parsed.defaults.policy or DEFAULT_POLICY
        if policy_name not in parsed.policies and policy_name != DEFAULT_POLICY:
            loc = ("accounts", name, "policy") if account.policy else ("defaults", "policy")
            raise ConfigError(
                f"no policy named {policy_name!r}{suggest(policy_name, parsed.policies)}"
                f" (defined: {', '.join(parsed.policies) or 'none'})",
                loaded.where(loc),
            )
        if policy_name not in resolved:
            resolved[policy_name] = _resolve_policy(parsed.policies, policy_name, loaded)
        limits, rules, actions = resolved[policy_name]
        specs[name] = AccountSpec(
            name,
            account,
            limits,
            _snapshot_path(path, account.snapshot),
            where,
            rules=rules,
            policy_name=policy_name,
            mode=account.mode or parsed.defaults.mode,
            actions=actions,
        )
    audit_db = _snapshot_path(path, parsed.audit_db) if parsed.audit_db else None
    return Config(path=path, accounts=specs, audit_db=audit_db, daemon=parsed.daemon)


_Resolved = tuple[Policy, tuple[Rule, ...], Mapping[str, tuple["Strategy", ...]]]


def _resolve_policy(policies: Mapping[str, PolicyDef], name: str, loaded: LoadedYaml) -> _Resolved:
    """Limits merged field by field and rules merged by name, from the root of the ``extends`` chain down."""
    chain: list[str] = []
    current: str | None = name
    while current is not None and current in policies:
        if current in chain:
            cycle = " → ".join([*chain[chain.index(current):], current])
            where = loaded.where(("policies", current, "extends"))
            raise ConfigError(f"policy inheritance cycle: {cycle}", where)
        chain.append(current)
        parent = policies[current].extends
        if parent is not None and parent not in policies and parent != DEFAULT_POLICY:
            raise ConfigError(
                f"policy {current!r} extends unknown policy {parent!r}{suggest(parent, policies)}",
                loaded.where(("policies", current, "extends")),
            )
        current = parent
    from riskguard.rules.strategy import create_strategy

    limits: dict[str, Any] = {}
    rules: dict[str, Rule] = {}
    actions: dict[str, tuple[Strategy, ...]] = {}
    for link in reversed(chain):
        limits.update(policies[link].limits)
        try:
            Policy.model_validate(limits)
        except ValidationError as exc:
            raise _validation_error(exc, loaded, ("policies", link, "limits")) from None
        for i, rule in enumerate(policies[link].rules):
            rules[rule.name] = rule
            actions[rule.name] = tuple(
                create_strategy(a.strategy, a.params, where=loaded.where(("policies", link, "rules", i, "actions", j)))
                for j, a in enumerate(rule.actions)
            )
    return Policy.model_validate(limits), tuple(rules.values()), actions


def validate_for_use(config: Config) -> None:
    """What ``load_config`` leaves to the moment of use, checked now: every credential variable is set."""
    for spec in config.accounts.values():
        for key, ref in spec.config.credentials.model_dump().items():
            if ref is not None:
                spec.secret(key)


def _snapshot_path(config_path: Path, ref: str | None) -> Path | None:
    if ref is None:
        return None
    if ref.startswith(BUNDLED_PREFIX):
        return bundled_snapshot(ref.removeprefix(BUNDLED_PREFIX))
    p = Path(ref).expanduser()
    return p if p.is_absolute() else (config_path.parent / p)


def bundled_snapshot(name: str) -> Path:
    """Snapshots shipped inside the package, so the paper account works from any directory."""
    return Path(__file__).parent / "data" / f"{name}_snapshot.json"
