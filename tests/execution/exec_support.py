"""Shared pieces of the executor tests: plans built by hand, an emulator account with distinctive credentials,
and the emulator's own order book to check against."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from riskguard.config import AccountConfig, AccountSpec, Credentials, Policy
from riskguard.execution.guard import LivePosition
from riskguard.execution.venue_client import OutcomeUnknown, VenueRejected
from riskguard.execution.venue_orders import OrderCall, hedge_leg
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


STEP = 0.001


@dataclass
class Sent:
    call: OrderCall
    position: tuple[str, float] | None
    """(side, contracts) of the leg the order names, at the moment it arrived."""
    resting: float


@dataclass
class FakeVenue:
    """A venue in memory that records each order with the position it met; ``faults`` script the answers."""

    venue: str
    legs: dict[tuple[str, str], tuple[str, float]]
    """(symbol, position_side) → (side, contracts)."""
    faults: list[str]
    sent: list[Sent] = field(default_factory=list)
    placed: dict[str, dict[str, Any]] = field(default_factory=dict)
    resting: dict[tuple[str, str], float] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    """Client ids of the orders the venue took, in order: a doubled order shows as a repeated id."""

    async def positions(self, symbol: str) -> list[LivePosition]:
        return [LivePosition(s, side, leg, contracts, "cross", 100.0)
                for (s, leg), (side, contracts) in self.legs.items() if s == symbol and contracts > 0]

    async def create(self, call: OrderCall) -> dict[str, Any]:
        leg = hedge_leg(call.params) or "both"
        key = (call.symbol, leg)
        self.sent.append(Sent(call, self.legs.get(key), self.resting.get(key, 0.0)))
        fault = self.faults.pop(0) if self.faults else "ok"
        if fault == "crash_before_send":
            raise KeyboardInterrupt("killed before the request left")
        if fault == "reject":
            raise VenueRejected('{"code":-2022}', "-2022")
        if fault == "unknown_not_placed":
            raise OutcomeUnknown("RequestTimeout")
        answer = self._apply(call, key, partial=fault == "partial")
        cid = call.params.get("clientOrderId") or call.params.get("algoClOrdId")
        self.placed[cid] = answer
        self.applied.append(cid)
        if fault == "unknown_placed":
            raise OutcomeUnknown("RequestTimeout")
        if fault == "crash_after_send":
            raise KeyboardInterrupt("killed before the answer was recorded")
        return answer

    def _apply(self, call: OrderCall, key: tuple[str, str], partial: bool) -> dict[str, Any]:
        side, contracts = self.legs.get(key, ("none", 0.0))
        if call.stop or call.type == "limit":
            self.resting[key] = self.resting.get(key, 0.0) + call.amount
            return {"id": str(len(self.sent)), "status": "open", "filled": 0.0, "symbol": call.symbol}
        filled = math.floor(call.amount / 2 / STEP) * STEP if partial else call.amount
        self.legs[key] = (side, max(contracts - filled, 0.0))
        status = "expired" if partial else "closed"
        return {"id": str(len(self.sent)), "status": status, "filled": filled, "symbol": call.symbol}

    async def find(self, symbol: str, client_id: str, stop: bool) -> dict[str, Any] | None:
        return self.placed.get(client_id)

    async def cancel(self, order: dict[str, Any]) -> dict[str, Any]:
        return order

    async def open_orders(self, symbol: str) -> list[dict[str, Any]]:
        return []

    def amount_to_precision(self, symbol: str, amount: float) -> float:
        return math.floor(amount / STEP + 1e-9) * STEP

    def price_to_precision(self, symbol: str, price: float) -> float:
        return round(price, 2)

    def min_amount(self, symbol: str) -> float:
        return STEP
