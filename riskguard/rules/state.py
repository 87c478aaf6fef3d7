"""An account's trading state and how it moves (docs/policies.md, "Trading states").

    ACTIVE ──a rule with state: reducing fires──▶ REDUCING ──a rule with state: halted fires──▶ HALTED
      ▲                                               │                                          │
      └──────── no such rule fires (each held until its release threshold is passed) ◀───────────┘

The state is the worst that the firing rules ask for, so it moves in both directions in one evaluation; what
makes it sticky is each rule's ``release`` (hysteresis), carried between evaluations by the rule memory.  A
rule whose metric is unknown counts as firing for the state (fail closed), and an account that could not be
read at all is HALTED: nothing is known that would allow more exposure.

* ACTIVE: the plan holds the actions of the firing rules, if any; the gate passes an order when every rule
  holds after it.
* REDUCING: as ACTIVE, and the gate refuses an order that grows a position a firing rule is scoped to.
* HALTED: the plan holds only reduce-only orders, and the gate refuses every exposure-increasing order.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class TradingState(StrEnum):
    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


def next_state(asked: Iterable[TradingState]) -> TradingState:
    """The state the firing rules ask for: the worst of them, ACTIVE when none fires."""
    return max(asked, key=lambda s: s.rank, default=TradingState.ACTIVE)
