"""Prometheus metrics of the daemon (prometheus-client), served on 127.0.0.1 when ``daemon.metrics.port`` is set.

Labels are account names, symbols and kinds only: never a key, a URL or an error text, so nothing secret can
reach a scrape.  Names are documented in docs/daemon.md.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from riskguard.rules.state import TradingState

STATES = (*(s.value for s in TradingState), "unknown")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.buffer = Gauge("riskguard_position_buffer_pct", "Distance from mark to liquidation, % of mark",
                            ["account", "symbol", "side"], registry=r)
        self.state = Gauge("riskguard_account_state", "1 for the account's current trading state",
                           ["account", "state"], registry=r)
        self.actions = Counter("riskguard_actions_total", "Orders the daemon sent, by outcome",
                               ["account", "outcome"], registry=r)
        self.errors = Counter("riskguard_errors_total", "Read, stream and execution errors", ["account", "kind"],
                              registry=r)
        self.data_age = Gauge("riskguard_data_age_seconds", "Age of the newest data the account was evaluated on",
                              ["account"], registry=r)
        self.evaluations = Counter("riskguard_evaluations_total", "Evaluations run", ["account"], registry=r)
        self.kill_switch = Gauge("riskguard_kill_switch_tripped", "1 once the account's kill switch tripped",
                                 ["account"], registry=r)

    def set_state(self, account: str, state: str) -> None:
        for s in STATES:
            self.state.labels(account, s).set(1.0 if s == state else 0.0)

    def set_buffers(self, account: str, buffers: dict[tuple[str, str], float | None]) -> None:
        for (symbol, side), value in buffers.items():
            self.buffer.labels(account, symbol, side).set(float("nan") if value is None else value)

    def render(self) -> bytes:
        return generate_latest(self.registry)
