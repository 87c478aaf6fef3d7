"""``evaluate_account`` figure by figure on small Binance USDⓈ-M accounts worked out by hand (one flat tier,
mmr 0.5 %, exact display), and the paths where a figure cannot be computed."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from plan_factory import FLAT, account, market, position, venue_of

from riskguard.model import Account, AccountType, AssetBalance, FeeRates, MarginTier, PositionSide, Side, VenueMarkets
from riskguard.risk.account_risk import CrossSummary, PriceSource, VariantEvaluator, Variants, evaluate_account

ETH = market("ETH/USDT:USDT", 0.005, step=0.01)
BTC = market("BTC/USDT:USDT", 0.004)
VENUE = venue_of(ETH, BTC)


def test_isolated_long_every_figure_by_hand():
    # 10 ETH long at 2 000, mark 1 900, isolated margin 2 000, 10× leverage
    acct = account(position(ETH.symbol, 10, 2_000, 1_900, isolated_margin=2_000), wallet=7_000, cross_wallet=5_000)
    risk = evaluate_account(acct, VENUE)
    assert (risk.name, risk.venue, risk.missing) == ("acct", "binanceusdm", ())
    (r,) = risk.positions
    assert r.notional == pytest.approx(19_000.0)  # 10 × 1 900
    assert r.unrealized_pnl == pytest.approx(-1_000.0)
    assert r.maintenance_margin == pytest.approx(95.0)  # 19 000 × 0.5 %
    assert r.equity == pytest.approx(1_000.0)  # margin + uPnL
    assert r.margin_ratio == pytest.approx(0.095)
    assert r.effective_leverage == pytest.approx(19.0)
    assert r.initial_margin == pytest.approx(1_900.0)  # notional at mark ÷ 10 (Binance)
    # 2 000 + 10 (P − 2 000) = 0.05 P  ⇒  P = 18 000 / 9.95; bankruptcy 2 000 + 10 (P − 2 000) = 0 ⇒ 1 800
    assert r.liquidation_price == pytest.approx(18_000 / 9.95, rel=1e-12)
    assert r.liquidation_price_raw == pytest.approx(18_000 / 9.95, rel=1e-12)
    assert r.liquidation_source is PriceSource.COMPUTED
    assert r.bankruptcy_price == pytest.approx(1_800.0, rel=1e-12)
    assert r.bankruptcy_price_raw == pytest.approx(1_800.0, rel=1e-12)
    buffer = (1_900 - 18_000 / 9.95) / 1_900 * 100  # 4.786 %
    assert r.buffer_pct == pytest.approx(buffer, rel=1e-12)
    assert r.distance_bp == pytest.approx(buffer * 100, rel=1e-12)
    assert (r.tier, r.mmr, r.is_estimate, r.method) == (0, 0.005, False, "venue rules")
    assert r.display_rule == "exact root, unrounded"
    assert (r.side, r.margin_mode, r.position_side, r.settle) == ("long", "isolated", "both", "USDT")
    assert (r.symbol, r.contracts, r.entry_price, r.mark_price) == (ETH.symbol, 10, 2_000, 1_900)


def test_position_figures_carry_the_positions_as_of_time():
    p = replace(position(ETH.symbol, 10, 2_000, isolated_margin=2_000), timestamp_ms=1_700_000_000_000)
    (r,) = evaluate_account(account(p), VENUE).positions
    assert r.timestamp_ms == 1_700_000_000_000


def test_isolated_short_buffer_is_measured_upwards():
    acct = account(position(ETH.symbol, 10, 2_000, side=Side.SHORT, isolated_margin=2_000))
    (r,) = evaluate_account(acct, VENUE).positions
    # 2 000 − 10 (P − 2 000) = 0.05 P  ⇒  P = 22 000 / 10.05
    assert r.liquidation_price == pytest.approx(22_000 / 10.05, rel=1e-12)
    assert r.buffer_pct == pytest.approx((22_000 / 10.05 - 2_000) / 2_000 * 100, rel=1e-12)
    assert r.bankruptcy_price == pytest.approx(2_200.0, rel=1e-12)


def test_when_equity_is_gone_then_effective_leverage_is_infinite():
    acct = account(position(ETH.symbol, 10, 2_000, 1_900, isolated_margin=500))
    (r,) = evaluate_account(acct, VENUE).positions
    assert r.equity == pytest.approx(-500.0)
    assert r.effective_leverage == math.inf


def test_when_the_venue_shows_a_price_then_the_gap_to_ours_is_in_basis_points():
    p = replace(position(ETH.symbol, 10, 2_000, 1_900, isolated_margin=2_000), venue_liquidation_price=1_800.0)
    (r,) = evaluate_account(account(p), VENUE).positions
    assert r.venue_liquidation_price == 1_800.0
    assert r.liquidation_gap_bp == pytest.approx((18_000 / 9.95 - 1_800) / 1_800 * 1e4, rel=1e-12)  # 50.25 bp


def test_when_margin_exceeds_what_the_position_can_lose_then_no_price_liquidates():
    acct = account(position(ETH.symbol, 1, 2_000, isolated_margin=5_000))
    (r,) = evaluate_account(acct, VENUE).positions
    assert r.liquidation_source is PriceSource.NONE
    assert r.liquidation_price is None and r.buffer_pct is None and r.distance_bp is None
    assert r.liquidation_price_raw is None and r.liquidation_gap_bp is None
    assert r.bankruptcy_price is None and r.bankruptcy_price_raw is None
    assert r.unavailable_reason is None


def test_without_leverage_the_initial_margin_is_the_venues():
    p = replace(position(ETH.symbol, 10, 2_000, isolated_margin=2_000, leverage=None), venue_initial_margin=1_234.5)
    (r,) = evaluate_account(account(p), VENUE).positions
    assert r.initial_margin == 1_234.5


def test_cross_pool_summary_and_headroom():
    # long 1 BTC at 50 000, mark 48 000, wallet 10 000: equity 8 000, MM 48 000 × 0.4 % = 192
    acct = account(position(BTC.symbol, 1, 50_000, 48_000))
    risk = evaluate_account(acct, VENUE)
    (pool,) = risk.cross
    assert pool == CrossSummary("USDT", 10_000.0, pytest.approx(8_000.0), pytest.approx(192.0),
                                pytest.approx(0.024), pytest.approx(6.0))
    assert pool.headroom_pct == pytest.approx(97.6)
    (r,) = risk.positions
    assert r.margin_ratio == pytest.approx(0.024) and r.equity == pytest.approx(8_000.0)
    # 10 000 + (P − 50 000) = 0.004 P  ⇒  P = 40 000 / 0.996
    assert r.liquidation_price == pytest.approx(40_000 / 0.996, rel=1e-12)


def test_cross_pool_with_no_equity_left_has_infinite_ratio_and_leverage():
    acct = account(position(BTC.symbol, 1, 50_000, 38_000))  # uPnL −12 000 on a 10 000 wallet
    (pool,) = evaluate_account(acct, VENUE).cross
    assert pool.equity == pytest.approx(-2_000.0)
    assert pool.margin_ratio == math.inf and pool.effective_leverage == math.inf


def test_account_without_positions_reports_each_funded_wallet_as_an_idle_pool():
    acct = replace(account(), balances={"USDT": AssetBalance("USDT", 500.0, 500.0),
                                        "USDC": AssetBalance("USDC", 0.0, 0.0)})
    risk = evaluate_account(acct, VENUE)
    assert (risk.name, risk.venue) == ("acct", "binanceusdm")
    assert risk.positions == () and risk.missing == ()
    assert risk.cross == (CrossSummary("USDT", 500.0, 500.0, 0.0, 0.0, 0.0),)
    assert risk.cross[0].headroom_pct == 100.0


def test_account_without_positions_reports_a_wallet_below_one_unit_as_an_idle_pool():
    acct = replace(account(), balances={"USDT": AssetBalance("USDT", 0.5, 0.5)})
    assert evaluate_account(acct, VENUE).cross == (CrossSummary("USDT", 0.5, 0.5, 0.0, 0.0, 0.0),)


def test_cross_position_without_a_balance_in_its_settle_asset_is_unavailable():
    acct = replace(account(position(BTC.symbol, 1, 50_000)), balances={"USDC": AssetBalance("USDC", 1.0, 1.0)})
    (r,) = evaluate_account(acct, VENUE).positions
    assert r.liquidation_source is PriceSource.UNAVAILABLE
    assert r.unavailable_reason == "no USDT balance for the cross account"
    assert r.liquidation_price is None and r.bankruptcy_price is None and r.bankruptcy_price_raw is None


def test_when_a_needed_taker_fee_is_missing_then_the_venue_price_stands_labelled():
    okx = market("BTC/USDT:USDT", 0.004, venue="okx")
    p = replace(position(okx.symbol, 1, 50_000, isolated_margin=5_000), venue_liquidation_price=45_300.0)
    risk = evaluate_account(account(p, venue="okx", taker=None), venue_of(okx))
    assert risk.missing == ("acct: taker fee rate (the venue counts it in the maintenance requirement)",)
    (r,) = risk.positions
    assert (r.liquidation_source, r.liquidation_price) == (PriceSource.VENUE, 45_300.0)
    assert r.unavailable_reason is None  # a figure is shown: the venue's, labelled as such
    assert r.bankruptcy_price is None and r.liquidation_price_raw is None and r.display_rule is None
    assert r.bankruptcy_price_raw is None  # solvable from the margin, but not with the fee the venue counts
    assert r.liquidation_gap_bp is None
    assert r.buffer_pct == pytest.approx((50_000 - 45_300) / 50_000 * 100, rel=1e-12)


def test_when_a_needed_taker_fee_is_missing_and_the_venue_shows_nothing_then_unavailable():
    okx = market("BTC/USDT:USDT", 0.004, venue="okx")
    risk = evaluate_account(account(position(okx.symbol, 1, 50_000, isolated_margin=5_000), venue="okx",
                                    taker=None), venue_of(okx))
    (r,) = risk.positions
    assert r.liquidation_source is PriceSource.UNAVAILABLE and r.liquidation_price is None
    assert r.unavailable_reason == "taker fee rate unavailable"


def test_when_okx_reports_a_tier_then_its_rate_stands_whatever_the_size():
    # 0.6 BTC at 50 000 = 30 000 lies in the second tier by size (0.8 %, cum 80); OKX reports the first, which pins
    # the rate: MM = 30 000 × (0.4 % + 0.04 % taker) = 132, where the size's tier would give 30 000 × 0.84 % − 80 = 172
    okx = market("BTC/USDT:USDT", 0.004, venue="okx",
                 tiers=(MarginTier(0, 20_000, 0.004, 0.0), MarginTier(20_000, FLAT, 0.008, 80.0)))
    p = replace(position(okx.symbol, 0.6, 50_000, isolated_margin=5_000), tier_index=0)
    (r,) = evaluate_account(account(p, venue="okx"), venue_of(okx)).positions
    assert r.maintenance_margin == pytest.approx(132.0, rel=1e-12)
    assert (r.tier, r.mmr) == (0, pytest.approx(0.0044, rel=1e-12))


def test_when_a_market_has_no_margin_tiers_then_the_evaluation_fails_naming_it():
    # normalization refuses such a market; a caller that builds one gets an error, never a figure without a rate
    bare = replace(ETH, tiers=())
    acct = account(position(BTC.symbol, 1, 50_000), position(ETH.symbol, 1, 2_000))
    with pytest.raises(ValueError, match=r"^tier table 1 is empty: every market needs at least one margin tier$"):
        evaluate_account(acct, venue_of(BTC, bare))


def test_when_bybit_lacks_a_positions_leverage_then_its_price_is_unavailable_or_the_venues():
    # Bybit reserves the fee to close out of the margin, and that reserve is computed from the leverage
    bybit = market("BTC/USDT:USDT", 0.005, venue="bybit")
    bare = position(bybit.symbol, 1, 50_000, isolated_margin=6_000, leverage=None)
    shown = replace(position(ETH.symbol, 10, 2_000, isolated_margin=2_000, leverage=None),
                    venue_liquidation_price=1_820.0)
    eth = market(ETH.symbol, 0.005, venue="bybit", step=0.01)
    r, s = evaluate_account(account(bare, shown, venue="bybit"), venue_of(bybit, eth)).positions
    assert (r.liquidation_source, r.liquidation_price, r.bankruptcy_price) == (PriceSource.UNAVAILABLE, None, None)
    assert r.unavailable_reason == "leverage unavailable (Bybit reserves the closing fee from it)"
    assert (s.liquidation_source, s.liquidation_price, s.unavailable_reason) == (PriceSource.VENUE, 1_820.0, None)


def test_when_bybit_lacks_a_cross_positions_leverage_then_the_rest_of_its_pool_is_unavailable_too():
    # the reserve of the position without leverage is part of the pool's requirement, so no collateral is known
    bybit, eth = market("BTC/USDT:USDT", 0.005, venue="bybit"), market(ETH.symbol, 0.005, venue="bybit", step=0.01)
    acct = account(position(bybit.symbol, 1, 50_000, leverage=None), position(eth.symbol, 10, 2_000), venue="bybit")
    r, s = evaluate_account(acct, venue_of(bybit, eth)).positions
    assert r.unavailable_reason == "leverage unavailable (Bybit reserves the closing fee from it)"
    assert (s.liquidation_source, s.liquidation_price) == (PriceSource.UNAVAILABLE, None)
    assert s.unavailable_reason == "collateral unavailable: a cross position's requirement could not be computed"


def test_cross_position_without_a_balance_leaves_the_next_pool_computed():
    usdc = market("ETH/USDC:USDC", 0.005, settle="USDC")
    acct = account(position(usdc.symbol, 10, 2_000), position(BTC.symbol, 1, 50_000, 48_000))
    r, s = evaluate_account(acct, venue_of(usdc, BTC)).positions
    assert r.unavailable_reason == "no USDC balance for the cross account"
    assert s.liquidation_source is PriceSource.COMPUTED
    assert s.liquidation_price == pytest.approx(40_000 / 0.996, rel=1e-12)  # as in test_cross_pool_summary_…


def test_okx_initial_margin_is_valued_at_entry_when_isolated_and_at_mark_when_cross():
    okx_btc, okx_eth = market("BTC/USDT:USDT", 0.004, venue="okx"), market(ETH.symbol, 0.005, venue="okx", step=0.01)
    acct = account(position(okx_btc.symbol, 1, 50_000, 48_000),
                   position(okx_eth.symbol, 10, 2_000, 1_900, isolated_margin=2_000), venue="okx")
    cross, isolated = evaluate_account(acct, venue_of(okx_btc, okx_eth)).positions
    assert cross.initial_margin == pytest.approx(4_800.0, rel=1e-12)  # 48 000 at mark ÷ 10
    assert isolated.initial_margin == pytest.approx(2_000.0, rel=1e-12)  # 20 000 at entry ÷ 10


def test_when_isolated_equity_is_exactly_zero_then_the_margin_ratio_is_infinite_not_an_error():
    # 1 000 of margin, 10 long at 2 000 marked at 1 900: uPnL −1 000, equity 0; requirement 95
    acct = account(position(ETH.symbol, 10, 2_000, 1_900, isolated_margin=1_000))
    (r,) = evaluate_account(acct, VENUE).positions
    assert r.equity == 0.0
    assert r.maintenance_margin == pytest.approx(95.0)
    assert r.margin_ratio == math.inf
    assert r.effective_leverage == math.inf


def test_hedge_legs_when_isolated_then_each_keeps_its_own_price():
    # Binance shares one price between cross legs only; isolated legs are each their own position:
    # long  2 000 + 10 (P − 2 000) = 0.05 P  ⇒  18 000 / 9.95;  short 2 000 − 10 (P − 2 000) = 0.05 P  ⇒  22 000 / 10.05
    acct = account(position(ETH.symbol, 10, 2_000, 1_900, isolated_margin=2_000, leg=PositionSide.LONG),
                   position(ETH.symbol, 10, 2_000, 1_900, side=Side.SHORT, isolated_margin=2_000,
                            leg=PositionSide.SHORT), hedge=True)
    long, short = evaluate_account(acct, VENUE).positions
    assert long.liquidation_price == pytest.approx(18_000 / 9.95, rel=1e-12)
    assert short.liquidation_price == pytest.approx(22_000 / 10.05, rel=1e-12)


def test_variant_evaluator_pool_and_prices_by_hand():
    # long 1 BTC at 50 000 marked 48 000 on a 10 000 wallet (as test_cross_pool_summary_and_headroom), and the
    # variant holding 0.5 BTC on a 10 500 wallet: uPnL −1 000, equity 9 500, MM 24 000 × 0.4 % = 96;
    # 10 500 + 0.5 (P − 50 000) = 0.002 P  ⇒  P = 14 500 / 0.498
    acct = account(position(BTC.symbol, 1, 50_000, 48_000))
    ev = VariantEvaluator.of(acct, VENUE)
    assert ev is not None
    # and 1 BTC on a 1 000 wallet: equity −1 000, so no headroom and unbounded leverage; P = 49 000 / 0.996
    rows = ev.evaluate(np.array([[1.0], [0.5], [1.0]]), np.full((3, 1), np.nan),
                       {"USDT": np.array([10_000.0, 10_500.0, 1_000.0])}, np.array([True]))
    assert rows.present.tolist() == [[True]] * 3 and rows.known.tolist() == [[True]] * 3
    assert rows.price[:, 0] == pytest.approx([40_000 / 0.996, 14_500 / 0.498, 49_000 / 0.996], rel=1e-12)
    assert rows.buffer_pct[:2, 0] == pytest.approx([(48_000 - 40_000 / 0.996) / 480,
                                                    (48_000 - 14_500 / 0.498) / 480], rel=1e-12)
    assert rows.effective_leverage[:, 0] == pytest.approx([48_000 / 8_000, 24_000 / 9_500, math.inf], rel=1e-12)
    (asset, pool), = rows.pools.items()
    assert asset == "USDT" and pool.present.tolist() == [True, True, True]
    assert pool.headroom_pct == pytest.approx([(1 - 192 / 8_000) * 100, (1 - 96 / 9_500) * 100, -math.inf],
                                              rel=1e-12)
    assert pool.effective_leverage == pytest.approx([6.0, 24_000 / 9_500, math.inf], rel=1e-12)


def test_variant_evaluator_backs_each_cross_position_with_the_others_frozen():
    # BTC 1 long at 50 000 marked 48 000 (uPnL −2 000, MM 192) and ETH 10 long at 2 000 marked 1 900 (uPnL −1 000,
    # MM 95) on 10 000: BTC is backed by 10 000 − 1 000 − 95 = 8 905, so 8 905 + (P − 50 000) = 0.004 P;
    # ETH by 10 000 − 2 000 − 192 = 7 808, so 7 808 + 10 (P − 2 000) = 0.05 P.  Pool: equity 7 000, MM 287.
    acct = account(position(BTC.symbol, 1, 50_000, 48_000), position(ETH.symbol, 10, 2_000, 1_900))
    rows = _as_it_is(acct, VENUE, VariantEvaluator.of(acct, VENUE))
    assert rows.price[0] == pytest.approx([41_095 / 0.996, 12_192 / 9.95], rel=1e-12)
    assert rows.pools["USDT"].headroom_pct[0] == pytest.approx((1 - 287 / 7_000) * 100, rel=1e-12)
    assert rows.pools["USDT"].effective_leverage[0] == pytest.approx(67_000 / 7_000, rel=1e-12)


def _as_it_is(acct: Account, venue: VenueMarkets, ev: VariantEvaluator | None) -> Variants:
    """The one variant that changes nothing."""
    assert ev is not None
    contracts = np.array([[p.contracts for p in acct.positions]])
    margins = np.array([[math.nan if p.isolated_margin is None else p.isolated_margin for p in acct.positions]])
    wallets = {asset: np.array([b.cross_wallet]) for asset, b in acct.balances.items()}
    return ev.evaluate(contracts, margins, wallets, np.zeros(len(acct.positions), dtype=bool))


def test_variant_evaluator_without_fee_rates_where_the_venue_needs_none():
    acct = account(position(BTC.symbol, 1, 50_000, 48_000), taker=None)
    assert _as_it_is(acct, VENUE, VariantEvaluator.of(acct, VENUE)).price[0, 0] == pytest.approx(40_000 / 0.996,
                                                                                                   rel=1e-12)


def test_variant_evaluator_reads_solved_arrays_only_of_the_same_positions_and_fee():
    # 2 BTC long at 50 000 marked 48 000 on 10 000: uPnL −4 000, MM 96 000 × 0.4 % = 384, headroom 93.6 %;
    # 10 000 + 2 (P − 50 000) = 0.008 P  ⇒  P = 90 000 / 1.992.  The arrays solved for 1 BTC must not be read.
    one, two = account(position(BTC.symbol, 1, 50_000, 48_000)), account(position(BTC.symbol, 2, 50_000, 48_000))
    rows = _as_it_is(two, VENUE, VariantEvaluator.of(two, VENUE, evaluate_account(one, VENUE).solved))
    assert rows.price[0, 0] == pytest.approx(90_000 / 1.992, rel=1e-12)
    assert rows.pools["USDT"].headroom_pct[0] == pytest.approx(93.6, rel=1e-12)
    # the same positions at another taker fee (OKX counts it in MM): 5 000 + (P − 50 000) = P (0.4 % + 0.1 %)
    okx = market("BTC/USDT:USDT", 0.004, venue="okx")
    cheap = account(position(okx.symbol, 1, 50_000, isolated_margin=5_000), venue="okx", taker=0.0004)
    dear = replace(cheap, fees=FeeRates(0.0002, 0.001))
    rows = _as_it_is(dear, venue_of(okx), VariantEvaluator.of(dear, venue_of(okx),
                                                              evaluate_account(cheap, venue_of(okx)).solved))
    assert rows.price[0, 0] == pytest.approx(45_000 / 0.995, abs=0.1)  # shown to the 0.1 tick


def test_variant_evaluator_takes_the_rules_of_the_account_type():
    # Bybit classic takes maintenance at entry, unified at mark: with entry 50 000 and mark 40 000 the prices differ
    bybit = market("BTC/USDT:USDT", 0.005, venue="bybit")
    venue = venue_of(bybit)
    classic = replace(account(position(bybit.symbol, 1, 50_000, 40_000, isolated_margin=12_000), venue="bybit"),
                      account_type=AccountType.CLASSIC)
    (expected,) = evaluate_account(classic, venue).positions
    (unified,) = evaluate_account(replace(classic, account_type=AccountType.UNIFIED), venue).positions
    assert expected.liquidation_price != pytest.approx(unified.liquidation_price, rel=1e-6)
    assert _as_it_is(classic, venue, VariantEvaluator.of(classic, venue)).price[0, 0] == expected.liquidation_price


def test_variant_evaluator_when_a_variant_closes_everything_then_each_funded_wallet_is_an_idle_pool():
    # as evaluate_account without positions: a wallet above 0 (0.5 too) is a pool at 100 % headroom and leverage 0,
    # an empty one none; beside it, the variant that keeps 1 BTC keeps its pool's figures (97.6 %, 6×)
    acct = account(position(BTC.symbol, 1, 50_000, 48_000))
    ev = VariantEvaluator.of(acct, VENUE)
    assert ev is not None
    rows = ev.evaluate(np.array([[0.0], [1.0]]), np.full((2, 1), np.nan),
                       {"USDT": np.array([0.5, 10_000.0]), "USDC": np.array([0.0, 0.0])}, np.array([True]))
    assert rows.present.tolist() == [[False], [True]]
    usdt, usdc = rows.pools["USDT"], rows.pools["USDC"]
    assert usdt.present.tolist() == [True, True] and usdc.present.tolist() == [False, False]
    assert usdt.headroom_pct == pytest.approx([100.0, 97.6], rel=1e-12)
    assert usdt.effective_leverage == pytest.approx([0.0, 6.0], rel=1e-12)


def test_variant_evaluator_prices_only_the_positions_asked_for():
    # the two-position pool above with ETH cut to 5 (uPnL −500, MM 47.5) and only BTC solved: BTC is backed by
    # 10 000 − 500 − 47.5 = 9 452.5, so 9 452.5 + (P − 50 000) = 0.004 P; ETH, changed but not asked for, has no price
    acct = account(position(BTC.symbol, 1, 50_000, 48_000), position(ETH.symbol, 10, 2_000, 1_900))
    ev = VariantEvaluator.of(acct, VENUE)
    assert ev is not None
    rows = ev.evaluate(np.array([[1.0, 5.0]]), np.full((1, 2), np.nan), {"USDT": np.array([10_000.0])},
                       np.array([False, True]), solve_for=np.array([True, False]))
    assert rows.price[0, 0] == pytest.approx(40_547.5 / 0.996, rel=1e-12)
    # as readers test it (reduce_size masks the rows that liquidate with np.isnan)
    assert np.isnan(rows.price).tolist() == [[False, True]] and np.isnan(rows.buffer_pct).tolist() == [[False, True]]
    assert rows.effective_leverage[0, 1] == pytest.approx(9_500 / 7_500, rel=1e-12)  # pool equity 10 000 − 2 500


def test_hedge_legs_sharing_a_price_are_backed_by_the_wallet_less_the_rest_of_the_pool():
    # the BTC long (uPnL −2 000, MM 192) frozen at its mark backs the ETH legs as a wallet of 10 000 − 2 000 − 192
    legs = (position(ETH.symbol, 10, 2_000, leg=PositionSide.LONG),
            position(ETH.symbol, 5, 2_000, side=Side.SHORT, leg=PositionSide.SHORT))
    btc = position(BTC.symbol, 1, 50_000, 48_000, leg=PositionSide.LONG)
    with_btc = evaluate_account(account(*legs, btc, hedge=True), VENUE).positions[:2]
    alone = evaluate_account(account(*legs, wallet=7_808.0, hedge=True), VENUE).positions
    assert with_btc[0].liquidation_price == with_btc[1].liquidation_price  # one shared price
    assert [r.liquidation_price for r in with_btc] == pytest.approx([r.liquidation_price for r in alone], rel=1e-12)
    assert alone[0].liquidation_price is not None
