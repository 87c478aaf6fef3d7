"""What a venue says rarely, cached on disk between checks: markets, margin tiers, account settings.

Markets and tier tables change rarely (venues announce changes) but are among the
heaviest reads, and each one read first costs a request round before the account
reads can start.  Caching them keeps a warm check to one round of account reads.
The cache is only an optimisation: a missing, expired, corrupt or unwritable file
means everything is read from the venue again, never that a check fails, and
every cached value is checked against what the venue returns in the same check
(a position in a market the cache does not know reloads the markets).  The live
connector stores only what a read that passed every input check learned, and
drops the entries a read built on when that read fails them (``forget``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT = "riskguard.venue-cache"
DEFAULT_TTL_S = 6 * 3600.0
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class VenueCache:
    """One JSON file per venue and API host; each entry (markets, a symbol's tiers, a setting) expires on its own."""

    directory: Path
    ttl_s: float = DEFAULT_TTL_S

    @classmethod
    def from_environment(cls) -> VenueCache:
        """``RISKGUARD_CACHE_DIR`` (else ``$XDG_CACHE_HOME/riskguard``, else ``~/.cache/riskguard``) and
        ``RISKGUARD_CACHE_TTL_S`` (0 turns the cache off)."""
        root = os.environ.get("RISKGUARD_CACHE_DIR")
        if root is None:
            xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            root = str(Path(xdg) / "riskguard")
        ttl = os.environ.get("RISKGUARD_CACHE_TTL_S")
        try:
            ttl_s = float(ttl) if ttl else DEFAULT_TTL_S
        except ValueError:
            log.warning("RISKGUARD_CACHE_TTL_S=%r is not a number; using %g s", ttl, DEFAULT_TTL_S)
            ttl_s = DEFAULT_TTL_S
        return cls(Path(root) / "venues", ttl_s)

    def path(self, venue: str, host: str) -> Path:
        return self.directory / f"{_UNSAFE.sub('_', venue)}-{_UNSAFE.sub('_', host)}.json"

    def _entries(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable venue cache %s: %s", path, exc)
            return {}
        entries = data.get("entries") if isinstance(data, dict) and data.get("format") == FORMAT else None
        if not isinstance(entries, dict):
            log.warning("ignoring venue cache %s: not a %s file", path, FORMAT)
            return {}
        return {
            k: e for k, e in entries.items() if isinstance(e, dict) and isinstance(e.get("at_ms"), int) and "value" in e
        }

    def load(self, venue: str, host: str, now_ms: int) -> dict[str, Any]:
        """Entries younger than the TTL, by key."""
        if self.ttl_s <= 0:
            return {}
        oldest = now_ms - self.ttl_s * 1000
        entries = self._entries(self.path(venue, host))
        return {k: e["value"] for k, e in entries.items() if oldest <= e["at_ms"] <= now_ms}

    def store(self, venue: str, host: str, values: dict[str, Any], now_ms: int) -> None:
        """Add or refresh entries, keeping the others; written atomically, failures only logged."""
        if self.ttl_s <= 0 or not values:
            return
        path = self.path(venue, host)
        entries = self._entries(path)
        entries.update({k: {"at_ms": now_ms, "value": v} for k, v in values.items()})
        self._write(path, entries)

    def forget(self, venue: str, host: str, keys: Iterable[str]) -> None:
        """Drop entries a read found wrong (they failed the checks, or a fresh read contradicts them)."""
        path = self.path(venue, host)
        entries = self._entries(path)
        dropped = {k: entries.pop(k) for k in list(keys) if k in entries}
        if dropped:
            self._write(path, entries)

    def _write(self, path: Path, entries: dict[str, Any]) -> None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"format": FORMAT, "entries": entries}), encoding="utf-8")
            tmp.replace(path)
        except (OSError, TypeError, ValueError) as exc:
            tmp.unlink(missing_ok=True)
            log.warning("could not write venue cache %s: %s", path, exc)
