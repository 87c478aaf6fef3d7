"""Policy rules as YAML describes them: structured conditions, scopes, severities, states and actions.

A condition is data (a metric name, one comparison of a fixed set, a threshold): nothing in a policy is
ever evaluated as code, so a config file cannot run anything.  The models are strict (a string is not a
number), frozen, and reject unknown keys with a "did you mean" hint; the loader adds file:line.
"""

from __future__ import annotations

import fnmatch
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from riskguard.rules.metric_catalog import CATALOG, suggest
from riskguard.rules.state import TradingState


class KnownKeys(BaseModel):
    """Frozen; an unknown key is rejected naming the nearest known one (the loader adds file:line)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = [f.alias or n for n, f in cls.model_fields.items()]
            for key in data:
                if key not in known:
                    message = f"unknown key {key!r}{suggest(str(key), known)}"
                    raise PydanticCustomError("unknown_key", message, {"key": key})
        return data


class StrictModel(KnownKeys):
    """Also strict: a quoted "5" is not a number and ``yes`` is not a threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Op(StrEnum):
    """The comparisons a condition may use: words, because ``>`` starts a folded block in YAML."""

    BELOW = "below"
    AT_OR_BELOW = "at_or_below"
    ABOVE = "above"
    AT_OR_ABOVE = "at_or_above"

    def holds(self, value: float, threshold: float) -> bool:
        if self is Op.BELOW:
            return value < threshold
        if self is Op.AT_OR_BELOW:
            return value <= threshold
        if self is Op.ABOVE:
            return value > threshold
        return value >= threshold

    @property
    def falling_is_bad(self) -> bool:
        return self in (Op.BELOW, Op.AT_OR_BELOW)

    @property
    def symbol(self) -> str:
        return {"below": "<", "at_or_below": "≤", "above": ">", "at_or_above": "≥"}[self.value]


class RuleScope(StrictModel):
    """Which accounts and positions a rule looks at; an absent field matches everything."""

    accounts: list[str] | None = Field(None, description="account-name globs")
    venues: list[str] | None = Field(None, description="venue ids (binanceusdm, bybit, ...)")
    symbols: list[str] | None = Field(None, description="symbol globs, e.g. 'BTC/*' or '*/USDT:USDT'")
    side: Literal["long", "short"] | None = None

    def matches_account(self, account: str, venue: str) -> bool:
        return (self.accounts is None or any(fnmatch.fnmatchcase(account, g) for g in self.accounts)) and (
            self.venues is None or venue in self.venues
        )

    def matches_position(self, symbol: str, side: str) -> bool:
        return (self.symbols is None or any(fnmatch.fnmatchcase(symbol, g) for g in self.symbols)) and (
            self.side is None or side == self.side
        )


class Action(StrictModel):
    """A strategy to run when the rule fires: a shipped name or ``package.module:Class``."""

    strategy: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class Rule(StrictModel):
    name: str = Field(min_length=1)
    description: str | None = None
    metric: str
    op: Op
    threshold: float
    release: float | None = Field(
        None, description="hysteresis: once firing, the rule holds until the metric is past this value"
    )
    scope: RuleScope = RuleScope.model_validate({})
    severity: Literal["info", "warning", "breach"] = "warning"
    state: TradingState = Field(TradingState.ACTIVE, description="trading state the account enters while it fires")
    actions: list[Action] = Field(default_factory=list)

    @field_validator("op", "state", mode="before")
    @classmethod
    def _from_word(cls, value: Any, info: Any) -> Any:
        enum = Op if info.field_name == "op" else TradingState
        if isinstance(value, str) and value in {e.value for e in enum}:
            return enum(value)
        if isinstance(value, str):
            choices = [e.value for e in enum]
            message = f"{value!r} is not one of {', '.join(choices)}{suggest(value, choices)}"
            raise PydanticCustomError("bad_choice", message)
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in CATALOG:
            raise PydanticCustomError("unknown_metric", f"unknown metric {value!r}{suggest(value, CATALOG)}")
        return value

    @model_validator(mode="after")
    def _release_on_safe_side(self) -> Rule:
        if self.metric_scope == "account" and (self.scope.symbols is not None or self.scope.side is not None):
            raise ValueError(f"{self.metric!r} is an account metric: scope.symbols and scope.side do not apply")
        if self.release is not None:
            safe = self.release >= self.threshold if self.op.falling_is_bad else self.release <= self.threshold
            if not safe:
                side = "at or above" if self.op.falling_is_bad else "at or below"
                raise ValueError(f"release {self.release:g} must be {side} the threshold {self.threshold:g}")
        return self

    @property
    def metric_scope(self) -> str:
        return CATALOG[self.metric].scope


class PolicyDef(StrictModel):
    """One named policy.  ``extends`` inherits another's limits (field by field) and rules (by name)."""

    extends: str | None = None
    description: str | None = None
    limits: dict[str, Any] = Field(default_factory=dict, description="the v1 limits, field by field")
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_rule_names(self) -> PolicyDef:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}")
            seen.add(rule.name)
        return self
