"""Latency of one-account margin in the service, in process (no network).

Builds the service on a temporary SQLite store with the demo data, stores a 50-position
account (48 listed BTC options, the perpetual and a BTC balance) and times, per method:
the desk's computation alone, ``GET /v1/accounts/{id}/margin`` (computation and recording
in the history) and ``POST /v1/accounts/{id}/whatif``, through the ASGI test client.

Run: ``python benchmarks/bench_service_latency.py [requests]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from portmargin.service import ServiceSettings, create_app, load_demo

ACCOUNT = "bench-50"
METHODS = ("deribit-pm", "standard", "span")


def _timings(run: Callable[[], object], n: int) -> dict[str, float]:
    run()  # warm up
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "per_second": round(1e3 / float(ms.mean()), 1),
    }


def main(n: int) -> dict[str, object]:
    """Timings of ``n`` calls of each kind."""
    folder = Path(tempfile.mkdtemp(prefix="portmargin-bench-"))
    app = create_app(ServiceSettings(database_url=f"sqlite:///{folder / 'bench.db'}"))
    services = app.state.services
    load_demo(services.store)
    _, market = services.desk.market()
    names = sorted(q.instrument.name for q in market.quotes.values())[::6][:48]
    rng = np.random.default_rng(5)
    rows = [(ACCOUNT, name, float(rng.integers(-10, 11) or 1)) for name in names]
    rows.append((ACCOUNT, "BTC-PERPETUAL", -5.0))
    with services.store.begin() as tx:
        tx.create_account(ACCOUNT)
        tx.upsert_positions(rows)
        tx.set_collateral(ACCOUNT, {"BTC": 25.0})
        _, token = tx.create_key(scopes=["admin"], label="bench")
    headers = {"Authorization": f"Bearer {token}"}
    trade = {"trades": [{"instrument": names[0], "quantity": 1.0}]}
    out: dict[str, object] = {"positions": len(services.desk.holdings(ACCOUNT))}
    with TestClient(app) as client:
        for method in METHODS:
            out[method] = {
                "compute": _timings(lambda m=method: services.desk.account_margin(ACCOUNT, m), n),
                "GET margin": _timings(
                    lambda m=method: client.get(
                        f"/v1/accounts/{ACCOUNT}/margin?method={m}", headers=headers
                    ).raise_for_status(),
                    n,
                ),
                "POST whatif": _timings(
                    lambda m=method: client.post(
                        f"/v1/accounts/{ACCOUNT}/whatif",
                        json={**trade, "method": m},
                        headers=headers,
                    ).raise_for_status(),
                    n,
                ),
            }
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200), indent=2))
