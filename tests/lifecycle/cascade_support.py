"""The six-account population of lifecycle.md §10.3 and its three methods."""

from __future__ import annotations

import numpy as np

from portmargin.instruments import Perpetual, Settlement
from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    CascadeMarket,
    CascadeParams,
    EwmaRates,
    LinearImpact,
    NotionalRates,
)
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

S0 = 50_000.0
SIZES = np.array([100.0, 200.0, 150.0, 300.0, 100.0, 400.0])
CUSHIONS = np.array([1.05, 1.2, 1.5, 2.0, 3.0, 4.0])
ACCOUNTS = tuple(f"#{i}" for i in range(1, 7))
PERP = Perpetual(underlying="BTC", quote="USDC", settlement=Settlement.LINEAR)


def market() -> MarketSnapshot:
    """BTC index at S_0 = 50,000 (the perpetual's mark is the index)."""
    return MarketSnapshot(valuation_ms=1_637_712_000_000, index_prices={"BTC": S0})


def positions() -> Book:
    """Long BTC linear perpetuals of the six accounts, no balances."""
    return Book.from_arrays(
        ACCOUNTS, [PERP], np.arange(6, dtype=np.intp), np.zeros(6, dtype=np.intp), SIZES
    )


def methods() -> dict[str, NotionalRates | EwmaRates]:
    """A flat 4/5 %, B static 12/15 %, C dynamic clip(3 sigma, 0.08, 0.40)."""
    return {
        "A": NotionalRates(mm_rates={"BTC": 0.04}, im_rates={"BTC": 0.05}),
        "B": NotionalRates(mm_rates={"BTC": 0.12}, im_rates={"BTC": 0.15}),
        "C": EwmaRates(
            sigma0={"BTC": 0.030217},
            reference={"BTC": S0},
            multiplier=3.0,
            floor=0.08,
            cap=0.40,
            ewma_lambda=0.94,
            im_ratio=1.25,
        ),
    }


def impact() -> CascadeMarket:
    """Linear impact, D_1pct = 10,000,000 USD."""
    return CascadeMarket(impact={"BTC": LinearImpact(depth_1pct_usd=10_000_000.0)})


def params(shock: float, *, adl_offbook: bool = False) -> CascadeParams:
    """Full close, penalty 1 % of notional at S_r, fund 1,000,000."""
    return CascadeParams.from_lifecycle(
        load_lifecycle_params(),
        shock={"BTC": shock},
        fund_usd=1_000_000.0,
        penalty=0.01,
        adl_offbook=adl_offbook,
    )
