"""How a ccxt client reaches the emulator: per venue, the ``urls`` override and the constructor options.

Kept apart from the dialects, which import the aiohttp server side: a live account
with ``endpoint:`` then pays only for ccxt, like any live account.  Every API url
ccxt knows for a venue is overridden, so that an unexpected call lands on the
loopback emulator (and fails there) instead of reaching the real venue.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from riskguard.sim.engine import AccountSpec


@cache
def _ccxt_binance() -> Any:
    """A throwaway ccxt instance, only to read its url and error tables (slow to build: cached).

    From ``async_support``, which the live connector has imported anyway; the synchronous package would
    cost another import of all of ccxt.
    """
    import ccxt.async_support as ccxt

    return ccxt.binance()


def _binance_urls(base_url: str) -> dict[str, Any]:
    """Every ccxt Binance API root re-homed onto ``base_url`` (path kept, host replaced)."""
    return {"api": {name: base_url + urlsplit(url).path for name, url in _ccxt_binance().urls["api"].items()}}


def _binance_options(family: str) -> Callable[[], dict[str, Any]]:
    def options() -> dict[str, Any]:
        """Skip the spot-wallet currency call, and keep Binance's futures error map.

        ccxt picks its USDⓈ-M/COIN-M error table by the request's hostname (``fapi.binance.com``…);
        on loopback it would fall back to the spot table and, for example, report -2022 as a bare
        ExchangeError.  Copying the family's table over the common one reproduces what ccxt raises
        against the real host.
        """
        return {"options": {"fetchCurrencies": False}, "exceptions": _ccxt_binance().exceptions[family]}

    return options


def _bybit_urls(base_url: str) -> dict[str, Any]:
    api = dict.fromkeys(("spot", "futures", "v2", "public", "private"), base_url)
    return {"api": api, "demotrading": dict(api), "test": dict(api)}


def _okx_urls(base_url: str) -> dict[str, Any]:
    return {"api": {"rest": base_url}, "test": {"rest": base_url}}


def _hyperliquid_urls(base_url: str) -> dict[str, Any]:
    api = {"public": base_url, "private": base_url}
    return {"api": api, "test": dict(api)}


_WIRING: dict[str, tuple[Callable[[str], dict[str, Any]], Callable[[], dict[str, Any]]]] = {
    "binanceusdm": (_binance_urls, _binance_options("linear")),
    "binancecoinm": (_binance_urls, _binance_options("inverse")),
    # Derivatives only, and only the categories the emulator lists.
    "bybit": (_bybit_urls, lambda: {"options": {"fetchMarkets": {"types": ["linear", "inverse"]},
                                                "defaultType": "swap", "adjustForTimeDifference": False}}),
    "okx": (_okx_urls, lambda: {"options": {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap"}}),
    # Perps only; no builder-fee approval (a user-signed action the emulator does not serve).
    "hyperliquid": (_hyperliquid_urls, lambda: {"options": {"fetchMarkets": {"types": ["swap"]}, "builderFee": False,
                                                            "approvedBuilderFee": True, "refSet": True}}),
}


def _wiring(venue: str) -> tuple[Callable[[str], dict[str, Any]], Callable[[], dict[str, Any]]]:
    try:
        return _WIRING[venue]
    except KeyError:
        raise KeyError(f"no emulator dialect for {venue!r}; known: {', '.join(sorted(_WIRING))}") from None


def ccxt_urls(venue: str, base_url: str) -> dict[str, Any]:
    """``urls`` override (the value of ccxt's ``urls`` key) pointing a ``venue`` client at ``base_url``."""
    return _wiring(venue)[0](base_url.rstrip("/"))


def ccxt_config(venue: str, base_url: str, account: AccountSpec | None = None) -> dict[str, Any]:
    """A complete ccxt constructor config for the emulator: urls, options and (optionally) keys.

    This is what riskguard's live connector merges in when an account has ``endpoint:`` set.
    """
    urls, extra = _wiring(venue)
    # The emulator speaks plain HTTP: no TLS teardown for ccxt's 250 ms exit grace to wait for on close().
    config: dict[str, Any] = {"urls": urls(base_url.rstrip("/")), "timeout_on_exit": 0, **extra()}
    if account is not None:
        if venue == "hyperliquid":  # signs with a wallet key, not an API key/secret pair
            config |= {"walletAddress": account.api_key, "privateKey": account.secret}
        else:
            config |= {"apiKey": account.api_key, "secret": account.secret}
        if account.passphrase:
            config["password"] = account.passphrase
    return config
