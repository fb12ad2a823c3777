"""Invariants of the liquidation engine (``lifecycle.md`` §6, §7), by hypothesis: step by step
the MM shortfall never grows, equity only loses slippage and penalties, the fund balance is
the sum of its flows; many accounts in one run."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.instruments import parse_instrument
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    FixedSlippage,
    FundFlowKind,
    Holdings,
    ImpactSlippage,
    LinearImpact,
    LiquidationOutcome,
    LiquidationRun,
    NotionalRates,
    liquidate,
)
from portmargin.market import MarketSnapshot
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book, moved_market

MARKET = MarketSnapshot(
    valuation_ms=1_637_712_000_000, index_prices={"BTC": 50_000.0, "ETH": 4_000.0}
)
PARAMS = load_lifecycle_params()

account = st.tuples(
    st.floats(-20_000.0, 100_000.0),  # USDC
    st.floats(0.0, 2.0),  # BTC collateral
    st.floats(-10.0, 10.0),  # BTC_USDC perp
    st.floats(-100.0, 100.0),  # ETH_USDC perp
)


def _run(
    accounts: list[tuple[float, float, float, float]],
    moves: tuple[float, float],
    rates: tuple[float, float],
    slippage: tuple[float, float],
    fund: float,
    depth: float | None = None,
) -> LiquidationRun:
    names = ("USDC", "BTC", "BTC_USDC-PERPETUAL", "ETH_USDC-PERPETUAL")
    portfolios = [
        Portfolio(
            account=f"a{k:02d}",
            positions=tuple(
                Position(instrument=parse_instrument(n), quantity=q)
                for n, q in zip(names, held, strict=True)
                if q != 0
            ),
        )
        for k, held in enumerate(accounts)
    ]
    holdings = Holdings.settled(Book.from_portfolios(portfolios), MARKET)
    margining = NotionalRates(
        mm_rates={"BTC": rates[0], "ETH": rates[1]},
        im_rates={"BTC": 1.25 * rates[0], "ETH": 1.25 * rates[1]},
    )
    market = moved_market(MARKET, {"BTC": moves[0], "ETH": moves[1]})
    return liquidate(
        holdings,
        market,
        margining,
        PARAMS,
        slippage=(
            FixedSlippage(rates_by_key={"BTC": slippage[0], "ETH": slippage[1]})
            if depth is None
            else ImpactSlippage(
                impact={
                    "BTC": LinearImpact(depth_1pct_usd=depth),
                    "ETH": LinearImpact(depth_1pct_usd=depth / 4),
                }
            )
        ),
        fund_usd=fund,
    )


@settings(max_examples=60, deadline=None)
@given(
    accounts=st.lists(account, min_size=1, max_size=6),
    moves=st.tuples(st.floats(-0.4, 0.4), st.floats(-0.4, 0.4)),
    rates=st.tuples(st.floats(0.03, 0.3), st.floats(0.03, 0.3)),
    slippage=st.tuples(st.floats(0.0, 0.01), st.floats(0.0, 0.01)),
    fund=st.floats(0.0, 1e6),
    depth=st.none() | st.floats(1e6, 1e9),
)
def test_liquidation_invariants(
    accounts: list[tuple[float, float, float, float]],
    moves: tuple[float, float],
    rates: tuple[float, float],
    slippage: tuple[float, float],
    fund: float,
    depth: float | None,
) -> None:
    # MM rates (>= 3 %) exceed slippage or impact + penalty (<= 1.5 %) per unit of notional
    run = _run(accounts, moves, rates, slippage, fund, depth)
    by_step: dict[tuple[str, int], list[float]] = {}
    previous: dict[str, float] = {}
    for step in run.steps:
        scale = max(1.0, abs(step.equity_before), step.maintenance_before)
        short_before = max(step.maintenance_before - step.equity_before, 0.0)
        short_after = max(step.maintenance_after - step.equity_after, 0.0)
        assert short_after <= short_before + 1e-9 * scale
        assert step.maintenance_after < step.maintenance_before
        assert step.penalty_usd <= PARAMS.liquidation.penalty * step.notional_usd * (1 + 1e-12)
        by_step.setdefault((step.account, step.step), []).append(step.cost_usd)
        if step.account in previous and step.step > 1:
            assert step.equity_before == pytest.approx(previous[step.account], rel=1e-12, abs=1e-6)
        previous[step.account] = step.equity_after
    for (name, number), costs in by_step.items():
        rec = next(s for s in run.steps if s.account == name and s.step == number)
        lost = rec.equity_before - rec.equity_after
        assert lost == pytest.approx(math.fsum(costs), rel=1e-9, abs=1e-6)
    # the fund is the sum of its flows and never negative
    ledger = run.fund
    assert ledger.balance_usd == pytest.approx(
        ledger.opening_usd + math.fsum(f.amount_usd for f in ledger.flows), rel=1e-12, abs=1e-6
    )
    assert all(f.balance_after_usd >= 0 for f in ledger.flows)
    penalties = math.fsum(f.amount_usd for f in ledger.flows if f.kind is FundFlowKind.PENALTY)
    assert penalties == pytest.approx(math.fsum(s.fund_usd for s in run.steps), abs=1e-6)
    # every account in: assessed, liquidated ones accounted for
    liquidating = {
        a
        for a, code in zip(run.assessment.accounts, run.assessment.state, strict=True)
        if code >= 3
    }
    assert {a.account for a in run.accounts} | set(run.errors) == liquidating
    for summary in run.accounts:
        if summary.outcome is LiquidationOutcome.RESTORED:
            assert summary.equity_after >= PARAMS.states.liq_target * summary.maintenance_after
        if summary.outcome is LiquidationOutcome.BANKRUPT:
            assert summary.equity_after <= 0
    assert {e.account for e in run.bankruptcies} == {
        a.account for a in run.accounts if a.outcome is LiquidationOutcome.BANKRUPT
    }


def test_many_accounts_in_one_run_match_one_by_one() -> None:
    rng = np.random.default_rng(7)
    accounts = [
        (
            float(rng.uniform(5_000, 40_000)),
            float(rng.uniform(0, 1)),
            float(rng.uniform(-6, 6)),
            float(rng.uniform(-60, 60)),
        )
        for _ in range(25)
    ]
    args = ((-0.15, -0.2), (0.1, 0.15), (0.002, 0.004), 0.0)
    together = _run(accounts, *args)
    assert together.accounts
    for k, held in enumerate(accounts):
        alone = _run([held], *args)
        mine = [s for s in together.steps if s.account == f"a{k:02d}"]
        assert [(s.instrument, s.quantity) for s in mine] == [
            (s.instrument, s.quantity) for s in alone.steps
        ]
        assert [round(s.equity_after, 6) for s in mine] == [
            round(s.equity_after, 6) for s in alone.steps
        ]
