"""A naked short option never gets zero margin, under any method.

Run on every listed option of the bundled 2020-05-21 Deribit chain; derive-pm2 margins the
USDC-settled option of the same expiry, strike and type (``BTC_USDC-...``), which the chain
lists through the inverse option's quote.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portmargin.instruments import parse_instrument
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, method_names
from portmargin.results import MarginBatch
from portmargin.risk import Book

LINEAR_ONLY = {"derive-pm2"}


def _name(method: str, venue_name: str) -> str:
    return venue_name.replace("BTC-", "BTC_USDC-", 1) if method in LINEAR_ONLY else venue_name


def _shorts(method: str, names: list[str], quantities: list[float]) -> Book:
    """One account per option, each short ``quantities[i]`` of ``names[i]``."""
    n = len(names)
    return Book.from_arrays(
        [f"short {name}" for name in names],
        [parse_instrument(_name(method, name)) for name in names],
        np.arange(n, dtype=np.intp),
        np.arange(n, dtype=np.intp),
        -np.asarray(quantities, dtype=np.float64),
    )


def _run(method: str, book: Book, market: MarketSnapshot) -> MarginBatch:
    m = get_method(method)
    return m.compute(book, market, load_params(m))


def _listed(market: MarketSnapshot) -> list[str]:
    """Every listed option, including the 16 deep out-of-the-money 22MAY20 options marked at
    0 (their model value is still positive, and so must their margin be)."""
    return sorted(market.quotes)


@pytest.mark.parametrize("method", method_names())
def test_every_listed_short_option_has_positive_margin(
    method: str, demo_snapshot: MarketSnapshot
) -> None:
    names = _listed(demo_snapshot)
    batch = _run(method, _shorts(method, names, [1.0] * len(names)), demo_snapshot)
    assert not batch.errors
    assert set(batch.account.tolist()) == {f"short {n}" for n in names}
    im = dict(zip(batch.account.tolist(), batch.initial_margin.tolist(), strict=True))
    mm = dict(zip(batch.account.tolist(), batch.maintenance_margin.tolist(), strict=True))
    zero_im = {a: v for a, v in im.items() if not v > 0}
    zero_mm = {a: v for a, v in mm.items() if not v > 0}
    assert not zero_im, f"{method}: IM not > 0 for {zero_im}"
    assert not zero_mm, f"{method}: MM not > 0 for {zero_mm}"


@pytest.mark.parametrize("method", method_names())
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_short_option_margin_is_positive_at_any_size(
    method: str, demo_snapshot: MarketSnapshot, data: st.DataObject
) -> None:
    names = data.draw(st.lists(st.sampled_from(_listed(demo_snapshot)), min_size=1, max_size=4))
    quantities = data.draw(
        st.lists(
            st.floats(min_value=1e-3, max_value=1e3, allow_nan=False),
            min_size=len(names),
            max_size=len(names),
        )
    )
    unique = dict(zip(names, quantities, strict=True))
    batch = _run(method, _shorts(method, list(unique), list(unique.values())), demo_snapshot)
    assert not batch.errors
    assert np.all(batch.initial_margin > 0), dict(
        zip(batch.account.tolist(), batch.initial_margin.tolist(), strict=True)
    )
    assert np.all(batch.maintenance_margin > 0)
