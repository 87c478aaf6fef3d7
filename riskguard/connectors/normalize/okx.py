"""OKX v5: position tiers by contract count, /account/positions raw fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from riskguard.connectors.normalize.base import VenueNormalizer
from riskguard.connectors.normalize.fields import Fields, check_size_vs_notional
from riskguard.errors import SnapshotError
from riskguard.model import (
    AssetBalance,
    ContractKind,
    MarginMode,
    MarginTier,
    Market,
    Order,
    Position,
    PositionSide,
    Quote,
    Side,
    TierBasis,
)

_TRIGGER_LEGS = (
    ("slTriggerPx", "slOrdPx"),
    ("tpTriggerPx", "tpOrdPx"),
    ("triggerPx", "ordPx"),
    ("moveTriggerPx", "ordPx"),
)
"""(trigger price, order price) field pairs of an algo order's legs."""
_LEGS = {"net": PositionSide.BOTH, "long": PositionSide.LONG, "short": PositionSide.SHORT}
_MARGIN_MODES = {"cross": MarginMode.CROSS, "isolated": MarginMode.ISOLATED}


class OkxNormalizer(VenueNormalizer):
    venue = "okx"
    stamps_last_change = True

    def tier_basis(self, kind: ContractKind) -> TierBasis:
        return TierBasis.CONTRACTS

    def tiers(self, tiers: list[Fields], market: Fields, raw: Fields) -> tuple[MarginTier, ...]:
        """OKX publishes no deduction: a tier's rate applies to the whole position (cum = 0)."""
        if not tiers:
            raise SnapshotError("no position tiers for this market", market.at("symbol") + "(leverage_tiers)")
        out = []
        for t in sorted((t.child("info") for t in tiers), key=lambda f: f.num("minSz", nonnegative=True)):
            try:
                out.append(
                    MarginTier(
                        floor=t.num("minSz", nonnegative=True),
                        cap=t.num("maxSz", positive=True),
                        mmr=t.num("mmr", nonnegative=True),
                        cum=0.0,
                        max_leverage=t.opt_num("maxLever"),
                    )
                )
            except ValueError as exc:
                raise SnapshotError(str(exc), t.path) from None
        return tuple(out)

    def position(self, p: Fields, market: Market, quote: Quote | None) -> Position | None:
        info = p.child("info")
        pos = info.num("pos")
        if pos == 0:
            check_size_vs_notional(0.0, info.opt_num("notionalUsd"), 0.0, info.at("notionalUsd"), signed=False)
            return None
        leg = info.enum("posSide", _LEGS, default=PositionSide.BOTH)
        if leg is not PositionSide.BOTH and pos < 0:
            raise SnapshotError(f"a {leg.value} leg with a negative size {pos!r}", info.at("pos"))
        side = Side(leg.value) if leg is not PositionSide.BOTH else (Side.LONG if pos > 0 else Side.SHORT)
        mode = info.enum("mgnMode", _MARGIN_MODES)
        return self._position(
            p,
            market,
            quote,
            side=side,
            contracts=abs(pos),
            entry=info.num("avgPx", positive=True),
            mark=info.opt_num("markPx", zero_is_missing=True),
            mode=mode,
            position_side=leg,
            isolated_margin=info.num("margin") if mode is MarginMode.ISOLATED else None,
            venue_liq=info.opt_num("liqPx", zero_is_missing=True),
            venue_mm=info.opt_num("mmr"),
            venue_im=info.opt_num("imr"),
            timestamp=info.opt_num("uTime", zero_is_missing=True),
        )

    def orders(self, o: Fields, market: Market) -> tuple[Order, ...]:
        """A pending order (``ordId``, ``px``) or an algo order (``algoId``) with its stop-loss, take-profit
        and plain trigger legs; an OCO holds two, each its own ``Order``.

        A position's TP/SL has no ``sz`` but ``closeFraction`` 1: it closes the whole position.  An order
        price of -1 means "market".  A trailing stop's trigger is ``moveTriggerPx``, where it stands now.
        """
        info = o.child("info")
        leg = info.str("posSide", "net").replace("net", "both")
        common: dict[str, Any] = {
            "side": info.str("side"),
            "order_type": info.str("ordType"),
            "reduce_only": info.flag("reduceOnly"),
            "position_side": leg,
            "timestamp": info.opt_num("uTime", zero_is_missing=True),
        }
        if not info.has("algoId"):
            left = info.num("sz", positive=True) - (info.opt_num("accFillSz") or 0.0)
            return (
                self._order(o, market, id=info.str("ordId"), amount=left, trigger=None,
                            price=info.opt_num("px", zero_is_missing=True), **common),
            )
        whole = not info.has("sz") and info.opt_num("closeFraction") == 1
        amount = None if whole else info.num("sz", positive=True)
        legs: list[tuple[float | None, float | None]] = [
            (trigger, info.opt_num(price_key))
            for trigger_key, price_key in _TRIGGER_LEGS
            if (trigger := info.opt_num(trigger_key, zero_is_missing=True)) is not None
        ]
        return tuple(
            self._order(o, market, id=info.str("algoId"), amount=amount, trigger=trigger,
                        price=None if price is None or price == -1 else price, **common)
            for trigger, price in legs or [(None, info.opt_num("ordPx"))]  # iceberg and TWAP have no trigger
        )

    def balances(self, b: Fields, positions: Sequence[Position]) -> dict[str, AssetBalance]:
        """Cross collateral per currency is cash balance less what isolated positions hold.

        OKX itself calls its cross liquidation price an estimate; this is the
        single-currency-margin reading of the account.
        """
        rows = b.child("info").items("data")
        if not rows:
            raise SnapshotError("balance has no account rows", b.at("info.data"))
        out = {}
        for d in rows[0].items("details"):
            cash = d.num("cashBal")
            isolated = (d.opt_num("isoEq") or 0.0) - (d.opt_num("isoUpl") or 0.0)
            out[d.str("ccy")] = AssetBalance(asset=d.str("ccy"), wallet=cash, cross_wallet=cash - isolated)
        return out

    def venue_metrics(self, b: Fields) -> dict[str, float]:
        rows = b.child("info").items("data")
        if not rows:
            return {}
        keys = ("mgnRatio", "adjEq", "mmr", "imr", "totalEq")
        return {k: v for k in keys if (v := rows[0].opt_num(k)) is not None}

    def positions_margin(self, b: Fields) -> list[tuple[str, float]]:
        """Each currency's cross maintenance requirement (``mmr``) and isolated equity (``isoEq``)."""
        rows = b.child("info").items("data")
        details = rows[0].items("details") if rows else []
        return [(d.at(k), v) for d in details for k in ("mmr", "isoEq") if (v := d.opt_num(k)) is not None]
