"""Per-account kill switch: an upper bound on what the daemon may do to an account in a cascade.

A bug, a bad read or a venue that keeps answering strangely must not turn the daemon into the thing that
empties the account.  Three limits: orders sent per rolling minute, quote notional reduced per rolling hour, and
consecutive venue rejections.  A trip halts the account's actions until the operator restarts the daemon (the
trip is audited and alerted; watching and alerts go on).  Pure: the clock is injected.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from riskguard.daemon.settings import KillSwitchSettings


@dataclass
class KillSwitch:
    settings: KillSwitchSettings
    clock: Callable[[], float]
    tripped: str | None = None
    """Why the switch tripped; None while armed."""
    _sent: deque[float] = field(default_factory=deque)
    _notional: deque[tuple[float, float]] = field(default_factory=deque)
    _rejections: int = 0

    def _prune(self, now: float) -> None:
        while self._sent and now - self._sent[0] >= 60.0:
            self._sent.popleft()
        while self._notional and now - self._notional[0][0] >= 3600.0:
            self._notional.popleft()

    def refusal(self, orders: int, notional: float) -> str | None:
        """Why sending ``orders`` more orders reducing ``notional`` would break a limit (and trips it), or None."""
        if self.tripped:
            return self.tripped
        now = self.clock()
        self._prune(now)
        s = self.settings
        if len(self._sent) + orders > s.max_orders_per_minute:
            why = (f"kill switch: {len(self._sent)} order(s) in the last minute, {orders} more would pass "
                   f"max_orders_per_minute={s.max_orders_per_minute}")
        elif s.max_notional_per_hour is not None and (
                sum(n for _, n in self._notional) + notional > s.max_notional_per_hour):
            done = sum(n for _, n in self._notional)
            why = (f"kill switch: {done:,.2f} reduced in the last hour, {notional:,.2f} more would pass "
                   f"max_notional_per_hour={s.max_notional_per_hour:,.2f}")
        else:
            return None
        self.tripped = why
        return why

    def record(self, sent: int, notional: float, rejected: int, accepted: int) -> str | None:
        """Count what a run did; returns the trip reason when rejections reach the limit."""
        now = self.clock()
        self._sent.extend([now] * sent)
        if notional > 0:
            self._notional.append((now, notional))
        if accepted:
            self._rejections = 0
        self._rejections += rejected
        if self.tripped is None and self._rejections >= self.settings.max_rejections:
            self.tripped = (f"kill switch: {self._rejections} consecutive rejection(s) reach "
                            f"max_rejections={self.settings.max_rejections}")
            return self.tripped
        return None
