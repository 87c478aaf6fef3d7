"""Kill switch limits, on an injected clock."""

from __future__ import annotations

from riskguard.daemon.killswitch import KillSwitch
from riskguard.daemon.settings import KillSwitchSettings


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def _switch(**limits: float) -> tuple[KillSwitch, Clock]:
    clock = Clock()
    return KillSwitch(KillSwitchSettings.model_validate(limits), clock), clock


def test_orders_per_minute_roll_over_and_trip_once_exceeded() -> None:
    switch, clock = _switch(max_orders_per_minute=3)
    assert switch.refusal(2, 0) is None
    switch.record(sent=2, notional=0, rejected=0, accepted=2)
    clock.t += 59.9
    why = switch.refusal(2, 0)
    assert why is not None and "2 order(s) in the last minute" in why and "max_orders_per_minute=3" in why
    clock.t += 3600  # a trip stays tripped: only a restart by the operator re-arms
    assert switch.refusal(1, 0) == why


def test_orders_leave_the_window_after_a_minute() -> None:
    switch, clock = _switch(max_orders_per_minute=3)
    switch.record(sent=3, notional=0, rejected=0, accepted=3)
    clock.t += 60.0
    assert switch.refusal(3, 0) is None


def test_notional_per_hour() -> None:
    switch, clock = _switch(max_notional_per_hour=100_000)
    switch.record(sent=1, notional=80_000, rejected=0, accepted=1)
    clock.t += 3599
    why = switch.refusal(1, 30_000)
    assert why is not None and "80,000.00 reduced in the last hour" in why
    fresh, clock2 = _switch(max_notional_per_hour=100_000)
    fresh.record(sent=1, notional=80_000, rejected=0, accepted=1)
    clock2.t += 3600
    assert fresh.refusal(1, 30_000) is None


def test_consecutive_rejections_halt_and_an_acceptance_resets_the_count() -> None:
    switch, _ = _switch(max_rejections=3)
    assert switch.record(sent=2, notional=0, rejected=2, accepted=0) is None
    assert switch.record(sent=1, notional=0, rejected=0, accepted=1) is None  # reset
    assert switch.record(sent=2, notional=0, rejected=2, accepted=0) is None
    why = switch.record(sent=1, notional=0, rejected=1, accepted=0)
    assert why is not None and "3 consecutive rejection(s)" in why
    assert switch.refusal(1, 0) == why
