"""Requests per second of the service over HTTP on loopback.

Starts ``portmargin serve --workers N`` (uvicorn) on a temporary SQLite store with the demo
data plus a 50-position account, then drives ``POST /v1/accounts/{id}/whatif`` and
``GET /v1/accounts/{id}/margin`` from this (separate) process with several client threads
for a bounded time; prints requests/s, p50, p99 and errors per kind.

Run: ``python benchmarks/bench_service_http.py [seconds] [threads] [workers]``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ACCOUNT = "bench-50"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(folder: Path, workers: int) -> tuple[subprocess.Popen[str], str, str]:
    port = _free_port()
    url = f"sqlite:///{folder / 'bench.db'}"
    args = ["serve", "--demo", "--port", str(port), "--database-url", url]
    args += ["--workers", str(workers)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "portmargin", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    token = None
    while token is None:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("portmargin serve stopped before printing its key")
        found = re.search(r"(pm_[A-Za-z0-9_-]{56})", line)
        token = found.group(1) if found else None
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/ready").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    return proc, base, token


def main(seconds: float, threads: int, workers: int) -> dict[str, object]:
    """Drive a server of ``workers`` processes for ``seconds`` with ``threads`` client
    threads."""
    folder = Path(tempfile.mkdtemp(prefix="portmargin-bench-"))
    proc, base, token = _start(folder, workers)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            client.post("/v1/accounts", json={"account_id": ACCOUNT}).raise_for_status()
            names = sorted(
                r["instrument"]
                for r in client.get("/v1/accounts/market-maker/positions").json()["positions"]
            )[:49]
            client.put(
                f"/v1/accounts/{ACCOUNT}/positions",
                json={"positions": [{"instrument": n, "quantity": 1.0} for n in names]},
            ).raise_for_status()
            client.put(
                f"/v1/accounts/{ACCOUNT}/collateral", json={"balances": {"BTC": 25.0}}
            ).raise_for_status()
        kinds = {
            "whatif": ("POST", f"/v1/accounts/{ACCOUNT}/whatif"),
            "margin": ("GET", f"/v1/accounts/{ACCOUNT}/margin"),
        }
        trade = {"trades": [{"instrument": names[0], "quantity": 1.0}]}
        times: dict[str, list[float]] = {k: [] for k in kinds}
        errors: dict[str, int] = dict.fromkeys(kinds, 0)
        lock = threading.Lock()
        stop = time.monotonic() + seconds

        def drive(k: int) -> None:
            kind = list(kinds)[k % len(kinds)]
            method, path = kinds[kind]
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                while time.monotonic() < stop:
                    t0 = time.perf_counter()
                    response = client.request(
                        method, path, json=trade if method == "POST" else None
                    )
                    elapsed = time.perf_counter() - t0
                    with lock:
                        times[kind].append(elapsed)
                        if response.status_code != 200:
                            errors[kind] += 1

        clients = [threading.Thread(target=drive, args=(k,)) for k in range(threads)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
    finally:
        proc.terminate()
        proc.wait(30)
    out: dict[str, object] = {
        "seconds": seconds,
        "threads": threads,
        "workers": workers,
        "positions": 50,
    }
    total = 0
    for kind, values in times.items():
        ms = np.array(values) * 1e3
        total += len(values)
        out[kind] = {
            "requests": len(values),
            "per_second": round(len(values) / seconds, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "errors": errors[kind],
        }
    out["per_second"] = round(total / seconds, 1)
    return out


if __name__ == "__main__":
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    w = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    print(json.dumps(main(secs, n, w), indent=2))
