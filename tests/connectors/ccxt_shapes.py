"""ccxt-shaped snapshot documents around a venue's raw payload, for the normalizer tests.

Only the unified fields a normalizer falls back on are filled in; everything
the margin math needs comes from the raw ``info`` copied from the vector.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "risk"))  # the golden vectors and their helpers live there
from batch_parity import assert_batch_matches_check
from golden import as_quoted, case, shown

from riskguard.connectors.normalize import build_snapshot
from riskguard.connectors.snapshot_doc import parse_snapshot
from riskguard.model import Snapshot
from riskguard.risk.account_risk import PositionRisk, evaluate_account

__all__ = ["as_quoted", "case", "ccxt_market", "evaluate_one", "shown", "snapshot"]

TAKEN_AT = 1_700_000_000_000


def ccxt_market(
    symbol: str, *, settle: str, inverse: bool = False, contract_size: float = 1.0, tick: float = 0.01, base: str = ""
) -> dict[str, Any]:
    base = base or symbol.split("/")[0]
    return {
        "symbol": symbol,
        "base": base,
        "baseName": base,
        "settle": settle,
        "linear": not inverse,
        "inverse": inverse,
        "contract": True,
        "contractSize": contract_size,
        "precision": {"price": tick, "amount": 1.0},
        "info": {},
    }


def snapshot(
    venue: str,
    market: dict[str, Any],
    tiers: list[dict[str, Any]],
    position: dict[str, Any],
    balance: dict[str, Any],
    *,
    mark: float | None = None,
    taker: float | None = None,
    raw: dict[str, Any] | None = None,
    account_type: str = "standard",
) -> Snapshot:
    symbol = market["symbol"]
    doc = {
        "taken_at": TAKEN_AT,
        "venues": {
            venue: {
                "markets": {symbol: market},
                "leverage_tiers": {symbol: [{"info": t} for t in tiers]},
                "tickers": {} if mark is None else {symbol: {"symbol": symbol, "markPrice": mark}},
                "raw": raw or {},
            }
        },
        "accounts": [
            {
                "name": "acct",
                "venue": venue,
                "positions": [{"symbol": symbol, **position}],
                "balance": balance,
                "trading_fees": {} if taker is None else {symbol: {"maker": 0.0002, "taker": taker}},
                "settings": {"account_type": account_type},
            }
        ],
    }
    return build_snapshot(parse_snapshot(doc, "vector"), "vector")


def evaluate_one(snap: Snapshot) -> PositionRisk:
    account = snap.accounts[0]
    risk = evaluate_account(account, snap.venues[account.venue])
    assert risk.missing == ()
    assert assert_batch_matches_check(account, snap.venues[account.venue], risk) == 1  # the batch API agrees
    (position,) = risk.positions
    return position
