"""The single-account ``compute`` is row 0 of the batch formulas on a one-row book."""

from __future__ import annotations

import numpy as np
import pytest

from portmargin.core import MarketDataError
from portmargin.methods.derive_pm2 import (
    DeriveExpiryFeed,
    DeriveMarket,
    DeriveOptions,
    DeriveParams,
    DerivePortfolio,
    compute,
)

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
