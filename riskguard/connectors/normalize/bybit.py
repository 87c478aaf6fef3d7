"""Bybit v5: risk-limit tiers with ``mmDeduction``, /v5/position/list raw fields, UTA wallet."""

from __future__ import annotations

from collections.abc import Sequence

from riskguard.connectors.normalize.base import (
    MARGIN_MODES,
    SIDES,
    VenueNormalizer,
    check_deductions,
    continuous_tiers,
    table_path,
)
from riskguard.connectors.normalize.fields import DataIssueError, Fields, check_size_vs_notional
from riskguard.errors import SnapshotError
from riskguard.model import AssetBalance, MarginMode, MarginTier, Market, Order, Position, PositionSide, Quote, Side

_LEGS = {0: PositionSide.BOTH, 1: PositionSide.LONG, 2: PositionSide.SHORT,
         "0": PositionSide.BOTH, "1": PositionSide.LONG, "2": PositionSide.SHORT}
_SIDES = {"Buy": Side.LONG, "Sell": Side.SHORT}
_TRADE_MODES = {0: MarginMode.CROSS, 1: MarginMode.ISOLATED, "0": MarginMode.CROSS, "1": MarginMode.ISOLATED}
"""Bybit ``tradeMode``: 0 cross, 1 isolated; any other code is unknown, never read as cross."""
_WHOLE_POSITION_TPSL = {"StopLoss", "TakeProfit", "TrailingStop"}
"""stopOrderType of a position's full-mode TP/SL: sent with qty 0, it closes whatever the position holds."""


class BybitNormalizer(VenueNormalizer):
    venue = "bybit"
    stamps_last_change = True

    def tiers(self, tiers: list[Fields], market: Fields, raw: Fields) -> tuple[MarginTier, ...]:
        if not tiers:
            raise SnapshotError("no risk-limit tiers for this market", market.at("symbol") + "(leverage_tiers)")
        infos = sorted((t.child("info") for t in tiers), key=lambda f: f.num("riskLimitValue", positive=True))
        rows = []
        floor = 0.0
        for info in infos:
            cap = info.num("riskLimitValue", positive=True)
            rows.append(
                (
                    floor,
                    cap,
                    info.num("maintenanceMargin", nonnegative=True),
                    info.opt_num("mmDeduction"),  # absent: continuity gives it
                    info.opt_num("maxLeverage"),
                )
            )
            floor = cap
        return check_deductions(continuous_tiers(rows), table_path(tiers))

    def position(self, p: Fields, market: Market, quote: Quote | None) -> Position | None:
        info = p.child("info")
        size = info.num("size", nonnegative=True)
        entry_key = "avgPrice" if info.has("avgPrice") else "entryPrice"  # v3: entryPrice
        entry = info.opt_num(entry_key, zero_is_missing=True) or 0.0
        unit = 1 / entry if market.inverse and entry else entry
        check_size_vs_notional(size, info.opt_num("positionValue"), unit, info.at("positionValue"), signed=False)
        if size == 0:
            return None
        side = info.enum("side", _SIDES) if info.has("side") else p.enum("side", SIDES)
        # add-margin responses omit tradeMode; ccxt's unified field says which
        mode = info.enum("tradeMode", _TRADE_MODES) if info.has("tradeMode") else p.enum("marginMode", MARGIN_MODES)
        risk_value = info.opt_num("riskLimitValue")
        tier_index = None
        if risk_value is not None:
            caps = [t.cap for t in market.tiers]
            if risk_value not in caps:  # the table is from another moment (a stale cache) or incomplete
                raise DataIssueError("DATA_INCONSISTENT", f"risk limit {risk_value:.10g} is no tier's cap in the "
                                     f"{market.symbol} tier table", info.at("riskLimitValue"))
            tier_index = caps.index(risk_value)
        return self._position(
            p,
            market,
            quote,
            side=side,
            contracts=size / market.contract_size,
            entry=info.num(entry_key, positive=True),
            mark=info.opt_num("markPrice", zero_is_missing=True),
            mode=mode,
            position_side=info.enum("positionIdx", _LEGS, default=PositionSide.BOTH),
            isolated_margin=self._position_margin(info) if mode is MarginMode.ISOLATED else None,
            venue_liq=info.opt_num("liqPrice", zero_is_missing=True),
            venue_bankruptcy=info.opt_num("bustPrice", zero_is_missing=True),
            venue_mm=info.opt_num("positionMM"),
            venue_im=info.opt_num("positionIM"),
            tier_index=tier_index,
            timestamp=info.opt_num("updatedTime", zero_is_missing=True),
        )

    def orders(self, o: Fields, market: Market) -> tuple[Order, ...]:
        """A /v5/order/realtime row: ``qty`` in base coin (linear) or USD contracts (inverse), like positions."""
        info = o.child("info")
        kind = info.opt_str("stopOrderType")
        left = info.num("qty", nonnegative=True) - (info.opt_num("cumExecQty") or 0.0)
        whole = left == 0 and (kind in _WHOLE_POSITION_TPSL or info.flag("closeOnTrigger"))
        if not whole and left <= 0:
            raise SnapshotError("open order with no quantity left", info.at("qty"))
        return (
            self._order(
                o,
                market,
                id=info.str("orderId"),
                side=info.str("side").lower(),
                order_type=kind or info.str("orderType"),
                amount=None if whole else left / market.contract_size,
                trigger=info.opt_num("triggerPrice", zero_is_missing=True),
                price=info.opt_num("price", zero_is_missing=True),
                reduce_only=info.flag("reduceOnly"),
                position_side=info.enum("positionIdx", _LEGS, default=PositionSide.BOTH).value,
                timestamp=info.opt_num("updatedTime", zero_is_missing=True),
            ),
        )

    def _position_margin(self, info: Fields) -> float:
        """positionBalance, fee reserve included; add-margin responses carry the same amount as positionIM.

        A /v5/position/list row (it says its ``tradeMode``) always has positionBalance: without it the row
        is incomplete, and positionIM there is a different number.
        """
        listed = info.has("tradeMode")
        return info.num("positionBalance" if listed or info.has("positionBalance") else "positionIM")

    def _wallet(self, b: Fields) -> Fields:
        rows = b.child("info").child("result").items("list")
        if not rows:
            raise SnapshotError("wallet-balance has no account rows", b.at("info.result.list"))
        return rows[0]

    def balances(self, b: Fields, positions: Sequence[Position]) -> dict[str, AssetBalance]:
        """A coin's wallet balance includes what its isolated positions hold; cross collateral does not."""
        isolated: dict[str, float] = {}
        for p in positions:
            if p.margin_mode is MarginMode.ISOLATED and p.isolated_margin is not None:
                settle = p.symbol.rpartition(":")[2]
                isolated[settle] = isolated.get(settle, 0.0) + p.isolated_margin
        out = {}
        for coin in self._wallet(b).items("coin"):
            asset, wallet = coin.str("coin"), coin.num("walletBalance")
            out[asset] = AssetBalance(asset=asset, wallet=wallet, cross_wallet=wallet - isolated.get(asset, 0.0))
        return out

    def venue_metrics(self, b: Fields) -> dict[str, float]:
        wallet = self._wallet(b)
        keys = ("accountMMRate", "accountIMRate", "totalMaintenanceMargin", "totalMarginBalance", "totalEquity")
        return {k: v for k in keys if (v := wallet.opt_num(k)) is not None}

    def maintenance_by_asset(self, b: Fields) -> dict[str, tuple[str, float]]:
        return {c.str("coin"): (c.at("totalPositionMM"), v) for c in self._wallet(b).items("coin")
                if (v := c.opt_num("totalPositionMM")) is not None}

    def positions_margin(self, b: Fields) -> list[tuple[str, float]]:
        """The account's ``totalMaintenanceMargin`` and each coin's ``totalPositionIM``/``totalPositionMM``."""
        wallet = self._wallet(b)
        rows = [(wallet, "totalMaintenanceMargin")]
        rows += [(c, k) for c in wallet.items("coin") for k in ("totalPositionIM", "totalPositionMM")]
        return [(f.at(k), v) for f, k in rows if (v := f.opt_num(k)) is not None]
