"""Gate futures v4 (USDT-margined perpetuals): risk-limit tiers and raw position fields.

Gate counts ``size`` in contracts of ``quanto_multiplier`` base units (ccxt's
``contractSize``), signed; ``leverage`` "0" means cross; ``margin`` is the
position's margin balance without its uPnL; ``liq_price`` "0" means none
reported (Gate leaves it 0 on many cross rows); ``mode`` is ``single`` or
``dual_long``/``dual_short`` in hedge (dual) mode.
"""

from __future__ import annotations

from collections.abc import Sequence

from riskguard.connectors.normalize.base import VenueNormalizer, continuous_tiers
from riskguard.connectors.normalize.fields import Fields
from riskguard.errors import SnapshotError
from riskguard.model import AssetBalance, MarginMode, MarginTier, Market, Position, PositionSide, Quote, Side

_LEGS = {"single": PositionSide.BOTH, "dual_long": PositionSide.LONG, "dual_short": PositionSide.SHORT}


class GateNormalizer(VenueNormalizer):
    venue = "gate"
    stamps_last_change = True

    def tiers(self, tiers: list[Fields], market: Fields, raw: Fields) -> tuple[MarginTier, ...]:
        """``/futures/usdt/risk_limit_tiers`` rows: each tier ends at its ``risk_limit`` (position value).

        Since Gate's 2025 risk-limit upgrade the requirement is graduated by value
        (each tier's rate on the value inside it), which is a deduction table:
        Gate's ``deduction`` where it sends one, else derived for continuity.
        Rows without ``risk_limit`` (ccxt's emulation from the contract's
        ``risk_limit_step``) fall back to the unified fields.
        """
        rows = [t.child("info") for t in tiers]
        if not rows or not all(r.has("risk_limit") for r in rows):
            return super().tiers(tiers, market, raw)
        rows.sort(key=lambda r: r.num("risk_limit", positive=True))
        floor = 0.0
        out = []
        for r in rows:
            cap = r.num("risk_limit", positive=True)
            out.append(
                (
                    floor,
                    cap,
                    r.num("maintenance_rate", nonnegative=True),
                    r.opt_num("deduction"),
                    r.opt_num("leverage_max"),
                )
            )
            floor = cap
        try:
            return continuous_tiers(out)
        except ValueError as exc:
            raise SnapshotError(str(exc), market.at("symbol") + "(leverage_tiers)") from None

    def position(self, p: Fields, market: Market, quote: Quote | None) -> Position | None:
        info = p.child("info")
        size = info.num("size")
        if size == 0:
            return None
        mode = info.str("mode", "single")
        if mode not in _LEGS:
            raise SnapshotError(
                f"unknown position mode {mode!r}: expected single, dual_long or dual_short", info.at("mode")
            )
        leverage = info.num("leverage", nonnegative=True)
        margin_mode = MarginMode.CROSS if leverage == 0 else MarginMode.ISOLATED
        updated = info.opt_num("update_time", zero_is_missing=True)
        return self._position(
            p,
            market,
            quote,
            side=Side.LONG if size > 0 else Side.SHORT,
            contracts=abs(size),
            entry=info.num("entry_price", positive=True),
            mark=info.opt_num("mark_price", zero_is_missing=True),
            mode=margin_mode,
            position_side=_LEGS[mode],
            isolated_margin=info.num("margin") if margin_mode is MarginMode.ISOLATED else None,
            venue_liq=info.opt_num("liq_price", zero_is_missing=True),
            venue_mm=info.opt_num("maintenance_margin", zero_is_missing=True),
            venue_im=info.opt_num("initial_margin", zero_is_missing=True),
            timestamp=None if updated is None else updated * 1000,  # Gate stamps positions in seconds
        )

    def balances(self, b: Fields, positions: Sequence[Position]) -> dict[str, AssetBalance]:
        """Gate's futures ``total`` includes the isolated positions' margin; cross collateral is the rest."""
        out = super().balances(b, positions)
        isolated = sum(p.isolated_margin or 0.0 for p in positions if p.margin_mode is MarginMode.ISOLATED)
        for asset, balance in out.items():
            if asset == "USDT" and isolated:
                out[asset] = AssetBalance(asset, balance.wallet, balance.cross_wallet - isolated)
        return out
