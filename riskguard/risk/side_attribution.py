"""Which side opened each bar's new open interest: long/short attribution from evidence.

Every new contract has one long and one short, so ΔOI alone cannot say who is *leveraged*.  The estimator
needs the side of the speculators, the traders who opened with leverage and whose liquidations form the
bands.  Funding alone cannot carry that: on Binance, Bybit and OKX funding sits at its floor (the +0.01 %
per 8 h interest component) whenever the premium is small, which is most of the time, so a rule on the
funding *sign* calls every market long-leaning, including a short squeeze in the making.

Each source below is optional; when present it adds a log-odds vote per bar, and the votes are summed:

* ``OI vs price``: open interest rising while price rises means aggressive buyers opened (longs); rising
  while price falls means shorts opened.  Needs only candles and OI, so it is available wherever bands
  are.  Vote ∝ the bar's return in units of the window's typical absolute return, clipped to ±3.
* ``taker flow``: the taker buy share of the bar's volume (openers cross the spread more than makers do).
  Vote = logit of the buy share.  Churn by traders who open and close inside the bar dilutes it.
* ``long/short ratio``: the venue's account ratio R (longs/shorts).  Its long fraction q = R/(1+R) applied
  to open interest estimates long units q·OI; over the last ``ratio_window_s`` (an hour, at least one bar)
  the change of q·OI plus the long part of what closed, against the change of OI plus what closed, is the
  long share of what was opened (``_ratio_vote``).  Only where OI grew by at least ``ratio_min_growth`` over
  that window.  Accounts are not notional: the vote is damped by ``ratio_weight``.
* ``funding``: only its distance from the floor says anything; the vote is ``funding_weight`` ×
  clip((rate − floor)/``funding_scale``, ±1).  At the floor it is exactly zero, and disclosed as such.

Weights were tuned on simulated markets (tests/risk/market_simulator.py, seeds listed in docs/bands.md)
and evaluated on other seeds; they are configuration, not truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SOURCES = ("OI vs price", "taker flow", "long/short ratio", "funding")
FUNDING_FLOOR = 0.0001
"""Binance/Bybit/OKX 8-hour interest component: funding equals it whenever the premium is within the clamp."""


@dataclass(frozen=True)
class AttributionConfig:
    price_weight: float = 0.6
    taker_weight: float = 0.5
    ratio_weight: float = 1.0
    ratio_window_s: float = 3_600.0
    """Time over which the ratio's change is read (in bars: this over the bar length, at least one)."""
    ratio_min_growth: float = 0.002
    funding_weight: float = 0.4
    funding_floor: float = FUNDING_FLOOR
    funding_scale: float = 0.0005
    close_flow_weight: float = 0.5
    """Share of the net taker flow read as the leveraged side's (``attribute_closes``); 0: closes pro rata."""
    max_vote: float = 3.0
    """Cap on the summed log-odds: no single bar is attributed more than ~95 % to one side."""

    def __post_init__(self) -> None:
        weights = (self.price_weight, self.taker_weight, self.ratio_weight, self.funding_weight)
        if any(not w >= 0 for w in weights) or not self.ratio_window_s > 0 or not self.funding_scale > 0:
            raise ValueError("attribution weights must be >= 0, ratio_window_s > 0 and funding_scale > 0")
        if not (self.ratio_min_growth >= 0 and self.max_vote > 0):
            raise ValueError("ratio_min_growth must be >= 0 and max_vote > 0")


@dataclass(frozen=True)
class SourceEvidence:
    """What one source says on its own, over the bars where open interest rose."""

    source: str
    bars: int
    """Bars with new open interest where the source had a value (and so voted)."""
    long_share: float | None
    """Long share of the new notional if this source alone decided (None when it never voted)."""
    note: str

    def to_json(self) -> dict:
        return {"source": self.source, "bars": self.bars, "long_share": self.long_share, "note": self.note}


@dataclass(frozen=True, eq=False)
class SideAttribution:
    share: np.ndarray
    """Long share of each bar's new open interest (0.5 where no source voted)."""
    long_share: float
    """Long share of all new notional in the window, weighted by each bar's new notional."""
    evidence: tuple[SourceEvidence, ...]
    unvoted_bars: int
    """Bars with new open interest that no source spoke for: split 50/50."""

    def to_json(self) -> dict:
        return {
            "long_share_of_new_notional": round(self.long_share, 4),
            "unvoted_bars": self.unvoted_bars,
            "sources": [e.to_json() for e in self.evidence],
        }


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 0.02, 0.98)
    return np.log(p / (1.0 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def attribute_sides(
    *,
    close: np.ndarray,
    oi_units: np.ndarray,
    new_notional: np.ndarray,
    taker_buy: np.ndarray | None = None,
    taker_sell: np.ndarray | None = None,
    long_short_ratio: np.ndarray | None = None,
    funding_rate: np.ndarray | None = None,
    bar_seconds: float = 60.0,
    closed: np.ndarray | None = None,
    config: AttributionConfig | None = None,
) -> SideAttribution:
    """Long share per bar from every source present; ``new_notional`` (≥ 0, per bar) weighs the summaries.

    Votes are only computed for bars with new notional (the others place nothing and keep 0.5).  ``closed``
    (units per bar, from ``turnover``) is what the holding prior says closed; the ratio vote reads the
    opens as the change of open interest plus it.
    """
    cfg = config or AttributionConfig()
    n = close.shape[0]
    at = np.flatnonzero(new_notional > 0)
    weight = new_notional[at]
    votes: dict[str, np.ndarray] = {}  # per source: log-odds per opened bar, NaN where it has no value

    log_close = np.log(close)
    ret = np.diff(log_close, prepend=log_close[0])
    scale = float(np.median(np.abs(ret[1:]))) if n > 1 else 0.0
    if scale > 0:
        votes["OI vs price"] = cfg.price_weight * np.clip(ret[at] / scale, -cfg.max_vote, cfg.max_vote)

    if taker_buy is not None and taker_sell is not None:
        buy, sell = taker_buy[at], taker_sell[at]
        total = buy + sell
        ok = np.isfinite(total) & (total > 0) & (buy >= 0) & (sell >= 0)
        votes["taker flow"] = np.where(ok, cfg.taker_weight * _logit(buy / np.where(ok, total, 1.0)), np.nan)

    if long_short_ratio is not None:
        w = max(1, round(cfg.ratio_window_s / bar_seconds))
        votes["long/short ratio"] = cfg.ratio_weight * _ratio_vote(long_short_ratio, oi_units, closed, at, w, cfg)

    funding_note = "not available"
    if funding_rate is not None:
        rate = funding_rate[at]
        ok = np.isfinite(rate)
        offset = np.clip((np.where(ok, rate, cfg.funding_floor) - cfg.funding_floor) / cfg.funding_scale, -1, 1)
        votes["funding"] = np.where(ok, cfg.funding_weight * offset, np.nan)
        at_floor = int((ok & (np.abs(rate - cfg.funding_floor) <= 1e-9)).sum())
        floor = f"{cfg.funding_floor * 100:+.4f}%"
        funding_note = f"{at_floor} of {int(ok.sum())} bars at the floor {floor} (no vote there)"

    total_vote = np.zeros(at.size)
    voted = np.zeros(at.size, dtype=bool)
    evidence = []
    for source in SOURCES:
        vote = votes.get(source)
        if vote is None:
            note = {"funding": funding_note, "OI vs price": "price never moved"}.get(source, "not available")
            evidence.append(SourceEvidence(source, 0, None, note))
            continue
        has = np.isfinite(vote)
        vote = np.where(has, vote, 0.0)
        total_vote += vote
        voted |= vote != 0
        alone = _weighted_share(_sigmoid(vote), weight, has)
        evidence.append(SourceEvidence(source, int(has.sum()), alone, funding_note if source == "funding" else "voted"))
    share = np.full(n, 0.5)
    share[at] = _sigmoid(np.clip(total_vote, -cfg.max_vote, cfg.max_vote))
    overall = _weighted_share(share[at], weight, np.ones(at.size, dtype=bool))
    return SideAttribution(
        share=share,
        long_share=0.5 if overall is None else overall,
        evidence=tuple(evidence),
        unvoted_bars=int((~voted).sum()),
    )


def _ratio_vote(
    ratio: np.ndarray, oi_units: np.ndarray, closed: np.ndarray | None, at: np.ndarray, w: int, cfg: AttributionConfig
) -> np.ndarray:
    """Log-odds that the last ``w`` bars' new positions were long, from the change of q·OI, at ``at``.

    The ratio describes the open stock, whose change is opens minus closes.  Closes leave the stock in its
    own proportion (the pro-rata rule of ``side_decay``), so of ``C`` units closed over the window q̄·C were
    long and the long share of what opened is (Δ(q·OI) + q̄·C) / (ΔOI + C).  Reading the net change alone
    (C = 0) overstates the flow whenever it differs from the stock: on a market that opens about as much as
    it closes ΔOI is small, and a flow at 45 % long against a stock at 35 % read as ~100 % long.  On the
    simulated markets that overstatement put a turning crowd's last hours on the wrong side, and the young
    clusters of the side it had turned away from went missing (docs/bands.md "Validation").

    The vote still needs OI to have grown over the window: where it fell, more closed than the prior says,
    and the excess (liquidations, one-sided exits) does not leave the stock pro rata.  Reading those windows
    too put the opens of a long flush at ~50 % long and doubled the worst long-share gap on the tuning seeds.
    """
    back = at - w
    has_past = back >= 0
    before = np.maximum(back, 0)
    r_now, r_then = ratio[at], ratio[before]
    ok = has_past & np.isfinite(r_now) & np.isfinite(r_then) & (r_now > 0) & (r_then > 0)
    q_now = np.where(ok, r_now, 1.0) / (1.0 + np.where(ok, r_now, 1.0))
    q_then = np.where(ok, r_then, 1.0) / (1.0 + np.where(ok, r_then, 1.0))
    gone = 0.0
    if closed is not None:
        cum = np.cumsum(closed)
        gone = cum[at] - cum[before]
    d_oi = oi_units[at] - oi_units[before]
    opened = d_oi + gone
    long_opened = oi_units[at] * q_now - oi_units[before] * q_then + 0.5 * (q_now + q_then) * gone
    growing = ok & (d_oi > cfg.ratio_min_growth * oi_units[at])
    return np.where(growing, _logit(long_opened / np.where(growing, opened, 1.0)), np.nan)


def _weighted_share(share: np.ndarray, weight: np.ndarray, mask: np.ndarray) -> float | None:
    w = np.where(mask, weight, 0.0)
    total = float(w.sum())
    return None if total <= 0 else round(float((share * w).sum()) / total, 4)


@dataclass(frozen=True, eq=False)
class SideFlows:
    """Per side and bar, shape (2, bars), row 0 long: units opened, and each side's net change where net
    taker flow gives it."""

    opens: np.ndarray
    net: np.ndarray | None
    """ΔOI split by net taker flow: long (ΔOI + w·(buy − sell))/2, short (ΔOI − w·(buy − sell))/2; None
    without taker volume or under a holding-time prior (closes then fall on both sides pro rata)."""
    closed: np.ndarray | None = None
    """Units closed per bar under a holding-time prior (``turnover``), taken pro rata from every level."""


def attribute_closes(
    *,
    oi_units: np.ndarray,
    share: np.ndarray,
    taker_buy: np.ndarray | None = None,
    taker_sell: np.ndarray | None = None,
    closed: np.ndarray | None = None,
    config: AttributionConfig | None = None,
) -> SideFlows:
    """Which side each bar's closed open interest came from.

    A long opens by buying and closes by selling, a short the reverse, so the leveraged traders' net taker
    flow buy − sell = ΔL − ΔS, while ΔOI = ΔL + ΔS: together they give each side's net change, closes
    included.  Churn that neither opens nor closes adds noise to the flow, which ``close_flow_weight`` < 1
    shrinks.  New positions keep the split of ``attribute_sides`` (``share``), which weighs more evidence.
    Under a holding-time prior (``closed`` from ``turnover``) the closes are known in total, so a bar's new
    positions are ΔOI plus what closed (what ΔOI nets away), and closes fall on every level pro rata.
    Price direction alone was tried for closes (falling OI on a falling price: longs leaving) and made the
    long share worse on the tuning seeds, so without taker volume closes stay pro rata.
    """
    cfg = config or AttributionConfig()
    d_oi = np.diff(oi_units, prepend=oi_units[0])
    up = np.maximum(d_oi if closed is None else d_oi + closed, 0.0)
    opens = np.stack([up * share, up * (1.0 - share)])
    if closed is not None:
        return SideFlows(opens, None, closed)
    if taker_buy is None or taker_sell is None or cfg.close_flow_weight <= 0:
        return SideFlows(opens, None)
    imbalance = np.where(np.isfinite(taker_buy - taker_sell), taker_buy - taker_sell, 0.0)
    net = 0.5 * np.stack([d_oi + cfg.close_flow_weight * imbalance, d_oi - cfg.close_flow_weight * imbalance])
    net[:, 0] = 0.0
    return SideFlows(opens, net)


def turnover(oi_units: np.ndarray, bar_seconds: float, mean_holding_hours: float) -> np.ndarray:
    """Units closed per bar if positions are held ``mean_holding_hours`` on average: bar/holding of the open
    interest, or the fall in open interest where it fell faster (row 0: nothing known to close).

    ΔOI is opens minus closes, and on liquid perpetuals the two are of the same size bar after bar, so ΔOI
    alone places only a fraction of the positions opened and ages the rest too slowly.  Holding time is as
    unobservable as leverage, so this is a prior, disclosed like the leverage prior.
    """
    rate = min(bar_seconds / (mean_holding_hours * 3600.0), 1.0)  # a position closes at most once per bar
    out = np.zeros(oi_units.shape[0])
    out[1:] = np.maximum(rate * oi_units[:-1], oi_units[:-1] - oi_units[1:])
    return out


def side_decay(oi_units: np.ndarray, flows: SideFlows, liquidated: np.ndarray | None) -> np.ndarray:
    """Cumulative log survival of each side's levels, shape (2, bars), row 0 long.

    What a side lost beyond the liquidations the estimate already removed (``liquidated``, units per bar)
    is taken pro rata from that side's levels, each side assumed to hold half the open interest.  A side
    never loses more than it holds.  Without net flow every level shrinks by OI_t/OI_(t-1), liquidations
    included: taking them out there made the long share worse on the tuning seeds (worst gap 0.09 → 0.12).
    Under a holding-time prior (``flows.closed``) every level shrinks by closed/OI_(t-1).  ``liquidated`` is
    read only with net flow (None is accepted otherwise).
    """
    if flows.closed is not None:
        lost = np.stack([0.5 * flows.closed, 0.5 * flows.closed])
    elif flows.net is not None:
        assert liquidated is not None, "the flow split needs the estimate's own liquidations"
        lost = np.maximum(-(flows.net + liquidated), 0.0)
    else:
        gone = np.maximum(-np.diff(oi_units, prepend=oi_units[0]), 0.0)
        lost = np.stack([0.5 * gone, 0.5 * gone])
    hazard = np.minimum(2.0 * lost[:, 1:] / oi_units[None, :-1], 0.999)
    out = np.zeros((2, oi_units.shape[0]))
    out[:, 1:] = np.cumsum(np.log1p(-hazard), axis=1)
    return out
