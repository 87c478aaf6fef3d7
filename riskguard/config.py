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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from riskguard.errors import ConfigError

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
BUNDLED_PREFIX = "bundled:"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class AccountConfig(_Strict):
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
    execute: bool = Field(False, description="allow riskguard to send reduce-only orders for this account")
    policy: dict[str, Any] = Field(default_factory=dict, description="overrides of the top-level policy")

    @model_validator(mode="after")
    def _one_source(self) -> AccountConfig:
        if (self.venue is None) == (self.snapshot is None):
            raise ValueError("an account needs exactly one of 'venue' (live) or 'snapshot' (paper/replay)")
        if self.snapshot is not None and (self.endpoint or self.sandbox):
            raise ValueError("'endpoint' and 'sandbox' only apply to live accounts")
        return self

    @property
    def is_live(self) -> bool:
        return self.venue is not None


class ConfigFile(_Strict):
    version: Literal[1] = 1
    policy: Policy = Field(default_factory=Policy)
    accounts: dict[str, AccountConfig] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """An account ready to use: effective policy, resolved paths, and where it was declared."""

    name: str
    config: AccountConfig
    policy: Policy
    snapshot_path: Path | None
    where: str

    def secret(self, field: str) -> SecretStr | None:
        """Resolve one credential from the environment; a missing variable is an error naming it."""
        ref = getattr(self.config.credentials, field)
        if ref is None:
            return None
        var = _ENV_REF.match(ref).group(1)  # type: ignore[union-attr]
        value = os.environ.get(var)
        if not value:
            raise ConfigError(f"environment variable {var} (credentials.{field}) is not set", self.where)
        return SecretStr(value)


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    accounts: Mapping[str, AccountSpec]

    def select(self, name: str | None) -> list[AccountSpec]:
        if name is None:
            return list(self.accounts.values())
        if name not in self.accounts:
            raise ConfigError(f"no account named {name!r} (have: {', '.join(self.accounts)})", str(self.path))
        return [self.accounts[name]]


def _node_at(root: yaml.Node, loc: tuple[Any, ...]) -> yaml.Node:
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                return node
            key, value = match
            node = value if part != loc[-1] else key
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _located(path: Path, root: yaml.Node | None, loc: tuple[Any, ...]) -> str:
    line = "" if root is None else f":{_node_at(root, loc).start_mark.line + 1}"
    dotted = ".".join(str(p) for p in loc)
    return f"{path}{line}" + (f" ({dotted})" if dotted else "")


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", str(path)) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', None) or exc}", where) from None
    if not isinstance(data, dict):
        raise ConfigError("the config must be a mapping with an 'accounts' section", str(path))
    try:
        parsed = ConfigFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}"
        raise ConfigError(msg, _located(path, root, loc)) from None
    specs = {}
    for name, account in parsed.accounts.items():
        where = _located(path, root, ("accounts", name))
        try:
            policy = Policy.model_validate({**parsed.policy.model_dump(), **account.policy})
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ("accounts", name, "policy", *err["loc"])
            msg = f"unknown key {err['loc'][-1]!r}" if err["type"] == "extra_forbidden" else err["msg"]
            raise ConfigError(msg.removeprefix("Value error, "), _located(path, root, loc)) from None
        specs[name] = AccountSpec(name, account, policy, _snapshot_path(path, account.snapshot), where)
    return Config(path=path, accounts=specs)


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
