"""Liquidation prices for 1,000,000 random tiered positions through the batch API, venue rules applied.

The timed call is ``liquidation_frame(df, tiers)`` (docs/api.md), the way a
user screens a book: a DataFrame in, every output column out, input checks
included.  Mixed linear/inverse, long/short, isolated/cross, four tier tables,
and every venue's rules as ``check`` applies them: Binance tiers at the
liquidation price and hedge-mode cross legs sharing one price (2 % of the rows
are such pairs), Bybit UTA and classic (current tier, closing-fee reserve, MM at
entry, tick rounding), OKX (fee in the requirement, one tick on isolated),
Hyperliquid, Gate (fee in the requirement) and the generic estimate.  The label
columns are ``category`` dtype, as docs/api.md advises for large frames; the
same frame with plain string labels is timed too, and the frame on one thread
(``workers=1``; the default is one thread per core).  For reference the script
also times the array core alone (``venue_math``, no frame), the bare solver
(no venue rules) and a Python loop over single positions (on a smaller sample,
extrapolated).  Target: ≥ 10 million positions/s through the batch API on the
2-core reference machine; the script prints the best and the median of its
repeats, and the best CPU time (all threads).  Run: ``python bench/bench_liquidation.py``.
"""

import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from riskguard.model import AccountType
from riskguard.model.market import MarginTier
from riskguard.risk.batch import liquidation_frame
from riskguard.risk.solver import solve_liquidation
from riskguard.risk.tiers import TierTable
from riskguard.risk.venue_math import PositionArrays, RuleColumns, display, requirement, solve
from riskguard.risk.venue_rules import rules_for

N = 1_000_000
LOOP_N = 20_000
REPEATS = 7
HEDGED = 0.02
"""Share of rows that are Binance hedge-mode cross legs, in pairs sharing one price."""
VENUES = [  # (ccxt id, account type) of each rule set
    ("binanceusdm", "standard"),
    ("binancecoinm", "standard"),
    ("bybit", "unified"),
    ("bybit", "classic"),
    ("okx", "standard"),
    ("hyperliquid", "standard"),
    ("gate", "standard"),
    ("kucoinfutures", "standard"),  # generic estimate
]
RULES = [rules_for(venue, AccountType(kind)) for venue, kind in VENUES]
VENUE_IDS = list(dict.fromkeys(v for v, _ in VENUES))
KINDS = [kind.value for kind in AccountType]
TICKS = np.array([0.1, 0.01, 0.5, 1e-4])
"""Price tick of each market."""


def tier_table(floors: tuple[float, ...], mmrs: tuple[float, ...]) -> list[MarginTier]:
    """Tax-bracket table: cum keeps MM continuous across floors."""
    cums = [0.0]
    for i in range(1, len(floors)):
        cums.append(cums[-1] + floors[i] * (mmrs[i] - mmrs[i - 1]))
    caps = (*floors[1:], float("inf"))
    return [MarginTier(f, c, m, k) for f, c, m, k in zip(floors, caps, mmrs, cums, strict=True)]


TIERS = {
    "BTCUSDT": tier_table(
        (0, 50e3, 250e3, 1e6, 10e6, 20e6, 50e6, 100e6, 200e6, 300e6),
        (0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25, 0.5),
    ),
    "ETHUSDT": tier_table((0, 10e3, 100e3, 500e3, 1e6, 2e6, 5e6), (0.005, 0.0065, 0.01, 0.02, 0.05, 0.1, 0.125)),
    "BTCUSD_PERP": tier_table((0, 5, 10, 20, 50, 100, 200), (0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125)),  # coins
    "DOGEUSDT": tier_table((0,), (0.01,)),
}
SYMBOLS = sorted(TIERS)
TABLES = TierTable.from_tiers([TIERS[s] for s in SYMBOLS])
INVERSE_TABLE = SYMBOLS.index("BTCUSD_PERP")


def random_book(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """The batch API's input: ``n`` positions over every venue's rules, with hedge-mode pairs."""
    table = rng.integers(0, len(SYMBOLS), n)
    inverse = table == INVERSE_TABLE
    entry = rng.uniform(100, 100_000, n)
    notional = np.exp(rng.uniform(np.log(10), np.log(5e7), n))  # quote value at entry
    qty = np.where(inverse, notional, notional / entry)
    leverage = rng.uniform(1, 100, n)
    venue = rng.integers(0, len(VENUES), n)
    isolated = rng.random(n) < 0.5
    side = rng.choice(np.array([-1.0, 1.0]), n)
    mark = entry * rng.uniform(0.95, 1.05, n)
    margin = np.where(inverse, notional / entry, notional) / leverage
    # Hedge mode: row i + 1 becomes the opposite cross leg of row i's Binance symbol, on the same collateral.
    legs = rng.choice(np.arange(0, n - 1, 2), int(n * HEDGED / 2), replace=False)
    pair = legs + 1
    venue[legs] = np.where(rng.random(legs.size) < 0.5, 0, 1)
    isolated[legs] = isolated[pair] = False
    side[pair] = -side[legs]
    for column in (venue, table, inverse, mark, margin):
        column[pair] = column[legs]
    hedge_group = np.full(n, None, dtype=object)
    hedge_group[legs] = hedge_group[pair] = np.arange(legs.size).astype(str)
    names = pd.Categorical.from_codes
    return pd.DataFrame(
        {
            "venue": names([VENUE_IDS.index(v) for v, _ in VENUES], VENUE_IDS).take(venue),
            "account_type": names([KINDS.index(k) for _, k in VENUES], KINDS).take(venue),
            "margin_mode": names(isolated.astype(np.int8), ["cross", "isolated"]),
            "symbol": names(table, SYMBOLS),
            "side": names((side > 0).astype(np.int8), ["short", "long"]),
            "contracts": qty,
            "contract_size": 1.0,
            "entry_price": entry,
            "mark_price": mark,
            "margin": margin,
            "inverse": inverse,
            "taker_fee": rng.choice(np.array([0.0002, 0.0005, 0.00055, 0.00075]), n),
            "leverage": leverage,
            "price_tick": TICKS.take(table),
            "hedge_group": pd.Categorical(hedge_group),
        }
    )


def core_inputs(df: pd.DataFrame) -> tuple[PositionArrays, np.ndarray, np.ndarray, np.ndarray]:
    """The arrays ``liquidation_frame`` derives from the frame: positions, rule-set index, collateral, tick."""
    n = len(df)
    pos = PositionArrays(
        inverse=df["inverse"].to_numpy(),
        side=np.where(df["side"].to_numpy() == "long", 1.0, -1.0),
        qty=df["contracts"].to_numpy(),
        contracts=df["contracts"].to_numpy(),
        entry=df["entry_price"].to_numpy(),
        mark=df["mark_price"].to_numpy(),
        table=df["symbol"].cat.codes.to_numpy().astype(np.int64),
        tiers=TABLES,
        by_contracts=np.zeros(n, dtype=bool),
        reported_tier=np.full(n, -1, dtype=np.int64),
        taker=df["taker_fee"].to_numpy(),
        leverage=df["leverage"].to_numpy(),
        isolated=df["margin_mode"].to_numpy() == "isolated",
    )
    rule_of = np.zeros((len(VENUE_IDS), len(KINDS)), dtype=np.intp)
    for i, (venue, kind) in enumerate(VENUES):
        rule_of[VENUE_IDS.index(venue), KINDS.index(kind)] = i
    rule = rule_of[df["venue"].cat.codes.to_numpy(), df["account_type"].cat.codes.to_numpy()]
    return pos, rule, df["margin"].to_numpy(), df["price_tick"].to_numpy()


def venue_liquidation(pos: PositionArrays, venue: np.ndarray, margin: np.ndarray, tick: np.ndarray) -> np.ndarray:
    """The array core of the batch API, without the frame, the input checks or the hedge legs."""
    cols = RuleColumns.build(RULES, venue, pos.isolated)
    req = requirement(pos, cols)
    liq, _ = solve(pos, cols, req, margin)
    shown, _ = display(liq, pos.side, tick, cols.liquidation_convention)
    return shown


def timings(fn: Callable[[], object], repeats: int, cpu: list[float] | None = None) -> list[float]:
    """Wall time of each repeat; the process's CPU time of each is appended to ``cpu`` when given."""
    out = []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        out.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - start_cpu)
    return out


def rates(runs: list[float], n: int = N) -> str:
    return (
        f"best {min(runs) * 1e3:.1f} ms = {n / min(runs) / 1e6:.1f} M/s, "
        f"median {statistics.median(runs) * 1e3:.1f} ms = {n / statistics.median(runs) / 1e6:.1f} M/s"
    )


def main() -> None:
    rng = np.random.default_rng(7)
    book = random_book(rng, N)
    cpu: list[float] = []
    runs = timings(lambda: liquidation_frame(book, TIERS), REPEATS, cpu)
    best = min(runs)
    print(
        f"batch API (liquidation_frame), venue rules applied: {N:,} positions, {rates(runs)} ({REPEATS} runs); "
        f"best CPU time {min(cpu) * 1e3:.1f} ms = {N / min(cpu) / 1e6:.1f} M/s"
    )
    strings = book.astype({c: str for c in ("venue", "account_type", "margin_mode", "symbol", "side")})
    strings["hedge_group"] = book["hedge_group"].astype(object)
    print(f"  the same frame with plain string labels: {rates(timings(lambda: liquidation_frame(strings, TIERS), 3))}")
    one = timings(lambda: liquidation_frame(book, TIERS, workers=1), 3)
    print(f"  the same frame on one thread (workers=1): {rates(one)}")
    pos, venue, margin, tick = core_inputs(book)
    core = timings(lambda: venue_liquidation(pos, venue, margin, tick), REPEATS)
    print(f"  array core alone (venue_math, no frame, no hedge legs): {rates(core)}")
    roots = dict(inverse=pos.inverse, side=pos.side, qty=pos.qty, entry=pos.entry, margin=margin, table=pos.table)
    bare = timings(lambda: solve_liquidation(tiers=TABLES, **roots), REPEATS)
    print(f"  roots alone (no venue rules, no display): {rates(bare)}")

    def loop() -> None:
        for i in range(LOOP_N):
            one = PositionArrays(**{f: getattr(pos, f)[i : i + 1] if f != "tiers" else TABLES for f in pos.__slots__})
            venue_liquidation(one, venue[i : i + 1], margin[i : i + 1], tick[i : i + 1])

    loop_s = timings(loop, 1)[0]
    best_rate, loop_rate = N / best, LOOP_N / loop_s
    print(f"python loop: {LOOP_N:,} positions in {loop_s:.2f} s = {loop_rate:,.0f} positions/s (extrapolated)")
    print(f"ratio: {best_rate / loop_rate:,.0f}x; target 10 M positions/s {'met' if best_rate >= 10e6 else 'MISSED'}")


if __name__ == "__main__":
    main()
