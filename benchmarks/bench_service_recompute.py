"""``POST /v1/recompute`` over many stored accounts, in process, on a SQLite file.

Stores N accounts of K random positions each (listed options of the bundled BTC chain, the
perpetual and a BTC balance), then times the recompute job through the API until it is done
(book read, margin, results and status changes written).

Run: ``python benchmarks/bench_service_recompute.py [accounts] [positions] [method]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from portmargin.service import ServiceSettings, create_app, load_demo


def main(accounts: int, positions: int, method: str) -> dict[str, object]:
    """Timings of storing the book and of the recompute job."""
    folder = Path(tempfile.mkdtemp(prefix="portmargin-bench-"))
    app = create_app(ServiceSettings(database_url=f"sqlite:///{folder / 'bench.db'}"))
    services = app.state.services
    load_demo(services.store)
    _, market = services.desk.market()
    names = np.array(
        [*sorted(q.instrument.name for q in market.quotes.values()), "BTC-PERPETUAL", "BTC"],
        dtype=object,
    )
    rng = np.random.default_rng(11)
    t0 = time.perf_counter()
    rows = []
    for a in range(accounts):
        picked = rng.choice(len(names), positions, replace=False)
        qty = np.round(rng.normal(0, 3, positions), 1)
        account = f"acct-{a:07d}"
        rows.extend(
            (account, str(names[i]), float(q) or 1.0)
            for i, q in zip(picked.tolist(), qty.tolist(), strict=True)
        )
    with services.store.begin() as tx:
        tx.upsert_positions(rows, create_accounts=True)
        _, token = tx.create_key(scopes=["admin"], label="bench")
    stored = time.perf_counter() - t0
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        t0 = time.perf_counter()
        job = client.post("/v1/recompute", json={"methods": [method]}, headers=headers).json()
        while job["state"] not in ("done", "failed"):
            time.sleep(0.2)
            job = client.get(f"/v1/jobs/{job['job_id']}", headers=headers).json()
        elapsed = time.perf_counter() - t0
    return {
        "accounts": accounts,
        "positions_per_account": positions,
        "method": method,
        "store_seconds": round(stored, 2),
        "recompute_seconds": round(elapsed, 2),
        "job": {k: job[k] for k in ("state", "total", "done")},
        "rows": job["detail"].get("rows"),
        "errors": job["detail"].get("errors"),
    }


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    m = sys.argv[3] if len(sys.argv) > 3 else "deribit-pm"
    print(json.dumps(main(n, k, m), indent=2))
