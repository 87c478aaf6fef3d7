"""Golden vectors from the venues' own examples, run through ``evaluate_account``.

Each test builds model objects from one case of ``tests/risk/vectors/*.json``
and asserts the venue's figure at the precision and with the rounding the venue
displays.  Cases that are raw API payloads go through the venue normalizers in
``tests/connectors/test_normalize_*.py`` instead.  Numbers the venue derives
from other positions (Binance TMM1/UPNL1) are computed by the code, never passed in.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN

import numpy as np
import pytest
from batch_parity import assert_batch_matches_check
from golden import as_quoted, case, shown

from riskguard.connectors.normalize.base import continuous_tiers
from riskguard.model import (
    Account,
    AccountType,
    AssetBalance,
    ContractKind,
    FeeRates,
    MarginMode,
    MarginTier,
    Market,
    Position,
    PositionSide,
    Side,
    TierBasis,
    VenueMarkets,
)
from riskguard.risk.account_risk import PositionRisk, PriceSource, evaluate_account
from riskguard.risk.shared_price import Leg, shared_bankruptcy_price, shared_liquidation_price


def brackets(rows: list[dict]) -> tuple[MarginTier, ...]:
    caps = [math.inf if r["cap"] is None else float(r["cap"]) for r in rows]
    return tuple(
        MarginTier(floor=float(r["floor"] or 0.0), cap=cap, mmr=float(r["mmr"]), cum=float(r["cum"]))
        for r, cap in zip(rows, caps, strict=True)
    )


def market(
    venue: str,
    symbol: str,
    tiers: tuple[MarginTier, ...],
    *,
    inverse: bool = False,
    settle: str = "USDT",
    contract_size: float = 1.0,
    tick: float | None = None,
    basis: TierBasis | None = None,
) -> Market:
    return Market(
        venue=venue,
        symbol=symbol,
        kind=ContractKind.INVERSE if inverse else ContractKind.LINEAR,
        settle=settle,
        contract_size=contract_size,
        price_tick=tick,
        amount_step=None,
        tiers=tiers,
        tier_basis=basis or (TierBasis.BASE_QUANTITY if inverse else TierBasis.QUOTE_NOTIONAL),
    )


def evaluate(
    venue: str,
    markets: list[Market],
    positions: list[Position],
    *,
    wallet: dict[str, float] | None = None,
    fees: FeeRates | None = None,
    account_type: AccountType = AccountType.STANDARD,
) -> dict[str, PositionRisk]:
    balances = {a: AssetBalance(asset=a, wallet=w, cross_wallet=w) for a, w in (wallet or {}).items()}
    account = Account("acct", venue, balances, tuple(positions), fees=fees, account_type=account_type)
    venue_markets = VenueMarkets(venue, {m.symbol: m for m in markets})
    risk = evaluate_account(account, venue_markets)
    assert risk.missing == ()
    # Every vector also proves the batch API: same venue rules, same raw and displayed numbers.
    assert assert_batch_matches_check(account, venue_markets, risk) == len(positions)
    return {p.symbol: p for p in risk.positions}


# -- Binance USDⓈ-M ----------------------------------------------------------------------------


def _faq_cross_account() -> dict[str, PositionRisk]:
    eth = case("binanceusdm", "faq-cross-oneway-ethusdt-with-btcusdt")
    btc = case("binanceusdm", "faq-cross-oneway-btcusdt-with-ethusdt")
    markets, positions = [], []
    for c in (eth, btc):
        i = c["inputs"]
        markets.append(market("binanceusdm", i["symbol"], brackets(c["brackets"])))
        positions.append(
            Position(
                symbol=i["symbol"],
                side=Side.LONG,
                contracts=i["Position1BOTH"],
                entry_price=i["EP1BOTH"],
                mark_price=i["markPrice"],
                margin_mode=MarginMode.CROSS,
            )
        )
    return evaluate("binanceusdm", markets, positions, wallet={"USDT": eth["inputs"]["WB"]})


@pytest.mark.parametrize(
    ("case_id", "symbol", "other"),
    [
        ("faq-cross-oneway-ethusdt-with-btcusdt", "ETHUSDT", "BTCUSDT"),
        ("faq-cross-oneway-btcusdt-with-ethusdt", "BTCUSDT", "ETHUSDT"),
    ],
)
def test_binance_faq_cross_one_way_when_other_position_shares_wallet_then_faq_price(case_id, symbol, other):
    c = case("binanceusdm", case_id)
    risk = _faq_cross_account()
    assert shown(risk[symbol].liquidation_price, c["display_decimals"]) == c["expected"]["liquidation_price"]
    assert risk[symbol].liquidation_source is PriceSource.COMPUTED
    # TMM1 and UPNL1 are the other contract's MM and uPnL, which the code derives from the brackets.
    assert as_quoted(risk[other].maintenance_margin, c["expected"]["TMM1"]) == c["expected"]["TMM1"]
    assert as_quoted(risk[other].unrealized_pnl, c["inputs"]["UPNL1"]) == c["inputs"]["UPNL1"]
    assert risk[symbol].mmr == c["inputs"]["MMRB"]


def test_binance_faq_maintenance_amount_when_brackets_have_no_cum_then_derived():
    c = case("binanceusdm", "faq-maintenance-amount-btcusdt-level3")
    rows = [(float(b["floor"]), float(b["cap"]), float(b["mmr"]), None, None) for b in c["brackets"]]
    tiers = continuous_tiers(rows)
    assert [t.cum for t in tiers][1:] == pytest.approx([c["expected"]["maintenance_amount_level_2"], 1300.0])
    notional = c["inputs"]["notional_for_mmr_lookup"]
    pos = Position("BTCUSDT", Side.LONG, 1.0, notional, notional, MarginMode.CROSS)
    risk = evaluate("binanceusdm", [market("binanceusdm", "BTCUSDT", tiers)], [pos], wallet={"USDT": 1e6})
    assert risk["BTCUSDT"].mmr == c["expected"]["maintenance_margin_rate_at_264000"]
    assert risk["BTCUSDT"].maintenance_margin == pytest.approx(
        notional * 0.01 - c["expected"]["maintenance_amount_at_500000"]
    )


def test_binance_account_row_cross_short_maint_margin_when_truncated_then_matches():
    """/fapi/v3/account rows carry no entry or mark price; both follow from notional and uPnL."""
    c = case("binanceusdm", "api-account-v3-cross-wldusdt-short-maint-margin")
    raw = c["inputs"]["raw"]
    amount = float(raw["positionAmt"])
    mark = float(raw["notional"]) / amount
    entry = mark - float(raw["unrealizedProfit"]) / amount
    pos = Position("WLDUSDT", Side.SHORT, abs(amount), entry, mark, MarginMode.CROSS)
    risk = evaluate(
        "binanceusdm", [market("binanceusdm", "WLDUSDT", brackets(c["brackets"]))], [pos], wallet={"USDT": 1e4}
    )
    mm = risk["WLDUSDT"].maintenance_margin
    assert shown(mm, c["display_decimals"], ROUND_DOWN) == c["expected"]["maintenance_margin"]


# -- Binance COIN-M ----------------------------------------------------------------------------


def test_binance_coinm_calculator_cross_when_high_tier_then_calculator_price():
    c = case("binancecoinm", "calculator-cross-btcusd-perp-long-tier-12-5pct")
    i = c["inputs"]
    m = market("binancecoinm", "BTCUSD_PERP", brackets(c["brackets"]), inverse=True, settle="BTC", contract_size=100)
    pos = Position("BTCUSD_PERP", Side.LONG, i["B"], i["EPB"], i["EPB"], MarginMode.CROSS)
    risk = evaluate("binancecoinm", [m], [pos], wallet={"BTC": i["WB"]})["BTCUSD_PERP"]
    assert shown(risk.liquidation_price, c["display_decimals"], ROUND_DOWN) == c["expected"]["liquidation_price"]
    assert shown(risk.liquidation_price, c["display_decimals"]) == c["expected"]["liquidation_price"]
    # The 300-BTC tier of the FAQ: quantity at the liquidation price is just under 300 BTC.
    assert i["B"] * 100 / risk.liquidation_price == pytest.approx(297.62, abs=0.01)


def test_binance_coinm_faq_maintenance_margin_when_100_contracts_then_0_0016_btc():
    c = case("binancecoinm", "faq-maintenance-margin-btcusd-100-contracts")
    i = c["inputs"]
    m = market("binancecoinm", "BTCUSD_PERP", brackets(c["brackets"]), inverse=True, settle="BTC", contract_size=100)
    pos = Position("BTCUSD_PERP", Side.LONG, i["contracts"], i["markPrice"], i["markPrice"], MarginMode.CROSS)
    risk = evaluate("binancecoinm", [m], [pos], wallet={"BTC": 1.0})["BTCUSD_PERP"]
    assert shown(risk.notional, c["display_decimals"]) == c["expected"]["notional_coin"]
    assert shown(risk.maintenance_margin, c["display_decimals"]) == c["expected"]["maintenance_margin"]


def test_binance_coinm_faq_maintenance_amount_when_level5_then_cum_1_81():
    c = case("binancecoinm", "faq-maintenance-amount-btcusd-level5-and-300btc")
    i = c["inputs"]
    # Level 4's own floor is not on the page; only its rate and cum enter level 5's cum.
    rows = [(0.0, i["level5_floor_btc"], i["mmr_level4"], i["cum_level4"], None)]
    rows.append((i["level5_floor_btc"], math.inf, c["brackets"][1]["mmr"], None, None))
    assert shown(continuous_tiers(rows)[1].cum, c["display_decimals"]) == c["expected"]["cum_level5"]


def test_binance_coinm_account_row_margins_when_rounded_down_then_match():
    c = case("binancecoinm", "api-account-cross-btcusd-210625-margins")
    raw = c["inputs"]["raw"]
    mark = 100 / float(raw["notionalValue"])  # one 100-USD contract; the row carries notional, not size
    m = market("binancecoinm", "BTCUSD_210625", brackets(c["brackets"]), inverse=True, settle="BTC", contract_size=100)
    pos = Position(
        "BTCUSD_210625",
        Side.LONG,
        1.0,
        float(raw["entryPrice"]),
        mark,
        MarginMode.CROSS,
        leverage=float(raw["leverage"]),
    )
    risk = evaluate("binancecoinm", [m], [pos], wallet={"BTC": float(raw["crossWalletBalance"])})["BTCUSD_210625"]
    d = c["display_decimals"]
    assert shown(risk.initial_margin, d, ROUND_DOWN) == c["expected"]["initial_margin"]
    assert shown(risk.maintenance_margin, d, ROUND_DOWN) == c["expected"]["maintenance_margin"]
    assert shown(risk.unrealized_pnl, d) == float(raw["unrealizedProfit"])


# -- Bybit -------------------------------------------------------------------------------------


def _bybit_isolated(c: dict, *, account_type: AccountType, fee: float, balance: float, tick: float = 0.5):
    i = c["inputs"]
    inverse = c["mode"]["contract"] == "inverse"
    size = float(i.get("position_size_usd") or i.get("position_size") or 1)
    entry = float(i["entry_price"])
    tiers = (MarginTier(0.0, math.inf, float(i.get("mmr", 0.005)), float(i.get("mm_deduction", 0))),)
    m = market("bybit", "BTC", tiers, inverse=inverse, settle="BTC" if inverse else "USDT", tick=tick)
    side = Side(i["side"])
    pos = Position(
        "BTC", side, size, entry, entry, MarginMode.ISOLATED, leverage=float(i["leverage"]), isolated_margin=balance
    )
    fees = FeeRates(maker=0.0, taker=fee)
    return evaluate("bybit", [m], [pos], fees=fees, account_type=account_type)["BTC"]


@pytest.mark.parametrize(
    "case_id",
    [
        "bybit-classic-usdt-isolated-long-ex1",
        "bybit-classic-usdt-isolated-short-extra-margin-ex2",
        "bybit-classic-usdt-isolated-long-funding-ex3",
    ],
)
def test_bybit_classic_isolated_when_help_example_then_mm_at_entry_price(case_id):
    """The help page's examples carry no closing-fee reserve: IM = value/leverage, so taker is 0."""
    c = case("bybit", case_id)
    i = c["inputs"]
    im = float(i["entry_price"]) * float(i["position_size"]) / float(i["leverage"])
    balance = im + float(i["extra_margin_added"])
    risk = _bybit_isolated(c, account_type=AccountType.CLASSIC, fee=0.0, balance=balance)
    assert risk.liquidation_price == float(c["expected"]["liquidation_price"])
    assert risk.maintenance_margin == float(c["expected"]["maintenance_margin"])
    assert risk.initial_margin == float(c["expected"]["initial_margin"])


def test_bybit_classic_vs_uta_when_same_inputs_then_prices_differ():
    """Classic takes MM at entry value; UTA at the liquidation price (19,698.49, not 19,700)."""
    c = case("bybit", "bybit-classic-usdt-isolated-long-ex1")
    uta = _bybit_isolated(c, account_type=AccountType.UNIFIED, fee=0.0, balance=400.0)
    assert shown(uta.liquidation_price, 2) == 19698.49


def test_bybit_uta_isolated_linear_when_extra_margin_then_fee_factor_and_fee_in_mm():
    c = case("bybit", "bybit-uta-isolated-linear-long-extra-margin-fee")
    i, e = c["inputs"], c["expected"]
    # positionBalance = IM (with its closing-fee reserve) + the extra margin the user added.
    balance = float(e["initial_margin"]) + float(i["extra_margin_added"])
    risk = _bybit_isolated(c, account_type=AccountType.UNIFIED, fee=float(i["taker_fee_rate"]), balance=balance)
    d = c["display_decimals"]
    assert shown(risk.liquidation_price, d) == float(e["liquidation_price"])
    assert shown(risk.maintenance_margin, d) == float(e["maintenance_margin"])
    assert shown(risk.initial_margin, d) == float(e["initial_margin"])


def test_bybit_uta_isolated_inverse_short_when_no_extra_then_page_figures():
    c = case("bybit", "bybit-uta-isolated-inverse-short")
    i, e = c["inputs"], c["expected"]
    balance = float(e["initial_margin"])
    risk = _bybit_isolated(c, account_type=AccountType.UNIFIED, fee=float(i["taker_fee_rate"]), balance=balance)
    assert shown(risk.liquidation_price, c["display_decimals"]) == float(e["liquidation_price"])
    assert risk.maintenance_margin == pytest.approx(float(e["maintenance_margin"]), abs=1e-12)
    assert risk.initial_margin == pytest.approx(float(e["initial_margin"]), abs=1e-12)


# Bybit's real BTCUSDT risk limits (2026-08 snapshot, tests/risk/vectors/README.md, Bybit open question 8).
BYBIT_BTCUSDT_RISK_LIMITS = (
    MarginTier(0.0, 2_000_000.0, 0.005, 0.0),
    MarginTier(2_000_000.0, 2_600_000.0, 0.0056, 1_200.0),
    MarginTier(2_600_000.0, 3_200_000.0, 0.0063, 3_020.0),
)


def _bybit_uta_formula(qty: float, entry: float, lev: float, extra: float, mmr: float, ded: float, fee: float):
    """Bybit's published UTA isolated linear long: (V − V/Lev − Extra/(1 − fee) − MMded) / (Q·(1 − MMR))."""
    value = qty * entry
    return (value - value / lev - extra / (1 - fee) - ded) / (qty * (1 - mmr))


def test_bybit_uta_when_position_spans_risk_limit_tiers_then_the_current_tier_rate_and_deduction_apply():
    """45 BTC at 50,000 (2.25M) holds risk-limit tier 2; at its liquidation price it is worth under 2M.

    Bybit computes MM with the tier the position holds (its risk limit), so the published formula takes
    tier 2's 0.56% and 1,200 deduction; tier 1's 0.5% would put the price 0.28 bp lower.
    """
    qty, entry, lev, extra, fee = 45.0, 50_000.0, 10.0, 125_000.0, 0.00055
    value = qty * entry
    balance = value / lev + fee * value * (1 - 1 / lev) + extra  # positionBalance: IM with its fee reserve + extra
    m = market("bybit", "BTCUSDT", BYBIT_BTCUSDT_RISK_LIMITS, tick=0.1)
    pos = Position("BTCUSDT", Side.LONG, qty, entry, entry, MarginMode.ISOLATED, leverage=lev, isolated_margin=balance)
    risk = evaluate("bybit", [m], [pos], fees=FeeRates(0.0, fee), account_type=AccountType.UNIFIED)["BTCUSDT"]
    tier2 = _bybit_uta_formula(qty, entry, lev, extra, 0.0056, 1_200.0, fee)
    assert qty * tier2 < 2_000_000  # the price lies in tier 1's range
    assert risk.liquidation_price == pytest.approx(tier2, rel=1e-12)
    assert risk.tier == 1
    tier1 = _bybit_uta_formula(qty, entry, lev, extra, 0.005, 0.0, fee)
    assert abs(tier1 / tier2 - 1) * 1e4 > 0.2


def test_bybit_bankruptcy_when_isolated_long_50x_then_58800():
    c = case("bybit", "bybit-bankruptcy-linear-long")
    i = c["inputs"]
    entry, lev, fee = float(i["entry_price"]), float(i["leverage"]), 0.00055
    balance = entry / lev + entry * (1 - 1 / lev) * fee  # IM with its closing-fee reserve
    tiers = (MarginTier(0.0, math.inf, 0.005),)
    pos = Position("BTC", Side.LONG, 1.0, entry, entry, MarginMode.ISOLATED, leverage=lev, isolated_margin=balance)
    risk = evaluate(
        "bybit", [market("bybit", "BTC", tiers)], [pos], fees=FeeRates(0.0, fee), account_type=AccountType.UNIFIED
    )["BTC"]
    assert risk.bankruptcy_price == pytest.approx(float(c["expected"]["bankruptcy_price"]), abs=1e-8)


def test_bybit_legacy_inverse_cross_when_long_then_rounded_up_to_half_tick():
    c = case("bybit", "bybit-legacy-inverse-cross-long")
    i, e = c["inputs"], c["expected"]
    q, entry, fee = float(i["quantity_usd"]), float(i["entry_price"]), float(i["taker_fee_rate"])
    tiers = (MarginTier(0.0, math.inf, float(i["mmr"])),)
    m = market("bybit", "BTCUSD", tiers, inverse=True, settle="BTC", tick=0.5)
    # Cross positions run at the tier's max leverage (100x); it only sizes the reported fee reserve.
    pos = Position("BTCUSD", Side.LONG, q, entry, entry, MarginMode.CROSS, leverage=100.0)
    risk = evaluate(
        "bybit",
        [m],
        [pos],
        wallet={"BTC": float(i["account_balance"])},
        fees=FeeRates(0.0, fee),
        account_type=AccountType.CLASSIC,
    )["BTCUSD"]
    assert risk.liquidation_price == float(e["liquidation_price"])
    # The page quotes the unrounded BP (5,718.57); the venue displays it rounded up to the tick like the LP.
    assert risk.bankruptcy_price == math.ceil(float(e["bankruptcy_price"]) / 0.5) * 0.5


# -- OKX ---------------------------------------------------------------------------------------


def test_okx_cross_when_docs_payload_then_exact_root_without_the_isolated_tick_offset():
    """The one OKX cross payload with every input: liqPx is the plain root; isolated rows add one tick."""
    c = case("okx", "okx-linear-cross-long-eth-usdt-swap-signal-bot-docs")
    i, raw = c["inputs"], c["inputs"]["raw"]
    tiers = (MarginTier(0.0, math.inf, float(i["mmr_rate_inferred"])),)
    m = market(
        "okx",
        "ETH-USDT-SWAP",
        tiers,
        contract_size=float(i["base_per_contract_implied"]),
        tick=float(i["tick_size"]),
        basis=TierBasis.CONTRACTS,
    )
    pos = Position(
        "ETH-USDT-SWAP",
        Side.LONG,
        float(raw["pos"]),
        float(raw["avgPx"]),
        float(raw["markPx"]),
        MarginMode.CROSS,
        leverage=float(raw["lever"]),
    )
    fees = FeeRates(maker=0.0, taker=float(i["taker_fee_rate_inferred"]))
    risk = evaluate("okx", [m], [pos], wallet={"USDT": float(i["cash_balance_implied"])}, fees=fees)["ETH-USDT-SWAP"]
    assert risk.liquidation_price == pytest.approx(float(c["expected"]["liquidation_price"]), rel=1e-12)
    assert risk.display_rule == "exact root, unrounded"
    assert 1 / risk.margin_ratio == pytest.approx(float(c["expected"]["margin_ratio"]), rel=1e-12)
    assert risk.unrealized_pnl == pytest.approx(float(raw["upl"]), rel=1e-12)


# -- Hyperliquid -------------------------------------------------------------------------------

FREQTRADE_CAPTURED = [
    "freqtrade-captured-isolated-eth-long-1x",
    "freqtrade-captured-isolated-sol-long-1x",
    "freqtrade-captured-isolated-eth-short-2x",
    "freqtrade-captured-isolated-sol-short-2x",
    "freqtrade-captured-isolated-doge-short-2x",
    "freqtrade-captured-isolated-sol-long-5x",
    "freqtrade-captured-isolated-btc-short-1x",
    "freqtrade-captured-isolated-eth-short-4x",
    "freqtrade-captured-isolated-btc-long-5x",
]


@pytest.mark.parametrize("case_id", FREQTRADE_CAPTURED)
def test_hyperliquid_isolated_when_captured_position_then_half_up_8_decimals(case_id):
    c = case("hyperliquid", case_id)
    i = c["inputs"]
    mmr = 1 / (2 * i["maxLeverage"])
    m = market("hyperliquid", i["coin"], (MarginTier(0.0, math.inf, mmr),), settle="USDC")
    pos = Position(
        i["coin"],
        Side(i["side"]),
        i["contracts"],
        i["entryPrice"],
        i["markPx_assumed"],
        MarginMode.ISOLATED,
        leverage=i["leverage"],
        isolated_margin=i["collateral"],
    )
    risk = evaluate("hyperliquid", [m], [pos])[i["coin"]]
    assert shown(risk.liquidation_price_raw, c["display_decimals"]) == c["expected"]["liquidation_price"]
    # riskguard shows it as Hyperliquid does: the nearest 1e-8, to the printed decimal.
    assert risk.liquidation_price_displayed == c["expected"]["liquidation_price"]
    assert risk.display_rule == "rounded to the nearest 1e-8"


# -- Binance hedge-mode cross: no venue example exists, so an independent brute force stands in --


def _nearest_root(f, grid: np.ndarray, mark: float) -> float | None:
    """The sign change of ``f`` on ``grid`` nearest ``mark``, refined by bisection to machine precision."""
    values = np.array([f(p) for p in grid])
    roots = []
    for k in np.nonzero(np.sign(values[:-1]) != np.sign(values[1:]))[0]:
        lo, hi = grid[k], grid[k + 1]
        for _ in range(200):
            mid = (lo + hi) / 2
            if np.sign(f(mid)) == np.sign(values[k]):
                lo = mid
            else:
                hi = mid
        roots.append((lo + hi) / 2)
    return min(roots, key=lambda p: abs(p - mark)) if roots else None


BTC_BRACKETS = brackets(case("binanceusdm", "faq-cross-oneway-btcusdt-with-ethusdt")["brackets"])
LINEAR_GRID = np.linspace(1.0, 400_000.0, 40_001)


def _hedge_legs(long_qty: float, short_qty: float) -> list[Leg]:
    return [Leg(1, long_qty, 29_000.0, BTC_BRACKETS), Leg(-1, short_qty, 31_000.0, BTC_BRACKETS)]


def _equity_minus_mm(legs: list[Leg], margin: float, inverse: bool, price: float, with_mm: bool = True) -> float:
    total = margin
    for leg in legs:
        if inverse:
            total += leg.side * leg.qty * (1 / leg.entry - 1 / price)
            size = leg.qty / price
        else:
            total += leg.side * leg.qty * (price - leg.entry)
            size = leg.qty * price
        if with_mm:
            tier = next(t for t in reversed(leg.tiers) if t.floor <= size)
            total -= size * (tier.mmr + leg.mmr_add) - tier.cum
    return total


@pytest.mark.parametrize(
    ("long_qty", "short_qty", "margin"),
    [
        (40.0, 10.0, 200_000.0),  # net long, crosses the 1M bracket floor on the way down
        (10.0, 40.0, 150_000.0),  # net short
        (25.0, 24.0, 20_000.0),  # nearly flat: the MM of both legs is what liquidates, equity never reaches 0
    ],
)
def test_shared_price_when_hedge_cross_legs_then_equals_brute_force_root(long_qty, short_qty, margin):
    legs, mark = _hedge_legs(long_qty, short_qty), 30_000.0
    expected = _nearest_root(lambda p: _equity_minus_mm(legs, margin, False, p), LINEAR_GRID, mark)
    assert shared_liquidation_price(legs, margin, inverse=False, mark=mark) == pytest.approx(expected, rel=1e-9)
    bankrupt = _nearest_root(lambda p: _equity_minus_mm(legs, margin, False, p, with_mm=False), LINEAR_GRID, mark)
    got = shared_bankruptcy_price(legs, margin, inverse=False, mark=mark)
    assert got == (None if bankrupt is None else pytest.approx(bankrupt, rel=1e-9))


def test_shared_price_when_inverse_hedge_cross_legs_then_equals_brute_force_root():
    tiers = (MarginTier(0.0, 2.0, 0.004), MarginTier(2.0, math.inf, 0.005, 2.0 * (0.005 - 0.004)))
    legs = [Leg(1, 50_000.0, 29_000.0, tiers), Leg(-1, 20_000.0, 31_000.0, tiers)]
    margin, mark = 0.6, 30_000.0
    grid = np.linspace(100.0, 400_000.0, 40_001)
    expected = _nearest_root(lambda p: _equity_minus_mm(legs, margin, True, p), grid, mark)
    assert 20_000.0 / expected < 2.0 < 50_000.0 / expected  # the legs sit in different tiers at the root
    assert shared_liquidation_price(legs, margin, inverse=True, mark=mark) == pytest.approx(expected, rel=1e-9)


def test_evaluate_account_when_hedge_cross_legs_then_both_legs_get_the_shared_price():
    m = market("binanceusdm", "BTCUSDT", BTC_BRACKETS)
    positions = [
        Position("BTCUSDT", Side.LONG, 40.0, 29_000.0, 30_000.0, MarginMode.CROSS, position_side=PositionSide.LONG),
        Position("BTCUSDT", Side.SHORT, 10.0, 31_000.0, 30_000.0, MarginMode.CROSS, position_side=PositionSide.SHORT),
    ]
    account = Account("a", "binanceusdm", {"USDT": AssetBalance("USDT", 200_000.0, 200_000.0)}, tuple(positions))
    venue_markets = VenueMarkets("binanceusdm", {"BTCUSDT": m})
    risk = evaluate_account(account, venue_markets)
    assert assert_batch_matches_check(account, venue_markets, risk) == 2  # the batch API shares the price too
    legs = _hedge_legs(40.0, 10.0)
    expected = _nearest_root(lambda p: _equity_minus_mm(legs, 200_000.0, False, p), LINEAR_GRID, 30_000.0)
    assert [p.liquidation_price for p in risk.positions] == pytest.approx([expected, expected], rel=1e-9)
