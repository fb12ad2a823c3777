"""Liquidation prices of a venue of demo-like accounts: time of the whole batch."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from portmargin.analysis import cross_asset_portfolio, sample_portfolios
from portmargin.core import PortmarginError
from portmargin.instruments import Currency
from portmargin.lifecycle import Holdings, LifecycleParams, Margining, assess, liquidation_prices
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

__all__ = ["LiqPriceBench", "demo_like_holdings", "run_liqprice_bench"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LiqPriceBench:
    """Measured liquidation-price run.

    Attributes
    ----------
    margining
        Requirement model.
    accounts, positions
        Size of the population.
    direction
        Underlyings moved, e.g. ``"BTC"`` or ``"BTC+ETH"``.
    seconds
        Wall time of one :func:`~portmargin.lifecycle.liquidation_prices` over all accounts.
    cpu_seconds
        CPU time of the process over the same call (less sensitive to other load).
    grid_calls
        Batched valuation and margining calls over the grid.
    refine_evaluations
        Evaluations of one account's ``E - MM`` made by Brent's method, both sides.
    reachable_down, reachable_up, liquidatable, errors
        Accounts with a root below, above, already below MM, in error.
    """

    margining: str
    accounts: int
    positions: int
    direction: str
    seconds: float
    cpu_seconds: float
    grid_calls: int
    refine_evaluations: int
    reachable_down: int
    reachable_up: int
    liquidatable: int
    errors: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def demo_like_holdings(
    market: MarketSnapshot,
    accounts: int,
    margining: Margining,
    params: LifecycleParams,
    seed: int = 20200521,
) -> Holdings:
    """``accounts`` accounts like the demo books, funded to a random cushion over IM.

    Account ``i`` holds sample book ``i mod 8`` (:func:`~portmargin.analysis.sample_portfolios`
    and :func:`~portmargin.analysis.cross_asset_portfolio`) scaled by a factor uniform in
    [0.2, 2] and a USDC balance that brings its equity to ``cushion x IM`` under
    ``margining``, cushion uniform in [1.05, 3] (the ``max_leverage`` population of
    ``lifecycle.md`` §9); futures settled at the marks.
    """
    if accounts <= 0:
        raise PortmarginError("benchmark sizes must be > 0")
    rng = np.random.default_rng(seed)
    books = Book.from_portfolios([*sample_portfolios(market), cross_asset_portfolio(market)])
    usdc = Currency(code="USDC")
    instruments = (*books.instruments, usdc)
    q = books.quantities
    template = np.arange(accounts) % len(books.accounts)
    counts = np.diff(q.indptr)[template]
    starts = q.indptr[:-1][template]
    take = np.concatenate([np.arange(s, s + c) for s, c in zip(starts, counts, strict=True)])
    rows = np.repeat(np.arange(accounts), counts)
    scale = rng.uniform(0.2, 2.0, size=accounts)
    names = [f"acct-{i:06d}" for i in range(accounts)]
    unfunded = Book.from_arrays(
        names, instruments, rows, q.indices[take], q.data[take] * scale[rows]
    )
    now = assess(Holdings.settled(unfunded, market), market, margining, params)
    cushion = rng.uniform(1.05, 3.0, size=accounts)
    deposit = np.nan_to_num(cushion * now.initial_margin - now.equity)
    funded = Book.from_arrays(
        names,
        instruments,
        np.concatenate([rows, np.arange(accounts)]),
        np.concatenate([q.indices[take], np.full(accounts, len(instruments) - 1)]),
        np.concatenate([q.data[take] * scale[rows], np.maximum(deposit, 0.0)]),
    )
    return Holdings.settled(funded, market)


def run_liqprice_bench(
    market: MarketSnapshot,
    accounts: int,
    margining: Margining,
    params: LifecycleParams,
    direction: dict[str, float] | None = None,
) -> LiqPriceBench:
    """Time :func:`~portmargin.lifecycle.liquidation_prices` over ``accounts`` demo-like
    accounts (:func:`demo_like_holdings`) moving ``direction`` (all underlyings: ``None``)."""
    holdings = demo_like_holdings(market, accounts, margining, params)
    start, cpu = time.perf_counter(), time.process_time()
    result = liquidation_prices(holdings, market, margining, params, direction)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return LiqPriceBench(
        margining=margining.name,
        accounts=accounts,
        positions=int(holdings.book.quantities.nnz),
        direction="+".join(result.underlyings),
        seconds=seconds,
        cpu_seconds=cpu,
        grid_calls=result.grid_calls,
        refine_evaluations=int(result.down.evaluations.sum() + result.up.evaluations.sum()),
        reachable_down=int(np.sum(result.down.reachable & ~result.liquidatable)),
        reachable_up=int(np.sum(result.up.reachable & ~result.liquidatable)),
        liquidatable=int(result.liquidatable.sum()),
        errors=len(result.errors),
    )
