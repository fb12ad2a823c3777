"""Properties of liquidation prices: closed forms over random linear books, ``E = MM`` at the
root of option books under registered methods, nothing where nothing is reachable, current
prices for accounts already below MM."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from liqprice_support import holdings, linear_market, rates

from portmargin.instruments import Currency, Perpetual
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.lifecycle import (
    Holdings,
    MethodMargining,
    assess,
    liquidation_prices,
)
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book, moved_market

NAN = float("nan")
PARAMS = load_lifecycle_params()

_account = st.tuples(
    st.floats(100.0, 1e6),  # collateral C, USDC
    st.floats(0.01, 100.0),  # size n, BTC
    st.floats(100.0, 1e5),  # entry P0
    st.booleans(),  # long?
)


def _closed_form(c: float, n: float, p0: float, r: float, long: bool) -> float:
    return (n * p0 - c) / (n * (1 - r)) if long else (c + n * p0) / (n * (1 + r))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    accounts=st.lists(_account, min_size=1, max_size=6),
    spot=st.floats(100.0, 1e5),
    r=st.floats(0.001, 0.5),
)
def test_linear_books_match_the_closed_form(
    accounts: list[tuple[float, float, float, bool]], spot: float, r: float
) -> None:
    market = linear_market({"BTC": spot})
    books = [
        (f"a{i}", [("USDC", c, NAN), ("BTC_USDC-PERPETUAL", n if long else -n, p0)])
        for i, (c, n, p0, long) in enumerate(accounts)
    ]
    res = liquidation_prices(holdings(books, market), market, rates({"BTC": r}), PARAMS)
    assert not res.errors
    for i, (c, n, p0, long) in enumerate(accounts):
        p = _closed_form(c, n, p0, r, long)
        g0 = c + (n if long else -n) * (spot - p0) - r * n * spot
        if g0 < 0:  # already below MM: current prices on both sides
            assert res.liquidatable[i]
            for side in (res.down, res.up):
                assert side.x[i] == 0.0
                assert side.prices[i, 0] == spot
            continue
        assert not res.liquidatable[i]
        near, far = (res.down, res.up) if long else (res.up, res.down)
        assert not far.reachable[i]  # a long gains going up, a short going down
        low, high = (0.01 * spot, spot) if long else (spot, 11.0 * spot)
        if abs(p / low - 1) < 1e-6 or abs(p / high - 1) < 1e-6:
            continue  # at the edge of the searched range
        if low < p < high:
            assert near.reachable[i]
            assert near.prices[i, 0] == pytest.approx(p, rel=1e-9, abs=spot * 2e-10)
            e, mm = near.equity[i], near.maintenance_margin[i]
            assert e == pytest.approx(mm, rel=1e-8, abs=1e-6)
        else:  # no price in range makes it liquidatable
            assert not near.reachable[i]
            assert np.isnan(near.x[i])
            assert np.isnan(near.prices[i, 0])


@settings(max_examples=25, deadline=None)
@given(c=st.floats(0.0, 1e6), n=st.floats(0.01, 100.0), r=st.floats(0.001, 0.5))
def test_already_below_mm_returns_current_prices(c: float, n: float, r: float) -> None:
    spot = 50_000.0
    market = linear_market({"BTC": spot})
    short_of = r * n * spot - c  # g(0) = C - r n S < 0 when C < r n S
    if short_of <= 1e-6:
        c = r * n * spot * 0.5
    books = [("a", [("USDC", c, NAN), ("BTC_USDC-PERPETUAL", n, spot)])]
    res = liquidation_prices(holdings(books, market), market, rates({"BTC": r}), PARAMS)
    assert res.liquidatable[0]
    for side in (res.down, res.up):
        assert side.reachable[0]
        assert side.x[0] == 0.0
        assert side.prices[0, 0] == spot
        assert side.equity[0] < side.maintenance_margin[0]


# ---- option books on the bundled chain -------------------------------------------------------


@pytest.fixture(scope="module")
def chain(demo_snapshot: MarketSnapshot) -> MarketSnapshot:
    return demo_snapshot


def _option_positions(
    market: MarketSnapshot, picks: list[tuple[int, float]], cash: float
) -> list[Position]:
    """Options picked from the chain, a rough perpetual hedge and a USDC balance."""
    quotes = sorted(market.quotes.values(), key=lambda q: q.instrument_name)
    options = [
        Position(instrument=quotes[k % len(quotes)].instrument, quantity=q) for k, q in picks
    ]
    hedge = float(np.round(-sum(q for _, q in picks) / 4, 1)) or 0.1
    return [
        *options,
        Position(instrument=Perpetual(underlying="BTC", contract_size=10.0), quantity=hedge),
        Position(instrument=Currency(code="USDC"), quantity=cash),
    ]


def _book(accounts: dict[str, list[Position]]) -> Book:
    return Book.from_portfolios([Portfolio.from_positions(a, ps) for a, ps in accounts.items()])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["standard", "deribit-pm"])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    picks=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from([-5.0, -2.0, -0.5, 1.0, 3.0])),
        min_size=1,
        max_size=4,
    ),
    cushion=st.floats(1.05, 4.0),
)
def test_option_books_have_equity_equal_to_mm_at_the_root(
    chain: MarketSnapshot, method: str, picks: list[tuple[int, float]], cushion: float
) -> None:
    m = get_method(method)
    margining = MethodMargining(method=m, params=load_params(m))
    unfunded = Holdings.settled(_book({"opt": _option_positions(chain, picks, 1.0)}), chain)
    now = assess(unfunded, chain, margining, PARAMS)
    deposit = max(cushion * now.initial_margin[0] - now.equity[0], 1.0)
    h = Holdings.settled(_book({"opt": _option_positions(chain, picks, deposit)}), chain)
    res = liquidation_prices(h, chain, margining, PARAMS, {"BTC": 1})
    assert not res.errors
    assert not res.liquidatable[0]
    spot = chain.index("BTC")
    for side in (res.down, res.up):
        if not side.reachable[0]:
            continue
        price = float(side.prices[0, 0])
        # independent revaluation on the full market at the returned price
        at = assess(h, moved_market(chain, {"BTC": price / spot - 1.0}), margining, PARAMS)
        scale = max(abs(at.maintenance_margin[0]), 1.0)
        assert at.equity[0] == pytest.approx(at.maintenance_margin[0], abs=1e-6 * scale)
        assert side.equity[0] == pytest.approx(at.equity[0], abs=1e-6 * scale)
        # the grid found no sign change closer to the market than the root's grid cell
        cell = np.floor(abs(float(side.x[0])) / 0.005) * 0.005 * np.sign(side.x[0])
        if cell != 0:
            before = assess(h, moved_market(chain, {"BTC": float(cell)}), margining, PARAMS)
            assert before.equity[0] >= before.maintenance_margin[0]


def test_results_do_not_depend_on_the_batch(chain: MarketSnapshot) -> None:
    # every account solved in one batch has the root it has when solved alone
    m = get_method("standard")
    margining = MethodMargining(method=m, params=load_params(m))
    accounts = {
        "x": _option_positions(chain, [(7, -2.0), (40, 1.0)], 8_000.0),
        "y": _option_positions(chain, [(120, -5.0)], 30_000.0),
    }
    both = Holdings.settled(_book(accounts), chain)
    batch = liquidation_prices(both, chain, margining, PARAMS, {"BTC": 1})
    for a, (name, positions) in enumerate(accounts.items()):
        one = Holdings.settled(_book({name: positions}), chain)
        alone = liquidation_prices(one, chain, margining, PARAMS, {"BTC": 1})
        assert batch.labels[a] == name
        for s_batch, s_alone in ((batch.down, alone.down), (batch.up, alone.up)):
            assert s_batch.reachable[a] == s_alone.reachable[0]
            np.testing.assert_array_equal(s_batch.x[a], s_alone.x[0])
        assert batch.down.reachable[a] or batch.up.reachable[a]
