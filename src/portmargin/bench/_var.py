"""VaR/ES margin at venue scale: FHS expected shortfall over the bundled chain, timed by stage."""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from portmargin.bench._margin import synthetic_book, venue_instruments
from portmargin.core import PortmarginError
from portmargin.data import demo_daily_paths
from portmargin.io import load_history
from portmargin.market import MarketSnapshot
from portmargin.methods.var import VarParams, historical_scenarios, revalue, var_margin
from portmargin.risk import resolve_instruments

__all__ = ["VarBench", "run_var_bench"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VarBench:
    """Measured ``var`` run over a synthetic venue.

    Attributes
    ----------
    accounts, positions, instruments, scenarios
        Size of the run (positions = non-zero book entries).
    method, measure
        Scenario generator and margin measure of the pack.
    stages
        Seconds per stage: ``history`` (read the daily files), ``scenarios`` (returns, EWMA,
        h-day scenarios), ``revaluation`` (risk arrays of every instrument), ``compute`` (the
        whole method: the two stages above again, then losses, VaR/ES of the portfolio and of
        each group, add-ons and every position's Euler, standalone and incremental figures).
    aggregation_seconds
        ``compute - scenarios - revaluation``: what the accounts cost.
    seconds_per_account
        ``compute / accounts``.
    peak_rss_mb
        Peak resident memory of the process, MiB.
    account_errors
        Accounts the method could not compute (should be 0).
    """

    accounts: int
    positions: int
    instruments: int
    scenarios: int
    method: str
    measure: str
    stages: dict[str, float]
    aggregation_seconds: float
    seconds_per_account: float
    peak_rss_mb: float
    account_errors: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def run_var_bench(
    market: MarketSnapshot, params: VarParams, accounts: int = 10_000, per_account: int = 20
) -> VarBench:
    """Time the ``var`` method on ``accounts`` synthetic accounts of ``per_account`` random
    positions in the listed instruments of ``market``, with the bundled BTC/ETH history.

    Raises
    ------
    PortmarginError
        If sizes are not > 0.
    """
    if accounts <= 0 or per_account <= 0:
        raise PortmarginError("benchmark sizes must be > 0")
    stages: dict[str, float] = {}
    start = time.perf_counter()
    history = load_history(demo_daily_paths()).history
    stages["history"] = time.perf_counter() - start
    instruments = venue_instruments(market)
    book = synthetic_book(instruments, accounts, per_account, np.random.default_rng(20200521))
    table = resolve_instruments(instruments, market)
    underlyings = sorted({str(u) for u in table.underlying})
    as_of = params.as_of or datetime.fromtimestamp(market.valuation_ms / 1000.0, tz=UTC).date()

    start = time.perf_counter()
    hist, _ = historical_scenarios(history, underlyings, as_of, params)
    stages["scenarios"] = time.perf_counter() - start

    start = time.perf_counter()
    revalue(table, hist, params)
    stages["revaluation"] = time.perf_counter() - start

    start = time.perf_counter()
    batch = var_margin(book, market, params, history)
    stages["compute"] = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return VarBench(
        accounts=accounts,
        positions=int(book.quantities.nnz),
        instruments=len(instruments),
        scenarios=hist.n_scenarios,
        method=params.method.value,
        measure=params.measure.value,
        stages=stages,
        aggregation_seconds=stages["compute"] - stages["scenarios"] - stages["revaluation"],
        seconds_per_account=stages["compute"] / accounts,
        peak_rss_mb=peak,
        account_errors=len(batch.errors),
    )
