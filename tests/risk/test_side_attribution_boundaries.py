"""Boundaries of side_attribution.py: the configuration it refuses, votes at their clips and cut-offs, bars a
source cannot vote on, and the close split and level decay on hand-sized arrays (docs/mutation.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskguard.risk.side_attribution import (
    AttributionConfig,
    SideAttribution,
    SideFlows,
    attribute_closes,
    attribute_sides,
    side_decay,
    turnover,
)

WEIGHTS = "attribution weights must be >= 0, ratio_window_s > 0 and funding_scale > 0"
GROWTH = "ratio_min_growth must be >= 0 and max_vote > 0"


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"price_weight": -0.1}, WEIGHTS),
        ({"taker_weight": -0.1}, WEIGHTS),
        ({"ratio_weight": -0.1}, WEIGHTS),
        ({"funding_weight": -0.1}, WEIGHTS),
        ({"price_weight": math.nan}, WEIGHTS),
        ({"ratio_window_s": 0.0}, WEIGHTS),
        ({"funding_scale": 0.0}, WEIGHTS),
        ({"ratio_min_growth": -0.001}, GROWTH),
        ({"max_vote": 0.0}, GROWTH),
    ],
)
def test_attribution_config_when_out_of_range_then_refused(kwargs, message):
    with pytest.raises(ValueError) as err:
        AttributionConfig(**kwargs)
    assert str(err.value) == message


def test_attribution_config_when_on_the_allowed_edges_then_accepted():
    cfg = AttributionConfig(price_weight=0.0, taker_weight=0.0, ratio_weight=0.0, funding_weight=0.0,
                            ratio_min_growth=0.0)
    assert (cfg.price_weight, cfg.ratio_min_growth) == (0.0, 0.0)


def test_attribution_config_when_window_and_cap_below_one_then_accepted_and_the_cap_holds():
    # half a second of ratio window (one bar) and a cap of half a log-odds are positive, so allowed
    cfg = AttributionConfig(price_weight=0.0, taker_weight=1.0, ratio_window_s=0.5, max_vote=0.5)
    assert cfg.ratio_window_s == 0.5
    # a bar all buys votes ln 49 = 3.89, capped at 0.5
    split = attribute_sides(close=np.full(2, 100.0), oi_units=np.array([100.0, 110.0]),
                            new_notional=np.array([0.0, 1.0]), taker_buy=np.array([1.0, 5.0]),
                            taker_sell=np.array([1.0, 0.0]), config=cfg)
    assert split.share.tolist() == pytest.approx([0.5, _sigmoid(0.5)], rel=1e-12)


TAKER_ONLY = AttributionConfig(price_weight=0.0, taker_weight=1.0)


def test_attribute_sides_when_all_volume_one_way_then_logit_clipped_and_vote_capped():
    # a flat price casts no price vote; a bar all buys reads as 98 % (logit ln 49 = 3.89), capped at 3 in sum
    flat = np.full(3, 100.0)
    split = attribute_sides(close=flat, oi_units=np.array([100.0, 110.0, 120.0]),
                            new_notional=np.array([0.0, 1.0, 1.0]), taker_buy=np.array([1.0, 5.0, 0.0]),
                            taker_sell=np.array([1.0, 0.0, 5.0]), config=TAKER_ONLY)
    assert split.share.tolist() == pytest.approx([0.5, _sigmoid(3.0), _sigmoid(-3.0)], rel=1e-12)
    price, taker = split.evidence[0], split.evidence[1]
    assert (price.bars, price.long_share, price.note) == (0, None, "price never moved")
    assert (taker.bars, taker.long_share, taker.note) == (2, 0.5, "voted")  # 0.98 and 0.02, equal weights
    assert split.unvoted_bars == 0


def test_attribute_sides_when_taker_volume_unusable_then_those_bars_do_not_vote():
    # bar 1 no volume, 2 negative buys, 3 unknown buys, 4 negative sells; bar 5 buys 3 of 4: logit ln 3
    split = attribute_sides(
        close=np.full(6, 100.0), oi_units=np.arange(100.0, 106.0), new_notional=np.array([0.0, 1, 1, 1, 1, 1]),
        taker_buy=np.array([1.0, 0.0, -1.0, np.nan, 2.0, 3.0]),
        taker_sell=np.array([1.0, 0.0, 2.0, 1.0, -1.0, 1.0]), config=TAKER_ONLY,
    )
    assert split.share.tolist() == pytest.approx([0.5, 0.5, 0.5, 0.5, 0.5, 0.75], rel=1e-12)
    assert split.evidence[1].bars == 1 and split.evidence[1].long_share == 0.75
    assert split.unvoted_bars == 4
    assert split.long_share == pytest.approx((4 * 0.5 + 0.75) / 5)
    assert split.to_json() == {
        "long_share_of_new_notional": 0.55,
        "unvoted_bars": 4,
        "sources": [
            {"source": "OI vs price", "bars": 0, "long_share": None, "note": "price never moved"},
            {"source": "taker flow", "bars": 1, "long_share": 0.75, "note": "voted"},
            {"source": "long/short ratio", "bars": 0, "long_share": None, "note": "not available"},
            {"source": "funding", "bars": 0, "long_share": None, "note": "not available"},
        ],
    }


def test_attribute_sides_when_taker_volume_is_below_one_unit_then_it_votes():
    # 0.3 bought and 0.1 sold: a buy share of 0.75 whatever the unit, logit ln 3
    split = attribute_sides(close=np.full(2, 100.0), oi_units=np.array([100.0, 101.0]),
                            new_notional=np.array([0.0, 1.0]), taker_buy=np.array([0.0, 0.3]),
                            taker_sell=np.array([0.0, 0.1]), config=TAKER_ONLY)
    assert split.share[1] == pytest.approx(0.75, rel=1e-12)
    assert (split.evidence[1].bars, split.unvoted_bars) == (1, 0)


def test_attribute_sides_when_two_bars_then_the_one_return_is_its_own_scale():
    # one return, so the typical return is itself: vote 0.6 × 1, share σ(0.6) = 0.645656…, four places kept
    split = attribute_sides(close=np.array([100.0, 101.0]), oi_units=np.array([10.0, 11.0]),
                            new_notional=np.array([0.0, 1.0]))
    assert split.share.tolist() == pytest.approx([0.5, _sigmoid(0.6)], rel=1e-12)
    assert (split.evidence[0].bars, split.evidence[0].long_share, split.evidence[0].note) == (1, 0.6457, "voted")
    assert split.long_share == 0.6457


def test_attribute_sides_when_a_return_is_far_beyond_the_typical_then_the_price_vote_is_clipped_both_ways():
    # log returns ±1 %, then +20 % and −20 %: the typical |return| is 1 %, so the last two are 20 units, clipped
    # to ±3 and weighed 0.6: ±1.8; the small ones vote ±0.6
    ret = np.array([0.0, 0.01, -0.01, 0.01, -0.01, 0.2, -0.2])
    split = attribute_sides(close=100.0 * np.exp(np.cumsum(ret)), oi_units=np.arange(100.0, 107.0),
                            new_notional=np.array([0.0, 1, 1, 1, 1, 1, 1]))
    votes = [0.0, 0.6, -0.6, 0.6, -0.6, 1.8, -1.8]
    assert split.share.tolist() == pytest.approx([_sigmoid(v) for v in votes], rel=1e-9)


def test_attribute_sides_when_two_sources_vote_then_their_votes_add_and_a_bar_either_voted_on_counts():
    # price: returns +1 %, +1 %, −1 %: each one typical unit, vote ±0.6.  Taker flow: bar 1 buys 3 of 4 (0.5·ln 3),
    # bar 2 all sells (0.5·ln(0.02/0.98)), bar 3 no volume (no vote).  Every bar voted on by at least one source.
    split = attribute_sides(close=100.0 * np.exp(np.cumsum([0.0, 0.01, 0.01, -0.01])),
                            oi_units=np.arange(100.0, 104.0), new_notional=np.array([0.0, 1.0, 1.0, 1.0]),
                            taker_buy=np.array([0.0, 3.0, 0.0, 0.0]), taker_sell=np.array([0.0, 1.0, 2.0, 0.0]))
    votes = [0.6 + 0.5 * math.log(3.0), 0.6 + 0.5 * math.log(0.02 / 0.98), -0.6]
    assert split.share[1:].tolist() == pytest.approx([_sigmoid(v) for v in votes], rel=1e-9)
    assert split.unvoted_bars == 0
    assert (split.evidence[0].bars, split.evidence[1].bars) == (3, 2)


def test_ratio_vote_reads_the_opens_as_the_change_of_interest_plus_what_closed_over_the_window():
    # one-bar window; the ratio goes 1 → 13/12 (long fraction 0.5 → 0.52) as OI goes 1 000 → 1 100.
    # Nothing known closed: (1 100·0.52 − 1 000·0.5)/100 = 0.72 long.  6 units closed in that bar (4 the bar
    # before, outside the window): (72 + 0.51·6)/106 = 75.06/106 long.
    cfg = AttributionConfig(price_weight=0.0, ratio_window_s=60.0)
    kwargs = dict(close=np.full(3, 100.0), oi_units=np.array([1_000.0, 1_000.0, 1_100.0]),
                  new_notional=np.array([0.0, 0.0, 1.0]), long_short_ratio=np.array([1.0, 1.0, 13 / 12]),
                  config=cfg)

    def vote(p: float) -> float:
        return math.log(p / (1 - p))

    bare = attribute_sides(**kwargs)
    assert bare.share[2] == pytest.approx(_sigmoid(vote(0.72)), rel=1e-9)
    prior = attribute_sides(**kwargs, closed=np.array([0.0, 4.0, 6.0]))
    assert prior.share[2] == pytest.approx(_sigmoid(vote(75.06 / 106)), rel=1e-9)
    assert (bare.evidence[2].bars, prior.evidence[2].bars) == (1, 1)

    split = SideAttribution(share=np.array([0.5]), long_share=0.123456, evidence=(), unvoted_bars=0)
    assert split.to_json() == {"long_share_of_new_notional": 0.1235, "unvoted_bars": 0, "sources": []}


def test_attribute_sides_when_one_bar_or_nothing_new_then_even_split():
    one = attribute_sides(close=np.array([100.0]), oi_units=np.array([10.0]), new_notional=np.array([5.0]))
    assert one.share.tolist() == [0.5] and one.evidence[0].note == "price never moved"
    nothing = attribute_sides(close=np.array([100.0, 101.0]), oi_units=np.array([10.0, 9.0]),
                              new_notional=np.zeros(2), taker_buy=np.ones(2), taker_sell=np.ones(2))
    assert nothing.long_share == 0.5 and nothing.evidence[1].long_share is None and nothing.unvoted_bars == 0


def test_attribute_sides_when_funding_far_from_floor_then_vote_clipped():
    # (rate − 0.01 %)/0.05 % clipped to ±1, times 0.4; a rate within 1e-9 of the floor counts as at it
    off = AttributionConfig(price_weight=0.0, taker_weight=0.0, ratio_weight=0.0)
    split = attribute_sides(close=np.full(4, 100.0), oi_units=np.arange(10.0, 14.0),
                            new_notional=np.array([0, 1, 1, 1.0]),
                            funding_rate=np.array([0.0, 0.0011, -0.0011, 0.0001 + 5e-10]), config=off)
    assert split.share.tolist() == pytest.approx([0.5, _sigmoid(0.4), _sigmoid(-0.4), _sigmoid(0.4 * 1e-6)], rel=1e-9)
    assert split.evidence[3].note == "1 of 3 bars at the floor +0.0100% (no vote there)"


@pytest.mark.parametrize(
    ("ratio", "oi", "votes"),
    [
        ([0.0, 1.5], [100.0, 110.0], False),  # no accounts on one side: no ratio
        ([np.nan, 1.5], [100.0, 110.0], False),
        ([1.0, 1.5], [998.0, 1_000.0], False),  # OI grew by exactly 0.2 % of now: not more than the minimum
        ([1.0, 1.5], [997.9, 1_000.0], True),
    ],
)
def test_ratio_vote_when_ratio_missing_or_growth_at_the_minimum_then_no_vote(ratio, oi, votes):
    split = attribute_sides(close=np.array([100.0, 100.0]), oi_units=np.array(oi), new_notional=np.array([0.0, 1.0]),
                            long_short_ratio=np.array(ratio),
                            config=AttributionConfig(price_weight=0.0, ratio_window_s=60.0))
    assert split.evidence[2].bars == int(votes)
    # q 0.5 → 0.6: (600 − 498.95)/2.1 long opened, far above the 98 % clip: the vote is capped at 3
    assert split.share[1] == (_sigmoid(3.0) if votes else 0.5)


def test_attribute_closes_when_taker_flow_then_net_change_per_side():
    oi, share = np.array([100.0, 110.0, 105.0]), np.array([0.5, 0.6, 0.5])
    flows = attribute_closes(oi_units=oi, share=share, taker_buy=np.array([3.0, 8.0, 1.0]),
                             taker_sell=np.array([1.0, 2.0, 4.0]))
    # ΔOI 0, 10, −5; opens only where it rose: 6 long and 4 short at bar 1
    assert flows.opens.tolist() == [[0.0, 6.0, 0.0], [0.0, 4.0, 0.0]]
    # (ΔOI ± 0.5·(buy − sell))/2: bar 1 (10 ± 3)/2, bar 2 (−5 ∓ 1.5)/2; bar 0 has no change to split
    assert flows.net.tolist() == [[0.0, 6.5, -3.25], [0.0, 3.5, -1.75]]
    assert flows.closed is None
    unknown = attribute_closes(oi_units=oi, share=share, taker_buy=np.array([3.0, 8.0, np.nan]),
                               taker_sell=np.array([1.0, 2.0, 4.0]))
    assert unknown.net.tolist() == [[0.0, 6.5, -2.5], [0.0, 3.5, -2.5]]  # no flow known: split evenly


def test_attribute_closes_when_no_flow_weight_or_prior_then_no_net():
    oi, share = np.array([100.0, 110.0, 105.0]), np.array([0.5, 0.6, 0.5])
    buy, sell = np.ones(3), np.ones(3)
    assert attribute_closes(oi_units=oi, share=share, taker_buy=buy, taker_sell=sell,
                            config=AttributionConfig(close_flow_weight=0.0)).net is None
    assert attribute_closes(oi_units=oi, share=share, taker_buy=buy).net is None
    prior = attribute_closes(oi_units=oi, share=share, taker_buy=buy, taker_sell=sell, closed=np.array([0.0, 2.0, 7.0]))
    # with a holding prior the opens are ΔOI plus what closed: 12 and 2
    np.testing.assert_allclose(prior.opens, [[0.0, 7.2, 1.0], [0.0, 4.8, 1.0]], rtol=1e-12)
    assert prior.net is None and prior.closed.tolist() == [0.0, 2.0, 7.0]


def test_attribute_closes_when_interest_falls_at_the_second_bar_then_the_first_bar_opens_nothing():
    # ΔOI at bar 0 is 0 by definition (nothing before it); bar 1 loses 10, which opens nothing either
    flows = attribute_closes(oi_units=np.array([100.0, 90.0]), share=np.array([0.5, 0.5]))
    assert flows.opens.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    one = attribute_closes(oi_units=np.array([100.0]), share=np.array([0.5]), taker_buy=np.ones(1),
                           taker_sell=np.zeros(1))
    assert one.opens.tolist() == [[0.0], [0.0]] and one.net.tolist() == [[0.0], [0.0]]


def test_turnover_when_interest_changes_then_each_bar_closes_a_share_of_the_bar_before():
    # 6 minutes of a 1-hour holding: 10 % of the previous bar's OI closes, or the fall where it is larger
    closed = turnover(np.array([100.0, 200.0, 200.0, 150.0]), bar_seconds=360.0, mean_holding_hours=1.0)
    assert closed.tolist() == pytest.approx([0.0, 10.0, 20.0, 50.0], rel=1e-12)
    assert turnover(np.array([100.0]), 360.0, 1.0).tolist() == [0.0]


def test_side_decay_when_one_bar_then_no_decay():
    for flows in (SideFlows(np.zeros((2, 1)), None), SideFlows(np.zeros((2, 1)), None, np.zeros(1))):
        assert side_decay(np.array([100.0]), flows, None).tolist() == [[0.0], [0.0]]


def test_side_decay_when_each_kind_of_close_then_hazard_per_side():
    oi = np.array([100.0, 90.0, 95.0, 0.0])
    # no flow: what OI lost, half per side, against half the OI: 10/100, then nothing, then all (capped)
    bare = side_decay(oi, SideFlows(np.zeros((2, 4)), None), None)
    want = np.cumsum([0.0, math.log(0.9), 0.0, math.log(0.001)])
    np.testing.assert_allclose(bare, [want, want], rtol=1e-12)
    # a holding prior: closed/OI_(t-1) on every level of both sides
    closed = np.array([0.0, 10.0, 9.0, 19.0])
    prior = side_decay(oi, SideFlows(np.zeros((2, 4)), None, closed), None)
    want = np.cumsum([0.0, math.log(0.9), math.log(0.9), math.log(0.8)])
    np.testing.assert_allclose(prior, [want, want], rtol=1e-12)
    # net flow: each side's own fall beyond the estimate's liquidations
    net = np.array([[0.0, -10.0, 5.0, -5.0], [0.0, 0.0, -4.5, 0.0]])
    liquidated = np.array([[0.0, 5.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    flow = side_decay(np.array([100.0, 100.0, 90.0, 80.0]), SideFlows(np.zeros((2, 4)), net), liquidated)
    np.testing.assert_allclose(flow, [np.cumsum([0.0, math.log(0.9), 0.0, math.log(1 - 10 / 90)]),
                                      np.cumsum([0.0, 0.0, math.log(0.91), 0.0])], rtol=1e-12)
    with pytest.raises(AssertionError, match="liquidations"):
        side_decay(oi, SideFlows(np.zeros((2, 4)), net), None)
