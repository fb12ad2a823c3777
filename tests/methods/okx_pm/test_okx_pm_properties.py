"""Invariants of okx-pm on random books of linear BTC/ETH perps, futures and options.

Properties that do not hold for this method, by design:

- Subadditivity of MMR: MR4 credits net delta (a lone long perp and a lone short spot
  balance each have MR4 = 0, together they do not), MR9 charges cross-stablecoin hedges
  only when both legs are held, and MR7's incremental tiers are convex (the scaled charge of
  A + B exceeds the sum when the raw charges cross a tier bound). Subadditivity is tested
  for MR1, MR2, MR3, MR5 and MR6 only.
- Positive homogeneity of MMR: MR7's tiered scaling is not linear in the position size.
  Homogeneity is tested for every component but MR7 (and the totals built from it).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linear_market_support import book, linear_future, market, option, perp
from portmargin.instruments import Instrument
from portmargin.io.params import load_params
from portmargin.methods.okx_pm import OkxParams, OkxPM
from portmargin.results import MarginBatch

METHOD = OkxPM()
PARAMS = load_params(METHOD)
assert isinstance(PARAMS, OkxParams)
MARKET = market(spots={"BTC": 70_000.0, "ETH": 3_500.0}, days=(7.0, 45.0), vol=0.6)
UNIVERSE: tuple[Instrument, ...] = (
    perp(),
    perp(quote="USDT"),
    perp("ETH"),
    linear_future(45.0),
    *(
        option(days, 70_000.0 * k, call)
        for days in (7.0, 45.0)
        for k in (0.8, 1.0, 1.2)
        for call in (True, False)
    ),
    option(45.0, 3_500.0, True, "ETH"),
)
LINEAR = ("mr1", "mr2", "mr3", "mr5", "mr6")

Positions = list[tuple[Instrument, float]]
quantities = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False).filter(
    lambda q: abs(q) > 1e-3
)
positions = st.lists(st.tuples(st.sampled_from(UNIVERSE), quantities), max_size=6)


def _run(accounts: dict[str, Positions]) -> MarginBatch:
    batch = METHOD.compute(book(accounts), MARKET, PARAMS)
    assert not batch.errors
    return batch


def _value(batch: MarginBatch, account: str, name: str) -> float:
    return float(batch.components[name][batch.rows_of(account)[0]])


@settings(max_examples=60, deadline=None)
@given(positions)
def test_non_negative_and_im_factor(pos: Positions) -> None:
    """Every component >= 0, MMR >= each unit's MR7 and max(MR1, MR2, MR6), IMR = 1.3 MMR."""
    batch = _run({"a": pos})
    for values in batch.components.values():
        assert values[0] >= 0.0
    mmr = batch.maintenance_margin[0]
    assert batch.initial_margin[0] == pytest.approx(1.3 * mmr)
    assert mmr >= batch.components["mr7"][0] - 1e-9
    core = max(batch.components[n][0] for n in ("mr1", "mr2", "mr6"))
    assert mmr >= core - 1e-9


def test_empty_account_is_zero() -> None:
    """An account without positions has zero requirements and no worst scenario."""
    batch = _run({"empty": [], "other": [(perp(), 1.0)]})
    i = batch.rows_of("empty")[0]
    assert batch.maintenance_margin[i] == 0.0
    assert batch.initial_margin[i] == 0.0
    assert batch.result(i).worst_scenario is None


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(UNIVERSE), quantities)
def test_long_and_short_same_contract_cancel(inst: Instrument, q: float) -> None:
    """+q and -q of one contract net to nothing."""
    assert _run({"a": [(inst, q), (inst, -q)]}).maintenance_margin[0] == 0.0


@settings(max_examples=60, deadline=None)
@given(positions, positions)
def test_subadditive_scenario_components(a: Positions, b: Positions) -> None:
    """MR1, MR2, MR3, MR5 and MR6 of A + B are at most those of A plus those of B."""
    batch = _run({"A": a, "B": b, "AB": a + b})
    for name in LINEAR:
        joint = _value(batch, "AB", name)
        parts = _value(batch, "A", name) + _value(batch, "B", name)
        assert joint <= parts + 1e-6 * (1.0 + parts)


@settings(max_examples=40, deadline=None)
@given(positions, st.floats(min_value=0.01, max_value=20.0))
def test_homogeneous_components(pos: Positions, k: float) -> None:
    """Every component except MR7 scales by k when every position does."""
    batch = _run({"x": pos, "kx": [(i, k * q) for i, q in pos]})
    for name in (*LINEAR, "mr4", "mr7_raw", "mr9"):
        assert _value(batch, "kx", name) == pytest.approx(
            k * _value(batch, "x", name), rel=1e-9, abs=1e-9
        )


@pytest.mark.parametrize("days", [7.0, 45.0])
@pytest.mark.parametrize("k", [0.8, 1.0])
def test_protective_put_lowers_margin(days: float, k: float) -> None:
    """A long perp with as many long puts needs less than the perp alone."""
    put = option(days, 70_000.0 * k, False)
    batch = _run({"perp": [(perp(), 2.0)], "hedged": [(perp(), 2.0), (put, 2.0)]})
    rows = {a: batch.rows_of(a)[0] for a in ("perp", "hedged")}
    assert batch.maintenance_margin[rows["hedged"]] < batch.maintenance_margin[rows["perp"]]
