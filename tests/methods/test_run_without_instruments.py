"""A book whose accounts hold nothing at all (no instrument column) is accounted for."""

from __future__ import annotations

import pytest

from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, method_names, run_method
from portmargin.portfolio import Portfolio
from portmargin.risk import Book


@pytest.mark.parametrize("name", method_names())
def test_accounts_without_any_instrument_get_zero_rows(
    name: str, demo_snapshot: MarketSnapshot
) -> None:
    method = get_method(name)
    book = Book.from_portfolios([Portfolio(account="a"), Portfolio(account="b")])
    assert book.shape == (2, 0)
    batch = run_method(method, book, demo_snapshot, load_params(method))
    assert batch.account.tolist() == ["a", "b"]
    assert batch.initial_margin.tolist() == [0.0, 0.0]
    assert batch.equity is not None
    assert batch.equity.tolist() == [0.0, 0.0]
