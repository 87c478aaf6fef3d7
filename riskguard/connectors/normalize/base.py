"""ccxt unified structures → domain model, with the venue's raw fields preferred.

ccxt derives some numbers itself (it fills in a liquidation price for isolated
positions when the venue sends none, for instance), so each venue subclass
reads the raw ``info`` payload for anything the margin math depends on and only
falls back to the unified field where the venue has nothing better.
"""

from __future__ import annotations

from collections.abc import Sequence

from riskguard.connectors.normalize.fields import Fields, check_size_vs_notional
from riskguard.errors import SnapshotError
from riskguard.model import (
    AccountType,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    Order,
    OrderSide,
    Position,
    PositionSide,
    Quote,
    Side,
    TierBasis,
)

CUM_TOLERANCE = 1e-6
"""Relative gap allowed between a published tier deduction and the one continuity gives (venue rounding)."""
SIDES = {s.value: s for s in Side}
MARGIN_MODES = {m.value: m for m in MarginMode}
"""ccxt's unified spellings; a venue's own codes are mapped in its normalizer."""


def continuous_tiers(rows: Sequence[tuple[float, float, float, float | None, float | None]]) -> tuple[MarginTier, ...]:
    """Build tiers from (floor, cap, mmr, cum or None, max_leverage), deriving any missing cum.

    cum_n = cum_{n-1} + floor_n·(mmr_n − mmr_{n-1}) is what keeps maintenance
    margin continuous across brackets; venues that publish no deduction still
    behave this way when they use marginal rates.
    """
    tiers: list[MarginTier] = []
    for floor, cap, mmr, cum, max_lev in sorted(rows, key=lambda r: r[0]):
        if cum is None:
            cum = 0.0 if not tiers else tiers[-1].cum + floor * (mmr - tiers[-1].mmr)
        tiers.append(MarginTier(floor=floor, cap=cap, mmr=mmr, cum=cum, max_leverage=max_lev))
    return tuple(tiers)


def table_path(rows: Sequence[Fields]) -> str:
    """``venues.X.leverage_tiers['SYM']``, the path of the table the (non-empty) ``rows`` came from."""
    return rows[0].path.rpartition("[")[0]


def check_deductions(tiers: Sequence[MarginTier], where: str) -> tuple[MarginTier, ...]:
    """A whole table's published deductions must follow from continuity, starting at 0.

    A table with a tier missing (cut short by a partial read, or a stale cache) still looks sorted and
    contiguous once its floors are rebuilt; its deductions are what give it away.
    """
    previous: MarginTier | None = None
    for tier in tiers:
        derived = 0.0 if previous is None else previous.cum + tier.floor * (tier.mmr - previous.mmr)
        if abs(tier.cum - derived) > CUM_TOLERANCE * max(1.0, tier.floor * tier.mmr):
            raise SnapshotError(f"the tier from {tier.floor:.10g} deducts {tier.cum:.10g}, but the tiers below it "
                                f"make it {derived:.10g}: a tier is missing or the table is inconsistent", where)
        previous = tier
    return tuple(tiers)


class VenueNormalizer:
    """Generic ccxt venue: unified fields only.  Venue subclasses override what they know better."""

    venue = "generic"
    stamps_last_change = False
    """The venue stamps a position row with the time of the position's last change, not with the time of the
    read: the row is as fresh as the read that returned it (``Position.changed_ms``)."""

    # -- markets -------------------------------------------------------------------

    def market(self, venue: str, m: Fields, tiers: list[Fields], raw: Fields) -> Market:
        linear, inverse = m.flag("linear"), m.flag("inverse")
        if linear == inverse:
            what = "both linear and inverse" if linear else "neither linear nor inverse: not a derivatives contract"
            raise SnapshotError(f"market is {what}", m.at("linear"))
        kind = ContractKind.INVERSE if inverse else ContractKind.LINEAR
        precision = m.child("precision")
        symbol = m.str("symbol")
        try:
            return Market(
                venue=venue,
                symbol=symbol,
                kind=kind,
                settle=m.str("settle"),
                contract_size=m.num("contractSize", positive=True),
                price_tick=precision.opt_num("price"),
                amount_step=precision.opt_num("amount"),
                tiers=self.tiers(tiers, m, raw),
                tier_basis=self.tier_basis(kind),
            )
        except ValueError as exc:
            raise SnapshotError(str(exc), m.path) from None

    def tier_basis(self, kind: ContractKind) -> TierBasis:
        return TierBasis.QUOTE_NOTIONAL if kind is ContractKind.LINEAR else TierBasis.BASE_QUANTITY

    def tiers(self, tiers: list[Fields], market: Fields, raw: Fields) -> tuple[MarginTier, ...]:
        if not tiers:
            raise SnapshotError("no margin tiers for this market", market.at("symbol") + "(leverage_tiers)")
        return continuous_tiers(
            [
                (
                    t.num("minNotional", nonnegative=True),
                    t.num("maxNotional", positive=True),
                    t.num("maintenanceMarginRate", nonnegative=True),
                    None,
                    t.opt_num("maxLeverage"),
                )
                for t in tiers
            ]
        )

    # -- quotes --------------------------------------------------------------------

    def quote(self, t: Fields) -> Quote:
        info = t.child("info")
        where, mark = next(
            ((f.at(k), v) for f, k in ((t, "markPrice"), (info, "markPrice"), (info, "markPx"))
             if (v := f.opt_num(k)) is not None),
            (t.at("markPrice"), None),
        )
        if mark is None:
            raise SnapshotError("ticker has no mark price", where)
        if not mark > 0:
            raise SnapshotError(f"mark price must be > 0, got {mark!r}", where)
        ts = t.opt_num("timestamp")
        return Quote(
            mark_price=mark,
            timestamp_ms=int(ts) if ts is not None else None,
            index_price=t.opt_num("indexPrice") or info.opt_num("indexPrice"),
            last_price=t.opt_num("last"),
            funding_rate=info.opt_num("lastFundingRate") or info.opt_num("fundingRate"),
        )

    # -- positions -----------------------------------------------------------------

    def position(self, p: Fields, market: Market, quote: Quote | None) -> Position | None:
        """A position, or None when the venue row is explicitly flat (zero contracts)."""
        contracts = p.num("contracts", nonnegative=True)
        if contracts == 0:
            check_size_vs_notional(0.0, p.opt_num("notional"), 0.0, p.at("notional"), signed=False)
            return None
        side = p.enum("side", SIDES)
        mode = p.enum("marginMode", MARGIN_MODES)
        hedged = p.flag("hedged")
        return self._position(
            p,
            market,
            quote,
            side=side,
            contracts=contracts,
            entry=p.num("entryPrice", positive=True),
            mark=p.opt_num("markPrice", zero_is_missing=True),
            mode=mode,
            position_side=(PositionSide(side.value) if hedged else PositionSide.BOTH),
            isolated_margin=(p.opt_num("collateral") or p.opt_num("initialMargin"))
            if mode is MarginMode.ISOLATED
            else None,
            venue_liq=p.opt_num("liquidationPrice", zero_is_missing=True),
        )

    def _position(
        self,
        p: Fields,
        market: Market,
        quote: Quote | None,
        *,
        side: Side,
        contracts: float,
        entry: float,
        mark: float | None,
        mode: MarginMode,
        position_side: PositionSide,
        isolated_margin: float | None,
        venue_liq: float | None,
        venue_bankruptcy: float | None = None,
        venue_mm: float | None = None,
        venue_im: float | None = None,
        tier_index: int | None = None,
        timestamp: float | None = None,
    ) -> Position:
        if mark is None:
            if quote is None:
                raise SnapshotError("position has no mark price and the market has no ticker", p.at("markPrice"))
            mark = quote.mark_price
        if mode is MarginMode.ISOLATED and isolated_margin is None:
            raise SnapshotError("isolated position without its isolated margin", p.path)
        ts = timestamp if timestamp is not None else p.opt_num("timestamp")
        try:
            return Position(
                symbol=market.symbol,
                side=side,
                contracts=contracts,
                entry_price=entry,
                mark_price=mark,
                margin_mode=mode,
                position_side=position_side,
                leverage=p.opt_num("leverage", zero_is_missing=True),
                isolated_margin=isolated_margin,
                venue_liquidation_price=venue_liq,
                venue_bankruptcy_price=venue_bankruptcy,
                venue_maintenance_margin=venue_mm if venue_mm is not None else p.opt_num("maintenanceMargin"),
                venue_initial_margin=venue_im if venue_im is not None else p.opt_num("initialMargin"),
                venue_unrealized_pnl=p.opt_num("unrealizedPnl"),
                tier_index=tier_index,
                timestamp_ms=int(ts) if ts is not None else None,
            )
        except ValueError as exc:
            raise SnapshotError(str(exc), p.path) from None

    # -- open orders ---------------------------------------------------------------

    def orders(self, o: Fields, market: Market) -> tuple[Order, ...]:
        """One model order per trigger price the venue order holds, or the order itself when it holds none.

        A unified order can carry a stop-loss and a take-profit at once; each is a separate price that
        may sit in a band, so each becomes its own ``Order`` under the venue's id.
        """
        keys = ("triggerPrice", "stopLossPrice", "takeProfitPrice")
        triggers: Sequence[float | None] = sorted(
            {v for k in keys if (v := o.opt_num(k, zero_is_missing=True)) is not None}
        )
        remaining = o.opt_num("remaining", zero_is_missing=True)
        ts = o.opt_num("timestamp")
        return tuple(
            self._order(
                o,
                market,
                id=o.str("id"),
                side=o.str("side"),
                order_type=o.str("type", "unknown"),
                amount=remaining if remaining is not None else o.opt_num("amount", zero_is_missing=True),
                trigger=trigger,
                price=o.opt_num("price", zero_is_missing=True),
                reduce_only=o.flag("reduceOnly"),
                timestamp=ts,
            )
            for trigger in (triggers or [None])
        )

    def _order(
        self,
        o: Fields,
        market: Market,
        *,
        id: str,
        side: str,
        order_type: str,
        amount: float | None,
        trigger: float | None,
        price: float | None,
        reduce_only: bool,
        position_side: str = "both",
        timestamp: float | None = None,
    ) -> Order:
        try:
            return Order(
                id=id,
                symbol=market.symbol,
                side=OrderSide(side),
                order_type=order_type,
                amount=amount,
                trigger_price=trigger,
                price=price,
                reduce_only=reduce_only,
                position_side=PositionSide(position_side),
                timestamp_ms=int(timestamp) if timestamp is not None else None,
            )
        except ValueError as exc:  # a bad number, or a side/leg the model does not know
            raise SnapshotError(str(exc), o.path) from None

    # -- balances ------------------------------------------------------------------

    def balances(self, b: Fields, positions: Sequence[Position]) -> dict[str, AssetBalance]:
        total = b.child("total")
        out: dict[str, AssetBalance] = {}
        for asset, value in total.data.items():
            if value is None:
                continue
            wallet = total.num(asset)
            out[asset] = AssetBalance(asset=asset, wallet=wallet, cross_wallet=wallet)
        return out

    def venue_metrics(self, b: Fields) -> dict[str, float]:
        return {}

    def positions_margin(self, b: Fields) -> list[tuple[str, float]]:
        """(field path, amount) of what the venue's account summary says open positions hold.

        Only position margin counts here, never what open orders reserve: a summary that shows margin
        held by positions beside an empty position list means one of the two reads is wrong.
        """
        return []

    def maintenance_by_asset(self, b: Fields) -> dict[str, tuple[str, float]]:
        """Per settle asset, (field path, amount) of the maintenance margin the venue says all positions hold.

        Set against the sum the position rows report, it shows a position list that lost rows.
        """
        return {}

    def read_time(self, b: Fields) -> float | None:
        """When the venue produced the account read, for venues whose position rows carry no time of their own."""
        return None

    def fees(self, fees: dict[str, Fields]) -> FeeRates | None:
        for f in fees.values():
            maker, taker = f.opt_num("maker"), f.opt_num("taker")
            if maker is not None and taker is not None:
                return FeeRates(maker=maker, taker=taker)
        return None

    def account_type(self, declared: str) -> AccountType:
        return AccountType(declared)
