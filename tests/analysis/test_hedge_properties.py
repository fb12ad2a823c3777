"""Hedge suggestions never leave an account worse than doing nothing (random books on the
bundled Deribit chain, several accounts per call)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portmargin.analysis import HedgeOptions, HedgeReport, Objective, suggest_hedges
from portmargin.instruments import Currency, Instrument, Perpetual
from portmargin.io.params import load_params
from portmargin.lifecycle import MethodMargining
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book

METHODS = ("standard", "deribit-pm", "span")


def universe(market: MarketSnapshot) -> list[Instrument]:
    options = sorted(market.quotes.values(), key=lambda q: q.instrument_name)[::6]
    return [
        *(q.instrument for q in options),
        Perpetual(underlying="BTC"),
        Currency(code="BTC"),
    ]


@st.composite
def books(draw: st.DrawFn, n_instruments: int) -> list[list[tuple[int, float]]]:
    quantity = st.floats(-20, 20).map(lambda x: round(x, 1)).filter(lambda x: x != 0)
    position = st.tuples(st.integers(0, n_instruments - 1), quantity)
    account = st.lists(position, min_size=1, max_size=5, unique_by=lambda p: p[0])
    return draw(st.lists(account, min_size=1, max_size=4))


def portfolios(drawn: list[list[tuple[int, float]]], insts: list[Instrument]) -> Book:
    return Book.from_portfolios(
        [
            Portfolio.from_positions(
                f"acct-{k}", [Position(instrument=insts[i], quantity=q) for i, q in positions]
            )
            for k, positions in enumerate(drawn)
        ]
    )


def check_never_worse(report: HedgeReport, measure: str) -> None:
    for s in report.suggestions:
        if s.error is not None:
            assert s.trades == ()
            assert math.isnan(s.im_before_usd)
            continue
        before = s.im_before_usd if measure == "im" else s.mm_before_usd
        after = s.im_after_usd if measure == "im" else s.mm_after_usd
        assert after <= before
        assert s.reduction_usd == before - after
        if not s.trades:
            assert (s.im_after_usd, s.mm_after_usd) == (s.im_before_usd, s.mm_before_usd)
            assert s.cost_usd == 0.0
        else:
            assert after < before or report.options.objective is Objective.TARGET
            assert all(t.quantity != 0.0 for t in s.trades)
            assert len({t.instrument for t in s.trades}) == len(s.trades)
            assert s.cost_usd == pytest.approx(sum(t.cost_usd for t in s.trades))


@pytest.mark.parametrize("name", METHODS)
def test_min_margin_never_worse_than_nothing(name: str, demo_snapshot: MarketSnapshot) -> None:
    insts = universe(demo_snapshot)
    method = get_method(name)
    margining = MethodMargining(method=method, params=load_params(method))

    @settings(
        max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        drawn=books(len(insts)), measure=st.sampled_from(["im", "mm"]), legs=st.sampled_from([1, 2])
    )
    def run(drawn: list[list[tuple[int, float]]], measure: str, legs: int) -> None:
        options = HedgeOptions(measure=measure, refine_rounds=2, legs=legs)
        report = suggest_hedges(margining, portfolios(drawn, insts), demo_snapshot, None, options)
        check_never_worse(report, measure)

    run()


def test_target_mode_never_worse_and_meets_the_target_when_it_trades(
    demo_snapshot: MarketSnapshot,
) -> None:
    insts = universe(demo_snapshot)
    method = get_method("deribit-pm")
    margining = MethodMargining(method=method, params=load_params(method))

    @settings(
        max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        drawn=books(len(insts)),
        target=st.floats(0, 50_000),
        budget=st.none() | st.floats(0, 5_000),
        legs=st.sampled_from([1, 2]),
    )
    def run(
        drawn: list[list[tuple[int, float]]], target: float, budget: float | None, legs: int
    ) -> None:
        options = HedgeOptions(
            objective=Objective.TARGET,
            target_usd=target,
            budget_usd=budget,
            refine_rounds=2,
            legs=legs,
        )
        report = suggest_hedges(margining, portfolios(drawn, insts), demo_snapshot, None, options)
        check_never_worse(report, "im")
        for s in report.suggestions:
            if s.error is not None:
                continue
            assert s.meets_target is (s.im_after_usd <= target)
            if s.trades:
                assert s.im_after_usd <= target < s.im_before_usd
            if budget is not None:
                assert s.cost_usd <= budget

    run()
