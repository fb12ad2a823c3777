"""Invariants of paradex-pm on random books of linear BTC/ETH perps and options."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linear_market_support import book, market, option, perp
from portmargin.instruments import Instrument
from portmargin.io.params import load_params
from portmargin.methods.paradex_pm import ParadexParams, ParadexPM
from portmargin.results import MarginBatch

METHOD = ParadexPM()
PARAMS = load_params(METHOD)
assert isinstance(PARAMS, ParadexParams)
MARKET = market(spots={"BTC": 70_000.0, "ETH": 3_500.0}, days=(7.0, 45.0), vol=0.6)
UNIVERSE: tuple[Instrument, ...] = (
    perp(),
    perp("ETH"),
    *(
        option(days, 70_000.0 * k, call)
        for days in (7.0, 45.0)
        for k in (0.8, 0.9, 1.0, 1.1, 1.2)
        for call in (True, False)
    ),
    option(45.0, 3_500.0, True, "ETH"),
    option(7.0, 3_000.0, False, "ETH"),
)

Positions = list[tuple[Instrument, float]]

quantities = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False).filter(
    lambda q: abs(q) > 1e-3
)
positions = st.lists(st.tuples(st.sampled_from(UNIVERSE), quantities), min_size=0, max_size=6)


def _run(accounts: dict[str, Positions]) -> MarginBatch:
    batch = METHOD.compute(book(accounts), MARKET, PARAMS)
    assert not batch.errors
    return batch


def _value(batch: MarginBatch, account: str, name: str = "") -> float:
    i = batch.rows_of(account)[0]
    return float(batch.components[name][i] if name else batch.initial_margin[i])


@settings(max_examples=60, deadline=None)
@given(positions)
def test_requirements_non_negative(pos: Positions) -> None:
    """IM >= MM >= 0 and every component >= 0; IM = max(SCAN, MinDelta) without provisions."""
    batch = _run({"a": pos})
    assert batch.initial_margin[0] >= batch.maintenance_margin[0] >= 0.0
    for values in batch.components.values():
        assert values[0] >= 0.0
    net = batch.components["net_portfolio_imr"][0]
    assert batch.initial_margin[0] == pytest.approx(net)


def test_empty_account_is_zero() -> None:
    """An account without positions has IM = MM = 0 and no worst scenario."""
    batch = _run({"empty": [], "other": [(perp(), 1.0)]})
    i = batch.rows_of("empty")[0]
    assert batch.initial_margin[i] == 0.0
    assert batch.maintenance_margin[i] == 0.0
    assert batch.result(i).worst_scenario is None
    assert batch.result(i).contributions == ()


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(UNIVERSE), quantities)
def test_long_and_short_same_contract_cancel(inst: Instrument, q: float) -> None:
    """+q and -q of one contract net to nothing: zero loss, zero margin."""
    batch = _run({"a": [(inst, q), (inst, -q)]})
    assert batch.initial_margin[0] == 0.0
    assert batch.components["scan_risk"][0] == 0.0


@settings(max_examples=60, deadline=None)
@given(positions, positions)
def test_subadditive(a: Positions, b: Positions) -> None:
    """SCAN, MinDelta and IM of A + B are at most those of A plus those of B."""
    batch = _run({"A": a, "B": b, "AB": a + b})
    for name in ("scan_risk", "min_delta", "net_portfolio_imr"):
        joint = _value(batch, "AB", name)
        assert joint <= _value(batch, "A", name) + _value(batch, "B", name) + 1e-6 * (1 + joint)
    assert _value(batch, "AB") <= _value(batch, "A") + _value(batch, "B") + 1e-6


@settings(max_examples=40, deadline=None)
@given(positions, st.floats(min_value=0.01, max_value=20.0))
def test_positive_homogeneity(pos: Positions, k: float) -> None:
    """Scaling every position by k > 0 scales IM, MM and every component by k."""
    batch = _run({"x": pos, "kx": [(i, k * q) for i, q in pos]})
    x, kx = batch.rows_of("x")[0], batch.rows_of("kx")[0]
    assert batch.initial_margin[kx] == pytest.approx(
        k * batch.initial_margin[x], rel=1e-9, abs=1e-9
    )
    assert batch.maintenance_margin[kx] == pytest.approx(
        k * batch.maintenance_margin[x], rel=1e-9, abs=1e-9
    )
    for values in batch.components.values():
        assert values[kx] == pytest.approx(k * values[x], rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(positions)
def test_rows_do_not_depend_on_other_accounts(pos: Positions) -> None:
    """An account's margin is the same alone and inside a larger batch."""
    alone = _run({"a": pos})
    together = _run({"z": [(perp(), 3.0)], "a": pos, "y": [(UNIVERSE[5], -2.0)]})
    i = together.rows_of("a")[0]
    assert together.initial_margin[i] == pytest.approx(alone.initial_margin[0], rel=1e-12)
    assert together.worst_scenario is not None
    assert alone.worst_scenario is not None
    assert together.worst_scenario[i] == alone.worst_scenario[0]


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from((7.0, 45.0)),
    st.sampled_from((0.8, 0.9, 1.0, 1.1)),
    st.floats(min_value=0.1, max_value=10.0),
)
def test_protective_put_lowers_margin(days: float, k: float, size: float) -> None:
    """A long perp hedged with as many long puts needs less than the perp alone."""
    put = option(days, 70_000.0 * k, False)
    batch = _run({"perp": [(perp(), size)], "hedged": [(perp(), size), (put, size)]})
    assert _value(batch, "hedged") < _value(batch, "perp")
    assert np.isfinite(_value(batch, "hedged"))
