"""Live accounts through ccxt: one account read into a SnapshotDoc, concurrently, under one deadline.

The document holds what ccxt's unified methods returned, raw ``info`` payloads
included, so a recorded account and a live check go through the same
normalizers and give the same numbers.

A warm check is one round of requests: markets, tiers and account settings come
from the venue cache, and the market data of the symbols the account held last
time is read beside positions and balance.  Whatever the cache got wrong costs a
round, never a number: a position in a market the cache does not know reloads the
markets, a symbol held for the first time is read after the positions, a changed
Bybit account type reads the balance again, and symbols no longer held are left
out, so the document is the same warm or cold.

Failure is loud: every read that matters (markets, positions, balance, tiers,
marks, order books, fees) either succeeds or ends the whole read with
``DataUnavailable``; a failed position read never turns into "no position".
Only the history series that feed the crowding analytics (funding, candles, open
interest) may be absent, and each absence is written into the document under
``venues.<venue>.raw.unavailable``.

ccxt is imported inside ``fetch_snapshot_doc`` so that paper checks never pay
for it.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import gc
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import ValidationError

from riskguard.config import AccountConfig, AccountSpec, Policy
from riskguard.connectors.normalize import build_snapshot
from riskguard.connectors.redact import RedactingLogger, Redactor
from riskguard.connectors.retry import Retrier, RetryPolicy, VenueErrors, parse_retry_after
from riskguard.connectors.snapshot_doc import SnapshotDoc, parse_snapshot
from riskguard.connectors.venue_cache import VenueCache
from riskguard.errors import ConfigError, DataUnavailable, SnapshotError
from riskguard.model import Snapshot

T = TypeVar("T")
log = logging.getLogger(__name__)

SUPPORTED = ("binanceusdm", "binancecoinm", "bybit", "okx", "hyperliquid")
"""Venues whose raw fields riskguard's normalizers read; any other ccxt venue with fetchPositions is generic."""

_CREDENTIALS = {
    "api_key": "apiKey",
    "secret": "secret",
    "password": "password",
    "wallet_address": "walletAddress",
    "private_key": "privateKey",
}
_TRANSIENT = ("NetworkError", "RateLimitExceeded", "DDoSProtection", "ExchangeNotAvailable", "RequestTimeout")
_HEDGE_LEGS = {"bybit": ("positionIdx", {"1", "2"})}
"""Where a position row says the account runs both legs: Bybit positionIdx 1/2."""

_BYBIT_LINEAR_SETTLE = ("USDC", "USDT")
_OKX_ORDER_PAGE = 100
"""OKX lists at most this many orders per query (ccxt asks for its default page)."""

_PAGE_ROWS = {
    "fetch_ohlcv": {"binance": 1000, "bybit": 1000, "okx": 100, "hyperliquid": 5000},
    "fetch_open_interest_history": {"binance": 500, "bybit": 200, "okx": 100},
    "fetch_long_short_ratio_history": {"binance": 500, "bybit": 500, "okx": 100},
    "taker_volume": {"binance": 500},
}
"""Most rows one history request returns, by method and venue family (the venues' documented maxima, or
ccxt's where it asks for fewer: Binance futures serve 1500 candles, ccxt asks for at most 1000);
unknown venues get ``_DEFAULT_PAGE_ROWS``."""
_DEFAULT_PAGE_ROWS = 100

_response: ContextVar[tuple[int, dict[str, str]] | None] = ContextVar("riskguard_ccxt_response", default=None)
"""Status and headers of the response ccxt is handling, so its exceptions can carry them."""


@dataclass(frozen=True, slots=True)
class History:
    """How much market history a snapshot keeps per symbol (``FINE_HISTORY``, ``HOURLY_HISTORY``).

    5 minutes is the finest open-interest step Binance, Bybit and OKX publish; hourly bars move band peaks
    by 0.1-0.7 % and lose a quarter of the clusters (docs/bands.md).  A week of it takes several requests
    per series (``_PAGE_ROWS``), sent side by side.
    """

    timeframe: str = "5m"
    lookback_s: int = 7 * 24 * 3600
    bars: int = 7 * 24 * 12
    funding_points: int = 100
    book_depth: int = 100


DEFAULT_RETRY = RetryPolicy()
FINE_HISTORY = History()
HOURLY_HISTORY = History(timeframe="1h", bars=7 * 24)
_FINE_VENUES = ("binance", "bybit", "hyperliquid")
"""Venue families ``riskguard bands`` and ``snapshot --fine-history`` read at 5 minutes.  OKX serves 5-minute
open interest and account ratios, but its statistics endpoints answer 5 and 10 requests per 2 s: a week of
them (42 pages of 100) would spend most of a check's deadline being throttled.  Venues without a normalizer
of their own have unknown page sizes and limits.  Both get hourly history; the bands say "coarse data"."""


def default_history(venue: str | None) -> History:
    """The finest history a one-off live read of ``venue`` can take within one check (``_FINE_VENUES``)."""
    return FINE_HISTORY if venue is not None and venue.startswith(_FINE_VENUES) else HOURLY_HISTORY


async def fetch_snapshot_doc(
    spec: AccountSpec,
    *,
    now_ms: int | None = None,
    cache: VenueCache | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    history: History = HOURLY_HISTORY,
    also: Sequence[str] = (),
) -> SnapshotDoc:
    """Read one live account and its markets into a snapshot document.

    :param now_ms: ``taken_at`` of the document; the wall clock when the reads finished if not given.
    :param cache: where markets, tiers and settings are cached; ``VenueCache.from_environment()`` if not given.
    :param history: how much market history to keep: hourly unless asked.  ``riskguard snapshot
        --fine-history`` and ``bands`` ask for ``default_history(venue)`` (``check`` does not: it would cost each
        check about 0.8 s, docs/connectors.md); the daemon reads every few seconds, and a week of
        5-minute history each time (45 statistics requests on Binance) would soon exceed what the venues
        allow (Binance: 1000 per 5 minutes per IP) until it is read incrementally.
    :param also: symbols whose market data is read too where the venue lists them (the one ``riskguard bands``
        asks about), besides the configured and held ones.
    :raises ConfigError: unsupported venue, sandbox/endpoint problems, a missing credential variable.
    :raises DataUnavailable: a read failed for good or the ``timeout_s`` deadline passed.
    """
    doc, _ = await fetch_snapshot(spec, now_ms=now_ms, cache=cache, retry=retry, history=history, also=also)
    return doc


async def fetch_snapshot(
    spec: AccountSpec,
    *,
    now_ms: int | None = None,
    cache: VenueCache | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    history: History = HOURLY_HISTORY,
    also: Sequence[str] = (),
    shared: SharedHistory | None = None,
) -> tuple[SnapshotDoc, Snapshot]:
    """``fetch_snapshot_doc`` and the document normalized (origin ``"<name> (live <venue>)"``): the read
    normalizes it anyway to check it, and a week of 5-minute history takes a fifth of a second to normalize.

    :param shared: market history shared with the other reads of this process (the daemon's accounts).
    """
    return await _session(spec, lambda reader: reader.read(also), now_ms, cache, retry, history, shared=shared)


async def fetch_market_doc(
    venue: str,
    symbol: str,
    *,
    endpoint: str | None = None,
    now_ms: int | None = None,
    cache: VenueCache | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    history: History = HOURLY_HISTORY,
) -> SnapshotDoc:
    """One symbol's public market data (marks, book, funding, candles, open interest, tiers), no account.

    Binance serves its leverage brackets only to signed requests, so there they
    come from the venue cache (any live Binance check fills it) or the read fails
    saying how to get them.

    :param endpoint: base URL of a ``riskguard sim`` instead of the venue.
    """
    where = f"--exchange {venue}"
    try:
        config = AccountConfig(venue=venue, endpoint=endpoint, symbols=[symbol])
    except ValidationError as exc:
        raise ConfigError(exc.errors()[0]["msg"], where) from None
    spec = AccountSpec(name="public", config=config, policy=Policy(), snapshot_path=None, where=where)
    doc, _ = await _session(spec, lambda reader: reader.read_market(), now_ms, cache, retry, history)
    return doc


async def _session(
    spec: AccountSpec,
    read: Callable[[_Reader], Awaitable[dict[str, Any]]],
    now_ms: int | None,
    cache: VenueCache | None,
    retry: RetryPolicy,
    history: History,
    *,
    fresh: bool = False,
    shared: SharedHistory | None = None,
) -> tuple[SnapshotDoc, Snapshot]:
    """Read through ``read`` and check the document as ``check`` will read it before caching anything it learned.

    A document that fails the checks caches nothing; when it was built on cached values, those entries are
    dropped and everything is read again from the venue (``fresh``), once.
    """
    venue = spec.config.venue
    if venue is None:
        raise ConfigError("not a live account (it has no 'venue')", spec.where)
    cache = cache or VenueCache.from_environment()
    ccxt = _import_ccxt()
    credentials = {
        name: value.get_secret_value()
        for field, name in _CREDENTIALS.items()
        if (value := spec.secret(field)) is not None
    }
    redactor = Redactor(credentials.values())
    exchange = _client(ccxt, spec, credentials, redactor, retry)
    try:
        errors = VenueErrors((*(getattr(ccxt, name) for name in _TRANSIENT), ccxt.BadResponse), ccxt.BaseError)
        retrier = Retrier(venue, spec.config.timeout_s, errors, redactor, retry)
        reader = _Reader(exchange, spec, retrier, cache, history, fresh=fresh, shared=shared)
        data = await read(reader)
    finally:
        await exchange.close()
    data["taken_at"] = now_ms if now_ms is not None else _wall_ms()
    origin = f"{spec.name} (live {venue})"
    problem: str | SnapshotError | None
    try:
        doc = parse_snapshot(redactor.payload(data), origin)
        snapshot = build_snapshot(doc, origin)
        problem = _first_problem(snapshot)
    except SnapshotError as exc:
        doc, problem = None, exc
    if problem is None:
        reader.commit()
    elif reader.cached:
        log.warning("%s: dropping cached %s data and reading it again: %s", origin, venue, problem)
        cache.forget(venue, reader.host, reader.cached)
        return await _session(spec, read, now_ms, cache, retry, history, fresh=True)
    if doc is None:
        assert isinstance(problem, SnapshotError)
        raise problem
    return doc, snapshot


def _first_problem(snapshot: Snapshot) -> str | None:
    """The first inconsistency the normalizers found in a read (the check reports them all as UNKNOWN)."""
    issues = [i for a in snapshot.accounts for i in a.data_issues]
    return f"{issues[0].where}: {issues[0].message}" if issues else None


@functools.cache
def _import_ccxt() -> ModuleType:
    """ccxt, imported on first use and its import frozen out of the garbage collector.

    The import leaves some 180,000 objects that live as long as the process; left
    in the collector, each full collection walks them all again, and a check pays
    about 90 ms for every one that falls inside it.
    """
    import ccxt.async_support as ccxt

    gc.freeze()
    return ccxt


def _wall_ms() -> int:
    return int(time.time() * 1000)


# -- the ccxt client ---------------------------------------------------------------------------


def _client(
    ccxt: ModuleType, spec: AccountSpec, credentials: dict[str, str], redactor: Redactor, retry: RetryPolicy
) -> Any:
    venue = spec.config.venue
    assert venue is not None
    if venue not in ccxt.exchanges:
        raise ConfigError(f"unknown venue {venue!r}: not a ccxt exchange id", spec.where)
    base = getattr(ccxt, venue)
    options: dict[str, Any] = {"fetchCurrencies": False} if issubclass(base, ccxt.binance) else {}
    config: dict[str, Any] = {
        # One bounded burst per check: ccxt's client-side spacing would serialize it; 429s are retried instead.
        "enableRateLimit": False,
        "timeout": max(int(spec.config.timeout_s * retry.attempt_share * 1000), 1),
        "logger": RedactingLogger(logging.getLogger("riskguard.ccxt"), redactor),
        **credentials,
    }
    if spec.config.endpoint:
        if spec.config.sandbox:
            raise ConfigError("'endpoint' and 'sandbox' exclude each other", spec.where)
        from riskguard.sim.wiring import ccxt_config

        try:
            sim = ccxt_config(venue, spec.config.endpoint)
        except KeyError as exc:
            raise ConfigError(f"'endpoint' needs a riskguard sim dialect: {exc.args[0]}", spec.where) from None
        options |= sim.pop("options", {})
        config |= sim
        if spec.config.endpoint.startswith("http://"):
            # No TLS, so no certificate store to load (15 ms) and no 250 ms close grace for TLS teardown.
            config |= {"verify": False, "timeout_on_exit": 0}
    exchange = _instrumented(ccxt, base)({**config, "options": options})
    if not exchange.has.get("fetchPositions"):
        raise ConfigError(f"venue {venue!r} is not supported: ccxt's {venue} cannot fetch positions", spec.where)
    if spec.config.sandbox:
        if not exchange.urls.get("test"):
            raise ConfigError(f"ccxt has no sandbox (testnet) for {venue}", spec.where)
        exchange.set_sandbox_mode(True)
    return exchange


@functools.cache
def _instrumented(ccxt: ModuleType, base: type) -> type:
    """``base`` with what ccxt lacks: HTTP status and Retry-After on its errors, and refusing a body that is not JSON.

    ccxt hands a body it cannot parse to the response parsers as a string, and
    a parser walking a string can come back with an empty position list.
    """

    class Instrumented(base):
        def handle_errors(  # type: ignore[no-untyped-def]  # ccxt's own untyped signature
            self, code, reason, url, method, headers, body, response, request_headers, request_body
        ):
            _response.set((code, headers))
            return super().handle_errors(
                code, reason, url, method, headers, body, response, request_headers, request_body
            )

        async def fetch(self, url, method="GET", headers=None, body=None):  # type: ignore[no-untyped-def]
            _response.set(None)
            try:
                result = await super().fetch(url, method, headers, body)
            except ccxt.BaseError as exc:
                status, response_headers = _response.get() or (None, None)
                exc.http_status = status
                exc.retry_after_s = parse_retry_after(response_headers)
                raise
            if isinstance(result, str) and not _is_json(result):
                raise ccxt.BadResponse(f"{self.id} {method} {urlsplit(url).path}: response is not valid JSON")
            wrong = _position_list_shape(self.id, urlsplit(url).path, body, result)
            if wrong:
                raise ccxt.BadResponse(f"{self.id} {method} {urlsplit(url).path}: {wrong}")
            return result

    Instrumented.__name__ = Instrumented.__qualname__ = base.__name__
    return Instrumented


_POSITION_LISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "binanceusdm": ("/positionRisk", ()),
    "binancecoinm": ("/positionRisk", ()),
    "bybit": ("/v5/position/list", ("result", "list")),
    "okx": ("/api/v5/account/positions", ("data",)),
    "hyperliquid": ("/info", ("assetPositions",)),
}
"""Per venue: the path (suffix) of its position answer and the keys down to the list of positions in it.

ccxt parses ``null``, a string or an object found there as no positions at all; the raw answer is checked
before ccxt sees it.
"""


def _position_list_shape(venue: str, path: str, request_body: Any, answer: Any) -> str | None:
    """Why ``answer`` is not a positions answer of the expected shape, or None (also for every other request)."""
    suffix, keys = _POSITION_LISTS.get(venue, ("", ()))
    if not suffix or not path.endswith(suffix):
        return None
    if venue == "hyperliquid" and '"clearinghouseState"' not in str(request_body):
        return None
    node, at = answer, "the answer"
    for key in keys:
        if not isinstance(node, dict):
            return f"{at} is {type(node).__name__}, not an object holding the positions"
        node, at = node.get(key), f"'{'.'.join(keys[: keys.index(key) + 1])}'"
    if not isinstance(node, list):
        return f"{at} is {type(node).__name__} where the list of positions belongs"
    return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _api_host(exchange: Any) -> str:
    """The host the client talks to, so cached tiers of testnet, sim and production never mix."""
    stack: list[Any] = [exchange.urls.get("api")]
    while stack:
        item = stack.pop(0)
        if isinstance(item, str):
            return urlsplit(item.replace("{hostname}", str(exchange.hostname))).netloc or item
        if isinstance(item, dict):
            stack.extend(item.values())
    return "default"


# -- reading -----------------------------------------------------------------------------------


async def _all(*aws: Coroutine[Any, Any, Any]) -> list[Any]:
    """Run side by side; the first failure cancels the rest, so nothing outlives the client."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(a) for a in aws]
    except BaseExceptionGroup as group_error:
        raise _first_leaf(group_error) from None
    return [t.result() for t in tasks]


async def _none(value: T) -> T:
    return value


def _first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


@dataclass
class _Market:
    """What one symbol's market reads returned."""

    symbol: str
    ticker: dict
    order_book: dict
    funding_rate: dict | None
    funding_history: list | None
    ohlcv: list | None
    open_interest_history: list | None
    long_short_ratio_history: list | None = None
    taker_volume: list | None = None


@dataclass(frozen=True, slots=True)
class _History:
    """One symbol's history series, and what the venue could not give (``raw.unavailable`` lines)."""

    funding_history: list | None
    ohlcv: list | None
    open_interest_history: list | None
    long_short_ratio_history: list | None
    taker_volume: list | None
    unavailable: tuple[str, ...]


class SharedHistory:
    """Market history read once for the many accounts one process reads on a venue: the daemon's.

    Candles, open interest, funding and ratio history are public and move by the bar, yet each account's full
    read fetched them again: 500 accounts on one venue asked the same statistics endpoints 500 times at start
    and at every reconcile, most of the request weight a venue counts against the IP (Binance: 2,400 a minute).
    A read joins one in flight and reuses a finished one until it is ``max_age_s`` old.  The ticker, the order
    book and the current funding rate stay per read: they move with every tick.  A shared read that failed or
    was abandoned is never reused: whoever waited on it reads for itself, with its own deadline and failures;
    one with a series the venue could not give is handed to the reads waiting on it, not kept for later ones.
    """

    def __init__(self, max_age_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s, self.clock = max_age_s, clock
        self._entries: dict[tuple[str, str, str, History], tuple[float, asyncio.Task[_History]]] = {}

    async def get(self, key: tuple[str, str, str, History], fetch: Callable[[], Awaitable[_History]]) -> _History:
        entry = self._entries.get(key)
        if entry is not None and (self.clock() - entry[0] > self.max_age_s or _failed(entry[1])):
            entry = None
        if entry is None:  # this read fetches; its cancellation cancels the fetch (nothing outlives its client)
            entry = self._entries[key] = (self.clock(), asyncio.ensure_future(fetch()))
            try:
                got = await entry[1]
            except BaseException:
                if self._entries.get(key) is entry:
                    del self._entries[key]
                raise
            if got.unavailable and self._entries.get(key) is entry:
                del self._entries[key]
            return got
        try:
            return await asyncio.shield(entry[1])
        except asyncio.CancelledError:
            if not entry[1].cancelled():
                raise  # this read itself was cancelled
        except Exception:  # the fetching read reports its own failure; this one reads again
            pass
        return await fetch()


def _failed(task: asyncio.Task[Any]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


class _Reader:
    def __init__(
        self, exchange: Any, spec: AccountSpec, call: Retrier, cache: VenueCache, history: History, *, fresh: bool,
        shared: SharedHistory | None = None,
    ) -> None:
        self.x = exchange
        self.spec = spec
        self.venue: str = exchange.id
        self.call = call
        self.cache = cache
        self.host = _api_host(exchange)
        self.cached = {} if fresh else cache.load(self.venue, self.host, _wall_ms())
        self.learned: dict[str, Any] = {}
        """Cache entries this read found out; written back only when the whole read succeeded."""
        self.history = history
        self.shared = None if fresh else shared
        """History shared with other reads; not for a read made again because a shared read was contradicted."""
        self.is_binance = any(c.__name__ == "binance" for c in type(exchange).__mro__)
        self.binance_table: dict[str, list] = {}
        self.unavailable: list[str] = []

    def _method(self, name: str, *args: Any, **kwargs: Any) -> Callable[[], Awaitable[Any]]:
        return functools.partial(getattr(self.x, name), *args, **kwargs)

    async def _read(self, name: str, *args: Any, label: str | None = None, **kwargs: Any) -> Any:
        return await self.call(label or _label(name, args), self._method(name, *args, **kwargs))

    async def _optional(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """A history series: absent (and said so in the document) when the venue cannot give it."""
        if not self.x.has.get(_camel(name)):
            return None
        try:
            return await self._read(name, *args, **kwargs)
        except DataUnavailable as exc:
            self.unavailable.append(str(exc))
            log.warning("%s", exc)
            return None

    async def read(self, also: Sequence[str] = ()) -> dict[str, Any]:
        return await self._with_markets(lambda from_cache: self._read_account(from_cache, also))

    async def read_market(self) -> dict[str, Any]:
        return await self._with_markets(self._read_public)

    async def _with_markets(self, body: Callable[[bool], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """Markets from the cache or the venue, then ``body``; what the read learned waits for ``commit``."""
        from_cache = self._markets_from_cache()
        try:
            if not from_cache:
                await self._load_markets()
            data = await body(from_cache)
        except DataUnavailable:
            if from_cache:  # whatever failed, the next check does not build on these markets again
                self.cache.store(self.venue, self.host, {"markets": None}, _wall_ms())
            raise
        return data

    def commit(self) -> None:
        """Cache what this read learned: called once its document passed every check."""
        self.cache.store(
            self.venue, self.host, {k: v for k, v in self.learned.items() if self.cached.get(k) != v}, _wall_ms()
        )

    async def _read_public(self, from_cache: bool) -> dict[str, Any]:
        symbols, _ = await self._configured_symbols(from_cache)
        raw, (tiers, _, markets) = await _all(self.raw(), self.symbols(symbols, fees=False))
        if self.is_binance:
            cached = self._cached_tiers()
            if any(s not in cached for s in symbols):
                raise DataUnavailable(
                    f"{self.venue} serves leverage brackets only to signed requests and none are cached for "
                    f"{self.host}: check a live {self.venue} account once (the brackets stay cached for "
                    "RISKGUARD_CACHE_TTL_S, 6 h by default), or use `riskguard bands SYMBOL --config FILE "
                    f"--account NAME` with a live {self.venue} account"
                )
            tiers = {s: cached[s] for s in symbols}
        if self.unavailable:
            raw["unavailable"] = self.unavailable
        return {"source": "public", "venues": {self.venue: self._venue_data(symbols, tiers, markets, raw)},
                "accounts": []}

    async def _read_account(self, from_cache: bool, also: Sequence[str]) -> dict[str, Any]:
        configured, extra = await self._configured_symbols(from_cache, also)
        configured = configured + extra
        hinted = [s for s in self.cached.get(self._held_key, []) if s in self.x.markets and s not in configured]
        positions, orders, balance, hedged, raw, first = await _all(
            self.positions(), self.open_orders(), self.balance(), self.hedge_mode(), self.raw(),
            self.symbols(configured + hinted),
        )
        if from_cache and any(p["symbol"] not in self.x.markets for p in positions):
            await self._load_markets()  # a market listed since the cache was written
            positions, orders = await _all(self.positions(), self.open_orders())
        held = sorted({p["symbol"] for p in positions} - set(configured))
        rest = await self.symbols([s for s in held if s not in hinted])
        symbols = configured + held
        hedged = hedged if hedged is not None else self._hedged_from_rows(positions)
        tiers = {s: t for s, t in {**first[0], **rest[0]}.items() if s in symbols}
        fees = {s: f for s, f in {**first[1], **rest[1]}.items() if s in symbols}
        markets = [m for m in first[2] + rest[2] if m.symbol in symbols]
        if self.is_binance:
            tiers = await self._binance_tiers(symbols)
        if self.unavailable:
            raw["unavailable"] = self.unavailable
        self.learned[self._held_key] = held
        return {
            "source": "recorded",
            "venues": {self.venue: self._venue_data(symbols, tiers, markets, raw)},
            "accounts": [
                {
                    "name": self.spec.name,
                    "venue": self.venue,
                    "positions": positions,
                    "open_orders": orders,
                    "balance": balance,
                    "trading_fees": fees,
                    "settings": {"hedge_mode": hedged, "account_type": self._account_type()},
                }
            ],
        }

    @property
    def _held_key(self) -> str:
        """Symbols the account held at its last read: their market data is read beside the positions."""
        return f"held:{self.spec.name}"

    def _markets_from_cache(self) -> bool:
        entry = self.cached.get("markets")
        if not isinstance(entry, dict) or not isinstance(entry.get("markets"), list) or not entry["markets"]:
            return False
        try:
            self.x.set_markets(entry["markets"], entry.get("currencies") or None)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("ignoring cached %s markets: %s", self.venue, exc)
            return False
        return True

    async def _load_markets(self) -> None:
        await self._read("load_markets", True)
        self.learned["markets"] = {"markets": list(self.x.markets.values()), "currencies": self.x.currencies or None}

    async def _configured_symbols(
        self, markets_from_cache: bool, optional: Sequence[str] = ()
    ) -> tuple[list[str], list[str]]:
        """The configured symbols (each must be listed) and those of ``optional`` the venue lists."""
        wanted = list(dict.fromkeys(self.spec.config.symbols or []))
        if markets_from_cache and any(s not in self.x.markets for s in (*wanted, *optional)):
            await self._load_markets()
        unknown = [s for s in wanted if s not in self.x.markets]
        if unknown:
            listed = ", ".join(map(repr, unknown))
            raise ConfigError(f"{self.venue} lists no market {listed} (symbols)", self.spec.where)
        return wanted, [s for s in dict.fromkeys(optional) if s in self.x.markets and s not in wanted]

    def _venue_data(self, symbols: list[str], tiers: dict, markets: list[_Market], raw: dict) -> dict[str, Any]:
        tf = self.history.timeframe
        return {
            "markets": {s: self.x.markets[s] for s in symbols},
            "leverage_tiers": tiers,
            "tickers": {m.symbol: m.ticker for m in markets},
            "order_books": {m.symbol: m.order_book for m in markets},
            "funding_rates": {m.symbol: m.funding_rate for m in markets if m.funding_rate is not None},
            "funding_history": {m.symbol: m.funding_history for m in markets if m.funding_history is not None},
            "ohlcv": {m.symbol: {"timeframe": tf, "rows": m.ohlcv} for m in markets if m.ohlcv is not None},
            "open_interest_history": {
                m.symbol: m.open_interest_history for m in markets if m.open_interest_history is not None
            },
            "long_short_ratio_history": {
                m.symbol: m.long_short_ratio_history for m in markets if m.long_short_ratio_history is not None
            },
            "taker_volume": {m.symbol: m.taker_volume for m in markets if m.taker_volume is not None},
            "raw": raw,
        }

    # -- account reads ----------------------------------------------------------------------------

    async def positions(self) -> list[dict]:
        if self.is_binance:
            # ccxt reads the bracket table before every positionRisk call; hand it ours (cached) instead.
            table = await self._binance_table(self.spec.config.symbols or [])
            self.x.options["leverageBrackets"] = {
                symbol: [[self.x.safe_string_2(t["info"], "notionalFloor", "qtyFloor"), t["info"]["maintMarginRatio"]]
                         for t in tiers]
                for symbol, tiers in table.items()
            }
        calls = [self._read("fetch_positions", label=f"fetch_positions({_params_label(p)})", params=p)
                 for p in self._position_queries()]
        rows = [row for part in await _all(*calls) for row in _rows(part, self.venue, "fetch_positions")]
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or not isinstance(row.get("symbol"), str):
                raise DataUnavailable(f"{self.venue} fetch_positions returned a row without a symbol (row {i})")
        return rows

    def _position_queries(self) -> list[dict[str, Any]]:
        """Bybit lists positions per category and settle coin; every other venue in one call.

        Bybit's linear contracts settle in USDT or USDC: both are always asked, and
        inverse too, so a market list that misses a kind (a cached one, say) can
        never hide a position, only cost a markets reload once the row comes back.
        """
        if self.venue != "bybit":
            return [{}]
        contracts = [m for m in self.x.markets.values() if m.get("contract") and m.get("linear")]
        linear = sorted({m["settle"] for m in contracts} | set(_BYBIT_LINEAR_SETTLE))
        return [*({"subType": "linear", "settleCoin": s, "paginate": True} for s in linear),
                {"subType": "inverse", "paginate": True}]

    async def open_orders(self) -> list[dict]:
        """Plain and trigger (stop) orders of every symbol; venues keep the two apart (docs/snapshot.md).

        A failed query fails the read: a stop that could not be read must not read as "no stop".
        """
        if self.is_binance:  # one call for every symbol (weight 40) instead of one per symbol
            self.x.options.setdefault("fetchOpenOrders", {})["warnWithoutSymbol"] = False
        queries = self._order_queries()
        parts = await _all(*(self._read("fetch_open_orders", label=f"fetch_open_orders({_params_label(q)})", params=q)
                             for q in queries))
        rows = []
        for query, part in zip(queries, parts, strict=True):
            found = _rows(part, self.venue, "fetch_open_orders")
            if self.venue == "okx" and len(found) >= _OKX_ORDER_PAGE:
                raise DataUnavailable(f"okx fetch_open_orders({_params_label(query)}) returned a full page of "
                                      f"{len(found)}: more open orders than one read lists")
            rows += found
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or not isinstance(row.get("symbol"), str) or row.get("id") is None:
                raise DataUnavailable(f"{self.venue} fetch_open_orders returned a row without a symbol or id (row {i})")
        return rows

    def _order_queries(self) -> list[dict[str, Any]]:
        if self.is_binance:  # conditional orders live on the Algo service (/openAlgoOrders)
            return [{}, {"trigger": True}]
        if self.venue == "okx":  # orders-algo-pending needs an ordType; ccxt's trigger alone asks only "trigger"
            return [{}, {"trigger": True, "ordType": "conditional,oco"}, {"trigger": True, "ordType": "trigger"}]
        if self.venue == "bybit":  # no orderFilter: plain and conditional; inverse by coin (ccxt pins settle USDT)
            inverse = sorted({m["baseId"] for m in self.x.markets.values() if m.get("contract") and m.get("inverse")})
            return [*(q for q in self._position_queries() if q["subType"] == "linear"),
                    *({"subType": "inverse", "baseCoin": c, "paginate": True} for c in inverse)]
        return [{}]

    async def balance(self) -> dict:
        probe = {"bybit": self._bybit_account_type, "hyperliquid": self._hyperliquid_account_type}.get(self.venue)
        balance = await (self._typed_balance(probe) if probe else self._read("fetch_balance"))
        if not isinstance(balance, dict):
            raise DataUnavailable(f"{self.venue} fetch_balance returned {type(balance).__name__}, not a balance")
        return balance

    async def _typed_balance(self, probe: Callable[[], Awaitable[dict[str, Any]]]) -> Any:
        """A balance read that depends on the account type, which ccxt would ask first, in a round of its own.

        The type is asked here instead, through the retries: ccxt reads an
        unanswered Hyperliquid question as "not unified".  With the type cached,
        the balance and a fresh answer on the type are read side by side, and the
        balance is read again only if the type changed.
        """
        cached = self.cached.get(self._settings_key)
        if not isinstance(cached, dict):
            actual = await probe()
            self.x.options.update(actual)
            balance = await self._read("fetch_balance")
        else:
            self.x.options.update(cached)
            balance, actual = await asyncio.gather(self._read("fetch_balance"), probe(), return_exceptions=True)
            if isinstance(actual, BaseException):
                raise actual
            if actual != cached:
                self.x.options.update(actual)
                balance = await self._read("fetch_balance")
            elif isinstance(balance, BaseException):
                raise balance
        self.learned[self._settings_key] = actual
        return balance

    async def _bybit_account_type(self) -> dict[str, Any]:
        """The flags the way ccxt's ``is_unified_enabled`` derives them, from the same two calls."""
        api, info = await _all(
            self._read("private_get_v5_user_query_api", label="user/query-api"),
            self._read("private_get_v5_account_info", label="account/info"),
        )
        api, info = self.x.safe_dict(api, "result", {}), self.x.safe_dict(info, "result", {})
        return {
            "enableUnifiedMargin": self.x.safe_integer(api, "unified") == 1,
            "enableUnifiedAccount": self.x.safe_integer(api, "uta") == 1,
            "unifiedMarginStatus": self.x.safe_integer(info, "unifiedMarginStatus", 6),
        }

    async def _hyperliquid_account_type(self) -> dict[str, Any]:
        """The user's abstraction mode: a unified account keeps its perp collateral in the spot balance."""
        answer = await self._read(
            "public_post_info", {"type": "userAbstraction", "user": self.x.walletAddress}, label="info(userAbstraction)"
        )
        if not isinstance(answer, str):
            raise DataUnavailable(f"{self.venue} info(userAbstraction) returned {type(answer).__name__}, not a mode")
        return {"enableUnifiedMargin": answer.strip('"') == "unifiedAccount"}

    @property
    def _settings_key(self) -> str:
        return f"settings:{self.spec.name}"

    async def hedge_mode(self) -> bool | None:
        """Binance (dual side position) and OKX (posMode) say it outright; elsewhere the position rows tell (None).

        An account with no position open in hedge mode would otherwise read as one-way.
        """
        if not (self.is_binance or self.venue == "okx"):
            return None
        return bool((await self._read("fetch_position_mode")).get("hedged"))

    def _hedged_from_rows(self, positions: list[dict]) -> bool:
        key, values = _HEDGE_LEGS.get(self.venue, (None, set()))
        if key is None:
            return any(p.get("hedged") for p in positions)
        return any(str((p.get("info") or {}).get(key)) in values for p in positions)

    def _account_type(self) -> str:
        """Bybit's own answer (ccxt asks it while reading the balance), else what the config declares."""
        unified = self.x.options.get("enableUnifiedAccount") if self.venue == "bybit" else None
        if unified is None:
            return self.spec.config.account_type
        return "unified" if unified else "classic"

    async def raw(self) -> dict[str, Any]:
        """Hyperliquid's margin tables live in the raw ``meta`` response; ccxt has no tier method for it."""
        if self.venue != "hyperliquid":
            return {}
        cached = self.cached.get("raw:meta")
        if cached is not None:
            return {"meta": cached}
        meta = await self._read("public_post_info", {"type": "meta"}, label="info(meta)")
        if not isinstance(meta, dict) or not isinstance(meta.get("universe"), list):
            raise DataUnavailable(f"{self.venue} info(meta) has no universe")
        self.learned["raw:meta"] = meta
        return {"meta": meta}

    # -- per-symbol reads -------------------------------------------------------------------------

    async def symbols(
        self, symbols: list[str], fees: bool = True
    ) -> tuple[dict[str, list], dict[str, dict], list[_Market]]:
        """Tiers, the account's fee rates (unless ``fees`` is off: public reads) and market data of ``symbols``."""
        if not symbols:
            return {}, {}, []
        fee_rates = self.fees(symbols) if fees else _none({})
        tiers, rates, *markets = await _all(self.tiers(symbols), fee_rates, *map(self.market, symbols))
        return tiers, rates, markets

    async def market(self, symbol: str) -> _Market:
        mark = "fetch_mark_price" if self.x.has.get("fetchMarkPrice") is True else "fetch_ticker"
        ticker, book, funding, h = await _all(
            self._read(mark, symbol),
            self._read("fetch_order_book", symbol, self.history.book_depth),
            self._optional("fetch_funding_rate", symbol),
            self._history(symbol),
        )
        self.unavailable.extend(h.unavailable)
        return _Market(symbol, ticker, book, funding, h.funding_history, h.ohlcv, h.open_interest_history,
                       h.long_short_ratio_history, h.taker_volume)

    async def _history(self, symbol: str) -> _History:
        if self.shared is None:
            return await self._read_history(symbol)
        return await self.shared.get((self.venue, self.host, symbol, self.history),
                                     lambda: self._read_history(symbol))

    async def _read_history(self, symbol: str) -> _History:
        # A reader of its own for what the venue cannot give: a shared result carries its lines to every read.
        reader = copy.copy(self)
        reader.unavailable = []
        h = self.history
        # On a bar boundary: ccxt drops rows stamped before ``since``, so a page starting inside a bar would
        # lose that bar where a venue answers with the bar holding its start (a hole at every page boundary).
        step = int(self.x.parse_timeframe(h.timeframe) * 1000)
        since = (_wall_ms() - h.lookback_s * 1000) // step * step
        funding_history, ohlcv, oi, ratio, taker = await _all(
            reader._optional("fetch_funding_rate_history", symbol, since, h.funding_points),
            reader._paged("fetch_ohlcv", symbol, since),
            reader._paged("fetch_open_interest_history", symbol, since),
            reader._paged("fetch_long_short_ratio_history", symbol, since),
            reader.taker_volume(symbol, since),
        )
        return _History(funding_history, ohlcv, oi, ratio, taker, tuple(reader.unavailable))

    def _pages(self, method: str, since: int) -> list[tuple[int, int]]:
        """(since, limit) of each request covering ``history.bars`` bars from ``since``, at the venue's page size."""
        family = next((f for f in _PAGE_ROWS[method] if self.venue.startswith(f)), None)
        page = _PAGE_ROWS[method].get(family or "", _DEFAULT_PAGE_ROWS)
        step = int(self.x.parse_timeframe(self.history.timeframe) * 1000)
        bars = self.history.bars
        return [(since + first * step, min(page, bars - first)) for first in range(0, bars, page)]

    async def _paged(self, name: str, symbol: str, since: int) -> list | None:
        """A history series read in pages side by side; None (said so) when any page is missing: a series
        with a hole would read as a quiet market."""
        if not self.x.has.get(_camel(name)):
            return None
        tf = self.history.timeframe
        params = {}
        if name == "fetch_long_short_ratio_history" and self.venue == "bybit" and tf.endswith("m"):
            params = {"period": tf + "in"}  # ccxt passes the timeframe verbatim; Bybit spells minutes "5min"
        pages = await _all(*(self._optional(name, symbol, tf, start, limit, params)
                             for start, limit in self._pages(name, since)))
        if any(p is None for p in pages):
            said = [m for m in self.unavailable if _label(name, (symbol, tf)) in m]
            self.unavailable[:] = [m for m in self.unavailable if m not in said[1:]]  # one line per series
            return None
        return _merged(pages)

    async def taker_volume(self, symbol: str, since: int) -> list | None:
        """Taker buy/sell volume per candle period: Binance USDⓈ-M publishes it (no ccxt unified method).

        Kept as {timestamp, buyVolume, sellVolume, info}; the normalizer checks each number and names the row.
        """
        if self.venue != "binanceusdm":
            return None
        step = int(self.x.parse_timeframe(self.history.timeframe) * 1000)
        requests = [
            {"symbol": self.x.market(symbol)["id"], "period": self.history.timeframe, "limit": limit,
             "startTime": start, "endTime": start + limit * step - 1}
            for start, limit in self._pages("taker_volume", since)
        ]
        try:
            pages = await _all(*(self._read("fapiDataGetTakerlongshortRatio", r, label=f"taker volume {symbol}")
                                 for r in requests))
            rows = [r for page in pages for r in _rows(page, self.venue, "taker volume")]
            if not all(isinstance(r, dict) for r in rows):
                raise DataUnavailable(f"{self.venue} taker volume {symbol}: rows are not objects")
        except DataUnavailable as exc:
            self.unavailable.append(str(exc))
            log.warning("%s", exc)
            return None
        return _merged([[{"timestamp": r.get("timestamp"), "buyVolume": r.get("buyVol"),
                          "sellVolume": r.get("sellVol"), "info": r} for r in rows]])

    async def fees(self, symbols: list[str]) -> dict[str, dict]:
        if self.x.has.get("fetchTradingFee"):
            found = await _all(*(self._read("fetch_trading_fee", s) for s in symbols))
            return dict(zip(symbols, found, strict=True))
        if self.x.has.get("fetchTradingFees"):
            every = await self._read("fetch_trading_fees")
            return {s: every[s] for s in symbols if s in every}
        return {}

    async def tiers(self, symbols: list[str]) -> dict[str, list]:
        """Each symbol's tiers from the cache while fresh, the rest from the venue (then cached)."""
        if self.is_binance or self.venue == "hyperliquid":
            return {}  # Binance: one table for all symbols (see positions); Hyperliquid: raw meta
        fresh = self._cached_tiers()
        missing = [s for s in symbols if s not in fresh]
        fetched: dict[str, list] = {}
        if missing and self.x.has.get("fetchMarketLeverageTiers") is True:
            found = await _all(*(self._read("fetch_market_leverage_tiers", s) for s in missing))
            fetched = dict(zip(missing, found, strict=True))
        elif missing and self.x.has.get("fetchLeverageTiers"):
            fetched = await self._read("fetch_leverage_tiers", missing)
        self._store_tiers(fetched)
        return {s: t for s in symbols if (t := fresh.get(s, fetched.get(s))) is not None}

    async def _binance_table(self, symbols: Iterable[str]) -> dict[str, list]:
        """Binance answers brackets for every symbol in one weighted call: keep (and cache) the whole table."""
        if not self.binance_table:
            self.binance_table = self._cached_tiers()
        if not self.binance_table or any(s not in self.binance_table for s in symbols):
            self.binance_table = await self._read("fetch_leverage_tiers")
            self._store_tiers(self.binance_table)
        return self.binance_table

    async def _binance_tiers(self, symbols: list[str]) -> dict[str, list]:
        table = await self._binance_table(symbols)
        return {s: table[s] for s in symbols if s in table}

    def _cached_tiers(self) -> dict[str, list]:
        return {k.removeprefix("tiers:"): v for k, v in self.cached.items() if k.startswith("tiers:")}

    def _store_tiers(self, tiers: dict[str, list]) -> None:
        self.learned.update({f"tiers:{s}": t for s, t in tiers.items()})


def _rows(value: Any, venue: str, call: str) -> list:
    if not isinstance(value, list):
        raise DataUnavailable(f"{venue} {call} returned {type(value).__name__}, not a list")
    return value


def _merged(pages: list[list]) -> list:
    """Pages joined oldest first, a bar two pages both returned kept once.  Rows are ccxt OHLCV lists or
    dicts with a ``timestamp``; a row without a usable one is kept in place for the normalizer to name."""
    by_time: dict[Any, Any] = {}
    for page in pages:
        for row in page:
            key = row[0] if isinstance(row, list) and row else row.get("timestamp") if isinstance(row, dict) else None
            by_time[key if isinstance(key, int | float) else ("row", len(by_time))] = row
    timed = sorted((k, r) for k, r in by_time.items() if not isinstance(k, tuple))
    return [r for _, r in timed] + [r for k, r in by_time.items() if isinstance(k, tuple)]


def _label(name: str, args: tuple) -> str:
    shown = [a for a in args if isinstance(a, str)]
    return f"{name}({', '.join(shown)})"


def _params_label(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items() if k != "paginate")


@functools.cache
def _camel(name: str) -> str:
    """ccxt's ``has`` key for a method: fetch_ohlcv → fetchOHLCV."""
    head, *rest = name.split("_")
    return head + "".join("OHLCV" if part == "ohlcv" else part.capitalize() for part in rest)
