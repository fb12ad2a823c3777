"""Incremental margin: what a new snapshot and a one-account change cost a kept engine."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from portmargin.analysis import MarginEngine
from portmargin.bench._margin import synthetic_book, venue_instruments
from portmargin.core import PortmarginError
from portmargin.market import MarketSnapshot
from portmargin.methods import MarginMethod, run_method
from portmargin.portfolio import Portfolio, Position

__all__ = ["IncrementalBench", "run_incremental_bench"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IncrementalBench:
    """Measured incremental runs of a :class:`~portmargin.analysis.MarginEngine`.

    Attributes
    ----------
    method, accounts, positions
        Method and size of the synthetic venue (20 positions per account).
    full_seconds
        Building the engine: the first full run over the book.
    new_snapshot_seconds
        Median wall time of :meth:`MarginEngine.update_market` (every account re-margined at
        another snapshot, the book kept).
    one_account_ms
        Median wall time of :meth:`MarginEngine.update_positions` for one account, ms.
    one_account_full_run_ms
        Baseline in the same run: a full run over the whole book, what re-margining one
        changed account costs without an engine, ms.
    updates
        One-account updates measured.
    """

    method: str
    accounts: int
    positions: int
    full_seconds: float
    new_snapshot_seconds: float
    one_account_ms: float
    one_account_full_run_ms: float
    updates: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def run_incremental_bench(
    method: MarginMethod,
    params: Any,
    markets: tuple[MarketSnapshot, MarketSnapshot],
    accounts: int = 100_000,
    updates: int = 50,
) -> IncrementalBench:
    """Time an engine over a synthetic venue: snapshot changes and one-account changes.

    Parameters
    ----------
    method, params
        The method measured and its parameters.
    markets
        Two snapshots of the same instruments; the engine alternates between them.
    accounts
        Accounts in the synthetic venue.
    updates
        One-account position changes to time (random accounts, 20 new positions each).

    Raises
    ------
    PortmarginError
        If sizes are not > 0.
    """
    if accounts <= 0 or updates <= 0:
        raise PortmarginError("benchmark sizes must be > 0")
    rng = np.random.default_rng(20200521)
    instruments = venue_instruments(markets[0])
    book = synthetic_book(instruments, accounts, 20, rng)

    start = time.perf_counter()
    engine = MarginEngine(method, params, book, markets[0])
    full_seconds = time.perf_counter() - start

    snapshot_times = []
    for k in range(3):
        start = time.perf_counter()
        engine.update_market(markets[(k + 1) % 2])
        snapshot_times.append(time.perf_counter() - start)

    portfolios = [
        Portfolio.from_positions(
            book.accounts[int(a)],
            [
                Position(instrument=instruments[int(c)], quantity=float(q))
                for c, q in zip(
                    rng.integers(0, len(instruments), 20),
                    np.round(rng.normal(0.0, 1.0, 20), 1) + 0.05,
                    strict=True,
                )
            ],
        )
        for a in rng.integers(0, accounts, updates)
    ]
    update_times = []
    for pf in portfolios:
        start = time.perf_counter()
        engine.update_positions([pf])
        update_times.append(time.perf_counter() - start)

    whole = engine.book
    start = time.perf_counter()
    run_method(method, whole, engine.market, params)
    full_run = time.perf_counter() - start

    return IncrementalBench(
        method=method.name,
        accounts=accounts,
        positions=int(book.quantities.nnz),
        full_seconds=full_seconds,
        new_snapshot_seconds=float(np.median(snapshot_times)),
        one_account_ms=float(np.median(update_times)) * 1e3,
        one_account_full_run_ms=full_run * 1e3,
        updates=updates,
    )
