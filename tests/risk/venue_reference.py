"""Frozen outputs of the venue-rules path on a random mixed-venue sample, to prove a rewrite changes nothing.

``venue_math`` was rewritten for speed (branch-free selects, one pass per
term).  Before the rewrite this script drew 4,000 positions over every venue's
rules, both margin modes, linear and inverse, four tier tables (one counted in
contracts), reported and unreported tiers, unknown fees where no rule reads
them, missing and odd ticks, over-collateralised rows, and saved their inputs
with what the old code returned into ``vectors/venue_math_reference.npz``.
``test_venue_math_reference.py`` feeds the same inputs to the current code and
demands the same bits.  Regenerate only for a deliberate change of results:
``python tests/risk/venue_reference.py`` (commit the new file with the reason).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from riskguard.model import AccountType
from riskguard.model.market import MarginTier
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_math import PositionArrays, RuleColumns, display, requirement, solve
from riskguard.risk.venue_rules import rules_for

FIXTURE = Path(__file__).resolve().parent / "vectors" / "venue_math_reference.npz"
VENUES = (
    rules_for("binanceusdm"),
    rules_for("bybit", AccountType.UNIFIED),
    rules_for("bybit", AccountType.CLASSIC),
    rules_for("okx"),
    rules_for("hyperliquid"),
    rules_for("gate"),
    rules_for("kucoinfutures"),
)
OUTPUTS = ("maintenance", "reserve", "tier", "fixed_tier", "mmr_add", "liq", "bankrupt",
           "liq_shown", "liq_rule", "bankrupt_shown", "bankrupt_rule")


def _table(floors: tuple[float, ...], mmrs: tuple[float, ...]) -> list[MarginTier]:
    cums = [0.0]
    for i in range(1, len(floors)):
        cums.append(cums[-1] + floors[i] * (mmrs[i] - mmrs[i - 1]))
    return [MarginTier(f, c, m, k) for f, c, m, k in zip(floors, (*floors[1:], np.inf), mmrs, cums, strict=True)]


def draw(n: int = 4000, seed: int = 20261201) -> dict[str, np.ndarray]:
    """Inputs: position columns, the venue index, collateral, tick and the packed tier tables."""
    rng = np.random.default_rng(seed)
    tiers = TierTable.from_tiers([
        _table((0, 50e3, 250e3, 1e6, 10e6, 20e6), (0.004, 0.005, 0.01, 0.025, 0.05, 0.1)),
        _table((0, 5, 10, 20, 50), (0.004, 0.005, 0.01, 0.025, 0.05)),  # coin quantity (inverse)
        _table((0, 2000, 20000, 100000), (0.008, 0.01, 0.02, 0.04)),  # contracts (OKX-style)
        _table((0,), (0.01,)),
    ])
    table = rng.integers(0, 4, n)
    inverse = table == 1
    entry = rng.uniform(1, 100_000, n)
    notional = np.exp(rng.uniform(np.log(10), np.log(3e7), n))
    qty = np.where(inverse, notional, notional / entry)
    leverage = rng.uniform(1, 125, n)
    venue = rng.integers(0, len(VENUES), n)
    needs_fee = np.array([r.needs_taker_fee for r in VENUES])[venue]
    taker = rng.choice(np.array([0.0002, 0.0005, 0.00055, 0.00075]), n)
    margin = np.where(inverse, notional / entry, notional) / leverage * rng.choice([0.3, 1.0, 1.0, 3.0, 200.0], n)
    return {
        "inverse": inverse,
        "side": rng.choice(np.array([-1.0, 1.0]), n),
        "qty": qty,
        "contracts": qty * rng.choice(np.array([1.0, 10.0, 100.0]), n),
        "entry": entry,
        "mark": entry * rng.uniform(0.9, 1.1, n),
        "table": table,
        "by_contracts": table == 2,
        "reported_tier": np.where(rng.random(n) < 0.3, rng.integers(0, 6, n), -1),
        "taker": np.where(needs_fee | (rng.random(n) < 0.5), taker, np.nan),
        "leverage": np.where(needs_fee | (rng.random(n) < 0.5), leverage, np.nan),
        "isolated": rng.random(n) < 0.5,
        "venue": venue,
        "collateral": margin,
        "tick": rng.choice(np.array([0.1, 0.5, 0.01, 0.05, 1e-4, 0.0, np.nan]), n),
        "floor": tiers.floor,
        "mmr": tiers.mmr,
        "cum": tiers.cum,
        "size": tiers.size,
    }


def evaluate(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rule columns, requirement, roots and both displays: what ``check`` and the batch API run."""
    tiers = TierTable(floor=inputs["floor"], mmr=inputs["mmr"], cum=inputs["cum"], size=inputs["size"])
    fields = [f for f in PositionArrays.__slots__ if f != "tiers"]
    pos = PositionArrays(tiers=tiers, **{f: inputs[f] for f in fields})
    cols = RuleColumns.build(VENUES, inputs["venue"], pos.isolated)
    req = requirement(pos, cols)
    liq, bankrupt = solve(pos, cols, req, inputs["collateral"])
    liq_shown, liq_rule = display(liq, pos.side, inputs["tick"], cols.liquidation_convention)
    bankrupt_shown, bankrupt_rule = display(bankrupt, pos.side, inputs["tick"], cols.bankruptcy_convention)
    return {
        "maintenance": req.maintenance,
        "reserve": req.reserve,
        "tier": req.tier,
        "fixed_tier": req.fixed_tier,
        "mmr_add": req.mmr_add,
        "liq": liq,
        "bankrupt": bankrupt,
        "liq_shown": liq_shown,
        "liq_rule": liq_rule,
        "bankrupt_shown": bankrupt_shown,
        "bankrupt_rule": bankrupt_rule,
    }


if __name__ == "__main__":
    sample = draw()
    with np.errstate(all="ignore"):
        out = evaluate(sample)
    np.savez_compressed(FIXTURE, **sample, **{f"out_{k}": v for k, v in out.items()})
    print(f"wrote {FIXTURE}: {len(sample['qty'])} rows")
