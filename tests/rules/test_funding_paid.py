"""The account once the horizon's funding is paid (``MetricTable.paid_funding``), worked by hand, and the
quick re-solve of the funded buffers doing its job without a second full evaluation.

Accounts from tests/rules/accounts.py: marks at 100, funding 0.0001 per interval; with no funding history
the interval is 8 h, so over the 24 h horizon a position pays 3 · 0.0001 · notional (a short receives it).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from riskguard.model import AssetBalance, MarketSeries, Side, VenueMarkets
from riskguard.risk.account_risk import evaluate_account
from riskguard.rules import metrics
from riskguard.rules.metrics import MetricTable
from tests.rules.accounts import TAKEN_AT, account, position, venue

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _table(acct, markets=None):
    markets = markets or venue(BTC, ETH)
    return MetricTable(acct, markets, evaluate_account(acct, markets), None, TAKEN_AT)


def test_paid_funding_when_isolated_and_cross_then_each_pays_from_its_own_margin_and_venue_prices_cleared():
    iso = replace(position(BTC, Side.LONG, 1.0, isolated_margin=10.0), venue_liquidation_price=90.0)
    cross = replace(position(ETH, Side.SHORT, 2.0), venue_liquidation_price=140.0)
    paid = _table(account(iso, cross)).paid_funding()
    assert paid is not None
    # the long pays 3 · 0.0001 · 100 = 0.03 from its isolated margin; the short receives 3 · 0.0001 · 200 = 0.06
    assert paid.positions[0].isolated_margin == pytest.approx(9.97, rel=1e-12)
    assert paid.balances["USDT"].asset == "USDT"
    assert paid.balances["USDT"].wallet == pytest.approx(1_000.06, rel=1e-12)
    assert paid.balances["USDT"].cross_wallet == pytest.approx(1_000.06, rel=1e-12)
    # the venue's prices describe the unpaid account: the paid one is computed, never read back
    assert [p.venue_liquidation_price for p in paid.positions] == [None, None]
    assert paid.positions[1].isolated_margin is None


def test_paid_funding_when_a_cross_position_reports_a_margin_then_the_wallet_pays_not_that_margin():
    # some venues report a margin figure for cross positions too: cross funding still comes out of the wallet
    cross = replace(position(BTC, Side.LONG, 1.0), isolated_margin=10.0)
    paid = _table(account(cross)).paid_funding()
    assert paid is not None
    assert paid.positions[0].isolated_margin == 10.0
    assert paid.balances["USDT"].wallet == pytest.approx(999.97, rel=1e-12)
    assert paid.balances["USDT"].cross_wallet == pytest.approx(999.97, rel=1e-12)


def test_paid_funding_when_the_settle_asset_has_no_balance_then_it_starts_from_zero():
    acct = replace(account(position(BTC, Side.LONG, 1.0)), balances={"BTC": AssetBalance("BTC", 1.0, 1.0)})
    paid = _table(acct).paid_funding()
    assert paid is not None
    usdt = paid.balances["USDT"]
    assert (usdt.asset, usdt.wallet, usdt.cross_wallet) == ("USDT", pytest.approx(-0.03, rel=1e-12),
                                                            pytest.approx(-0.03, rel=1e-12))
    assert paid.balances["BTC"] == AssetBalance("BTC", 1.0, 1.0)


def test_buffer_after_funding_when_the_quick_path_applies_then_no_second_full_evaluation(monkeypatch):
    t = _table(account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0), position(ETH, Side.SHORT, 2.0)))
    calls = []
    monkeypatch.setattr(metrics, "evaluate_account", lambda *a: calls.append(a) or pytest.fail("full evaluation"))
    # isolated long: LP = (100 − 9.97) / (1 − 0.01) = 90.9394; buffer (100 − LP)/100 · 100
    assert t.position("buffer_after_funding_pct", 0)[0] == pytest.approx(100 - 90.03 / 0.99, rel=1e-9)
    assert t.position("buffer_after_funding_pct", 1)[1] is None
    assert calls == []


def test_funding_rate_when_no_quote_then_the_last_settled_rate_and_the_history_interval():
    history = ((TAKEN_AT - 8 * 3_600_000, 0.0002), (TAKEN_AT - 4 * 3_600_000, 0.0003))
    markets = venue(BTC)
    markets = VenueMarkets(markets.venue, markets.markets, {}, {BTC: MarketSeries(funding=history)})
    t = _table(account(position(BTC, Side.LONG, 1.0)), markets)
    assert t.funding_rate(BTC) == (0.0003, 4 * 3_600.0)
    # 0.0003 per 4 h over 24 h on a notional of 100
    assert t.position("funding_drain", 0) == (pytest.approx(0.18, rel=1e-12), None)


def _full(t: MetricTable, i: int):
    """The reading the full evaluation of the paid account gives (the paid account is pinned by hand above)."""
    paid = t.paid_funding()
    assert paid is not None
    return metrics._buffer(evaluate_account(paid, t.venue).positions[i])


@pytest.mark.parametrize("venue_id", ["binanceusdm", "bybit", "okx"])
@pytest.mark.parametrize("classic", [False, True])
def test_buffer_after_funding_when_quick_then_equal_to_the_full_evaluation_and_without_it(venue_id, classic,
                                                                                          monkeypatch):
    from riskguard.model import AccountType

    for acct in (account(position(BTC, Side.LONG, 1.0, entry=104.0)),
                 account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0), position(ETH, Side.SHORT, 2.0),
                         wallet=30.0)):
        acct = replace(acct, venue=venue_id, account_type=AccountType.CLASSIC if classic else AccountType.STANDARD)
        markets = venue(BTC, ETH)
        markets = VenueMarkets(venue_id, {s: replace(m, venue=venue_id) for s, m in markets.markets.items()},
                               markets.quotes)
        t = _table(acct, markets)
        expected = [_full(t, i) for i in range(len(acct.positions))]
        with monkeypatch.context() as m:
            m.setattr(metrics, "evaluate_account", lambda *a: pytest.fail("full evaluation"))
            assert [t.position("buffer_after_funding_pct", i) for i in range(len(acct.positions))] == expected


def test_buffer_after_funding_when_the_risk_has_no_solved_inputs_or_others_then_the_full_evaluation():
    acct = account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0), position(ETH, Side.SHORT, 2.0), wallet=30.0)
    markets = venue(BTC, ETH)
    risk = evaluate_account(acct, markets)
    t = MetricTable(acct, markets, replace(risk, solved=None), None, TAKEN_AT)
    assert [t.position("buffer_after_funding_pct", i) for i in range(2)] == [_full(t, 0), _full(t, 1)]
    # arrays solved for other positions (a bigger short) are not reused for this account's
    other = evaluate_account(replace(acct, positions=(acct.positions[0], replace(acct.positions[1], contracts=4.0))),
                             markets)
    t = MetricTable(acct, markets, replace(risk, solved=other.solved), None, TAKEN_AT)
    assert [t.position("buffer_after_funding_pct", i) for i in range(2)] == [_full(t, 0), _full(t, 1)]


def test_buffer_after_funding_when_the_venue_rounds_but_the_market_has_no_tick_then_the_raw_root():
    # OKX shows an isolated long's price one tick toward entry; without a tick the display is unknown and the
    # exact root stands, as in the full evaluation: a finite buffer, never "no price liquidates"
    acct = replace(account(position(BTC, Side.LONG, 1.0, isolated_margin=10.0)), venue="okx")
    markets = venue(BTC)
    markets = VenueMarkets("okx", {BTC: replace(markets.markets[BTC], venue="okx", price_tick=None)}, markets.quotes)
    t = _table(acct, markets)
    value, reason = t.position("buffer_after_funding_pct", 0)
    assert reason is None and 8.0 < value < 10.0
    assert (value, reason) == _full(t, 0)


def test_buffer_after_funding_when_a_cross_position_reports_a_margin_then_the_wallet_pays(monkeypatch):
    t = _table(account(replace(position(BTC, Side.LONG, 1.0), isolated_margin=10.0), wallet=30.0))
    expected = _full(t, 0)
    monkeypatch.setattr(metrics, "evaluate_account", lambda *a: pytest.fail("full evaluation"))
    assert t.position("buffer_after_funding_pct", 0) == expected
