"""Invariants every registered margin method must satisfy.

Books come from the bundled Deribit chain, except for derive-pm2, which gets a USDC market
(``method_universe``).

The scenario component of a method is the part produced by its scenario losses; methods name
it in ``SCENARIO_COMPONENT`` (standard margin has none and is not subadditive, because its
futures rates grow with size). Deribit's extended dampener is a fixed USD relief per book, so
the homogeneity and subadditivity checks run deribit-pm with the dampener off
(``extended_dampener_mode = "none"``); the dampened worst case is neither.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from method_universe import Universe
from portmargin.analysis import to_usd
from portmargin.bench import synthetic_book
from portmargin.io.params import load_params, read_pack
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, method_names
from portmargin.portfolio import Portfolio, Position
from portmargin.results import MarginBatch
from portmargin.risk import Book

SCENARIO_COMPONENT = {
    "deribit-pm": "risk_matrix_margin/worst_case",
    "paradex-pm": "scan_risk",
    "span": "span_risk_mm/BTC-BTC/scan_risk",
    "var": "core_margin",
}
PORTFOLIO_METHODS = [m for m in method_names() if m != "standard"]


def run(name: str, book: Book, market: MarketSnapshot, *, homogeneous: bool = False) -> MarginBatch:
    method = get_method(name)
    params = load_params(method)
    if homogeneous and name == "deribit-pm":
        pack = read_pack(method.default_pack)
        pack["assumptions"]["extended_dampener_mode"] = "none"
        params = method.params_from_mapping(pack)
    return method.compute(book, market, params)


def total(batch: MarginBatch, account: str, attr: str = "initial_margin") -> float:
    values = getattr(batch, attr)
    return float(sum(values[i] for i in batch.rows_of(account)))


def component(batch: MarginBatch, account: str, name: str) -> float:
    return float(sum(batch.components[name][i] for i in batch.rows_of(account)))


def test_methods_are_registered() -> None:
    assert {"standard", "deribit-pm", "paradex-pm", "okx-pm", "derive-pm2", "var"} <= set(
        method_names()
    )


@pytest.mark.parametrize("name", method_names())
def test_random_books_have_finite_non_negative_margin(name: str, universe: Universe) -> None:
    book = synthetic_book(universe.instruments, 300, 20, np.random.default_rng(1))
    batch = run(name, book, universe.market)
    assert not batch.errors
    assert len(set(batch.account.tolist())) == 300
    assert np.all(np.isfinite(batch.initial_margin))
    assert np.all(batch.initial_margin >= 0)
    assert np.all(batch.maintenance_margin >= 0)
    assert np.all(batch.maintenance_margin <= batch.initial_margin * (1 + 1e-12) + 1e-12)
    for values in batch.components.values():
        assert np.all(np.isfinite(values))
    result = batch.result(0)
    assert result.method == name
    assert result.params_version


@pytest.mark.parametrize("name", method_names())
def test_empty_and_flat_books_need_nothing(name: str, universe: Universe) -> None:
    call = universe.short_call
    flat = Portfolio.from_positions(
        "flat",
        [Position(instrument=call, quantity=3.0), Position(instrument=call, quantity=-3.0)],
    )
    book = Book.from_portfolios([Portfolio(account="empty"), flat])
    batch = run(name, book, universe.market)
    assert total(batch, "empty") == 0.0
    assert total(batch, "flat") == 0.0


@pytest.mark.parametrize("name", method_names())
def test_bad_accounts_are_reported_and_others_computed(name: str, universe: Universe) -> None:
    good = Portfolio.from_positions(
        "good", [Position(instrument=universe.short_call, quantity=-1.0)]
    )
    bad = Portfolio.from_positions("bad", [Position(instrument=universe.unpriced, quantity=-1.0)])
    batch = run(name, Book.from_portfolios([good, bad]), universe.market)
    assert "bad" in batch.errors
    assert "ETH" in batch.errors["bad"]
    assert total(batch, "good") > 0


@pytest.mark.parametrize("name", sorted(SCENARIO_COMPONENT))
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), k=st.floats(0.1, 10.0))
def test_scenario_component_is_subadditive_and_homogeneous(
    name: str, seed: int, k: float, coin_universe: Universe
) -> None:
    instruments = coin_universe.instruments
    rng = np.random.default_rng(seed)
    a = synthetic_book(instruments, 1, 6, rng)
    b = synthetic_book(instruments, 1, 6, rng)
    qa = a.quantities.toarray()[0]
    qb = b.quantities.toarray()[0]
    book = Book.from_arrays(
        ["a", "b", "ab", "ka"],
        instruments,
        np.repeat(np.arange(4), len(instruments)),
        np.tile(np.arange(len(instruments)), 4),
        np.concatenate([qa, qb, qa + qb, k * qa]),
    )
    batch = run(name, book, coin_universe.market, homogeneous=True)
    comp = SCENARIO_COMPONENT[name]
    wa, wb, wab, wka = (component(batch, x, comp) for x in ("a", "b", "ab", "ka"))
    assert wab <= wa + wb + 1e-9 * (1 + wa + wb)
    assert wka == pytest.approx(k * wa, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", PORTFOLIO_METHODS)
def test_a_hedge_costs_less_than_standard_margin(name: str, universe: Universe) -> None:
    """Coin books: long future against short perpetual plus a call spread; USDC books: a short
    call covered by a long perpetual. The portfolio nets the price risk."""
    legs = [Position(instrument=i, quantity=q) for i, q in universe.hedged_book]
    book = Book.from_portfolios([Portfolio.from_positions("hedged", legs)])
    pm = run(name, book, universe.market)
    std = run("standard", book, universe.market)

    def usd(batch: MarginBatch) -> float:
        return sum(
            to_usd(float(batch.initial_margin[i]), str(batch.currency[i]), universe.market)
            for i in batch.rows_of("hedged")
        )

    assert 0 < usd(pm) < usd(std)
