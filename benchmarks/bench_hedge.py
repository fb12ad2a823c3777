"""Hedge suggestions for many accounts of random books on the bundled Deribit chain.

Run: ``python benchmarks/bench_hedge.py [accounts] [method] [positions per account]``.
Prints the seconds of one :func:`~portmargin.analysis.suggest_hedges` call over the whole
book (automatic candidates, largest IM reduction), the trade rows margined and the runs.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from portmargin.analysis import suggest_hedges
from portmargin.data import demo_chain_path, demo_daily_paths
from portmargin.instruments import Perpetual
from portmargin.io import load_history
from portmargin.io.deribit import load_snapshot
from portmargin.io.params import load_params
from portmargin.lifecycle import MethodMargining
from portmargin.methods import get_method
from portmargin.risk import Book


def random_book(accounts: int, per_account: int, seed: int = 1) -> Book:
    """``accounts`` accounts of ``per_account`` random positions in the chain's options and
    the perpetual (quantities in coins, 0.1 steps)."""
    market = load_snapshot(demo_chain_path()).snapshot
    instruments = [q.instrument for q in market.quotes.values()] + [Perpetual(underlying="BTC")]
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(accounts), per_account)
    cols = np.concatenate(
        [rng.choice(len(instruments), per_account, replace=False) for _ in range(accounts)]
    )
    qty = np.round(rng.normal(0.0, 3.0, rows.size), 1)
    qty[qty == 0] = 0.1
    names = [f"acct-{i}" for i in range(accounts)]
    return Book.from_arrays(names, instruments, rows, cols, qty)


def main(accounts: int, method_name: str, per_account: int) -> dict[str, object]:
    chain = load_snapshot(demo_chain_path()).snapshot
    market = chain.with_history(load_history(demo_daily_paths()).history)
    book = random_book(accounts, per_account)
    method = get_method(method_name)
    margining = MethodMargining(method=method, params=load_params(method))
    started = time.perf_counter()
    report = suggest_hedges(margining, book, market)
    seconds = time.perf_counter() - started
    traded = sum(bool(s.trades) for s in report.suggestions)
    return {
        "method": method_name,
        "accounts": accounts,
        "positions_per_account": per_account,
        "candidates": len(report.candidates),
        "rows_margined": report.rows_margined,
        "runs": report.runs,
        "accounts_with_a_trade": traded,
        "seconds": round(seconds, 3),
    }


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    name = sys.argv[2] if len(sys.argv) > 2 else "deribit-pm"
    k = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    print(json.dumps(main(n, name, k), indent=2))
