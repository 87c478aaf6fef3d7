"""What the gate keeps between orders answers exactly as a fresh evaluation would, and never outlives its input.

The gate computes a position's market signals only when read and remembers those of positions an order leaves
unchanged; these tests compare every answer with ``evaluate_loaded``/``account_signals`` run from scratch.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from riskguard.check import evaluate_loaded
from riskguard.connectors.source import Loaded
from riskguard.gate import Gate
from riskguard.market_view import SymbolViews, account_signals, source_key
from riskguard.model import Account, MarginMode, Order, OrderSide

EXAMPLE = Path(__file__).parents[2] / "config.example.yaml"
BTC = "BTC/USDT:USDT"


def _fresh(gate: Gate, account: Account):
    """The filled account evaluated as ``riskguard check`` does: new views, every signal computed."""
    loaded = Loaded(gate.spec, gate.snapshot, account, None)
    evaluated = evaluate_loaded(loaded, SymbolViews(), with_plan=False)
    signals = account_signals(SymbolViews(), source_key(loaded), gate.venue, gate.snapshot.taken_at_ms,
                              evaluated.verdict.risk, account.open_orders)
    return evaluated, signals


def _isolated(gate: Gate) -> Gate:
    """paper-binance with both positions isolated (margin 30% of notional), same snapshot and market data."""
    positions = tuple(replace(p, margin_mode=MarginMode.ISOLATED, isolated_margin=0.3 * p.contracts * p.mark_price,
                              venue_liquidation_price=None) for p in gate.account.positions)
    return Gate(gate.spec, gate.snapshot, replace(gate.account, positions=positions))


@pytest.mark.parametrize("order", ["paper-binance BTC/USDT:USDT buy 0.5", "paper-binance ETH/USDT:USDT sell 10",
                                   "paper-binance BTC/USDT:USDT buy 0.2 limit 60000"])
def test_each_answer_equals_a_fresh_evaluation_of_the_filled_account(order: str) -> None:
    gate = Gate.load(EXAMPLE, "paper-binance")
    for _ in range(2):  # the second time from what the first one left behind
        result = gate.check(order)
        assert result.after is not None
        expected, signals = _fresh(gate, gate.fill(result.order))
        assert result.after.verdict == expected.verdict and result.after.rules == expected.rules
        assert list(result.after.signals) == list(signals) == list(expected.signals)


def test_a_cross_fill_recomputes_the_other_positions_signals() -> None:
    gate = Gate.load(EXAMPLE, "paper-binance")
    eth_before = gate.before.signals[1]
    result = gate.check("paper-binance BTC/USDT:USDT buy 0.5")
    assert result.after is not None
    # the BTC buy moves the shared cross pool: ETH's liquidation price, and so its signals, change
    after_risk, before_risk = result.after.verdict.risk, gate.before.verdict.risk
    assert after_risk is not None and before_risk is not None
    assert after_risk.positions[1].liquidation_price != before_risk.positions[1].liquidation_price
    eth_after = result.after.signals[1]
    assert eth_after != eth_before
    assert eth_after.distance.sigma_buffer != eth_before.distance.sigma_buffer
    _, signals = _fresh(gate, gate.fill(result.order))
    assert eth_after == signals[1]


def test_an_isolated_fill_reuses_the_untouched_positions_signals() -> None:
    gate = _isolated(Gate.load(EXAMPLE, "paper-binance"))
    eth_before = gate.before.signals[1]
    result = gate.check("paper-binance BTC/USDT:USDT buy 0.5 10x")
    assert result.after is not None
    assert result.after.signals[1] is eth_before  # ETH's margin is its own: nothing of it changed
    assert result.after.signals[0] != gate.before.signals[0]
    _, signals = _fresh(gate, gate.fill(result.order))
    assert list(result.after.signals) == list(signals)


def test_other_open_orders_are_never_answered_from_the_memo() -> None:
    gate = Gate.load(EXAMPLE, "paper-binance")
    gate.before.signals[0]  # remembered for the account's own orders
    btc = gate.account.positions[0]
    stop = Order("stop-1", BTC, OrderSide.SELL, "STOP_MARKET", btc.contracts, trigger_price=btc.mark_price * 0.9,
                 reduce_only=True)
    with_stop = replace(gate.account, open_orders=(*(gate.account.open_orders or ()), stop))
    evaluated = gate._evaluate(with_stop)
    _, signals = _fresh(gate, with_stop)
    assert evaluated.signals[0] == signals[0] != gate.before.signals[0]
    assert len(evaluated.signals[0].stops or ()) == len(gate.before.signals[0].stops or ()) + 1


def test_signals_read_by_slice_and_iteration_are_the_same_objects() -> None:
    gate = Gate.load(EXAMPLE, "paper-binance")
    signals = gate.check("paper-binance ETH/USDT:USDT buy 1").after.signals  # type: ignore[union-attr]
    assert len(signals) == 2
    assert signals[0:2] == (signals[0], signals[1]) == tuple(signals)
    assert signals[-1] is signals[1]


def test_the_memo_stays_bounded_and_answers_the_same_after_it_is_cleared(monkeypatch) -> None:
    monkeypatch.setattr("riskguard.gate.SIGNAL_MEMO_SIZE", 3)
    gate = Gate.load(EXAMPLE, "paper-binance")
    for amount in (0.1, 0.2, 0.3, 0.1):
        result = gate.check(f"paper-binance BTC/USDT:USDT buy {amount}")
        assert result.after is not None
        _, signals = _fresh(gate, gate.fill(result.order))
        assert list(result.after.signals) == list(signals)
        assert 0 < len(gate._signal_memo) <= 3
