"""Repricing the bundled Deribit chain reproduces the venue's marks and greeks."""

from __future__ import annotations

import numpy as np
import pytest

from portmargin.analysis import reprice_chain, summarise_chain
from portmargin.core import MarketDataError
from portmargin.market import MarketSnapshot, OptionQuote


def test_marks_and_deltas_match_the_venue(demo_snapshot: MarketSnapshot) -> None:
    rows = reprice_chain(demo_snapshot.quotes.values())
    summary = summarise_chain(rows)
    assert summary.options == 326
    assert summary.median_abs_error <= 1e-5  # BTC
    assert summary.p95_abs_error <= 1e-4  # BTC
    assert summary.max_abs_error <= 3e-4
    assert summary.median_delta_error <= 1e-4
    assert summary.max_delta_error <= 2e-4


def test_other_greeks_match_within_venue_rounding(demo_snapshot: MarketSnapshot) -> None:
    quotes = list(demo_snapshot.quotes.values())
    rows = reprice_chain(quotes)
    for row, quote in zip(rows, quotes, strict=True):
        assert quote.greeks is not None
        g = quote.greeks
        assert abs(row.gamma - g.gamma) <= 6e-6, row.instrument
        assert abs(row.vega - g.vega) <= max(1e-5, 0.005 * abs(g.vega)) + 5e-6, row.instrument
        assert abs(row.theta - g.theta) <= max(5e-5, 0.01 * abs(g.theta)) + 5e-6, row.instrument


def test_coin_delta_is_net_transaction_delta(demo_snapshot: MarketSnapshot) -> None:
    rows = reprice_chain(demo_snapshot.quotes.values())
    for r in rows:
        assert r.coin_delta == pytest.approx(r.delta - r.model_price, abs=1e-15)


def test_model_price_in_coin_and_usd(demo_snapshot: MarketSnapshot) -> None:
    rows = reprice_chain(demo_snapshot.quotes.values())
    usd = np.array([r.model_price_usd for r in rows])
    coin = np.array([r.model_price for r in rows])
    fwd = np.array([r.forward for r in rows])
    np.testing.assert_allclose(coin * fwd, usd, rtol=1e-14, atol=1e-18)


def test_empty_chain() -> None:
    assert reprice_chain([]) == []
    assert summarise_chain([]).options == 0


def test_quote_at_expiry_is_an_error(demo_snapshot: MarketSnapshot) -> None:
    from dataclasses import replace

    quote: OptionQuote = next(iter(demo_snapshot.quotes.values()))
    stale = replace(quote, timestamp_ms=quote.instrument.expiry_ms)
    with pytest.raises(MarketDataError, match=quote.instrument_name):
        reprice_chain([stale])
