"""lifecycle.md §10.2: partial liquidation of the §10.1 account at 42,000 / 3,200."""

from __future__ import annotations

import pytest
from example_support import MARKET, RATES, example_holdings

from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    FixedSlippage,
    FundFlowKind,
    LiquidationOutcome,
    LiquidationRun,
    liquidate,
)
from portmargin.risk import moved_market

SLIPPAGE = FixedSlippage(rates_by_key={"BTC": 0.002, "ETH": 0.004})
PARAMS = load_lifecycle_params()
BTC = "BTC_USDC-PERPETUAL"
ETH = "ETH_USDC-PERPETUAL"


def _run() -> LiquidationRun:
    market = moved_market(MARKET, {"BTC": 42_000 / 50_000 - 1, "ETH": 3_200 / 4_000 - 1})
    return liquidate(example_holdings(), market, RATES, PARAMS, slippage=SLIPPAGE, fund_usd=0.0)


# step, instrument, quantity, notional, cost, E after, MM after, E/MM (printed precision)
TABLE = [
    (1, ETH, 6.25, 20_000, 180, 13_720, 28_200, 0.4865),
    (2, ETH, 6.25, 20_000, 180, 13_540, 25_200, None),
    (3, ETH, 6.25, 20_000, 180, 13_360, 22_200, None),
    (4, ETH, 6.25, 20_000, 180, 13_180, 19_200, 0.6865),
    (5, ETH, 5.0, 16_000, 144, 13_036, 16_800, 0.7760),
    (6, BTC, 0.476190, 20_000, 140, 12_896, 14_800, 0.8714),
    (7, BTC, 0.476190, 20_000, 140, 12_756, 12_800, 0.9966),
    (8, BTC, 0.476190, 20_000, 140, 12_616, 10_800, 1.1681),
]


def test_step_table() -> None:
    run = _run()
    assert len(run.steps) == len(TABLE)
    for step, row in zip(run.steps, TABLE, strict=True):
        number, instrument, quantity, notional, cost, e_after, mm_after, ratio = row
        assert step.account == "A"
        assert step.step == number
        assert step.instrument == instrument
        assert step.side == "sell"
        assert round(step.quantity, 6) == quantity
        assert round(step.notional_usd, 2) == notional
        assert round(step.cost_usd, 2) == cost
        assert round(step.equity_after, 2) == e_after
        assert round(step.maintenance_after, 2) == mm_after
        if ratio is not None:
            assert round(step.equity_after / step.maintenance_after, 4) == ratio
    first = run.steps[0]
    assert round(first.equity_before, 2) == 13_900
    assert round(first.maintenance_before, 2) == 31_200
    assert first.price == pytest.approx(3_200 * 0.996)
    assert run.steps[5].price == pytest.approx(42_000 * 0.998)


def test_candidate_scores_put_eth_first() -> None:
    # ETH 0.15 / (0.004 + 0.005) = 16.67 beats BTC 0.10 / (0.002 + 0.005) = 14.29
    assert round(0.15 / (0.004 + 0.005), 2) == 16.67
    assert round(0.10 / (0.002 + 0.005), 2) == 14.29
    assert _run().steps[0].instrument == ETH


def test_end_state() -> None:
    run = _run()
    book = run.holdings.book
    names = [i.name for i in book.instruments]
    row = book.quantities.toarray()[0]
    assert row[names.index(ETH)] == 0.0
    assert round(row[names.index(BTC)], 6) == 2.571429
    assert round(row[names.index("USDC")], 2) == -6_712.57
    assert row[names.index("BTC")] == 1.0
    (summary,) = run.accounts
    assert summary.outcome is LiquidationOutcome.RESTORED
    assert summary.steps == 8
    assert round(summary.equity_after, 2) == 12_616
    assert round(summary.maintenance_after, 2) == 10_800
    assert round(run.fund.balance_usd, 2) == 780
    assert round(run.fund.inflow_usd, 2) == round(0.005 * 156_000, 2)
    assert {f.kind for f in run.fund.flows} == {FundFlowKind.PENALTY}
    assert not run.bankruptcies
    assert run.mutualised_loss_usd == 0.0
    assert not run.errors
