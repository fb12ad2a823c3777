"""Throughput of the margin service over HTTP on loopback, against the same margin computed in
process.

``portmargin serve --demo`` (uvicorn, ``workers`` processes) runs as a separate process on a
free loopback port with a temporary SQLite store. The benchmark loads 1,000 accounts of 20
random positions through the bulk endpoint ``POST /v1/positions`` and one 50-position account
(48 listed options of the bundled BTC chain, the perpetual and a BTC balance), then a child
process (:mod:`portmargin.bench._load`: asyncio, httpx, keep-alive) drives
``POST /v1/accounts/{id}/whatif`` and ``GET /v1/accounts/{id}/margin?method=...`` for that
account for a bounded time. The baseline, in the same run after the server has stopped, is
the service's :class:`~portmargin.service.Desk` computing the same margin and what-if on the
same store, in process and without HTTP, one call after another.
"""

from __future__ import annotations

import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from portmargin.bench._recompute import listed_names, random_rows
from portmargin.core import PortmarginError

__all__ = ["BENCH_ACCOUNT", "RouteFigures", "ServiceBench", "run_service_bench"]

BENCH_ACCOUNT = "bench-50"
"""The 50-position account the load is driven on."""
LOADED_ACCOUNTS = 1_000
"""Accounts loaded through the bulk endpoint before the load (20 positions each)."""
BULK_ACCOUNTS = 250
"""Accounts per ``POST /v1/positions`` request while loading."""
TARGET_PER_SECOND = 200.0
"""Target throughput over both routes on a 2-core machine, requests/s."""
TARGET_P99_MS = 50.0
"""Target 99th percentile latency of every route, ms."""
START_SECONDS = 60.0
"""How long the server may take to answer ``/ready``, s."""
BASELINE_SECONDS = 2.0
"""Time spent on each in-process baseline at most, s (no longer than the window)."""
BASELINE_MIN_CALLS = 20
"""Calls of each in-process baseline at least."""

_TOKEN = re.compile(r"(pm_[A-Za-z0-9_-]{20,})")


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteFigures:
    """Figures of one route under load, beside the same computation in process.

    Attributes
    ----------
    route
        Method and path template, e.g. ``GET /v1/accounts/{id}/margin?method=deribit-pm``.
    requests, per_second
        Requests completed in the window and their rate, requests/s.
    p50_ms, p99_ms, max_ms
        Latency percentiles and maximum as the client saw them, ms.
    errors
        Responses other than 200 by status (``transport``: the connection failed).
    baseline_p50_ms, baseline_per_second
        The same computation by the service's desk in process, without HTTP, one call at a
        time: median ms and calls/s on one thread.
    overhead_ratio
        ``p50_ms / baseline_p50_ms``: what HTTP, the store reads and writes of the route and
        the concurrency cost over the bare computation.
    """

    route: str
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    baseline_p50_ms: float
    baseline_per_second: float
    overhead_ratio: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceBench:
    """Measured throughput of the service.

    Attributes
    ----------
    seconds, clients, workers, method
        Length of the window, concurrent clients, server processes and margin method.
    positions
        Holdings of the account driven (positions and balances).
    load_accounts, load_rows, load_seconds
        Accounts and positions loaded through ``POST /v1/positions`` before the run, and
        the wall time of that load, s.
    start_seconds
        From starting ``portmargin serve --demo`` to its first ``/ready``, s.
    routes
        Figures of each route.
    per_second, p50_ms, p99_ms, errors
        Over both routes together.
    target_met
        Whether ``per_second >= TARGET_PER_SECOND``, every route's ``p99_ms <=
        TARGET_P99_MS`` and no error.
    server_cpu_seconds
        CPU seconds of each server process during the window (Linux ``/proc``; empty
        elsewhere): how evenly the workers shared the load.
    connections
        Clients (keep-alive connections) per server process, ascending: spread evenly
        where the processes could be told apart.
    load_generator_cpu_seconds
        CPU seconds of the load generator process (it runs on the same machine).
    cpus
        CPUs of the machine, and ``load_average``: its 1-minute load average before the run
        (other processes competing for them).
    """

    seconds: float
    clients: int
    workers: int
    method: str
    positions: int
    load_accounts: int
    load_rows: int
    load_seconds: float
    start_seconds: float
    routes: tuple[RouteFigures, ...]
    per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    target_met: bool
    server_cpu_seconds: tuple[float, ...]
    connections: tuple[int, ...]
    load_generator_cpu_seconds: float
    cpus: int
    load_average: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        out = asdict(self)
        out["routes"] = [asdict(r) for r in self.routes]
        out["target"] = {"per_second": TARGET_PER_SECOND, "p99_ms": TARGET_P99_MS}
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _holdings(names: list[str]) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """48 listed options spread over the chain, the perpetual, and a BTC balance."""
    options = [n for n in names if n.endswith(("-C", "-P"))][::6][:48]
    rng = np.random.default_rng(5)
    rows = [{"instrument": n, "quantity": float(rng.integers(-10, 11) or 1)} for n in options]
    rows.append({"instrument": "BTC-PERPETUAL", "quantity": -5.0})
    return rows, {"BTC": 25.0}


class _Server:
    """``portmargin serve --demo`` as a child process on a free loopback port."""

    def __init__(self, url: str, workers: int, log: IO[str]) -> None:
        self.port = _free_port()
        args = ["serve", "--demo", "--port", str(self.port), "--database-url", url]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "portmargin", *args, "--workers", str(workers)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log

    def token(self) -> str:
        """The admin key the server prints at start."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            found = _TOKEN.search(line)
            if found:
                return found.group(1)
        raise PortmarginError(f"portmargin serve stopped before printing its key: {self._tail()}")

    def wait_ready(self) -> None:
        """Wait until ``/ready`` answers 200."""
        import httpx

        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PortmarginError(f"portmargin serve stopped: {self._tail()}")
            try:
                if httpx.get(f"{self.base}/ready", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise PortmarginError(f"portmargin serve not ready after {START_SECONDS:.0f} s")

    def cpu_seconds(self) -> dict[int, float]:
        """CPU seconds so far of the processes serving requests, by pid (Linux ``/proc``;
        empty elsewhere): the server itself, or its worker processes when it has some."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            pids = [
                pid
                for pid in (int(p) for p in children.read_text().split())
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ] or [self.proc.pid]
            tick = os.sysconf("SC_CLK_TCK")
            out = {}
            for pid in pids:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                out[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError):
            return {}
        return out

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def _tail(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return "".join(self.log.readlines()[-5:]).strip()


def _load(base: str, token: str, names: list[str]) -> tuple[int, float]:
    """Load :data:`LOADED_ACCOUNTS` accounts and the benchmark account through the API; the
    rows loaded in bulk and the seconds they took."""
    import httpx

    rows = random_rows(names, LOADED_ACCOUNTS, 20, np.random.default_rng(7), "load-")
    per = len(rows) // LOADED_ACCOUNTS * BULK_ACCOUNTS
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        start = time.perf_counter()
        for first in range(0, len(rows), per):
            body = {
                "create_accounts": True,
                "rows": [
                    {"account": a, "instrument": i, "quantity": q}
                    for a, i, q in rows[first : first + per]
                ],
            }
            client.post("/v1/positions", json=body).raise_for_status()
        seconds = time.perf_counter() - start
        positions, balances = _holdings(names)
        account = f"/v1/accounts/{BENCH_ACCOUNT}"
        client.post("/v1/accounts", json={"account_id": BENCH_ACCOUNT}).raise_for_status()
        client.put(f"{account}/positions", json={"positions": positions}).raise_for_status()
        client.put(f"{account}/collateral", json={"balances": balances}).raise_for_status()
    return len(rows), seconds


def _drive(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the load generator as a child process on ``spec``; its figures."""
    proc = subprocess.run(
        [sys.executable, "-m", "portmargin.bench._load"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=float(spec["seconds"]) + 300,
        check=False,
    )
    if proc.returncode != 0:
        raise PortmarginError(f"the load generator failed: {proc.stderr.strip()[-2000:]}")
    figures: dict[str, Any] = json.loads(proc.stdout)
    return figures


def _baseline(call: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Median ms and calls/s of ``call`` repeated for ``seconds`` (at least
    :data:`BASELINE_MIN_CALLS` times)."""
    call()  # warm up
    times: list[float] = []
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop or len(times) < BASELINE_MIN_CALLS:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3, len(times) / float(np.sum(times))


def _baselines(
    url: str, method: str, trade: list[tuple[str, float]], seconds: float
) -> dict[str, tuple[float, float]]:
    """The desk computing each route's margin in process on the store at ``url``."""
    from portmargin.service import Desk
    from portmargin.store import Store

    with Store.open(url) as store:
        desk = Desk(store, method)
        return {
            "whatif": _baseline(lambda: desk.what_if(BENCH_ACCOUNT, trade, method), seconds),
            "margin": _baseline(lambda: desk.account_margin(BENCH_ACCOUNT, method), seconds),
        }


def run_service_bench(
    seconds: float = 10.0, clients: int = 4, workers: int = 2, method: str = "deribit-pm"
) -> ServiceBench:
    """Start the service, load it, drive it and time the in-process baseline.

    Parameters
    ----------
    seconds
        Length of the timed window, s.
    clients
        Concurrent clients of the load generator (one keep-alive connection each).
    workers
        Server processes (``portmargin serve --workers``).
    method
        Margin method of both routes.

    Raises
    ------
    PortmarginError
        Sizes that are not > 0, or a server or load generator that failed.
    """
    if seconds <= 0 or clients <= 0 or workers <= 0:
        raise PortmarginError("seconds, clients and workers must be > 0")
    names = listed_names()
    positions, _ = _holdings(names)
    trade = [(positions[0]["instrument"], 1.0)]
    load_average = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="portmargin-bench-") as folder,
        tempfile.TemporaryFile("w+") as log,
    ):
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        start = time.perf_counter()
        server = _Server(url, workers, log)
        try:
            token = server.token()
            server.wait_ready()
            start_seconds = time.perf_counter() - start
            load_rows, load_seconds = _load(server.base, token, names)
            account = f"/v1/accounts/{BENCH_ACCOUNT}"
            routes = {
                "whatif": {
                    "name": "whatif",
                    "method": "POST",
                    "path": f"{account}/whatif",
                    "json": {
                        "trades": [{"instrument": n, "quantity": q} for n, q in trade],
                        "method": method,
                    },
                },
                "margin": {
                    "name": "margin",
                    "method": "GET",
                    "path": f"{account}/margin?method={method}",
                },
            }
            spec = {
                "base_url": server.base,
                "token": token,
                "seconds": seconds,
                "clients": clients,
                "workers": workers,
                "warmup": 4,
                "routes": list(routes.values()),
            }
            before = server.cpu_seconds()
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            figures = _drive(spec)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            server_cpu = {p: v - before.get(p, 0.0) for p, v in server.cpu_seconds().items()}
        finally:
            server.stop()
        baselines = _baselines(url, method, trade, min(seconds, BASELINE_SECONDS))
    labels = {
        "whatif": f"POST /v1/accounts/{{id}}/whatif ({method})",
        "margin": f"GET /v1/accounts/{{id}}/margin?method={method}",
    }
    out = []
    for name, label in labels.items():
        f = figures[name]
        base_ms, base_rate = baselines[name]
        out.append(
            RouteFigures(
                route=label,
                requests=f["requests"],
                per_second=f["per_second"],
                p50_ms=f["p50_ms"],
                p99_ms=f["p99_ms"],
                max_ms=f["max_ms"],
                errors=f["errors"],
                baseline_p50_ms=base_ms,
                baseline_per_second=base_rate,
                overhead_ratio=f["p50_ms"] / base_ms,
            )
        )
    every = figures["all"]
    errors = sum(every["errors"].values())
    return ServiceBench(
        seconds=figures["seconds"],
        clients=clients,
        workers=workers,
        method=method,
        positions=len(positions) + 1,
        load_accounts=LOADED_ACCOUNTS,
        load_rows=load_rows,
        load_seconds=load_seconds,
        start_seconds=start_seconds,
        routes=tuple(out),
        per_second=every["per_second"],
        p50_ms=every["p50_ms"],
        p99_ms=every["p99_ms"],
        errors=errors,
        server_cpu_seconds=tuple(server_cpu.values()),
        connections=tuple(figures["connections"]),
        load_generator_cpu_seconds=(after.ru_utime + after.ru_stime)
        - (children.ru_utime + children.ru_stime),
        target_met=every["per_second"] >= TARGET_PER_SECOND
        and all(r.p99_ms <= TARGET_P99_MS for r in out)
        and errors == 0,
        cpus=os.cpu_count() or 1,
        load_average=load_average,
    )
