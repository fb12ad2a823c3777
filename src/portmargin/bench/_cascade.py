"""Cascade benchmark: a liquidation cascade over a large synthetic population, against a
per-account loop measured on a sample in the same run."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from portmargin.core import PortmarginError
from portmargin.data import demo_daily_paths
from portmargin.instruments import Perpetual
from portmargin.io import load_history
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.lifecycle import (
    CascadeMarket,
    CascadeParams,
    EwmaRates,
    Holdings,
    LinearImpact,
    Margining,
    MethodMargining,
    account_values,
    max_leverage_population,
    run_cascade,
    synthetic_positions,
)
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method
from portmargin.risk import moved_market

__all__ = ["CascadeBench", "run_cascade_bench"]

PRICES = {"BTC": 50_000.0, "ETH": 4_000.0}
"""``S_0`` of the synthetic market (USD)."""
SIGMA0 = {"BTC": 0.030217, "ETH": 0.039634}
"""Daily EWMA vols at 2021-11-24 (``var-margin.md`` §3.3), the dynamic method's state."""
SHOCK = {"BTC": -0.06, "ETH": -0.08}
DEPTH_SHARE = 0.05
"""``D_1pct`` of an underlying = this share of the population's gross notional in it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeBench:
    """A measured cascade and its baseline.

    Attributes
    ----------
    accounts, positions
        Population size (linear BTC and ETH perpetuals, one or two per account, USDC).
    method
        Requirement model, re-run every round over the surviving book.
    rounds, accounts_liquidated, liquidated_notional
        Outcome of the cascade (USD).
    setup_seconds
        Building the max-leverage population (positions, IM at ``S_0``, deposits).
    seconds
        The cascade, wall time.
    round_seconds
        Wall time per round (``seconds / (rounds + 1)``: the last assessment finds nothing to
        liquidate).
    evaluations
        Account valuations and margin runs the cascade made (sum over assessments of the
        accounts alive).
    baseline_accounts, baseline_seconds_per_account
        A per-account Python loop (value and margin one account at a time) over a sample.
    baseline_seconds
        That loop extrapolated to ``evaluations``.
    speedup
        ``baseline_seconds / seconds``.
    """

    accounts: int
    positions: int
    method: str
    rounds: int
    accounts_liquidated: int
    liquidated_notional: float
    setup_seconds: float
    seconds: float
    round_seconds: float
    evaluations: int
    baseline_accounts: int
    baseline_seconds_per_account: float
    baseline_seconds: float
    speedup: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def _margining(method: str) -> Margining:
    if method == "ewma":
        return EwmaRates(sigma0=SIGMA0, reference=PRICES)
    m = get_method(method)
    return MethodMargining(method=m, params=load_params(m))


def run_cascade_bench(
    accounts: int = 100_000,
    baseline_accounts: int = 200,
    method: str = "ewma",
    seed: int = 20211124,
) -> CascadeBench:
    """Cascade of ``accounts`` synthetic accounts after a BTC -6 % / ETH -8 % shock.

    ``method`` ``"ewma"``: dynamic EWMA rates (``lifecycle.md`` §10.3 method C), or a
    registered method name (its bundled parameters; the market carries the bundled daily
    history, so ``var`` runs too). Max-leverage population, linear
    impact with ``D_1pct`` = 5 % of the population's gross notional per underlying, full
    close. The baseline values and margins ``baseline_accounts`` accounts one by one at the
    shocked market and is extrapolated to the cascade's number of evaluations.

    Raises
    ------
    PortmarginError
        If sizes are not > 0.
    """
    if accounts <= 0 or baseline_accounts <= 0:
        raise PortmarginError("benchmark sizes must be > 0")
    market = MarketSnapshot(valuation_ms=1_637_712_000_000, index_prices=PRICES).with_history(
        load_history(demo_daily_paths()).history
    )
    margining = _margining(method)
    lifecycle = load_lifecycle_params()
    start = time.perf_counter()
    book, cushions = synthetic_positions(accounts, seed, prices=PRICES)
    population = max_leverage_population(book, market, margining, cushions)
    setup = time.perf_counter() - start

    coins = np.asarray(abs(book.quantities).sum(axis=0)).ravel()
    gross: dict[str, float] = {}
    for k, inst in enumerate(book.instruments):
        if isinstance(inst, Perpetual):
            u = inst.underlying
            gross[u] = gross.get(u, 0.0) + float(coins[k]) * PRICES[u]
    impact = CascadeMarket(
        impact={u: LinearImpact(depth_1pct_usd=DEPTH_SHARE * g) for u, g in gross.items()}
    )
    params = CascadeParams.from_lifecycle(
        lifecycle, shock=SHOCK, fund_usd=0.001 * sum(gross.values())
    )
    start = time.perf_counter()
    result = run_cascade(population.holdings, market, margining, params, impact)
    seconds = time.perf_counter() - start

    alive = accounts
    evaluations = 0
    for rnd in result.rounds:
        evaluations += alive
        alive -= len(rnd.liquidated)
    evaluations += alive

    m = min(baseline_accounts, accounts)
    holdings = population.holdings
    moved = moved_market(market, SHOCK)
    start = time.perf_counter()
    for a in range(m):
        one = Holdings(
            book=holdings.book.select_accounts(np.arange(accounts) == a),
            reference=holdings.reference,
        )
        account_values(one, moved, lifecycle.collateral)
        margining.requirements(one.book, moved)
    per_account = (time.perf_counter() - start) / m
    baseline = per_account * evaluations
    return CascadeBench(
        accounts=accounts,
        positions=int(book.quantities.nnz),
        method=margining.name,
        rounds=result.n_rounds,
        accounts_liquidated=result.accounts_liquidated,
        liquidated_notional=result.liquidated_notional,
        setup_seconds=setup,
        seconds=seconds,
        round_seconds=seconds / (result.n_rounds + 1),
        evaluations=evaluations,
        baseline_accounts=m,
        baseline_seconds_per_account=per_account,
        baseline_seconds=baseline,
        speedup=baseline / seconds,
    )
