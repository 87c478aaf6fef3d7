"""Binance USDⓈ-M (fapi) and COIN-M (dapi): brackets with ``cum``, positionRisk raw fields."""

from __future__ import annotations

from collections.abc import Sequence

from riskguard.connectors.normalize.base import VenueNormalizer, check_deductions, continuous_tiers, table_path
from riskguard.connectors.normalize.fields import Fields, check_size_vs_notional
from riskguard.errors import SnapshotError
from riskguard.model import AssetBalance, MarginMode, MarginTier, Market, Order, Position, PositionSide, Quote, Side

_LEGS = {"BOTH": PositionSide.BOTH, "LONG": PositionSide.LONG, "SHORT": PositionSide.SHORT}
_MARGIN_TYPES = {"cross": MarginMode.CROSS, "isolated": MarginMode.ISOLATED,
                 "CROSSED": MarginMode.CROSS, "ISOLATED": MarginMode.ISOLATED}
"""positionRisk spells them lower-case; the account endpoints' CROSSED/ISOLATED mean the same."""


class BinanceNormalizer(VenueNormalizer):
    venue = "binanceusdm"
    stamps_last_change = True
    floor_key, cap_key = "notionalFloor", "notionalCap"

    def tiers(self, tiers: list[Fields], market: Fields, raw: Fields) -> tuple[MarginTier, ...]:
        if not tiers:
            raise SnapshotError("no leverage brackets for this market", market.at("symbol") + "(leverage_tiers)")
        rows = []
        for t in tiers:
            info = t.child("info")
            floor_key = self.floor_key if info.has(self.floor_key) else "qtylFloor"  # dapi spells it both ways
            rows.append(
                (
                    info.num(floor_key, nonnegative=True),
                    info.num(self.cap_key, positive=True),
                    info.num("maintMarginRatio", nonnegative=True),
                    info.num("cum"),
                    info.opt_num("initialLeverage"),
                )
            )
        return check_deductions(continuous_tiers(rows), table_path(tiers))

    def position(self, p: Fields, market: Market, quote: Quote | None) -> Position | None:
        info = p.child("info")
        amount = info.num("positionAmt")
        mark = info.opt_num("markPrice", zero_is_missing=True)
        unit = (market.contract_size / mark if market.inverse else market.contract_size * mark) if mark else 0.0
        notional_key = "notionalValue" if market.inverse else "notional"
        if amount == 0 or mark is not None:
            check_size_vs_notional(amount, info.opt_num(notional_key), unit, info.at(notional_key), signed=True)
        if amount == 0:
            return None
        leg = info.enum("positionSide", _LEGS, default=PositionSide.BOTH)
        side = Side.LONG if (leg is PositionSide.LONG or (leg is PositionSide.BOTH and amount > 0)) else Side.SHORT
        if info.has("marginType"):
            mode = info.enum("marginType", _MARGIN_TYPES)
        elif p.has("marginMode"):
            mode = p.enum("marginMode", _MARGIN_TYPES)
        else:
            mode = MarginMode.ISOLATED if (info.opt_num("isolatedWallet") or 0) != 0 else MarginMode.CROSS
        return self._position(
            p,
            market,
            quote,
            side=side,
            contracts=abs(amount),
            entry=info.num("entryPrice", positive=True),
            mark=mark,
            mode=mode,
            position_side=leg,
            isolated_margin=self._isolated_wallet(info) if mode is MarginMode.ISOLATED else None,
            venue_liq=info.opt_num("liquidationPrice", zero_is_missing=True),
            venue_mm=info.opt_num("maintMargin"),
            timestamp=info.opt_num("updateTime", zero_is_missing=True),
        )

    def _isolated_wallet(self, info: Fields) -> float:
        """Isolated margin without uPnL; v2 positionRisk only sends isolatedMargin, which includes the uPnL."""
        if info.has("isolatedWallet"):
            return info.num("isolatedWallet")
        return info.num("isolatedMargin") - info.num("unRealizedProfit")

    def orders(self, o: Fields, market: Market) -> tuple[Order, ...]:
        """A regular order (``/openOrders``: ``stopPrice``) or a conditional one from the Algo service
        (``/openAlgoOrders``: ``algoId``, ``triggerPrice``, ``quantity``).

        ``closePosition`` orders carry no quantity: they close the whole leg when they fire.
        """
        info = o.child("info")
        algo = info.has("algoId")
        whole = info.flag("closePosition")
        if algo:
            amount = None if whole else info.num("quantity", positive=True)
        else:
            amount = None if whole else info.num("origQty", positive=True) - info.num("executedQty", nonnegative=True)
        return (
            self._order(
                o,
                market,
                id=info.str("algoId" if algo else "orderId"),
                side=info.str("side").lower(),
                order_type=info.str("orderType" if algo else "type"),
                amount=amount,
                trigger=info.opt_num("triggerPrice" if algo else "stopPrice", zero_is_missing=True),
                price=info.opt_num("price", zero_is_missing=True),
                reduce_only=info.flag("reduceOnly"),
                position_side=info.str("positionSide", "BOTH").lower(),
                timestamp=info.opt_num("updateTime") or info.opt_num("createTime") or info.opt_num("time"),
            ),
        )

    def _asset_rows(self, b: Fields) -> list[Fields]:
        info = b.data.get("info")
        if isinstance(info, list):  # /fapi/v3/balance returns a bare list of assets
            return b.items("info")
        return b.child("info").items("assets")

    def balances(self, b: Fields, positions: Sequence[Position]) -> dict[str, AssetBalance]:
        rows = self._asset_rows(b)
        if not rows:
            raise SnapshotError("balance has no per-asset rows in its raw info", b.at("info"))
        out = {}
        for row in rows:
            asset = row.str("asset")
            wallet = row.num("walletBalance") if row.has("walletBalance") else row.num("balance")
            out[asset] = AssetBalance(asset=asset, wallet=wallet, cross_wallet=row.num("crossWalletBalance"))
        return out

    def venue_metrics(self, b: Fields) -> dict[str, float]:
        info = b.child("info") if isinstance(b.data.get("info"), dict) else Fields({}, b.at("info"))
        keys = ("totalMaintMargin", "totalMarginBalance", "totalWalletBalance", "totalUnrealizedProfit")
        return {k: v for k in keys if (v := info.opt_num(k)) is not None}

    def maintenance_by_asset(self, b: Fields) -> dict[str, tuple[str, float]]:
        return {r.str("asset"): (r.at("maintMargin"), v) for r in self._asset_rows(b)
                if (v := r.opt_num("maintMargin")) is not None}

    def positions_margin(self, b: Fields) -> list[tuple[str, float]]:
        """Account totals (``totalPositionInitialMargin``, ``totalMaintMargin``) or, in the v3 list, each asset's."""
        if isinstance(b.data.get("info"), dict):
            info = b.child("info")
            rows = [info, *info.items("assets")]
        else:
            rows = self._asset_rows(b)
        keys = ("totalPositionInitialMargin", "totalMaintMargin", "positionInitialMargin", "maintMargin")
        return [(r.at(k), v) for r in rows for k in keys if (v := r.opt_num(k)) is not None]


class BinanceCoinMNormalizer(BinanceNormalizer):
    venue = "binancecoinm"
    floor_key, cap_key = "qtyFloor", "qtyCap"
