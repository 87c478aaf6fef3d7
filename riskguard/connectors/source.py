"""Where each configured account's snapshot comes from: a file (paper/replay) or the venue.

Both paths end in the same SnapshotDoc → model normalization.  The live path
imports ccxt only when a live account is actually evaluated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from riskguard.config import AccountSpec
from riskguard.connectors.normalize import build_snapshot
from riskguard.connectors.snapshot_doc import SnapshotDoc, read_snapshot
from riskguard.errors import RiskguardError, SnapshotError
from riskguard.model import Account, Snapshot


@dataclass(frozen=True, slots=True)
class Loaded:
    spec: AccountSpec
    snapshot: Snapshot | None
    account: Account | None
    error: RiskguardError | None


def _pick(spec: AccountSpec, snapshot: Snapshot, origin: str) -> Account:
    wanted = spec.config.snapshot_account or spec.name
    try:
        return snapshot.account(wanted)
    except KeyError as exc:
        raise SnapshotError(str(exc.args[0]), origin) from None


def _from_doc(spec: AccountSpec, doc: SnapshotDoc, origin: str) -> Loaded:
    snapshot = build_snapshot(doc, origin)
    return Loaded(spec, snapshot, _pick(spec, snapshot, origin), None)


def _normalized(path: Path, preloaded: dict[Path, SnapshotDoc]) -> Snapshot | RiskguardError:
    """One snapshot file read and normalized, or why it could not be."""
    try:
        doc = preloaded[path] if path in preloaded else read_snapshot(path)
        return build_snapshot(doc, str(path))
    except RiskguardError as exc:
        return exc


async def _live(spec: AccountSpec, also: Sequence[str], fine_history: bool) -> Loaded:
    from riskguard.connectors.live import HOURLY_HISTORY, default_history, fetch_snapshot  # ccxt behind this import

    origin = f"{spec.name} (live {spec.config.venue})"
    history = default_history(spec.config.venue) if fine_history else HOURLY_HISTORY
    try:
        doc, snapshot = await fetch_snapshot(spec, also=also, history=history)
        if any(a.name != spec.name for a in doc.accounts):
            doc = doc.model_copy(update={"accounts": [a.model_copy(update={"name": spec.name}) for a in doc.accounts]})
            return _from_doc(spec, doc, origin)
        return Loaded(spec, snapshot, _pick(spec, snapshot, origin), None)
    except RiskguardError as exc:
        return Loaded(spec, None, None, exc)


async def _all_live(specs: list[AccountSpec], also: Sequence[str], fine_history: bool) -> list[Loaded]:
    return list(await asyncio.gather(*(_live(s, also, fine_history) for s in specs)))


def load_accounts(
    specs: list[AccountSpec], preloaded: dict[Path, SnapshotDoc] | None = None, also: Sequence[str] = (),
    fine_history: bool = False,
) -> list[Loaded]:
    """Every requested account, in order; a failure is carried per account, never dropped.

    :param also: symbols whose market data live accounts read too where their venue lists them.
    :param fine_history: live accounts read the finest history their venue serves in one check (a week of
        5-minute bars where ``default_history`` says so) instead of hourly.  `riskguard bands` asks for it: its
        peaks are what the finer data sharpens.  `check`, the gate and `stress` do not: they gate orders, and
        parsing and normalizing twelve times the rows costs about 0.8 s a check; their band figures say "coarse
        data" (docs/bands.md, "Data granularity").
    """
    # Normalized once per file, whatever the number of accounts in it: the accounts share its markets and
    # history, and normalizing per account made `check` quadratic in accounts (issue 8).
    snapshots: dict[Path, Snapshot | RiskguardError] = {}
    results: dict[str, Loaded] = {}
    for spec in specs:
        if spec.config.is_live:
            continue
        path = spec.snapshot_path
        assert path is not None  # guaranteed by AccountConfig validation
        if path not in snapshots:
            snapshots[path] = _normalized(path, preloaded or {})
        snapshot = snapshots[path]
        if isinstance(snapshot, RiskguardError):
            results[spec.name] = Loaded(spec, None, None, snapshot)
            continue
        try:
            results[spec.name] = Loaded(spec, snapshot, _pick(spec, snapshot, str(path)), None)
        except RiskguardError as exc:
            results[spec.name] = Loaded(spec, None, None, exc)
    live = [s for s in specs if s.config.is_live]
    if live:
        for loaded in asyncio.run(_all_live(live, also, fine_history)):
            results[loaded.spec.name] = loaded
    return [results[s.name] for s in specs]


def load_market(venue: str, symbol: str, endpoint: str | None = None) -> Snapshot:
    """One symbol's public market data from ``venue`` (or the emulator at ``endpoint``), with no account."""
    from riskguard.connectors.live import default_history, fetch_market_doc  # ccxt lives behind this import

    doc = asyncio.run(fetch_market_doc(venue, symbol, endpoint=endpoint, history=default_history(venue)))
    return build_snapshot(doc, f"{venue} public market data")
