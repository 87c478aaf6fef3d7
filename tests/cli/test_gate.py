"""The pre-trade gate and `size`: as-if-filled evaluation, state refusals, maximal size, malformed orders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from riskguard.config import AccountConfig, AccountSpec, Policy
from riskguard.errors import InputError
from riskguard.gate import Gate, parse_order
from riskguard.model import Side, Snapshot
from riskguard.rules.codes import ReasonCode
from riskguard.rules.schema import Rule
from riskguard.rules.state import TradingState
from tests.rules.accounts import TAKEN_AT, VENUE, account, position, venue

EXAMPLE = str(Path(__file__).parents[2] / "config.example.yaml")
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
ORDER_FORMAT = '"ACCOUNT SYMBOL buy|sell SIZE [market|limit PRICE] [LEVx]"'


def gate_for(acct, rules=(), policy: Policy | None = None) -> Gate:
    spec = AccountSpec("acct", AccountConfig(snapshot="memory"), policy or Policy(), None, "test", rules=tuple(rules))
    markets = venue(BTC, ETH)
    return Gate(spec, Snapshot(TAKEN_AT, {VENUE: markets}, (acct,)), acct)


def test_gate_on_paper_account_passes_warns_and_names_the_fill(run):
    r = run("check", "--config", EXAMPLE, "--order", "paper-hyperliquid ETH/USDC:USDC buy 0.5", "--format", "json")
    assert r.code == 0
    doc = r.json()
    assert doc["schema"] == "riskguard.gate/1" and doc["increases_exposure"] is True
    after = doc["position_after"]
    assert after["contracts"] == 12.5 and after["buffer_pct"] > 24
    r = run("check", "--config", EXAMPLE, "--order", "paper-hyperliquid ETH/USDC:USDC buy 17")
    assert r.code == 1
    assert "PASS with warnings" in r.out and "rule 'fragile-cross-pool'" in r.out


def test_halted_account_refuses_increases_and_evaluates_reductions(run):
    r = run("check", "--config", EXAMPLE, "--order", "paper-bybit SOL/USDT:USDT sell 1", "--format", "json")
    assert r.code == 2
    doc = r.json()
    assert doc["trading_state_before"] == "halted" and doc["position_after"] is None
    assert [f["code"] for f in doc["findings"]] == ["ORDER_REFUSED_HALTED"]
    # buying back 100 of the 800 short reduces: evaluated, and still a breach after it (buffer stays thin)
    r = run("check", "--config", EXAMPLE, "--order", "paper-bybit SOL/USDT:USDT buy 100", "--format", "json")
    doc = r.json()
    assert doc["increases_exposure"] is False and doc["trading_state_after"] == "halted"
    assert "ORDER_REFUSED_HALTED" not in {f["code"] for f in doc["findings"]}
    assert doc["position_after"]["contracts"] == 700.0 and r.code == 2


def test_size_on_paper_account_is_maximal_and_names_the_binding_rule(run):
    r = run("size", "paper-hyperliquid", "ETH/USDC:USDC", "buy", "--config", EXAMPLE, "--format", "json")
    assert r.code == 0
    doc = r.json()
    assert doc["binding_rule"] == "fragile-cross-pool" and doc["amount_step"] == 0.0001
    amount = doc["amount"]
    assert run("check", "--config", EXAMPLE, "--order", f"paper-hyperliquid ETH/USDC:USDC buy {amount}").code == 0
    more = f"{amount + 0.0001:.4f}"
    assert run("check", "--config", EXAMPLE, "--order", f"paper-hyperliquid ETH/USDC:USDC buy {more}").code == 1
    table = run("size", "paper-hyperliquid", "ETH/USDC:USDC", "buy", "--config", EXAMPLE)
    assert f"largest buy of ETH/USDC:USDC on paper-hyperliquid: {amount:g} contracts" in table.out
    assert "binding one step more: fragile-cross-pool" in table.out


def test_liquidation_price_after_an_isolated_fill_by_hand():
    # An isolated ETH position makes the account isolated; buying 1 BTC at 10x posts 100/10 = 10 of margin:
    # 10 + (P − 100) = 0.01·P → P = 90/0.99
    acct = account(position(ETH, Side.SHORT, 1.0, isolated_margin=50.0))
    result = gate_for(acct).check("acct BTC/USDT:USDT buy 1 10x")
    p = result.position_after
    assert p is not None and p.margin_mode == "isolated"
    assert p.liquidation_price == pytest.approx(90 / 0.99, rel=1e-12)
    # 9.09% is inside the default warning buffer (twice the 5% minimum): the gate says "place, with a warning"
    assert result.exit_code == 1
    assert [f.code for f in result.findings] == [ReasonCode.LIQUIDATION_BUFFER_BELOW_WARN]
    limit = gate_for(acct).check("acct BTC/USDT:USDT buy 1 limit 95 10x").position_after
    # entry 95, margin 9.5: 9.5 + (P − 95) = 0.01·P → P = 85.5/0.99
    assert limit.entry_price == 95 and limit.liquidation_price == pytest.approx(85.5 / 0.99, rel=1e-12)


def test_reducing_state_refuses_growth_of_the_reduced_position_only():
    acct = account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0))  # buffer 9.09%
    rule = Rule.model_validate({"name": "thin", "metric": "liquidation_buffer_pct", "op": "below",
                                "threshold": 10.0, "state": "reducing"})
    gate = gate_for(acct, [rule], Policy(min_liquidation_buffer_pct=1, warn_liquidation_buffer_pct=1))
    assert gate.before.rules.state is TradingState.REDUCING
    grow = gate.check("acct BTC/USDT:USDT buy 0.5")
    assert grow.refusal is not None and grow.refusal.code is ReasonCode.ORDER_REFUSED_REDUCING
    assert grow.exit_code == 2 and "rule 'thin' is reducing BTC/USDT:USDT" in grow.refusal.message
    other = gate.check("acct ETH/USDT:USDT sell 0.5 10x")
    assert other.refusal is None and other.after is not None
    cut = gate.check("acct BTC/USDT:USDT sell 0.5")
    assert cut.increases_exposure is False and cut.refusal is None
    assert cut.position_after.contracts == 0.5


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("", "0 word(s), need at least 4"),
        ("paper-hyperliquid ETH/USDC:USDC buy", "3 word(s), need at least 4"),
        ("paper-hyperliquid ETH/USDC:USDC purchase 1", "side must be buy or sell, got 'purchase'"),
        ("paper-hyperliquid ETH/USDC:USDC buy -1", "SIZE must be a number > 0, got '-1'"),
        ("paper-hyperliquid ETH/USDC:USDC buy ten", "SIZE must be a number > 0, got 'ten'"),
        ("paper-hyperliquid ETH/USDC:USDC buy nan", "SIZE must be a number > 0, got 'nan'"),
        ("paper-hyperliquid ETH/USDC:USDC buy 1 limit", "limit needs a PRICE"),
        ("paper-hyperliquid ETH/USDC:USDC buy 1 limit x", "PRICE must be a number > 0, got 'x'"),
        ("paper-hyperliquid ETH/USDC:USDC buy 1 market 10", "unexpected '10'"),
        ("paper-hyperliquid ETH/USDC:USDC buy 1 10y", "unexpected '10y'"),
        ("paper-hyperliquid ETH/USDC:USDC buy 1 0x", "leverage must be a number > 0, got '0'"),
    ],
)
def test_malformed_order_is_a_clear_error_exit_3(run, order, message):
    r = run("check", "--config", EXAMPLE, "--order", order)
    assert r.code == 3
    assert message in r.err and ORDER_FORMAT in r.err and "Traceback" not in r.err


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("nobody ETH/USDC:USDC buy 1", "no account named 'nobody'"),
        ("paper-hyperliquid DOGE/USDC:USDC buy 1", "no market 'DOGE/USDC:USDC' on hyperliquid"),
        ("paper-hyperliquid ETH/USDC:USDC buy 0.00001", "size 1e-05 is not an order the venue takes"),
    ],
)
def test_order_the_account_cannot_take_exits_3(run, order, message):
    r = run("check", "--config", EXAMPLE, "--order", order, "--format", "json")
    assert r.code == 3
    assert message in r.json()["error"]["message"]


def test_order_needs_config(run):
    r = run("check", "--snapshot", "x.json", "--order", "a B buy 1")
    assert r.code == 3 and "--order goes with --config FILE" in r.err


def test_parse_order_reads_every_part():
    o = parse_order("acct BTC/USDT:USDT sell 0.25 limit 101.5 7x")
    assert (o.account, o.symbol, o.side, o.amount, o.price, o.leverage) == (
        "acct", "BTC/USDT:USDT", "sell", 0.25, 101.5, 7.0)
    assert parse_order("acct BTC/USDT:USDT buy 2 market").price is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    isolated=st.booleans(),
    wallet=st.floats(200, 20_000),
    held=st.sampled_from([0.0, 0.5, 3.0]),
    held_side=st.sampled_from([Side.LONG, Side.SHORT]),
    side=st.sampled_from(["buy", "sell"]),
    max_leverage=st.floats(2, 25),
    min_buffer=st.floats(0.5, 8),
    asymmetry=st.one_of(st.none(), st.floats(1, 15)),
)
def test_size_is_maximal_the_order_passes_and_one_step_more_fails(
    isolated, wallet, held, held_side, side, max_leverage, min_buffer, asymmetry
):
    positions = [position(ETH, Side.LONG, 1.0, isolated_margin=20.0 if isolated else None)]
    if held:
        positions.append(position(BTC, held_side, held, isolated_margin=held * 20.0 if isolated else None))
    rules = []
    if asymmetry is not None:
        rules.append(Rule.model_validate({"name": "lopsided", "metric": "leverage_asymmetry", "op": "above",
                                          "threshold": asymmetry, "severity": "breach"}))
    gate = gate_for(account(*positions, wallet=wallet), rules,
                    Policy(max_effective_leverage=max_leverage, min_liquidation_buffer_pct=min_buffer))
    lev = " 10x"  # a new position's leverage (its initial margin) must be known to gate it
    result = gate.size(BTC, side, 10.0)
    step = result.step
    event("size 0" if result.amount == 0 else "size > 0")
    if result.amount == 0:
        assert gate.check(f"acct {BTC} {side} {step}{lev}").exit_code != 0
        return
    assert gate.check(f"acct {BTC} {side} {result.amount}{lev}").exit_code == 0
    one_more = gate.check(f"acct {BTC} {side} {result.amount + step:.3f}{lev}")
    assert one_more.exit_code != 0
    assert result.binding and {f.code for f in result.binding} == {f.code for f in one_more.findings}


def test_gate_json_is_documented_shape(run):
    r = run("check", "--config", EXAMPLE, "--order", "paper-hyperliquid ETH/USDC:USDC sell 1", "--format", "json")
    doc = r.json()
    assert set(doc) == {"schema", "order", "status", "exit_code", "increases_exposure", "trading_state_before",
                        "trading_state_after", "position_after", "findings"}
    assert json.dumps(doc)  # strict JSON


def test_order_the_wallet_cannot_margin_is_refused():
    # isolated account, wallet 200 (ETH's 20 of margin is outside it): 19 BTC at 10x posts 190 + fee 0.95 → fits;
    # 20 BTC posts 200 + fee 1.0 → 1.0 short
    acct = account(position(ETH, Side.SHORT, 1.0, isolated_margin=20.0), wallet=200.0)
    policy = Policy(max_effective_leverage=50, min_liquidation_buffer_pct=1)
    fits = gate_for(acct, policy=policy).check("acct BTC/USDT:USDT buy 19 10x")
    assert fits.margin is None and fits.exit_code == 0
    short = gate_for(acct, policy=policy).check("acct BTC/USDT:USDT buy 20 10x")
    assert short.margin is not None and short.margin.code is ReasonCode.ORDER_EXCEEDS_AVAILABLE_MARGIN
    assert short.margin.value == pytest.approx(-1.0, rel=1e-9) and short.exit_code == 2
    cross = gate_for(account(position(ETH, Side.LONG, 1.0, leverage=None))).check("acct BTC/USDT:USDT buy 1")
    assert cross.exit_code == 3 and "give LEVx" in cross.margin.message


def test_size_is_zero_when_the_state_refuses_and_names_it(run):
    r = run("size", "paper-bybit", "SOL/USDT:USDT", "sell", "--config", EXAMPLE, "--format", "json")
    assert r.code == 0
    doc = r.json()
    assert doc["amount"] == 0.0 and doc["binding_rule"] == "ORDER_REFUSED_HALTED"


def test_size_without_a_bound_is_an_error_and_bad_side_exits_3(run):
    acct = account(position(ETH, Side.LONG, 1.0), wallet=1e30)
    with pytest.raises(InputError, match="size is unbounded"):
        gate_for(acct, policy=Policy(max_effective_leverage=1e9, min_liquidation_buffer_pct=0,
                                     warn_liquidation_buffer_pct=0)).size(BTC, "buy", 10.0)
    r = run("size", "paper-hyperliquid", "ETH/USDC:USDC", "long", "--config", EXAMPLE)
    assert r.code == 3 and "side must be buy or sell, got 'long'" in r.err


def test_module_functions_read_the_config_each_call():
    from riskguard.gate import check_order, size

    assert check_order(Path(EXAMPLE), "paper-hyperliquid ETH/USDC:USDC buy 0.5").exit_code == 0
    assert size(Path(EXAMPLE), "paper-hyperliquid", "ETH/USDC:USDC", "buy").binding_rule == "fragile-cross-pool"


def test_size_that_cannot_be_evaluated_is_an_error_not_zero():
    acct = account(position(ETH, Side.LONG, 1.0))  # a new BTC cross position: leverage, hence IM, unknown
    with pytest.raises(InputError, match=r"cannot size a buy of BTC/USDT:USDT on acct: .*give LEVx"):
        gate_for(acct).size(BTC, "buy")
