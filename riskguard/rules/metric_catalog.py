"""The names, units and meanings of every metric a policy rule may test.

Kept apart from the computation (``riskguard.rules.metrics``) so that validating a config file imports no
numpy-heavy risk code: a policy names a metric, and a name that is not here is an error with a "did you
mean" hint.  docs/policies.md lists this table.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Scope = Literal["position", "account"]


@dataclass(frozen=True, slots=True)
class MetricInfo:
    name: str
    unit: str
    scope: Scope
    description: str
    unknown_when: str


_P: Scope = "position"
_A: Scope = "account"

CATALOG: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo("liquidation_buffer_pct", "%", _P,
                   "Adverse move from mark to the liquidation price, in % of mark; +inf when no price liquidates.",
                   "the liquidation price is unavailable"),
        MetricInfo("liquidation_buffer_sigma", "σ", _P,
                   "The same distance in standard deviations of the mark over the volatility horizon (24 h).",
                   "volatility or the liquidation price is unknown"),
        MetricInfo("touch_probability", "probability", _P,
                   "Chance that the mark touches the liquidation price within the horizon (0..1).",
                   "volatility or the liquidation price is unknown"),
        MetricInfo("effective_leverage", "x", _P,
                   "Notional ÷ the equity backing the position (isolated margin + uPnL, or the cross equity).",
                   "equity is zero or negative"),
        MetricInfo("margin_ratio", "ratio", _P,
                   "Maintenance requirement ÷ equity as the venue defines it; the venue liquidates at 1.",
                   "the requirement could not be computed"),
        MetricInfo("band_distance_pct", "%", _P,
                   "Distance from mark to the nearest crowded liquidation band on the position's adverse side.",
                   "the band estimate is unknown or no adverse band exists"),
        MetricInfo("band_notional", "quote", _P,
                   "Estimated liquidation notional inside that nearest adverse band.",
                   "the band estimate is unknown or no adverse band exists"),
        MetricInfo("liquidation_in_band", "0/1", _P,
                   "1 when the liquidation price lies inside a crowded band (a cascade would carry it there).",
                   "the band estimate or the liquidation price is unknown"),
        MetricInfo("stop_beyond_liquidation", "0/1", _P,
                   "1 when a stop of the position triggers at or past its liquidation price (it never fires).",
                   "open orders were not recorded or the liquidation price is unknown"),
        MetricInfo("stop_in_band", "0/1", _P,
                   "1 when a stop of the position triggers inside a crowded band (it fills in the cascade).",
                   "open orders were not recorded or the bands are unknown"),
        MetricInfo("funding_zscore", "z", _P,
                   "Current funding rate against its own 30-day history, signed so that positive means this "
                   "position pays more than usual.",
                   "the funding history is short, stale or flat"),
        MetricInfo("funding_drain", "settle asset", _P,
                   "Margin the current funding rate takes from the position over 24 h (negative: it receives).",
                   "no funding rate is known for the symbol"),
        MetricInfo("buffer_after_funding_pct", "%", _P,
                   "Liquidation buffer once 24 h of funding at the current rate has been paid from its margin "
                   "(isolated: the position's margin; cross: the wallet), recomputed with the venue math.",
                   "no funding rate is known or the liquidation price is unavailable"),
        MetricInfo("oi_change_pct", "%", _P,
                   "Change of the symbol's open interest (contracts) over the last 24 h.",
                   "open-interest history does not reach 24 h back"),
        MetricInfo("exit_slippage_bp", "bp", _P,
                   "Slippage from mark of closing the whole position into the recorded order book now.",
                   "no book, or the book is too thin for the whole position"),
        MetricInfo("liquidation_gap_bp", "bp", _P,
                   "|computed − venue-reported| liquidation price in basis points of the venue's.",
                   "the venue reported no liquidation price, or it could not be computed"),
        MetricInfo("adl_rank", "rank", _P,
                   "The venue's auto-deleveraging queue rank (higher: closed sooner by ADL), where reported.",
                   "the venue does not report one"),
        MetricInfo("data_age_s", "s", _P,
                   "Age of the older of the position and its mark price at the snapshot instant.",
                   "neither carries a timestamp"),
        MetricInfo("account_buffer_pct", "%", _A,
                   "Smallest liquidation buffer over the account's positions (cross and isolated).",
                   "any position's buffer is unknown"),
        MetricInfo("cross_margin_ratio", "ratio", _A,
                   "Largest cross maintenance ratio over the account's margin assets; liquidation at 1.",
                   "the account has no cross positions"),
        MetricInfo("cross_headroom_pct", "%", _A,
                   "Smallest cross margin headroom: share of cross equity above maintenance, (1 − ratio) × 100.",
                   "the account has no cross positions"),
        MetricInfo("uniform_adverse_move_pct", "%", _A,
                   "The smallest move of every mark together against the account's net direction that "
                   "liquidates the cross account (stress solved on the venue math).",
                   "the account has no cross positions or the stress inputs are missing"),
        MetricInfo("account_effective_leverage", "x", _A,
                   "Gross notional ÷ total equity (cross equity + isolated equities).",
                   "positions settle in several assets, or equity is zero or negative"),
        MetricInfo("long_exposure", "quote", _A, "Notional of the long positions.",
                   "positions settle in several assets"),
        MetricInfo("short_exposure", "quote", _A, "Notional of the short positions.",
                   "positions settle in several assets"),
        MetricInfo("net_exposure", "quote", _A, "Long − short notional.", "positions settle in several assets"),
        MetricInfo("gross_exposure", "quote", _A, "Long + short notional.", "positions settle in several assets"),
        MetricInfo("long_leverage", "x", _A, "Long notional ÷ total equity.",
                   "positions settle in several assets, or equity is zero or negative"),
        MetricInfo("short_leverage", "x", _A, "Short notional ÷ total equity.",
                   "positions settle in several assets, or equity is zero or negative"),
        MetricInfo("leverage_asymmetry", "x", _A,
                   "|long_leverage − short_leverage|: leverage that one direction's move acts on unhedged.",
                   "positions settle in several assets, or equity is zero or negative"),
        MetricInfo("max_data_age_s", "s", _A, "Age of the oldest position or mark price of the account.",
                   "no position carries a timestamp"),
    )
}


def suggest(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the nearest known name, or an empty string."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
