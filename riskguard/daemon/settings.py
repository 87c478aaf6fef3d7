"""The ``daemon:`` section of a version-2 config: watching, safety switches, alerts, metrics and the gate API.

Everything has a safe default, so a config without the section runs the daemon in recommend mode with the
kill switch on and nothing listening except what is asked for.  Alert URLs may carry tokens: write them as
``${VAR}`` and the value is read from the environment (secrets never live in the file).
"""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from riskguard.errors import ConfigError

_ENV = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class KillSwitchSettings(_Strict):
    max_orders_per_minute: int = Field(6, ge=1, description="orders sent per account in any 60 s window")
    max_notional_per_hour: float | None = Field(
        None, gt=0, description="quote notional reduced per account in any hour; none = no notional cap")
    max_rejections: int = Field(3, ge=1, description="consecutive venue rejections before the account is halted")


class AlertSettings(_Strict):
    urls: list[str] = Field(default_factory=list, description="apprise URLs, or ${VAR} naming one in the env")
    min_interval_s: float = Field(60.0, ge=0, description="per account and kind: at most one alert per interval")
    burst: int = Field(3, ge=1, description="alerts allowed at once before the interval applies")


class ListenSettings(_Strict):
    host: str = Field("127.0.0.1", description="loopback only")
    port: int | None = Field(None, ge=0, le=65535, description="none = off; 0 = any free port (printed at start)")
    unix_socket: str | None = Field(None, description="gate API only: a Unix socket path instead of TCP")


class DaemonSettings(_Strict):
    poll_s: float = Field(5.0, gt=0, description="REST read interval where there is no stream or it is down")
    reconcile_s: float = Field(60.0, gt=0, description="full REST read interval even while streams are healthy")
    stale_s: float = Field(15.0, gt=0, description="data older than this makes the account UNKNOWN: no action")
    streams: bool = Field(True, description="use ccxt websockets where the venue has them")
    concurrent_reads: int = Field(
        8, ge=1, description="full REST reads in flight at once across all accounts (a start or a reconcile of "
        "hundreds of accounts queues instead of flooding the venue, where each read times out)")
    kill_switch: KillSwitchSettings = Field(default_factory=lambda: KillSwitchSettings.model_validate({}))
    alerts: AlertSettings = Field(default_factory=lambda: AlertSettings.model_validate({}))
    metrics: ListenSettings = Field(default_factory=lambda: ListenSettings.model_validate({}))
    gate: ListenSettings = Field(default_factory=lambda: ListenSettings.model_validate({}))
    audit_db: str | None = Field(None, description="audit store path; default under the user's data directory")
    audit_durability: Literal["power_loss", "process_crash"] = Field(
        "process_crash", description="what an order intent survives before the order leaves: process_crash hands "
        "it to the OS (kill -9 and a crash of riskguard lose nothing; a power cut or kernel crash may lose the last "
        "intents' record, never add exposure); power_loss fsyncs it first (a disk flush in every reaction: tens to "
        "hundreds of ms when the disk is busy, as it is in a cascade)")


def resolve_url(url: str, where: str) -> str:
    """An alert URL, with a ``${VAR}`` reference read from the environment."""
    match = _ENV.match(url)
    if match is None:
        return url
    value = os.environ.get(match.group(1))
    if not value:
        raise ConfigError(f"environment variable {match.group(1)} (daemon.alerts.urls) is not set", where)
    from riskguard.connectors.redact import remember_secret

    remember_secret(value)
    return value
