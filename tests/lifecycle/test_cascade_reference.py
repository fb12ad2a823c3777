"""The cascade against an independent per-account reference: a plain Python loop over
accounts with closed-form equity ``E = D + q (S - S_0)`` and ``MM = rate |q| S`` for linear
perpetuals of one underlying, long and short, full close, linear impact."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from cascade_support import PERP, market
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    CascadeMarket,
    CascadeParams,
    LinearImpact,
    NotionalRates,
    fixed_equity_population,
    run_cascade,
)
from portmargin.risk import Book

S0 = 50_000.0


@dataclass
class Reference:
    rounds: list[tuple[tuple[int, ...], float, float]]  # liquidated, Q_r, execution price
    price: float
    fund: float
    low: float
    mutualised: float


def reference(
    sizes: list[float],
    deposits: list[float],
    shock: float,
    rate: float,
    depth: float,
    penalty: float,
    fund: float,
) -> Reference:
    """The §9 loop written out account by account."""
    alive = [q != 0 for q in sizes]
    price = S0 * (1 + shock)
    rounds: list[tuple[tuple[int, ...], float, float]] = []
    low = fund
    mutualised = 0.0
    while True:
        liquidated = [
            i
            for i, q in enumerate(sizes)
            if alive[i] and deposits[i] + q * (price - S0) < rate * abs(q) * price
        ]
        if not liquidated:
            break
        flow = sum(sizes[i] * price for i in liquidated)
        impact = 0.01 * flow / depth
        exec_price = price * (1 - impact / 2)
        net = 0.0
        for i in liquidated:
            after = deposits[i] + sizes[i] * (exec_price - S0)
            net += min(penalty * abs(sizes[i]) * price, max(after, 0.0)) if after > 0 else after
            alive[i] = False
        fund += net
        if fund < 0:
            mutualised += -fund
            fund = 0.0
        low = min(low, fund)
        rounds.append((tuple(liquidated), flow, exec_price))
        price *= 1 - impact
    return Reference(rounds=rounds, price=price, fund=fund, low=low, mutualised=mutualised)


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.floats(-500, 500).filter(lambda q: abs(q) > 1e-3),
            st.floats(0.0, 5_000_000.0),
        ),
        min_size=1,
        max_size=25,
    ),
    shock=st.floats(-0.3, 0.3),
    rate=st.floats(0.01, 0.3),
    log_depth=st.floats(6.5, 8.0),
    penalty=st.floats(0.0, 0.02),
    fund=st.floats(0.0, 3e6),
)
def test_matches_the_per_account_loop(
    data: list[tuple[float, float]],
    shock: float,
    rate: float,
    log_depth: float,
    penalty: float,
    fund: float,
) -> None:
    depth = 10.0**log_depth
    sizes = [q for q, _ in data]
    deposits = [d for _, d in data]
    n = len(sizes)
    accounts = [f"a{i:03d}" for i in range(n)]
    book = Book.from_arrays(
        accounts, [PERP], np.arange(n, dtype=np.intp), np.zeros(n, dtype=np.intp), np.array(sizes)
    )
    pop = fixed_equity_population(book, market(), np.array(deposits))
    rates = NotionalRates(mm_rates={"BTC": rate}, im_rates={"BTC": rate})
    params = CascadeParams.from_lifecycle(
        load_lifecycle_params(), shock={"BTC": shock}, fund_usd=fund, penalty=penalty
    )
    expected = reference(sizes, deposits, shock, rate, depth, penalty, fund)
    if any(0.01 * abs(f) / depth >= 1 for _, f, _ in expected.rounds):
        return  # beyond the linear model (the price would reach 0): refused, tested elsewhere
    impact = CascadeMarket(impact={"BTC": LinearImpact(depth_1pct_usd=depth)})
    result = run_cascade(pop.holdings, market(), rates, params, impact)

    got = [(tuple(int(a[1:]) for a in r.liquidated), r.flow_usd["BTC"], r.execution_price["BTC"])
           for r in result.rounds]  # fmt: skip
    want = expected.rounds
    assert [g[0] for g in got] == [w[0] for w in want]
    for (_, flow, px), (_, flow_ref, px_ref) in zip(got, want, strict=True):
        assert math.isclose(flow, flow_ref, rel_tol=1e-9, abs_tol=1e-6)
        assert math.isclose(px, px_ref, rel_tol=1e-9)
    tol = 1e-9 * (fund + sum(deposits) + sum(abs(q) for q in sizes) * S0)
    assert math.isclose(result.final_price["BTC"], expected.price, rel_tol=1e-9)
    assert abs(result.fund_end - expected.fund) <= tol
    assert abs(result.fund_min - expected.low) <= tol
    assert abs(result.mutualised_loss - expected.mutualised) <= tol
