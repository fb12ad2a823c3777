"""Venue-scale margin: a synthetic venue on the bundled chain, batch path vs a per-account loop."""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from portmargin.core import PortmarginError
from portmargin.instruments import Future, Instrument, Perpetual, parse_instrument
from portmargin.market import MarketSnapshot
from portmargin.methods import MarginMethod
from portmargin.risk import Book

__all__ = ["MarginBench", "run_margin_bench", "synthetic_book"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginBench:
    """Measured venue-wide margin run.

    Attributes
    ----------
    method
        Method measured.
    accounts, positions, instruments
        Size of the synthetic venue.
    seconds
        Wall time of one ``compute`` over all accounts (full columnar results with components).
    accounts_per_second
        ``accounts / seconds``.
    baseline_accounts
        Accounts run one by one through ``compute`` (a book of one account each time, so every
        account reprices its own instruments).
    baseline_seconds_per_account
        Mean wall time per account of that loop.
    speedup
        ``baseline_seconds_per_account * accounts / seconds``.
    peak_rss_mb
        Peak resident memory of the process, MiB.
    account_errors
        Accounts the method could not compute (should be 0).
    """

    method: str
    accounts: int
    positions: int
    instruments: int
    seconds: float
    accounts_per_second: float
    baseline_accounts: int
    baseline_seconds_per_account: float
    speedup: float
    peak_rss_mb: float
    account_errors: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def venue_instruments(market: MarketSnapshot) -> list[Instrument]:
    """Every listed option of the snapshot, a future per listed future forward, the perpetual."""
    options = [q.instrument for q in market.quotes.values()]
    futures: dict[str, Instrument] = {}
    for q in market.quotes.values():
        name = q.underlying_index
        if not name.startswith("SYN.") and name not in futures:
            inst = parse_instrument(name)
            if isinstance(inst, Future):
                futures[name] = inst
    underlyings = sorted({o.underlying for o in options})
    perps: list[Instrument] = [Perpetual(underlying=u, contract_size=10.0) for u in underlyings]
    return [*options, *futures.values(), *perps]


def synthetic_book(
    instruments: list[Instrument], accounts: int, per_account: int, rng: np.random.Generator
) -> Book:
    """``accounts`` accounts with ``per_account`` random positions each (repeats summed).

    Quantities are normal with a 1-coin scale, rounded to 0.1 coin, options and delta-one mixed.
    """
    n = accounts * per_account
    rows = np.repeat(np.arange(accounts, dtype=np.intp), per_account)
    cols = rng.integers(0, len(instruments), size=n, dtype=np.intp)
    qty = np.round(rng.normal(0.0, 1.0, size=n), 1)
    qty[qty == 0.0] = 0.1
    names = [f"acct-{i:06d}" for i in range(accounts)]
    return Book.from_arrays(names, instruments, rows, cols, qty)


def run_margin_bench(
    method: MarginMethod,
    params: Any,
    market: MarketSnapshot,
    accounts: int = 100_000,
    baseline_accounts: int = 200,
) -> MarginBench:
    """Time ``method`` over a synthetic venue and, in the same run, a per-account loop.

    Raises
    ------
    PortmarginError
        If sizes are not > 0.
    """
    if accounts <= 0 or baseline_accounts <= 0:
        raise PortmarginError("benchmark sizes must be > 0")
    rng = np.random.default_rng(20200521)
    instruments = venue_instruments(market)
    book = synthetic_book(instruments, accounts, 20, rng)

    start = time.perf_counter()
    batch = method.compute(book, market, params)
    seconds = time.perf_counter() - start

    m = min(baseline_accounts, accounts)
    start = time.perf_counter()
    for a in range(m):
        one = book.select_accounts(np.arange(accounts) == a)
        method.compute(one, market, params)
    per_account = (time.perf_counter() - start) / m
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return MarginBench(
        method=method.name,
        accounts=accounts,
        positions=int(book.quantities.nnz),
        instruments=len(instruments),
        seconds=seconds,
        accounts_per_second=accounts / seconds,
        baseline_accounts=m,
        baseline_seconds_per_account=per_account,
        speedup=per_account * accounts / seconds,
        peak_rss_mb=peak,
        account_errors=len(batch.errors),
    )
