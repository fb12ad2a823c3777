"""MethodMargining: requirements of any registered method, rows summed in USD per account."""

from __future__ import annotations

import numpy as np
import pytest

from portmargin.analysis import sample_portfolios
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.lifecycle import Holdings, MethodMargining, assess
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, run_method
from portmargin.risk import STABLECOINS, Book


@pytest.mark.parametrize("name", ["standard", "deribit-pm", "span"])
def test_rows_are_summed_in_usd(name: str, demo_snapshot: MarketSnapshot) -> None:
    method = get_method(name)
    params = load_params(method)
    book = Book.from_portfolios(sample_portfolios(demo_snapshot))
    req = MethodMargining(method=method, params=params).requirements(book, demo_snapshot)
    batch = run_method(method, book, demo_snapshot, params)
    for k, account in enumerate(book.accounts):
        rows = batch.rows_of(account)
        rate = [
            1.0 if batch.currency[r] in STABLECOINS else demo_snapshot.index(batch.currency[r])
            for r in rows
        ]
        if account in batch.errors:
            assert np.isnan(req.maintenance_margin[k])
            continue
        im = sum(batch.initial_margin[r] * u for r, u in zip(rows, rate, strict=True))
        mm = sum(batch.maintenance_margin[r] * u for r, u in zip(rows, rate, strict=True))
        assert req.initial_margin[k] == pytest.approx(im, rel=1e-12)
        assert req.maintenance_margin[k] == pytest.approx(mm, rel=1e-12)


def test_assess_runs_a_registered_method(demo_snapshot: MarketSnapshot) -> None:
    method = get_method("deribit-pm")
    book = Book.from_portfolios(sample_portfolios(demo_snapshot))
    result = assess(
        Holdings.settled(book, demo_snapshot),
        demo_snapshot,
        MethodMargining(method=method, params=load_params(method)),
        load_lifecycle_params(),
    )
    ok = result.state >= 0
    assert ok.any()
    assert np.all(np.isfinite(result.equity[ok]))
    assert np.all(result.maintenance_margin[ok] >= 0)
    assert result.margining == "deribit-pm"
