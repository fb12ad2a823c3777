"""Invariants of the standard method over random books on the bundled Deribit chain."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from portmargin.data import demo_chain_path
from portmargin.instruments import Currency, Instrument, Perpetual, Settlement, parse_instrument
from portmargin.io.deribit import load_snapshot
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods.standard import StandardMargin, StandardParams
from portmargin.results import MarginBatch
from portmargin.risk import Book

METHOD = StandardMargin()
MARKET: MarketSnapshot = load_snapshot(demo_chain_path()).snapshot
OPTIONS: list[Instrument] = [
    parse_instrument(n)
    for n in (
        "BTC-26JUN20-10500-C",
        "BTC-26JUN20-8000-P",
        "BTC-26JUN20-28000-P",
        "BTC-25SEP20-9000-P",
        "BTC-22MAY20-9000-C",
    )
]
DELTA_ONE: list[Instrument] = [
    Perpetual(underlying="BTC"),
    Perpetual(underlying="BTC", quote="USDC", settlement=Settlement.LINEAR),
    parse_instrument("BTC-26JUN20"),
]
BALANCES: list[Instrument] = [Currency(code="BTC"), Currency(code="USDC")]
UNIVERSE = OPTIONS + DELTA_ONE + BALANCES
N_OPT = len(OPTIONS)


def _params(pack: str) -> StandardParams:
    params = load_params(METHOD, pack)
    assert isinstance(params, StandardParams)
    return params


DERIBIT = _params("standard/deribit-sm-2024")
PARADEX = _params("standard/paradex-cross-2026")
PACKS = st.sampled_from([DERIBIT, PARADEX])

quantity = st.one_of(st.just(0.0), st.floats(-500.0, 500.0, allow_subnormal=False))


def _matrices(n_cols: int) -> st.SearchStrategy[np.ndarray]:
    return st.integers(1, 6).flatmap(
        lambda rows: arrays(np.float64, (rows, n_cols), elements=quantity)
    )


def _book(q: np.ndarray, instruments: list[Instrument]) -> Book:
    rows, cols = np.nonzero(q)
    return Book.from_arrays(
        [f"a{i}" for i in range(q.shape[0])], instruments, rows, cols, q[rows, cols]
    )


def _totals(batch: MarginBatch) -> dict[tuple[str, str], tuple[float, float]]:
    return {
        (str(a), str(c)): (float(im), float(mm))
        for a, c, im, mm in zip(
            batch.account,
            batch.currency,
            batch.initial_margin,
            batch.maintenance_margin,
            strict=True,
        )
    }


@settings(max_examples=60, deadline=None)
@given(q=_matrices(len(UNIVERSE)), params=PACKS)
def test_requirements_are_non_negative_and_explained(q: np.ndarray, params: StandardParams) -> None:
    batch = METHOD.compute(_book(q, UNIVERSE), MARKET, params)
    assert not batch.errors
    assert np.all(batch.initial_margin >= 0)
    assert np.all(batch.maintenance_margin >= 0)
    assert np.all(batch.initial_margin >= batch.maintenance_margin - 1e-12)
    for i in range(len(batch)):
        explained = -sum(c.pnl for c in batch.result(i).contributions)
        assert explained == pytest.approx(batch.initial_margin[i], rel=1e-12, abs=1e-12)
        parts = [v[i] for k, v in batch.components.items() if k.startswith("initial_margin/")]
        assert sum(parts) == pytest.approx(batch.initial_margin[i], rel=1e-12, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(q=_matrices(len(UNIVERSE)), params=PACKS)
def test_batch_equals_accounts_one_by_one(q: np.ndarray, params: StandardParams) -> None:
    together = _totals(METHOD.compute(_book(q, UNIVERSE), MARKET, params))
    alone: dict[tuple[str, str], tuple[float, float]] = {}
    for i in range(q.shape[0]):
        single = METHOD.compute(_book(q[i : i + 1], UNIVERSE), MARKET, params)
        alone |= {(f"a{i}", c): v for (_, c), v in _totals(single).items()}
    assert together.keys() == alone.keys()
    for key, value in together.items():
        assert value == pytest.approx(alone[key], rel=1e-12)


@pytest.mark.parametrize("params", [DERIBIT, PARADEX])
def test_empty_book(params: StandardParams) -> None:
    batch = METHOD.compute(Book.from_portfolios([]), MARKET, params)
    assert len(batch) == 0
    assert not batch.errors


def test_accounts_without_positions() -> None:
    book = Book.from_arrays(["x", "y"], UNIVERSE, np.array([0]), np.array([0]), np.array([1.0]))
    assert len(METHOD.compute(book, MARKET, DERIBIT)) == 1  # rows only where entries are
    paradex = METHOD.compute(book, MARKET, PARADEX)
    assert list(paradex.account) == ["x", "y"]
    assert paradex.initial_margin[1] == 0.0
    assert paradex.maintenance_margin[1] == 0.0


@settings(max_examples=40, deadline=None)
@given(q=_matrices(N_OPT))
def test_long_options_need_no_deribit_margin(q: np.ndarray) -> None:
    batch = METHOD.compute(_book(np.abs(q), OPTIONS), MARKET, DERIBIT)
    assert np.all(batch.initial_margin == 0)
    assert np.all(batch.maintenance_margin == 0)


@settings(max_examples=40, deadline=None)
@given(q=_matrices(N_OPT), k=st.floats(0.01, 100.0), params=PACKS)
def test_option_books_scale_linearly(q: np.ndarray, k: float, params: StandardParams) -> None:
    base = METHOD.compute(_book(q, OPTIONS), MARKET, params)
    scaled = METHOD.compute(_book(k * q, OPTIONS), MARKET, params)
    np.testing.assert_allclose(scaled.initial_margin, k * base.initial_margin, rtol=1e-12)
    np.testing.assert_allclose(scaled.maintenance_margin, k * base.maintenance_margin, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(size=st.floats(0.1, 1_000.0), column=st.integers(0, len(DELTA_ONE) - 1))
def test_futures_rates_grow_with_size(size: float, column: int) -> None:
    """Deribit futures rates rise with size: doubling a position more than doubles IM."""
    inst = [DELTA_ONE[column]]
    one = METHOD.compute(_book(np.array([[size]]), inst), MARKET, DERIBIT)
    two = METHOD.compute(_book(np.array([[2.0 * size]]), inst), MARKET, DERIBIT)
    assert two.initial_margin[0] > 2.0 * one.initial_margin[0]
    assert two.maintenance_margin[0] > 2.0 * one.maintenance_margin[0]


@settings(max_examples=40, deadline=None)
@given(q=_matrices(len(UNIVERSE)), hedge=st.floats(-50.0, 50.0), params=PACKS)
def test_a_hedge_never_reduces_standard_margin(
    q: np.ndarray, hedge: float, params: StandardParams
) -> None:
    """Adding a position in an instrument the account does not hold never lowers a row."""
    q = q.copy()
    q[:, N_OPT] = 0.0  # BTC-PERPETUAL is the hedge leg
    hedged = q.copy()
    hedged[:, N_OPT] = hedge
    before = _totals(METHOD.compute(_book(q, UNIVERSE), MARKET, params))
    after = _totals(METHOD.compute(_book(hedged, UNIVERSE), MARKET, params))
    for key, (im, mm) in before.items():
        assert after[key][0] >= im - 1e-12 * max(1.0, im)
        assert after[key][1] >= mm - 1e-12 * max(1.0, mm)


def test_delta_hedged_short_call_pays_both_legs() -> None:
    call, perp = OPTIONS[0], DELTA_ONE[0]
    alone = METHOD.compute(_book(np.array([[-10.0, 0.0]]), [call, perp]), MARKET, DERIBIT)
    perp_only = METHOD.compute(_book(np.array([[0.0, 4.0]]), [call, perp]), MARKET, DERIBIT)
    both = METHOD.compute(_book(np.array([[-10.0, 4.0]]), [call, perp]), MARKET, DERIBIT)
    total = alone.initial_margin[0] + perp_only.initial_margin[0]
    assert both.initial_margin[0] == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize("params", [DERIBIT, PARADEX])
def test_missing_market_data_is_an_account_error(params: StandardParams) -> None:
    eth = Perpetual(underlying="ETH")
    book = Book.from_arrays(
        ["bad", "good"],
        [eth, OPTIONS[0]],
        np.array([0, 0, 1]),
        np.array([0, 1, 1]),
        np.array([1.0, -1.0, -1.0]),
    )
    batch = METHOD.compute(book, MARKET, params)
    assert set(batch.account) == {"good"}
    assert "ETH" in batch.errors["bad"]
    assert batch.initial_margin[0] > 0
