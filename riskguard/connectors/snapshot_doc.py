"""The versioned snapshot document: what ccxt's unified methods returned, verbatim.

Keeping ccxt's own structures (with each raw ``info`` payload) rather than our
model means a recorded live account and the bundled paper account go through
the same normalization code, and a snapshot stays useful when the model grows.
The envelope is strict (unknown keys are errors); the ccxt payloads inside are
checked field by field by the normalizers, which name the path on failure.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskguard.errors import SnapshotError
from riskguard.input_files import MAX_SNAPSHOT_BYTES, loads_json, read_text

FORMAT = "riskguard.snapshot"
VERSION = 1

Payload = dict[str, Any]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class OhlcvSeries(_Strict):
    timeframe: str = Field(description="ccxt timeframe string, e.g. '1m'")
    rows: list[list[float]] = Field(description="[timestamp_ms, open, high, low, close, volume] per bar, oldest first")


class VenueData(_Strict):
    markets: dict[str, Payload] = Field(description="ccxt market structures by unified symbol")
    leverage_tiers: dict[str, list[Payload]] = Field(
        default_factory=dict, description="ccxt fetchLeverageTiers output by symbol (each tier keeps its raw info)"
    )
    tickers: dict[str, Payload] = Field(default_factory=dict, description="ccxt tickers (markPrice, indexPrice)")
    funding_rates: dict[str, Payload] = Field(default_factory=dict, description="ccxt fetchFundingRate output")
    funding_history: dict[str, list[Payload]] = Field(default_factory=dict, description="ccxt fetchFundingRateHistory")
    ohlcv: dict[str, OhlcvSeries] = Field(default_factory=dict, description="candles by symbol")
    open_interest_history: dict[str, list[Payload]] = Field(
        default_factory=dict, description="ccxt fetchOpenInterestHistory output by symbol"
    )
    order_books: dict[str, Payload] = Field(default_factory=dict, description="ccxt fetchOrderBook output by symbol")
    raw: dict[str, Any] = Field(
        default_factory=dict,
        description="venue payloads with no ccxt unified method, e.g. Hyperliquid 'meta' with its margin tables",
    )


class AccountSettings(_Strict):
    hedge_mode: bool = Field(default=False, description="true when the account runs in hedge (dual-side) mode")
    account_type: Literal["standard", "unified", "classic"] = Field(
        default="standard", description="Bybit distinguishes classic and unified (UTA) accounts"
    )


class AccountData(_Strict):
    name: str = Field(min_length=1)
    venue: str = Field(min_length=1, description="ccxt exchange id, e.g. binanceusdm")
    positions: list[Payload] = Field(description="ccxt fetchPositions output, raw info kept")
    open_orders: list[Payload] | None = Field(
        default=None,
        description="ccxt fetchOpenOrders output, plain and trigger (stop) orders, raw info kept; "
        "absent in snapshots that did not record open orders",
    )
    balance: Payload = Field(description="ccxt fetchBalance output, raw info kept")
    trading_fees: dict[str, Payload] = Field(default_factory=dict, description="ccxt fetchTradingFee(s) by symbol")
    settings: AccountSettings = Field(default_factory=AccountSettings)
    raw: dict[str, Any] = Field(default_factory=dict, description="venue account payloads ccxt does not unify")


class SnapshotDoc(_Strict):
    format: Literal["riskguard.snapshot"] = FORMAT
    version: Literal[1] = VERSION
    taken_at: int = Field(gt=0, description="milliseconds since the Unix epoch when the data was read")
    source: str = Field(default="recorded", description="'recorded' for a live account, 'paper' for bundled data")
    venues: dict[str, VenueData]
    accounts: list[AccountData]


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def parse_snapshot(data: Any, origin: str) -> SnapshotDoc:
    try:
        doc = SnapshotDoc.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise SnapshotError(f"{first['msg']}{more}", f"{origin}: {_path(first['loc'])}") from None
    for i, account in enumerate(doc.accounts):
        if account.venue not in doc.venues:
            raise SnapshotError(
                f"venue {account.venue!r} has no market data in 'venues'", f"{origin}: accounts[{i}].venue"
            )
    return doc


def read_snapshot(path: Path) -> SnapshotDoc:
    """Read a snapshot file: size-limited, UTF-8, strict JSON numbers; errors name file:line or the field path."""
    text = read_text(path, MAX_SNAPSHOT_BYTES, "snapshot", SnapshotError)
    return parse_snapshot(loads_json(text, str(path), SnapshotError), str(path))


def write_snapshot(doc: SnapshotDoc, path: Path) -> None:
    """Write atomically so an interrupted recording never leaves half a snapshot behind."""
    tmp = path.with_name(path.name + ".tmp")
    text = json.dumps(doc.model_dump(mode="json"), indent=1, sort_keys=False)
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        hint = " (the folder does not exist)" if not path.parent.is_dir() else ""
        raise SnapshotError(f"cannot write snapshot: {exc.strerror or exc}{hint}", str(path)) from None


def json_schema() -> dict[str, Any]:
    return SnapshotDoc.model_json_schema()
