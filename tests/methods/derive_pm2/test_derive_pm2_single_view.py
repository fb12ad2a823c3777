"""The single-account ``compute`` is row 0 of the batch formulas on a one-row book."""

from __future__ import annotations

import numpy as np
import pytest

from portmargin.core import MarketDataError
from portmargin.methods.derive_pm2 import (
    COMPONENT_SOURCES,
    DeriveExpiryFeed,
    DeriveMarket,
    DeriveOptions,
    DeriveParams,
    DerivePortfolio,
    compute,
)
from portmargin.results import MarginResult

SPOT = 3000.0


def _market() -> DeriveMarket:
    feeds = tuple(
        DeriveExpiryFeed(
            expiry_seconds=seconds,
            forward=SPOT * 1.001,
            rate=0.05,
            strikes=[2800.0, 3000.0, 3200.0],
            vols=[0.7, 0.65, 0.68],
        )
        for seconds in (86_400.0, 604_800.0)
    )
    return DeriveMarket(spot_price=SPOT, perp_price=SPOT, expiries=feeds)


def _options(order: list[int]) -> DeriveOptions:
    rows = [
        (604_800.0, 3200.0, True, -2.0),
        (86_400.0, 2800.0, False, 1.5),
        (604_800.0, 2800.0, False, -1.0),
        (86_400.0, 3000.0, True, -0.5),
    ]
    picked = [rows[i] for i in order]
    return DeriveOptions(
        expiry_seconds=[r[0] for r in picked],
        strike=[r[1] for r in picked],
        is_call=[r[2] for r in picked],
        amount=[r[3] for r in picked],
    )


def test_option_order_does_not_change_the_result(default_params: DeriveParams) -> None:
    """Options listed across expiries in any order give the same numbers."""
    market = _market()
    a = compute(DerivePortfolio(options=_options([0, 1, 2, 3])), market, default_params)
    b = compute(DerivePortfolio(options=_options([1, 3, 0, 2])), market, default_params)
    assert a.im == b.im
    assert a.mm == b.mm
    np.testing.assert_array_equal(a.pnl_array(), b.pnl_array())
    assert [e.expiry_seconds for e in a.expiries] == [86_400.0, 604_800.0]
    assert [e.naked_shorts for e in a.expiries] == [0.5, 3.0]
    assert a.basis_contingency == pytest.approx(sum(e.basis_contingency for e in a.expiries))
    assert a.option_mtm == pytest.approx(sum(e.mtm for e in a.expiries))


def test_a_missing_vol_names_the_portfolio_row(default_params: DeriveParams) -> None:
    options = DeriveOptions(
        expiry_seconds=[604_800.0, 86_400.0],
        strike=[3200.0, 2900.0],
        is_call=[True, True],
        amount=[1.0, 1.0],
    )
    with pytest.raises(MarketDataError, match=r"strike 2900 \(option row 1\)"):
        compute(DerivePortfolio(options=options), _market(), default_params)


@pytest.mark.parametrize("perp", [0.0, -1.5])
def test_the_shared_result_explains_the_account(default_params: DeriveParams, perp: float) -> None:
    """``compute`` carries a shared MarginResult built like a batch row: its component trees
    add up, and the positions' P&L in the worst case sums to the worst loss."""
    portfolio = DerivePortfolio(cash=1_000.0, perp_position=perp, options=_options([0, 1, 2, 3]))
    result = compute(portfolio, _market(), default_params, account="acct-7")
    margin = result.margin
    assert isinstance(margin, MarginResult)
    assert (margin.account, margin.method, margin.currency) == ("acct-7", "derive-pm2", "USDC")
    assert [c.name for c in margin.components] == ["im", "mm"]
    names = [f"{c.name}/{k.name}" for c in margin.components for k in c.children]
    assert names == [n for n in COMPONENT_SOURCES if "/" in n]
    assert margin.initial_margin == result.im_requirement
    assert sum(c.amount for c in result.im_components) == pytest.approx(result.im_requirement)
    assert sum(c.amount for c in result.mm_components) == pytest.approx(result.mm_requirement)
    assert margin.excess == result.im
    assert margin.equity == result.equity
    worst = result.worst_scenario_index
    expected = result.basis_contingency if worst is None else result.pnl_array()[worst]
    assert sum(c.pnl for c in margin.contributions) == pytest.approx(expected, rel=1e-12)
    assert len(margin.contributions) == 4 + (perp != 0.0)
    assert margin.contributions[0].instrument == "option[1] P 2800 @ 86400 s"
    text = result.explain()
    assert "IM requirement" in text
    assert f"positions' P&L in {result.worst_scenario}" in text
    assert MarginResult.from_dict(margin.to_dict()) == margin
