"""Shared pieces of the executor tests: plans built by hand, an emulator account with distinctive credentials,
and the emulator's own order book to check against."""

from __future__ import annotations

import dataclasses
from typing import Any

from riskguard.config import AccountConfig, AccountSpec, Credentials, Policy
from riskguard.rules.plan import IntendedOrder, OrderKind, Outcome, Plan, PositionOutcome
from riskguard.sim import RunningSim, Scenario
from riskguard.sim.engine import Order
from riskguard.sim.venues import get_dialect
from riskguard.sim.venues.hyperliquid import wallet_of

VENUES = ("binanceusdm", "binancecoinm", "bybit", "okx", "hyperliquid")
API_KEY = "RGexecKey-Q7w3Zt9Lx2Vb8Nc4Md"
SECRET = "RGexecSecret-Hs5Jp1Ke0Yr7Ua3Wf"
PASSPHRASE = "RGexecPass-Tn4Bq8Gc2"
PRIVATE_KEY = "0x" + "6d" * 31 + "b3"
WALLET = wallet_of(PRIVATE_KEY)
SECRETS = (API_KEY, SECRET, PASSPHRASE, PRIVATE_KEY, PRIVATE_KEY.removeprefix("0x"), WALLET)
ENV = {"RGX_KEY": API_KEY, "RGX_SECRET": SECRET, "RGX_PASS": PASSPHRASE, "RGX_WALLET": WALLET,
       "RGX_PRIVATE": PRIVATE_KEY}


def scenario_for(venue: str, **account_changes: Any) -> Scenario:
    """The venue's default scenario, its first account holding the test credentials."""
    default = get_dialect(venue).default_scenario()
    key, secret = (WALLET, PRIVATE_KEY) if venue == "hyperliquid" else (API_KEY, SECRET)
    account = dataclasses.replace(default.accounts[0], api_key=key, secret=secret, passphrase=PASSPHRASE,
                                  **account_changes)
    return dataclasses.replace(default, accounts=(account,))


def spec_for(venue: str, sim: RunningSim, timeout_s: float = 3.0, name: str = "live") -> AccountSpec:
    if venue == "hyperliquid":
        credentials = Credentials(wallet_address="${RGX_WALLET}", private_key="${RGX_PRIVATE}")
    else:
        credentials = Credentials(api_key="${RGX_KEY}", secret="${RGX_SECRET}",
                                  password="${RGX_PASS}" if venue == "okx" else None)
    config = AccountConfig(venue=venue, credentials=credentials, timeout_s=timeout_s, endpoint=sim.base_url)
    return AccountSpec(name=name, config=config, policy=Policy(), snapshot_path=None, where="test.yaml:1",
                       mode="execute")


def order(symbol: str, side: str, amount: float, kind: OrderKind = OrderKind.MARKET, *, contracts: float = 0.0,
          position_side: str = "both", price: float | None = None, trigger: float | None = None,
          order_id: str | None = None, account: str = "live") -> IntendedOrder:
    return IntendedOrder(account, symbol, side, kind, amount, "test", "hand-built", position_side=position_side,
                         position_contracts=contracts, price=price, trigger_price=trigger, order_id=order_id)


def plan_of(venue: str, orders: list[IntendedOrder], after: dict[tuple[str, str], float] | None = None,
            account: str = "live") -> Plan:
    """A plan of ``orders``; ``after`` maps (symbol, side) to the contracts the plan expects left."""
    positions = tuple(
        PositionOutcome(symbol, side, "both", "cross", contracts, None, None, 0.0, 0.0)
        for (symbol, side), contracts in (after or {}).items()
    )
    return Plan(account, venue, ("test",), tuple(orders), Outcome((), ()), Outcome(positions, ()))


def sim_orders(sim: RunningSim, client_id: str | None = None) -> list[Order]:
    """The emulator's own book of every order of the first account (any status)."""
    account = sim.player.exchange.accounts[sim.player.scenario.accounts[0].api_key]
    return [o for o in account.orders.values() if client_id is None or o.client_id == client_id]


def sim_size(sim: RunningSim, symbol: str, leg: str = "both") -> float:
    account = sim.player.exchange.accounts[sim.player.scenario.accounts[0].api_key]
    position = account.positions.get((symbol, leg))
    return position.size if position else 0.0


def create_requests(sim: RunningSim, path_suffix: str = "/order") -> int:
    return sum(1 for r in sim.requests if r.method == "POST" and r.path.endswith(path_suffix))
