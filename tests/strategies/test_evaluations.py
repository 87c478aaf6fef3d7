"""A plan reads back the figures of an account it already evaluated, and only of an equal account on the same
markets: booking a strategy's orders again gives the account its last cut evaluated."""

from __future__ import annotations

from dataclasses import replace

from plan_factory import account, market, position, venue_of

from riskguard.model import Side
from riskguard.risk.account_risk import evaluate_account
from riskguard.risk.whatif import Reduce, apply_fills
from riskguard.rules.strategy import StrategyContext

BTC = market("BTC/USDT:USDT", 0.004)
VENUE = venue_of(BTC)


def test_evaluate_when_the_same_fills_are_booked_again_then_the_figures_are_read_back():
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000)), VENUE)
    fill = [Reduce(BTC.symbol, Side.LONG, 0.34, 50_000)]
    first = apply_fills(ctx.account, VENUE, fill, ctx.taker_fee)
    again = apply_fills(ctx.account, VENUE, fill, ctx.taker_fee)
    assert first is not again and first == again
    risk = ctx.evaluate(first)
    assert replace(ctx, scope=None).with_account(again).risk is risk  # shared by derived contexts
    assert risk == evaluate_account(again, VENUE)


def test_evaluate_when_the_account_or_the_markets_differ_then_evaluated_afresh():
    ctx = StrategyContext.build(account(position(BTC.symbol, 1.0, 50_000)), VENUE)
    cut = apply_fills(ctx.account, VENUE, [Reduce(BTC.symbol, Side.LONG, 0.34, 50_000)], ctx.taker_fee)
    risk = ctx.evaluate(cut)
    other = apply_fills(ctx.account, VENUE, [Reduce(BTC.symbol, Side.LONG, 0.35, 50_000)], ctx.taker_fee)
    assert ctx.evaluate(other).positions[0].contracts == 0.65
    moved = venue_of(replace(BTC, tiers=(replace(BTC.tiers[0], mmr=0.01),)))
    elsewhere = replace(ctx, venue=moved).evaluate(cut)
    assert elsewhere is not risk and elsewhere == evaluate_account(cut, moved)
    assert elsewhere.positions[0].liquidation_price != risk.positions[0].liquidation_price
