"""The solver's cheap evaluation paths give the numbers of the plain ones: a market restricted
to an account's options, one account at a time, and moved option quotes."""

from __future__ import annotations

import numpy as np
import pytest

from portmargin.analysis import sample_portfolios
from portmargin.core import year_fraction
from portmargin.instruments import Currency, Settlement
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.lifecycle import Holdings, MethodMargining
from portmargin.lifecycle._liq_rows import evaluate, restricted_market, solver_rows
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.portfolio import Portfolio, Position
from portmargin.pricing import black76
from portmargin.risk import Book, moved_market

PARAMS = load_lifecycle_params()


@pytest.fixture(scope="module")
def holdings(demo_snapshot: MarketSnapshot) -> Holdings:
    books = [*sample_portfolios(demo_snapshot)]
    cash = Position(instrument=Currency(code="USDC"), quantity=50_000.0)
    funded = [Portfolio.from_positions(p.account, (*p.positions, cash)) for p in books]
    return Holdings.settled(Book.from_portfolios(funded), demo_snapshot)


@pytest.mark.parametrize("method", ["standard", "deribit-pm", "span", "var"])
def test_one_account_on_its_restricted_market_equals_the_batch(
    demo_snapshot: MarketSnapshot, holdings: Holdings, method: str
) -> None:
    m = get_method(method)
    margining = MethodMargining(method=m, params=load_params(m))
    rows, errors = solver_rows(holdings, demo_snapshot, PARAMS.collateral)
    assert not errors
    for x in (-0.3, 0.25):
        full = evaluate(rows, moved_market(demo_snapshot, {"BTC": x}), margining)
        for i in range(len(rows.labels)):
            one = rows.subset(np.array([i]))
            small = restricted_market(demo_snapshot, one.holdings.book.instruments)
            assert len(small.quotes) < len(demo_snapshot.quotes)
            alone = evaluate(one, moved_market(small, {"BTC": x}), margining)
            assert (i in full.errors) == bool(alone.errors)
            if i in full.errors:
                continue
            assert alone.equity[0] == pytest.approx(full.equity[i], rel=1e-12, abs=1e-9)
            assert alone.maintenance_margin[0] == pytest.approx(
                full.maintenance_margin[i], rel=1e-12, abs=1e-9
            )


def test_restricted_market_keeps_the_quotes_of_usdc_settled_options(
    demo_snapshot: MarketSnapshot,
) -> None:
    inverse = next(iter(demo_snapshot.quotes.values())).instrument
    assert inverse.settlement is Settlement.INVERSE
    linear = type(inverse)(
        underlying=inverse.underlying,
        option_type=inverse.option_type,
        strike=inverse.strike,
        expiry_ms=inverse.expiry_ms,
        settlement=Settlement.LINEAR,
        quote="USDC",
    )
    small = restricted_market(demo_snapshot, (linear,))
    assert list(small.quotes) == [inverse.name]
    assert restricted_market(small, (linear,)) is small


def test_moved_option_marks_change_by_the_black76_value_change(
    demo_snapshot: MarketSnapshot,
) -> None:
    # reference: each quote priced on its own (scalar Black-76 at its mark vol)
    x = -0.137
    moved = moved_market(demo_snapshot, {"BTC": x})
    for name, q in demo_snapshot.quotes.items():
        inst = q.instrument
        tau = float(year_fraction(demo_snapshot.valuation_ms, inst.expiry_ms))
        u0, u1 = q.underlying_price, q.underlying_price * (1 + x)
        v0, v1 = (
            float(black76.price(u, inst.strike, tau, q.mark_iv, inst.is_call, allow_expired=True))
            for u in (u0, u1)
        )
        new = (q.mark_price * u0 + (v1 - v0)) / u1
        got = moved.quotes[name]
        assert got.underlying_price == u1
        assert got.mark_price == (new if new > 0 else 0.0)
        assert got.mark_iv == q.mark_iv
