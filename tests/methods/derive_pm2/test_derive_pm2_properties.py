"""Property tests of ``compute`` with the conformance default parameters."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portmargin.methods.derive_pm2 import (
    DeriveCollateralFeed,
    DeriveCollateralHolding,
    DeriveCollateralParams,
    DeriveExpiryFeed,
    DeriveMarket,
    DeriveOptions,
    DeriveParams,
    DerivePortfolio,
    compute,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAY = 86_400
EXPIRY_SECONDS = st.one_of(
    st.just(0),
    st.integers(1, 1799),
    st.integers(1800, 30 * DAY),
    st.integers(30 * DAY + 1, 2 * 365 * DAY),
)
CONFIDENCE = st.one_of(st.just(1.0), st.floats(0.0, 1.0))


@st.composite
def books(
    draw: st.DrawFn,
) -> tuple[DerivePortfolio, DeriveMarket, tuple[DeriveCollateralParams, ...]]:
    """A random account with its market data and collateral settings."""
    spot = draw(st.floats(50.0, 150_000.0))
    expiries = draw(st.lists(EXPIRY_SECONDS, min_size=1, max_size=3, unique=True))
    n = draw(st.integers(0, 8))
    which = draw(st.lists(st.integers(0, len(expiries) - 1), min_size=n, max_size=n))
    moneyness = draw(st.lists(st.floats(-1.2, 1.2), min_size=n, max_size=n))
    strikes = [round(spot * float(np.exp(m)), 2) for m in moneyness]
    calls = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    amounts = draw(st.lists(st.floats(-20.0, 20.0), min_size=n, max_size=n))
    feeds = []
    for e, seconds in enumerate(expiries):
        feed_strikes = sorted({k for k, w in zip(strikes, which, strict=True) if w == e})
        feeds.append(
            DeriveExpiryFeed(
                expiry_seconds=seconds,
                forward=spot * draw(st.floats(0.9, 1.1)),
                rate=draw(st.floats(-0.5, 1.0)),
                strikes=feed_strikes,
                vols=draw(
                    st.lists(
                        st.floats(0.0, 3.0), min_size=len(feed_strikes), max_size=len(feed_strikes)
                    )
                ),
                forward_confidence=draw(CONFIDENCE),
                rate_confidence=draw(CONFIDENCE),
                vol_confidence=draw(CONFIDENCE),
            )
        )
    names = draw(
        st.lists(st.sampled_from(["ETH", "BTC", "USDC", "WEETH"]), max_size=3, unique=True)
    )
    holdings, prices, settings_ = [], [], []
    for name in names:
        mm = draw(st.floats(0.0, 0.5))
        holdings.append(DeriveCollateralHolding(name=name, amount=draw(st.floats(0.0, 50.0))))
        prices.append(
            DeriveCollateralFeed(
                name=name, price=draw(st.floats(0.0, 2 * spot)), confidence=draw(CONFIDENCE)
            )
        )
        settings_.append(
            DeriveCollateralParams(
                name=name,
                is_risk_cancelling=draw(st.booleans()),
                mm_haircut=mm,
                im_haircut=draw(st.floats(0.0, 1.0 - mm)),
            )
        )
    portfolio = DerivePortfolio(
        cash=draw(st.floats(-1e6, 1e6)),
        perp_position=draw(st.floats(-50.0, 50.0)),
        perp_value=draw(st.floats(-1e4, 1e4)),
        options=DeriveOptions(
            expiry_seconds=[expiries[w] for w in which],
            strike=strikes,
            is_call=calls,
            amount=amounts,
        ),
        collaterals=tuple(holdings),
    )
    market = DeriveMarket(
        spot_price=spot,
        spot_confidence=draw(CONFIDENCE),
        perp_price=spot * draw(st.floats(0.95, 1.05)),
        perp_confidence=draw(CONFIDENCE),
        stable_price=draw(st.floats(0.5, 1.05)),
        expiries=tuple(feeds),
        collaterals=tuple(prices),
    )
    return portfolio, market, tuple(settings_)


Book = tuple[DerivePortfolio, DeriveMarket, tuple[DeriveCollateralParams, ...]]


def _scale(result_pnl: np.ndarray) -> float:
    return float(np.max(np.abs(result_pnl), initial=1.0))


@SETTINGS
@given(book=books())
def test_requirements_are_non_negative_and_explained(
    default_params: DeriveParams, book: Book
) -> None:
    portfolio, market, collaterals = book
    params = dataclasses.replace(default_params, collaterals=collaterals)
    result = compute(portfolio, market, params)
    assert result.min_span <= 0.0
    assert result.basis_contingency <= 0.0
    assert result.im_requirement >= 0.0
    assert result.mm_requirement >= 0.0
    assert all(c.amount >= 0.0 for c in result.im_components + result.mm_components)
    total = abs(result.equity) + result.im_requirement + 1.0
    assert result.im == pytest.approx(result.equity - result.im_requirement, abs=1e-9 * total)
    assert result.mm == pytest.approx(result.equity - result.mm_requirement, abs=1e-9 * total)
    assert sum(c.amount for c in result.im_components) == pytest.approx(
        result.im_requirement, abs=1e-9 * total
    )
    pnl = result.pnl_array()
    assert pnl.shape == (len(params.scenarios),)
    assert np.isfinite(pnl).all()
    if result.worst_scenario_index is None:
        assert result.worst_scenario == "basis"
        assert result.min_span == result.basis_contingency
    else:
        assert result.min_span == pnl.min() == pnl[result.worst_scenario_index]


@SETTINGS
@given(
    spot=st.floats(1.0, 1e6),
    conf=CONFIDENCE,
    stable=st.floats(0.1, 2.0),
)
def test_empty_portfolio_needs_no_margin(
    default_params: DeriveParams, spot: float, conf: float, stable: float
) -> None:
    market = DeriveMarket(spot_price=spot, spot_confidence=conf, stable_price=stable)
    result = compute(DerivePortfolio(), market, default_params)
    assert result.im_requirement == 0.0
    assert result.mm_requirement == 0.0
    assert result.im == 0.0
    assert result.mm == 0.0
    assert not result.pnl_array().any()


@SETTINGS
@given(book=books(), amount=st.floats(0.01, 100.0))
def test_long_and_short_of_the_same_option_cancel(
    default_params: DeriveParams, book: Book, amount: float
) -> None:
    _, market, _ = book
    feeds = [f for f in market.expiries if f.strikes.size]
    if not feeds:
        return
    feed = feeds[0]
    k = float(feed.strikes[0])
    options = DeriveOptions(
        expiry_seconds=[feed.expiry_seconds] * 2,
        strike=[k, k],
        is_call=[True, True],
        amount=[amount, -amount],
    )
    result = compute(DerivePortfolio(options=options), market, default_params)
    assert not result.pnl_array().any()
    assert result.option_mtm == 0.0
    assert result.basis_contingency == 0.0
    assert result.mm_requirement == 0.0
    assert result.expiries[0].naked_shorts == 0.0


@SETTINGS
@given(book=books(), k=st.floats(0.01, 100.0))
def test_scenario_pnl_is_homogeneous_in_option_amounts(
    default_params: DeriveParams, book: Book, k: float
) -> None:
    portfolio, market, _ = book
    options_only = DerivePortfolio(options=portfolio.options)
    scaled = DerivePortfolio(options=portfolio.options.scaled(k))
    base = compute(options_only, market, default_params).pnl_array()
    bigger = compute(scaled, market, default_params).pnl_array()
    np.testing.assert_allclose(bigger, k * base, rtol=1e-9, atol=1e-9 * k * _scale(base))
