"""``POST /v1/recompute`` over a large stored book, in process through the real application.

Stores N accounts of K random positions (listed instruments of the bundled BTC chain) on a
temporary SQLite file, then starts the recompute job through the API (ASGI test client) and
follows ``GET /v1/jobs/{id}`` until it is done; the job's detail carries its stage seconds.
"""

from __future__ import annotations

import resource
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from portmargin.core import PortmarginError
from portmargin.data import demo_chain_path
from portmargin.io.deribit import load_deribit_chain_csv

__all__ = ["STAGES", "RecomputeBench", "listed_names", "random_rows", "run_recompute_bench"]

JOB_POLL_SECONDS = 0.05
"""How often the job is polled, s."""
STAGES = ("read_book", "margin", "write")
"""Stages of the recompute job, in order."""
ROWS_PER_DRAW = 20_000
"""Accounts drawn per step of :func:`random_rows` (bounds the temporary matrix)."""


def listed_names() -> list[str]:
    """Names of the listed options, futures and perpetual of the bundled BTC chain, sorted."""
    snap = load_deribit_chain_csv(demo_chain_path()).snapshot
    names = {q.instrument.name for q in snap.quotes.values()}
    names.update(q.instrument.name for q in snap.futures.values())
    return sorted(names)


def random_rows(
    names: list[str], accounts: int, positions: int, rng: np.random.Generator, prefix: str
) -> list[tuple[str, str, float]]:
    """``(account, instrument, quantity)`` rows: ``accounts`` accounts named
    ``{prefix}{k:07d}``, each with ``positions`` distinct instruments drawn from ``names`` and
    non-zero quantities (contracts, one decimal, signed)."""
    if not 0 < positions <= len(names):
        raise PortmarginError(f"positions per account must be in 1..{len(names)}")
    pool = np.asarray(names, dtype=object)
    rows: list[tuple[str, str, float]] = []
    for first in range(0, accounts, ROWS_PER_DRAW):
        n = min(ROWS_PER_DRAW, accounts - first)
        picked = np.argpartition(rng.random((n, len(names))), positions - 1, axis=1)
        picked = picked[:, :positions]
        qty = np.round(rng.normal(0.0, 3.0, (n, positions)), 1)
        qty[qty == 0.0] = 1.0
        ids = [f"{prefix}{k:07d}" for k in range(first, first + n)]
        rows.extend(
            zip(
                np.repeat(np.asarray(ids, dtype=object), positions).tolist(),
                pool[picked.ravel()].tolist(),
                qty.ravel().tolist(),
                strict=True,
            )
        )
    return rows


@dataclass(frozen=True, slots=True, kw_only=True)
class RecomputeBench:
    """Measured recompute job over a stored book.

    Attributes
    ----------
    accounts, positions_per_account, method
        Size of the stored book and the method recomputed.
    store_seconds
        Writing the book (positions, accounts created) in one transaction, s.
    job_seconds
        ``POST /v1/recompute`` until ``GET /v1/jobs/{id}`` answers ``done``, s (polled every
        :data:`JOB_POLL_SECONDS`).
    stages
        Seconds per stage as the job reports them: ``read_book`` (book table from the store
        and its parse into a book), ``margin`` (the method and the result rows) and ``write``
        (results, history and status changes recorded).
    accounts_per_second
        ``accounts / job_seconds``.
    rows, errors
        Result rows recorded and accounts the method could not margin.
    peak_rss_mb
        Peak resident memory of the process, MiB.
    """

    accounts: int
    positions_per_account: int
    method: str
    store_seconds: float
    job_seconds: float
    stages: dict[str, float]
    accounts_per_second: float
    rows: int
    errors: int
    peak_rss_mb: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def run_recompute_bench(
    accounts: int = 100_000, positions: int = 20, method: str = "standard"
) -> RecomputeBench:
    """Store a random book and time the recompute job of ``method`` through the API.

    Raises
    ------
    PortmarginError
        Sizes that are not > 0, or a job that did not finish.
    """
    # the service's packages (the "service" extra) are imported only by this benchmark
    with warnings.catch_warnings():
        # newer Starlette versions announce a successor to httpx for their test client
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from portmargin.service import ServiceSettings, create_app, load_demo

    if accounts <= 0:
        raise PortmarginError("accounts must be > 0")
    rows = random_rows(listed_names(), accounts, positions, np.random.default_rng(11), "acct-")
    with tempfile.TemporaryDirectory(prefix="portmargin-bench-") as folder:
        app = create_app(ServiceSettings(database_url=f"sqlite:///{Path(folder) / 'bench.db'}"))
        store = app.state.services.store
        load_demo(store)
        with store.begin() as tx:
            _, token = tx.create_key(scopes=["admin"], label="bench")
        start = time.perf_counter()
        with store.begin() as tx:
            tx.upsert_positions(rows, create_accounts=True)
        store_seconds = time.perf_counter() - start
        del rows
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as client:
            start = time.perf_counter()
            response = client.post("/v1/recompute", json={"methods": [method]}, headers=headers)
            response.raise_for_status()
            job = response.json()
            while job["state"] not in ("done", "failed"):
                time.sleep(JOB_POLL_SECONDS)
                job = client.get(f"/v1/jobs/{job['job_id']}", headers=headers).json()
            job_seconds = time.perf_counter() - start
    detail = job["detail"]
    if job["state"] != "done":
        raise PortmarginError(f"the recompute job failed: {detail.get('error')}")
    return RecomputeBench(
        accounts=accounts,
        positions_per_account=positions,
        method=method,
        store_seconds=store_seconds,
        job_seconds=job_seconds,
        stages={k: float(detail["stages"][k]) for k in STAGES},
        accounts_per_second=accounts / job_seconds,
        rows=int(detail["rows"]),
        errors=int(detail["errors"]),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    )
