"""Cover-2 of the insurance fund: hand-computed linear books (closed form) and properties
(cover-2 >= cover-1 >= 0, more collateral never raises it, empty book, account order)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from example_support import MARKET, RATES, holdings_of
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.io.params import load_lifecycle_params
from portmargin.io.stress import load_stress_library
from portmargin.lifecycle import (
    CoverTwo,
    Holdings,
    StressResults,
    cover_two,
    stress_accounts,
)
from portmargin.risk import Book
from portmargin.scenarios import StressScenario

COLLATERAL = load_lifecycle_params().collateral
BTC, ETH = "BTC_USDC-PERPETUAL", "ETH_USDC-PERPETUAL"


def _scenario(sid: str, btc: float, eth: float) -> StressScenario:
    return StressScenario(
        id=sid,
        label=sid,
        kind="hypothetical",
        horizon_days=2,
        spot_shock={"BTC": btc, "ETH": eth},
        source="test",
    )


DOWN, UP, FLAT = _scenario("DOWN", -0.25, -0.30), _scenario("UP", 0.30, 0.40), _scenario("F", 0, 0)


def _cover(holdings: Holdings, scenarios: list[StressScenario]) -> CoverTwo:
    return cover_two(stress_accounts(holdings, MARKET, RATES, COLLATERAL, scenarios))


def test_hand_computed_book() -> None:
    holdings = holdings_of(
        {
            "a": [("USDC", 10_000.0), (BTC, 2.0)],  # DOWN -15,000   UP +40,000
            "b": [("USDC", 5_000.0), (BTC, -1.0)],  # DOWN +17,500   UP -10,000
            "c": [("USDC", 5_000.0), (ETH, 10.0)],  # DOWN -7,000    UP +21,000
            "d": [("USDC", 1_000.0)],
        }
    )
    cover = _cover(holdings, [UP, DOWN, FLAT])
    np.testing.assert_allclose(cover.cover_two_by_scenario, [10_000.0, 22_000.0, 0.0])
    np.testing.assert_allclose(cover.cover_one_by_scenario, [10_000.0, 15_000.0, 0.0])
    assert cover.cover_two == pytest.approx(22_000.0)
    assert cover.binding_scenario == "DOWN"
    assert cover.binding_accounts == ("a", "c")
    assert cover.cover_one == pytest.approx(15_000.0)
    assert cover.cover_one_scenario == "DOWN"
    assert cover.cover_one_account == "a"
    np.testing.assert_allclose(cover.loss[0], [0.0, 10_000.0, 0.0, 0.0])


def test_one_defaulter_and_no_defaulter() -> None:
    holdings = holdings_of({"a": [("USDC", 10_000.0), (BTC, 2.0)], "d": [("USDC", 1.0)]})
    cover = _cover(holdings, [DOWN])
    assert cover.cover_two == cover.cover_one == pytest.approx(15_000.0)
    assert cover.binding_accounts == ("a",)
    none = _cover(holdings, [FLAT, UP])
    assert none.cover_two == 0.0
    assert none.binding_scenario is None
    assert none.binding_accounts == ()
    assert none.cover_one_account is None


def test_empty_book_is_zero() -> None:
    holdings = Holdings.settled(Book.from_portfolios([]), MARKET)
    cover = _cover(holdings, list(load_stress_library().scenarios))
    assert cover.cover_two == 0.0
    assert cover.cover_one == 0.0
    assert cover.binding_scenario is None
    assert cover.top.shape == (19, 2)
    assert (cover.top == -1).all()


def test_ties_go_to_the_smaller_account_id() -> None:
    results = StressResults(
        scenarios=(DOWN,),
        accounts=("z", "y", "x"),
        margining="m",
        equity=np.array([[-5.0, -5.0, -5.0]]),
        maintenance_margin=np.zeros((1, 3)),
    )
    cover = cover_two(results)
    assert cover.binding_accounts == ("x", "y")
    assert cover.cover_two == 10.0


def test_unvalued_accounts_count_zero() -> None:
    results = StressResults(
        scenarios=(DOWN,),
        accounts=("a", "b"),
        margining="m",
        equity=np.array([[np.nan, -3.0]]),
        maintenance_margin=np.array([[np.nan, 1.0]]),
        errors={"a": "DOWN: no price"},
    )
    cover = cover_two(results)
    assert cover.cover_two == 3.0
    assert dict(cover.errors) == {"a": "DOWN: no price"}


ACCOUNT = st.tuples(
    st.floats(0.0, 100_000.0), st.floats(-5.0, 5.0), st.floats(-50.0, 50.0)
)  # USDC cash, BTC perp coins, ETH perp coins
SHOCK = st.tuples(st.floats(-0.6, 0.6), st.floats(-0.6, 0.6))


def _linear(accounts: list[tuple[float, float, float]]) -> Holdings:
    return holdings_of(
        {
            f"acc{k:02d}": [("USDC", c), (BTC, qb), (ETH, qe)]
            for k, (c, qb, qe) in enumerate(accounts)
        }
    )


def _scenarios(shocks: list[tuple[float, float]]) -> list[StressScenario]:
    return [_scenario(f"S{k}", b, e) for k, (b, e) in enumerate(shocks)]


@settings(max_examples=40, deadline=None)
@given(st.lists(ACCOUNT, max_size=6), st.lists(SHOCK, min_size=1, max_size=4))
def test_closed_form_and_order(
    accounts: list[tuple[float, float, float]], shocks: list[tuple[float, float]]
) -> None:
    cover = _cover(_linear(accounts), _scenarios(shocks))
    expected_two, expected_one = 0.0, 0.0
    for sb, se in shocks:
        losses = sorted(
            (max(-(c + qb * 50_000 * sb + qe * 4_000 * se), 0.0) for c, qb, qe in accounts),
            reverse=True,
        )
        expected_two = max(expected_two, sum(losses[:2]))
        expected_one = max(expected_one, losses[0] if losses else 0.0)
    assert cover.cover_two == pytest.approx(expected_two, rel=1e-9, abs=1e-6)
    assert cover.cover_one == pytest.approx(expected_one, rel=1e-9, abs=1e-6)
    assert cover.cover_two >= cover.cover_one >= 0.0
    assert cover.cover_two <= 2 * cover.cover_one + 1e-9


@settings(max_examples=30, deadline=None)
@given(
    st.lists(ACCOUNT, min_size=1, max_size=6),
    st.lists(SHOCK, min_size=1, max_size=3),
    st.data(),
)
def test_more_collateral_never_raises_cover_two(
    accounts: list[tuple[float, float, float]], shocks: list[tuple[float, float]], data: Any
) -> None:
    k = data.draw(st.integers(0, len(accounts) - 1))
    extra = data.draw(st.floats(0.0, 200_000.0))
    richer = list(accounts)
    c, qb, qe = richer[k]
    richer[k] = (c + extra, qb, qe)
    scenarios = _scenarios(shocks)
    before, after = _cover(_linear(accounts), scenarios), _cover(_linear(richer), scenarios)
    assert after.cover_two <= before.cover_two + 1e-6
    assert after.cover_one <= before.cover_one + 1e-6


@settings(max_examples=30, deadline=None)
@given(
    st.lists(ACCOUNT, min_size=1, max_size=6),
    st.lists(SHOCK, min_size=1, max_size=3),
    st.randoms(use_true_random=False),
)
def test_permuting_accounts_keeps_the_figure(
    accounts: list[tuple[float, float, float]], shocks: list[tuple[float, float]], rnd: Any
) -> None:
    scenarios = _scenarios(shocks)
    holdings = _linear(accounts)
    order = list(range(len(accounts)))
    rnd.shuffle(order)
    book = holdings.book
    permuted = Holdings.settled(
        Book(
            accounts=tuple(book.accounts[i] for i in order),
            instruments=book.instruments,
            quantities=book.quantities[order],
        ),
        MARKET,
    )
    a, b = _cover(holdings, scenarios), _cover(permuted, scenarios)
    assert b.cover_two == pytest.approx(a.cover_two, rel=1e-12, abs=1e-9)
    assert b.cover_one == pytest.approx(a.cover_one, rel=1e-12, abs=1e-9)
    assert b.binding_scenario == a.binding_scenario
    assert b.binding_accounts == a.binding_accounts
