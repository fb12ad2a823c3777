"""Margin runs over portfolios: what-if trades and method comparison."""

from __future__ import annotations

import pytest

from portmargin.analysis import compare_methods, compute_margin, to_usd, what_if
from portmargin.instruments import parse_instrument
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.portfolio import Portfolio, Position


def pos(name: str, q: float) -> Position:
    return Position(instrument=parse_instrument(name), quantity=q)


def test_what_if_is_the_difference_of_two_margin_runs(demo_snapshot: MarketSnapshot) -> None:
    method = get_method("deribit-pm")
    params = load_params(method)
    a = Portfolio.from_positions("a", [pos("BTC-26JUN20-10000-C", -3.0)])
    b = Portfolio.from_positions("b", [pos("BTC-PERPETUAL", 2.0)])
    hedge = [pos("BTC-PERPETUAL", 1.0)]
    rows = what_if(method, [a, b], hedge, demo_snapshot, params)
    assert [w.account for w in rows] == ["a", "b"]
    for pf, w in zip((a, b), rows, strict=True):
        before = compute_margin(method, [pf], demo_snapshot, params)
        after = compute_margin(method, [pf.with_trades(hedge)], demo_snapshot, params)
        expected = float(after.initial_margin.sum() - before.initial_margin.sum())
        assert w.error is None
        assert w.change_im["BTC"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert w.after[0].account == pf.account
    assert rows[1].change_im["BTC"] > 0  # more long delta needs more margin


def test_what_if_reports_accounts_that_cannot_be_computed(demo_snapshot: MarketSnapshot) -> None:
    method = get_method("standard")
    a = Portfolio.from_positions("a", [pos("BTC-26JUN20-10000-C", -1.0)])
    (row,) = what_if(method, [a], [pos("ETH-PERPETUAL", 1.0)], demo_snapshot, load_params(method))
    assert row.error is not None
    assert "ETH" in row.error
    assert row.before == ()


def test_compare_methods_in_usd(demo_snapshot: MarketSnapshot) -> None:
    runs = {
        name: (get_method(name), load_params(get_method(name)))
        for name in ("standard", "deribit-pm")
    }
    books = [
        Portfolio.from_positions(
            "box",
            [
                pos("BTC-26JUN20-9000-C", 1.0),
                pos("BTC-26JUN20-10000-C", -1.0),
                pos("BTC-26JUN20-9000-P", -1.0),
                pos("BTC-26JUN20-10000-P", 1.0),
            ],
        ),
        Portfolio.from_positions("eth", [pos("ETH-PERPETUAL", 1.0)]),
    ]
    (box, eth) = compare_methods(runs, books, demo_snapshot)
    std = compute_margin(runs["standard"][0], books[:1], demo_snapshot, runs["standard"][1])
    expected = to_usd(float(std.initial_margin.sum()), "BTC", demo_snapshot)
    assert box.runs[0].initial_margin_usd == pytest.approx(expected, rel=1e-12)
    saving = box.saving("deribit-pm")
    assert saving is not None
    assert 0 < saving < 1
    assert all(r.error is not None for r in eth.runs)
    assert eth.saving("deribit-pm") is None


def test_compute_margin_and_compare_accept_a_book(demo_snapshot: MarketSnapshot) -> None:
    from portmargin.risk import Book

    books = [
        Portfolio.from_positions("a", [pos("BTC-26JUN20-10000-C", -3.0), pos("BTC", 1.0)]),
        Portfolio.from_positions("b", [pos("BTC-PERPETUAL", 2.0)]),
        Portfolio(account="empty"),
    ]
    book = Book.from_portfolios(books)
    method = get_method("deribit-pm")
    params = load_params(method)
    from_book = compute_margin(method, book, demo_snapshot, params)
    from_portfolios = compute_margin(method, books, demo_snapshot, params)
    assert from_book.account.tolist() == from_portfolios.account.tolist()
    assert from_book.initial_margin.tolist() == from_portfolios.initial_margin.tolist()
    runs = {n: (get_method(n), load_params(get_method(n))) for n in ("standard", "deribit-pm")}
    by_book = compare_methods(runs, book, demo_snapshot)
    by_portfolios = compare_methods(runs, books, demo_snapshot)
    assert [c.to_dict() for c in by_book] == [c.to_dict() for c in by_portfolios]
    assert [c.account for c in by_book] == ["a", "b", "empty"]
