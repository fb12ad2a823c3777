"""Priced snapshots: rows resolved once and reused, bit for bit equal to a fresh resolution."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import portmargin.distributed  # noqa: F401  (registers the pickling of read-only mappings)
import portmargin.risk._priced as priced_module
from method_universe import Universe
from portmargin.bench import synthetic_book
from portmargin.instruments import Instrument, parse_instrument
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, method_names, run_method
from portmargin.results import MarginBatch
from portmargin.risk import (
    Book,
    InstrumentTable,
    PricedSnapshot,
    price_snapshot,
    resolve_instruments,
)
from portmargin.risk._table import resolve_fresh

POOL = (
    # listed
    "BTC-26JUN20-9000-C",
    "BTC-26JUN20-9000-P",
    "BTC-26JUN20-10000-C",
    "BTC_USDC-26JUN20-9000-C",
    "BTC-26JUN20",
    "BTC-PERPETUAL",
    "BTC_USDC-PERPETUAL",
    "BTC_USDC",
    # unlisted (priced from the smile only when allowed)
    "BTC-27JUN20-9000-C",
    "BTC-26JUN21-9000-C",
    "BTC-26JUN20-123456-C",
    "BTC-27JUN20",
    # no market for the underlying
    "ETH-26JUN20-200-C",
    "ETH-PERPETUAL",
    "ETH-26JUN20",
    # expired at valuation time
    "BTC-15MAY20-9000-C",
    "BTC-15MAY20",
    # balances
    "BTC",
    "USDC",
    "ETH",
)
INSTRUMENTS = tuple(parse_instrument(n) for n in POOL)
ARRAYS = (
    "kind",
    "underlying",
    "settlement_currency",
    "inverse",
    "strike",
    "is_call",
    "expiry_ms",
    "tau",
    "forward",
    "index",
    "sigma",
    "df",
    "unlisted",
)


def assert_identical(a: InstrumentTable, b: InstrumentTable) -> None:
    """Same instruments, same bits in every array, same missing reasons."""
    assert a.instruments == b.instruments
    assert a.names == b.names
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert x.shape == y.shape, name
        if x.dtype == object:
            assert x.tolist() == y.tolist(), name
        else:
            assert x.tobytes() == y.tobytes(), name
    assert dict(a.missing) == dict(b.missing)


def markets(snapshot: MarketSnapshot) -> tuple[MarketSnapshot, ...]:
    """Both permissions, with and without vol smiles (futures then price, options do not)."""
    no_smiles = dataclasses.replace(snapshot, smiles={})
    return (
        snapshot,
        snapshot.with_unlisted_allowed(),
        no_smiles,
        no_smiles.with_unlisted_allowed(),
    )


picks = st.lists(st.integers(0, len(POOL) - 1), unique=True)


@settings(max_examples=150, deadline=None)
@given(priced=picks, more=picks, asked=picks, which=st.integers(0, 3))
def test_resolving_against_a_priced_snapshot_equals_a_fresh_resolution(
    demo_snapshot: MarketSnapshot,
    priced: list[int],
    more: list[int],
    asked: list[int],
    which: int,
) -> None:
    market = markets(demo_snapshot)[which]
    first = price_snapshot(market, [INSTRUMENTS[k] for k in priced])
    second = price_snapshot(first, [INSTRUMENTS[k] for k in more])
    wanted = [INSTRUMENTS[k] for k in asked]
    fresh = resolve_fresh(wanted, market)
    assert_identical(resolve_instruments(wanted, first), fresh)
    assert_identical(resolve_instruments(wanted, second), fresh)
    assert_identical(first.table, resolve_fresh([INSTRUMENTS[k] for k in priced], market))
    assert first.allow_unlisted is market.allow_unlisted


def test_a_priced_snapshot_is_the_snapshot(demo_snapshot: MarketSnapshot) -> None:
    priced = price_snapshot(demo_snapshot, INSTRUMENTS)
    assert isinstance(priced, MarketSnapshot)
    for f in dataclasses.fields(MarketSnapshot):
        assert getattr(priced, f.name) is getattr(demo_snapshot, f.name), f.name
    assert priced.holds(INSTRUMENTS[:3])
    assert not priced.holds([parse_instrument("BTC-26JUN20-11000-C")])
    assert price_snapshot(priced, INSTRUMENTS[:5]) is priced
    assert (
        PricedSnapshot(
            valuation_ms=demo_snapshot.valuation_ms, index_prices={"BTC": 1.0}
        ).table.names
        == ()
    )


def test_rows_are_never_reused_under_another_permission(demo_snapshot: MarketSnapshot) -> None:
    priced = price_snapshot(demo_snapshot, INSTRUMENTS)
    assert "BTC-27JUN20-9000-C" in priced.table.missing
    allowed = priced.with_unlisted_allowed()
    assert isinstance(allowed, PricedSnapshot)
    assert allowed.allow_unlisted
    assert allowed.table.instruments == INSTRUMENTS
    assert_identical(
        allowed.table, resolve_fresh(INSTRUMENTS, demo_snapshot.with_unlisted_allowed())
    )
    assert allowed.with_unlisted_allowed() is allowed
    replaced = dataclasses.replace(priced, allow_unlisted=True)
    assert isinstance(replaced, PricedSnapshot)
    assert len(replaced.table) == 0
    assert not replaced.holds(INSTRUMENTS[:1])
    assert_identical(
        resolve_instruments(INSTRUMENTS, replaced),
        resolve_fresh(INSTRUMENTS, demo_snapshot.with_unlisted_allowed()),
    )
    moved = dataclasses.replace(priced, index_prices={"BTC": 20_000.0})
    assert len(moved.table) == 0


def test_a_priced_snapshot_pickles(demo_snapshot: MarketSnapshot) -> None:
    priced = price_snapshot(demo_snapshot.with_unlisted_allowed(), INSTRUMENTS)
    back = pickle.loads(pickle.dumps(priced))
    assert isinstance(back, PricedSnapshot)
    assert back.allow_unlisted
    assert back.valuation_ms == priced.valuation_ms
    assert dict(back.index_prices) == dict(priced.index_prices)
    assert_identical(back.table, priced.table)
    assert back.holds(INSTRUMENTS)
    wanted = list(reversed(INSTRUMENTS[2:9]))
    assert_identical(resolve_instruments(wanted, back), resolve_instruments(wanted, priced))


def exact(a: MarginBatch, b: MarginBatch) -> None:
    assert dict(a.errors) == dict(b.errors)
    assert a.account.tolist() == b.account.tolist()
    assert a.currency.tolist() == b.currency.tolist()
    np.testing.assert_array_equal(a.initial_margin, b.initial_margin)
    np.testing.assert_array_equal(a.maintenance_margin, b.maintenance_margin)
    assert list(a.components) == list(b.components)
    for name, values in a.components.items():
        np.testing.assert_array_equal(values, b.components[name], err_msg=name)
    assert a.notes == b.notes
    for name in ("equity", "excess", "margin_ratio"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y, err_msg=name)


def book_with_errors(universe: Universe) -> Book:
    book = synthetic_book(universe.instruments, 30, 6, np.random.default_rng(11))
    rows = book.quantities.tocoo()
    extra = len(book.instruments)
    return Book.from_arrays(
        book.accounts,
        [*book.instruments, universe.unpriced],
        np.concatenate([rows.row, [2, 7]]),
        np.concatenate([rows.col, [extra, extra]]),
        np.concatenate([rows.data, [1.0, -2.0]]),
    )


@pytest.mark.parametrize("name", method_names())
def test_every_method_gives_the_same_results_through_a_priced_snapshot(
    name: str, universe: Universe
) -> None:
    method = get_method(name)
    params = load_params(method)
    book = book_with_errors(universe).with_columns_by_name()
    plain = method.compute(book, universe.market, params)
    assert plain.errors
    for instruments in (book.instruments, book.instruments[::2]):
        priced = price_snapshot(universe.market, instruments)
        exact(method.compute(book, priced, params), plain)
        exact(
            run_method(method, book, priced, params),
            run_method(method, book, universe.market, params),
        )


def test_a_run_resolves_each_instrument_of_its_book_once(
    coin_universe: Universe, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolved: list[str] = []

    def counting(instruments: tuple[Instrument, ...], market: MarketSnapshot) -> InstrumentTable:
        resolved.extend(i.name for i in instruments)
        return resolve_fresh(instruments, market)

    monkeypatch.setattr(priced_module, "resolve_fresh", counting)
    method = get_method("deribit-pm")
    book = book_with_errors(coin_universe)
    run_method(method, book, coin_universe.market, load_params(method))
    held = [i.name for i in book.instruments]
    assert sorted(n for n in resolved if n in held) == sorted(held)
