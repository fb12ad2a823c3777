"""Slippage models and the insurance-fund ledger of the liquidation engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

from portmargin.core import ValidationError
from portmargin.lifecycle import (
    FixedSlippage,
    FundFlow,
    FundFlowKind,
    FundLedger,
    ImpactSlippage,
    LinearImpact,
    SqrtImpact,
)
from portmargin.lifecycle._fund import FundBook


def test_fixed_slippage_looks_up_instrument_then_underlying() -> None:
    model = FixedSlippage(rates_by_key={"BTC": 0.002, "BTC-PERPETUAL": 0.001}, default=0.01)
    rates = model.rates(
        ["BTC-PERPETUAL", "BTC_USDC-PERPETUAL", "ETH-PERPETUAL"],
        ["BTC", "BTC", "ETH"],
        np.array([1.0, 1.0, 1.0]),
    )
    assert rates.tolist() == [0.001, 0.002, 0.01]


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan"), True])
def test_fixed_slippage_rejects_non_fractions(bad: float) -> None:
    with pytest.raises(ValidationError, match="rates_by_key"):
        FixedSlippage(rates_by_key={"BTC": bad})


def test_linear_impact_slippage_is_half_the_price_move() -> None:
    # I = 0.01 Q / D_1pct; average execution I / 2 from the mark
    model = ImpactSlippage(impact={"BTC": LinearImpact(depth_1pct_usd=10_000_000.0)})
    (s,) = model.rates(["BTC-PERPETUAL"], ["BTC"], np.array([20_000.0]))
    assert s == pytest.approx(0.5 * 0.01 * 20_000.0 / 10_000_000.0)
    (cap,) = model.rates(["BTC-PERPETUAL"], ["BTC"], np.array([1e13]))
    assert cap == 0.99
    with pytest.raises(ValidationError, match="impact"):
        model.rates(["ETH-PERPETUAL"], ["ETH"], np.array([1.0]))


def test_sqrt_impact_slippage_is_two_thirds_of_the_price_move() -> None:
    model = ImpactSlippage(impact={"BTC": SqrtImpact(sigma_daily=0.03, depth_usd=1e9)})
    (s,) = model.rates(["BTC-PERPETUAL"], ["BTC"], np.array([1e7]))
    assert s == pytest.approx(2.0 / 3.0 * 0.03 * math.sqrt(1e7 / 1e9))


def test_fund_never_goes_below_zero_and_reconciles() -> None:
    fund = FundBook(100.0)
    fund.penalty("a", 50.0)
    fund.penalty("b", 0.0)  # nothing booked
    assert fund.deficit("c", 500.0) == 150.0
    assert fund.deficit("d", 10.0) == 0.0
    ledger = fund.ledger()
    assert [f.kind for f in ledger.flows] == [FundFlowKind.PENALTY, FundFlowKind.DEFICIT]
    assert ledger.balance_usd == 0.0
    assert ledger.inflow_usd == 50.0
    assert ledger.outflow_usd == 150.0
    assert ledger.balance_usd == ledger.opening_usd + sum(f.amount_usd for f in ledger.flows)


def test_ledger_rejects_flows_that_do_not_reconcile() -> None:
    flow = FundFlow(kind=FundFlowKind.PENALTY, account="a", amount_usd=10.0, balance_after_usd=20.0)
    with pytest.raises(ValidationError, match="balance_after_usd"):
        FundLedger(opening_usd=0.0, flows=(flow,))
    with pytest.raises(ValidationError, match="amount_usd"):
        FundFlow(kind=FundFlowKind.DEFICIT, account="a", amount_usd=10.0, balance_after_usd=0.0)
    with pytest.raises(ValidationError, match="balance_after_usd"):
        FundFlow(kind=FundFlowKind.DEFICIT, account="a", amount_usd=-10.0, balance_after_usd=-1.0)
