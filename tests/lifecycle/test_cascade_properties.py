"""Cascade invariants: zero impact stops after one round, bit-identical reruns, seeded
populations, a fund that never goes negative, every account accounted for."""

from __future__ import annotations

import numpy as np
from cascade_support import CUSHIONS, impact, market, methods, params, positions
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from portmargin.core import ValidationError
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    FATES,
    CascadeMarket,
    CascadeParams,
    CascadeResult,
    Holdings,
    LinearImpact,
    NotionalRates,
    max_leverage_population,
    run_cascade,
    synthetic_positions,
)
from portmargin.market import MarketSnapshot
from portmargin.risk import Book


class NoImpact:
    """A market that absorbs any flow at the round's price."""

    @property
    def execution_share(self) -> float:
        return 0.5

    def impact(self, flow_usd: float) -> float:
        return 0.0


def two_markets() -> MarketSnapshot:
    return MarketSnapshot(
        valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0, "ETH": 4_000.0}
    )


def both_impact(depth: float) -> CascadeMarket:
    return CascadeMarket(
        impact={
            "BTC": LinearImpact(depth_1pct_usd=depth),
            "ETH": LinearImpact(depth_1pct_usd=depth),
        }
    )


RATES = NotionalRates(mm_rates={"BTC": 0.05, "ETH": 0.06}, im_rates={"BTC": 0.0625, "ETH": 0.075})


def synthetic_run(
    n: int, seed: int, shock: float, fund: float, depth: float, offbook: bool = False
) -> CascadeResult:
    book, cushions = synthetic_positions(n, seed)
    pop = max_leverage_population(book, two_markets(), RATES, cushions)
    p = CascadeParams.from_lifecycle(
        load_lifecycle_params(),
        shock={"BTC": shock, "ETH": 1.2 * shock},
        fund_usd=fund,
        adl_offbook=offbook,
    )
    return run_cascade(pop.holdings, two_markets(), RATES, p, both_impact(depth))


def same(a: CascadeResult, b: CascadeResult) -> bool:
    """Bit-identical: every figure, round and per-account array."""
    oa, ob = a.outcomes, b.outcomes
    arrays = ("fate", "first_round", "equity_at_liquidation", "equity_end", "deficit", "penalty")
    return (
        a.to_dict() == b.to_dict()
        and oa.accounts == ob.accounts
        and all(np.array_equal(getattr(oa, k), getattr(ob, k), equal_nan=True) for k in arrays)
        and np.array_equal(oa.offbook, ob.offbook)
    )


def test_zero_impact_stops_after_one_round() -> None:
    flat = CascadeMarket(impact={"BTC": NoImpact()})
    for m in methods().values():
        pop = max_leverage_population(positions(), market(), m, CUSHIONS)
        result = run_cascade(pop.holdings, market(), m, params(-0.1), flat)
        assert result.n_rounds == 1
        assert result.final_price == result.shocked_price


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    shock=st.floats(-0.5, 0.3),
    fund=st.floats(0.0, 5e6),
    depth=st.floats(1e5, 1e8),
    offbook=st.booleans(),
)
def test_invariants(
    n: int, seed: int, shock: float, fund: float, depth: float, offbook: bool
) -> None:
    try:
        result = synthetic_run(n, seed, shock, fund, depth, offbook)
    except ValidationError as exc:  # a flow the linear model cannot absorb (I >= 1)
        if "the price would reach 0" not in str(exc):
            raise
        reject()
    out = result.outcomes
    # every account comes out exactly once, with one fate
    assert len(out.accounts) == n
    assert sum(out.count(f) for f in FATES) == n
    assert list(out.accounts) == sorted(out.accounts)
    # the fund never goes negative and the minimum is the minimum
    funds = [result.fund_start, *(r.fund_end for r in result.rounds)]
    assert min(funds) >= 0.0
    assert result.fund_min == min(funds)
    assert result.fund_end == funds[-1]
    # fund bookkeeping: start + penalties - deficits + mutualised shortfall
    shortfall = sum(r.mutualised_loss for r in result.rounds) - sum(
        max(-e, 0.0) for e in out.equity_at_liquidation[out.offbook]
    )
    balance = result.fund_start + result.penalty_income - result.deficits + shortfall
    assert abs(balance - result.fund_end) <= 1e-6 * max(1.0, result.fund_start, result.deficits)
    # each account is liquidated at most once in full mode, in one round
    liquidated = [a for r in result.rounds for a in r.liquidated]
    assert len(liquidated) == len(set(liquidated)) == result.accounts_liquidated
    assert np.all(out.deficit >= 0.0)
    assert np.all(out.penalty >= 0.0)
    # a rerun is bit-identical
    assert same(result, synthetic_run(n, seed, shock, fund, depth, offbook))


def test_seeded_population_is_reproducible() -> None:
    a_book, a_cushion = synthetic_positions(500, 7)
    b_book, b_cushion = synthetic_positions(500, 7)
    c_book, _ = synthetic_positions(500, 8)
    assert a_book.accounts == b_book.accounts
    assert (a_book.quantities != b_book.quantities).nnz == 0
    assert np.array_equal(a_cushion, b_cushion)
    assert a_book.quantities.shape != c_book.quantities.shape or (
        (a_book.quantities != c_book.quantities).nnz > 0
    )
    assert same(synthetic_run(500, 7, -0.15, 1e6, 5e6), synthetic_run(500, 7, -0.15, 1e6, 5e6))


def test_row_order_does_not_matter() -> None:
    """Accounts are processed in sorted id order whatever the order of the book's rows."""
    m = methods()["B"]
    pop = max_leverage_population(positions(), market(), m, CUSHIONS)
    book = pop.holdings.book
    order = np.array([3, 5, 0, 4, 1, 2])
    shuffled = Book(
        accounts=tuple(book.accounts[i] for i in order),
        instruments=book.instruments,
        quantities=book.quantities[order],
    )
    again = Holdings(book=shuffled, reference=pop.holdings.reference)
    assert same(
        run_cascade(pop.holdings, market(), m, params(-0.2), impact()),
        run_cascade(again, market(), m, params(-0.2), impact()),
    )
