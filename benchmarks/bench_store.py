"""Bulk speed of the store: upsert a book, read it back as a table, record a margin run.

Run: ``python benchmarks/bench_store.py [accounts] [positions_per_account] [database_url]``
(default 100,000 × 20 on a fresh SQLite file in a temporary directory). A PostgreSQL URL
must point to an empty database. Prints seconds per step as JSON.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from portmargin.store import RESULT_COLUMNS, Store


def _instruments(n: int) -> list[str]:
    strikes = [5_000 + 500 * k for k in range(n)]
    return [f"BTC-26JUN20-{k}-{'C' if k % 1_000 else 'P'}" for k in strikes]


def _results(accounts: list[str], computed_ms: int) -> pa.Table:
    n = len(accounts)
    im = [1_000.0 + k % 97 for k in range(n)]
    columns = {
        "account": accounts,
        "method": ["deribit-pm"] * n,
        "snapshot_id": pa.nulls(n, pa.int64()),
        "computed_ms": [computed_ms] * n,
        "currency": ["USDC"] * n,
        "initial_margin": im,
        "maintenance_margin": [0.5 * x for x in im],
        "equity": [1_500.0] * n,
        "excess": [1_500.0 - x for x in im],
        "margin_ratio": [0.5 * x / 1_500.0 for x in im],
        "status": ["healthy" if k % 10 else "margin_call" for k in range(n)],
        "detail": ["{}"] * n,
    }
    return pa.table({c: columns[c] for c in RESULT_COLUMNS})


def run(n_accounts: int, per_account: int, url: str) -> dict[str, float | int | str]:
    """Seconds for each bulk step on the store at ``url``."""
    accounts = [f"acct-{k:07d}" for k in range(n_accounts)]
    names = _instruments(per_account)
    rows = [(a, name, float(1 + j)) for a in accounts for j, name in enumerate(names)]
    out: dict[str, float | int | str] = {"accounts": n_accounts, "positions": len(rows)}
    with Store.open(url) as store:
        out["dialect"] = store.dialect
        start = time.perf_counter()
        with store.begin() as tx:
            tx.upsert_positions(rows, create_accounts=True)
        out["upsert_seconds"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        book = store.book_table()
        out["book_table_seconds"] = round(time.perf_counter() - start, 2)
        out["book_rows"] = book.num_rows
        table = _results(accounts, 1_700_000_000_000)
        start = time.perf_counter()
        with store.begin() as tx:
            tx.record_results(table)
        out["record_results_seconds"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        with store.begin() as tx:
            tx.record_results(_results(accounts, 1_700_000_060_000))
        out["record_results_again_seconds"] = round(time.perf_counter() - start, 2)
    return out


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with tempfile.TemporaryDirectory() as tmp:
        target = sys.argv[3] if len(sys.argv) > 3 else f"sqlite:///{Path(tmp) / 'bench.db'}"
        print(json.dumps(run(n, per, target), indent=2))
