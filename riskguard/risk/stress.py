"""Price-shock stress: which positions liquidate, and how much margin is left, if the mark jumps.

The liquidation price answers "where", a stress table answers "what if": it is the only view that
works the same for isolated positions and for cross accounts, whose positions have no liquidation
price of their own (venue-margin-math §0: a cross LP is an other-things-equal estimate). So the
rule here is the venues' own trigger, evaluated at each shocked mark, not a comparison with LPs:

    liquidated  ⇔  equity ≤ maintenance margin

* Isolated position: equity = its margin + its uPnL; maintenance = its own MM.
* Cross positions share one pool: equity = cross wallet + Σ cross uPnL; maintenance = Σ cross MM.
  Either the whole pool survives or every cross position in it is liquidated (account-level
  trigger, as on Binance cross, Bybit UTA and Hyperliquid).

MM = size·mmr − cum by the tier of the size at the *shocked* price (linear: notional qty·P; inverse:
coin qty/P), via :func:`riskguard.risk.solver.maintenance_margin`, so a shock that moves a
position across a tier boundary changes its rate exactly as the venue would.

One shock moves every mark by the same fraction (P = mark·(1 + shock)): crypto majors move together
in a crash, and a single number keeps the table readable. One ``StressAccount`` holds one margin asset
(a USDT pool, or one coin's COIN-M pool): amounts of different settle assets are never summed.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from riskguard.risk.solver import equity, maintenance_margin
from riskguard.risk.tiers import TierTable

DEFAULT_SHOCKS = (-0.30, -0.20, -0.10, -0.05, 0.05, 0.10, 0.20, 0.30)


@dataclass(frozen=True)
class StressAccount:
    """Positions of one margin asset as parallel (n,) arrays, in the solver's units.

    ``qty`` is base units (linear) or quote units, contracts × contract size (inverse).
    ``isolated_margin`` backs each isolated position and must be 0 where ``cross`` is True;
    ``cross_wallet`` backs the cross positions together. ``table`` indexes rows of ``tiers``.
    """

    inverse: np.ndarray
    side: np.ndarray
    qty: np.ndarray
    entry: np.ndarray
    mark: np.ndarray
    cross: np.ndarray
    isolated_margin: np.ndarray
    cross_wallet: float
    tiers: TierTable
    table: np.ndarray
    fixed_tier: np.ndarray | None = None
    """Pinned tier per position (OKX, Bybit risk limit); −1 picks the tier at the shocked price."""
    mmr_add: np.ndarray | None = None
    """Added to every maintenance rate (OKX taker-fee reserve)."""

    @classmethod
    def build(
        cls,
        *,
        inverse: ArrayLike,
        side: ArrayLike,
        qty: ArrayLike,
        entry: ArrayLike,
        mark: ArrayLike,
        cross: ArrayLike,
        isolated_margin: ArrayLike,
        cross_wallet: float,
        tiers: TierTable,
        table: ArrayLike,
        fixed_tier: ArrayLike | None = None,
        mmr_add: ArrayLike | None = None,
    ) -> "StressAccount":
        """Coerce lists to typed numpy arrays (bool masks, float amounts, int table indices)."""
        return cls(
            inverse=np.asarray(inverse, dtype=bool),
            side=np.asarray(side, dtype=float),
            qty=np.asarray(qty, dtype=float),
            entry=np.asarray(entry, dtype=float),
            mark=np.asarray(mark, dtype=float),
            cross=np.asarray(cross, dtype=bool),
            isolated_margin=np.asarray(isolated_margin, dtype=float),
            cross_wallet=float(cross_wallet),
            tiers=tiers,
            table=np.asarray(table, dtype=np.int64),
            fixed_tier=None if fixed_tier is None else np.asarray(fixed_tier, dtype=np.int64),
            mmr_add=None if mmr_add is None else np.asarray(mmr_add, dtype=float),
        )


@dataclass(frozen=True)
class StressResult:
    """Outcome per shock (rows) and position (columns).

    ``equity`` and ``maintenance`` are what the liquidation rule compares for that position: its own
    for an isolated one, the cross pool's for a cross one. When ``status`` is ``"unknown"`` every
    number is NaN and every position counts as liquidated: a stress that cannot be computed must
    not read as survival.
    """

    status: Literal["ok", "unknown"]
    reason: str | None
    shocks: np.ndarray
    price: np.ndarray
    unrealized_pnl: np.ndarray
    position_maintenance: np.ndarray
    equity: np.ndarray
    maintenance: np.ndarray
    liquidated: np.ndarray

    @classmethod
    def unknown(cls, reason: str, shocks: np.ndarray, n_positions: int) -> "StressResult":
        nan = np.full((shocks.shape[0], n_positions), np.nan)
        liquidated = np.ones(nan.shape, dtype=bool)
        return cls("unknown", reason, shocks, nan, nan, nan, nan, nan, liquidated)

    @property
    def margin_left(self) -> np.ndarray:
        """Equity above maintenance; ≤ 0 exactly where ``liquidated``."""
        return self.equity - self.maintenance

    @property
    def survives(self) -> np.ndarray:
        """(shocks,) True where no position of the account is liquidated; never True when unknown."""
        return np.asarray(~self.liquidated.any(axis=1) & (self.status == "ok"), dtype=bool)


def _invalid_reason(account: StressAccount, shocks: np.ndarray) -> str | None:
    n = account.side.shape
    arrays = (account.inverse, account.qty, account.entry, account.mark, account.cross)
    if any(a.shape != n for a in (*arrays, account.isolated_margin, account.table)):
        return "BAD_INPUT: position arrays differ in length"
    if np.any((account.table < 0) | (account.table >= account.tiers.size.shape[0])):
        return "BAD_INPUT: tier table index out of range"
    if not np.all(np.isin(account.side, (-1.0, 1.0))):
        return "BAD_INPUT: side must be +1 or -1"
    for name in ("qty", "entry", "mark"):
        values = getattr(account, name)
        if not np.all(np.isfinite(values) & (values > 0)):
            return f"BAD_INPUT: {name} must be finite and > 0"
    if not (np.all(np.isfinite(account.isolated_margin)) and np.isfinite(account.cross_wallet)):
        return "BAD_INPUT: margin or cross wallet is not finite"
    if np.any(account.isolated_margin[account.cross] != 0):
        return "BAD_INPUT: a cross position carries isolated margin"
    if not np.all(np.isfinite(shocks) & (shocks > -1)):
        return "BAD_INPUT: shocks must be finite and > -100%"
    return None


def stress(account: StressAccount, shocks: ArrayLike = DEFAULT_SHOCKS) -> StressResult:
    """Apply each fractional ``shock`` to every mark and evaluate the liquidation rule (module doc)."""
    shocks = np.atleast_1d(np.asarray(shocks, dtype=float))
    k, n = shocks.shape[0], account.side.shape[0]
    reason = _invalid_reason(account, shocks)
    if reason is not None:
        return StressResult.unknown(reason, shocks, n)

    def tiled(values: np.ndarray) -> np.ndarray:
        return np.tile(values, k)

    def tiled_optional(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else tiled(values)

    price = (account.mark[None, :] * (1 + shocks[:, None])).ravel()
    upnl = equity(
        inverse=tiled(account.inverse),
        side=tiled(account.side),
        qty=tiled(account.qty),
        entry=tiled(account.entry),
        margin=np.zeros(k * n),
        price=price,
    ).reshape(k, n)
    position_mm, _ = maintenance_margin(
        inverse=tiled(account.inverse),
        qty=tiled(account.qty),
        price=price,
        tiers=account.tiers,
        table=tiled(account.table),
        fixed_tier=tiled_optional(account.fixed_tier),
        mmr_add=tiled_optional(account.mmr_add),
    )
    position_mm = position_mm.reshape(k, n)
    cross = account.cross[None, :]
    pool_equity = account.cross_wallet + np.where(cross, upnl, 0.0).sum(axis=1, keepdims=True)
    pool_mm = np.where(cross, position_mm, 0.0).sum(axis=1, keepdims=True)
    equity_ = np.where(cross, pool_equity, account.isolated_margin[None, :] + upnl)
    maintenance = np.where(cross, pool_mm, position_mm)
    return StressResult(
        status="ok",
        reason=None,
        shocks=shocks,
        price=price.reshape(k, n),
        unrealized_pnl=upnl,
        position_maintenance=position_mm,
        equity=equity_,
        maintenance=maintenance,
        liquidated=~(equity_ > maintenance),
    )
