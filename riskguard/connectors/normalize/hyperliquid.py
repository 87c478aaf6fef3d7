"""Hyperliquid: margin tables from ``meta``, clearinghouseState positions and ledgers."""

from __future__ import annotations

from collections.abc import Sequence

from riskguard.connectors.normalize.base import VenueNormalizer, continuous_tiers
from riskguard.connectors.normalize.fields import Fields, check_size_vs_notional, parse_number
from riskguard.errors import SnapshotError
from riskguard.model import AssetBalance, MarginMode, MarginTier, Market, Order, Position, Quote, Side
from riskguard.model.position import PositionSide

SINGLE_TIER_TABLE_IDS = 50
"""Hyperliquid: margin table ids below 50 are a single tier whose max leverage is the id."""
_SIDES = {"B": "buy", "A": "sell"}
_MARGIN_MODES = {"cross": MarginMode.CROSS, "isolated": MarginMode.ISOLATED}


class HyperliquidNormalizer(VenueNormalizer):
    venue = "hyperliquid"

    def tiers(self, tiers: list[Fields], market: Fields, raw: Fields) -> tuple[MarginTier, ...]:
        """Maintenance rate is half the initial rate at each tier's max leverage.

        The deduction follows from continuity, which is how Hyperliquid defines it.
        """
        coin = market.str("baseName", market.str("base"))
        meta = raw.child("meta")
        asset = next((a for a in meta.items("universe") if a.str("name") == coin), None)
        if asset is None:
            raise SnapshotError(f"coin {coin!r} not in meta.universe", meta.at("universe"))
        table = asset.opt_num("marginTableId")  # absent in older meta: every asset was single-tier then
        table_id = None if table is None else int(table)
        if table_id is None or table_id < SINGLE_TIER_TABLE_IDS:
            lev = asset.num("maxLeverage", positive=True)
            return (MarginTier(floor=0.0, cap=float("inf"), mmr=1 / (2 * lev), cum=0.0, max_leverage=lev),)
        tables = meta.data.get("marginTables")
        for i, pair in enumerate(tables if isinstance(tables, list) else []):
            # Each entry is an [id, table] pair, not an object.
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise SnapshotError("expected an [id, table] pair", f"{meta.at('marginTables')}[{i}]")
            if parse_number(pair[0], f"{meta.at('marginTables')}[{i}][0]") == table_id:
                levels = Fields(pair[1], f"{meta.at('marginTables')}[{i}][1]").items("marginTiers")
                bounds = [lv.num("lowerBound", nonnegative=True) for lv in levels] + [float("inf")]
                return continuous_tiers(
                    [
                        (
                            bounds[i],
                            bounds[i + 1],
                            1 / (2 * lv.num("maxLeverage", positive=True)),
                            None,
                            lv.num("maxLeverage"),
                        )
                        for i, lv in enumerate(levels)
                    ]
                )
        raise SnapshotError(f"margin table {table_id} not found", meta.at("marginTables"))

    def position(self, p: Fields, market: Market, quote: Quote | None) -> Position | None:
        info = p.child("info").child("position")
        szi = info.num("szi")
        if szi == 0:
            check_size_vs_notional(0.0, info.opt_num("positionValue"), 0.0, info.at("positionValue"), signed=False)
            return None
        lev = info.child("leverage")
        mode = lev.enum("type", _MARGIN_MODES)
        entry = info.num("entryPx", positive=True)
        # The isolated ledger rawUsd already nets out the position's cost: margin = rawUsd + szi·entry.
        isolated = lev.num("rawUsd") + szi * entry if mode is MarginMode.ISOLATED else None
        return self._position(
            p,
            market,
            quote,
            side=Side.LONG if szi > 0 else Side.SHORT,
            contracts=abs(szi),
            entry=entry,
            mark=None,
            mode=mode,
            position_side=PositionSide.BOTH,
            isolated_margin=isolated,
            venue_liq=info.opt_num("liquidationPx", zero_is_missing=True),
            venue_im=info.opt_num("marginUsed"),
        )

    def orders(self, o: Fields, market: Market) -> tuple[Order, ...]:
        """A ``frontendOpenOrders`` row: ``isTrigger`` orders arm at ``triggerPx`` (plain ones send "0.0").

        A position TP/SL (``isPositionTpsl``) has size 0: it closes the whole position.  A trigger that
        fires a market order still carries a ``limitPx`` (the slippage bound), which is not a limit.
        """
        info = o.child("info")
        trigger = info.flag("isTrigger")
        size = info.num("sz", nonnegative=True)
        whole = size == 0 and info.flag("isPositionTpsl")
        if not whole and size == 0:
            raise SnapshotError("open order with no size left", info.at("sz"))
        side = info.str("side")
        if side not in _SIDES:
            raise SnapshotError(f"expected side 'B' or 'A', got {side!r}", info.at("side"))
        order_type = info.str("orderType")
        return (
            self._order(
                o,
                market,
                id=info.str("oid"),
                side=_SIDES[side],
                order_type=order_type,
                amount=None if whole else size,
                trigger=info.num("triggerPx", positive=True) if trigger else None,
                price=None if trigger and order_type.endswith("Market") else info.opt_num("limitPx"),
                reduce_only=info.flag("reduceOnly"),
                timestamp=info.opt_num("timestamp"),
            ),
        )

    def balances(self, b: Fields, positions: Sequence[Position]) -> dict[str, AssetBalance]:
        """Cross collateral excluding PnL = cross account value − cross positions' uPnL at mark."""
        info = b.child("info")
        cross = info.child("crossMarginSummary")
        account_value = cross.num("accountValue")
        upnl = sum(
            p.side.sign * p.contracts * (p.mark_price - p.entry_price)
            for p in positions
            if p.margin_mode is MarginMode.CROSS
        )
        total = info.child("marginSummary").num("accountValue")
        return {"USDC": AssetBalance(asset="USDC", wallet=total, cross_wallet=account_value - upnl)}

    def read_time(self, b: Fields) -> float | None:
        """clearinghouseState's ``time``: its position rows carry no time of their own, so they are this old."""
        return b.child("info").num("time", positive=True)

    def positions_margin(self, b: Fields) -> list[tuple[str, float]]:
        """``crossMaintenanceMarginUsed`` and the account's ``marginSummary`` margin used and position notional."""
        info = b.child("info")
        summary = info.child("marginSummary")
        rows = [(info, "crossMaintenanceMarginUsed"), (summary, "totalMarginUsed"), (summary, "totalNtlPos")]
        return [(f.at(k), v) for f, k in rows if (v := f.opt_num(k)) is not None]

    def venue_metrics(self, b: Fields) -> dict[str, float]:
        info = b.child("info")
        out = {}
        if (v := info.opt_num("crossMaintenanceMarginUsed")) is not None:
            out["crossMaintenanceMarginUsed"] = v
        if (v := info.child("crossMarginSummary").opt_num("accountValue")) is not None:
            out["crossAccountValue"] = v
        return out
