"""The engine keeps its book's instruments priced: each resolved once per snapshot."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import linear_market_support as lm
import portmargin.risk._priced as priced_module
from method_universe import LINEAR_ONLY, Universe
from portmargin.analysis import MarginEngine
from portmargin.bench import synthetic_book
from portmargin.data import demo_chain_path, demo_daily_paths
from portmargin.instruments import Instrument
from portmargin.io import load_history
from portmargin.io.deribit import load_deribit_chain_csv
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, method_names, run_method
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import InstrumentTable, PricedSnapshot
from portmargin.risk._table import resolve_fresh


def other_market(name: str) -> MarketSnapshot:
    if name in LINEAR_ONLY:
        return lm.market({"BTC": 72_100.0}, days=(7.0, 30.0, 90.0), vol=0.62)
    chain = load_deribit_chain_csv(demo_chain_path(), forward_pick="median").snapshot
    return chain.with_history(load_history(demo_daily_paths()).history)


@pytest.mark.parametrize("name", method_names())
def test_the_engine_resolves_each_instrument_once_per_snapshot(
    name: str, universe: Universe, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolved: list[str] = []

    def counting(instruments: tuple[Instrument, ...], market: MarketSnapshot) -> InstrumentTable:
        resolved.extend(i.name for i in instruments)
        return resolve_fresh(instruments, market)

    monkeypatch.setattr(priced_module, "resolve_fresh", counting)
    method = get_method(name)
    params = load_params(method)
    book = synthetic_book(universe.instruments, 40, 8, np.random.default_rng(3))
    engine = MarginEngine(method, params, book, universe.market)

    def once_each() -> None:
        held = {i.name for i in engine.book.instruments}
        counts = Counter(n for n in resolved if n in held)
        assert counts == dict.fromkeys(held, 1)
        assert isinstance(engine.priced, PricedSnapshot)
        assert engine.priced.holds(engine.book.instruments)
        resolved.clear()

    once_each()
    assert engine.market is universe.market
    held = {i.name for i in book.instruments}
    mine = [Position(instrument=book.instruments[k], quantity=1.5) for k in (0, 3, 5)]
    engine.update_positions([Portfolio.from_positions(book.accounts[2], mine)])
    assert not held & set(resolved)
    newcomer = Portfolio.from_positions(
        "newcomer", [*mine, Position(instrument=universe.unpriced, quantity=-1.0)]
    )
    part = engine.update_positions([newcomer])
    assert set(resolved) & ({universe.unpriced.name} | held) == {universe.unpriced.name}
    assert "newcomer" in part.errors
    resolved.clear()

    moved = other_market(name)
    engine.update_market(moved)
    assert engine.market is moved
    once_each()
    assert engine.priced.table.names == tuple(i.name for i in engine.book.instruments)
    full = run_method(method, engine.book, moved, params)
    assert dict(engine.batch.errors) == dict(full.errors)
    np.testing.assert_array_equal(
        np.sort(engine.batch.initial_margin), np.sort(full.initial_margin)
    )
