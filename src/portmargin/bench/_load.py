"""The load generator of ``portmargin bench service``, run as a separate process.

``python -m portmargin.bench._load`` reads a JSON spec on standard input, drives the routes
it names over HTTP with ``clients`` concurrent asyncio tasks, each on its own keep-alive
connection (httpx), and prints the figures as JSON on standard output. The connections are
spread evenly over the server processes (by the ``pid`` that ``/health`` reports; a
connection landing on a process that has its share is closed and opened again), as a load
balancer or many independent clients would spread them: a handful of connections accepted
at random by 2 processes is often 3 to 1.

Spec: ``base_url``, ``token`` (an API key), ``seconds`` (timed window), ``clients``,
``workers`` (server processes), ``warmup`` (untimed requests per client before the window)
and ``routes``, a list of ``{"name", "method", "path", "json"}``. Client ``i`` sends its
``k``-th request to route ``(i + k) mod len(routes)``, so every route gets the same share.

Output: per route name and for ``all`` requests: ``requests``, ``per_second``, ``p50_ms``,
``p99_ms``, ``max_ms`` and ``errors`` (count per HTTP status other than 200, or
``transport`` for a failed connection), plus ``seconds`` (the window as measured) and
``connections`` (clients per server process, ascending).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

import httpx
import numpy as np

__all__ = ["BALANCE_TRIES", "drive", "main"]

BALANCE_TRIES = 40
"""Connections a client may open before it keeps one whose server process already has its
share of the clients."""


async def _connect(
    base_url: str, headers: dict[str, str], share: int, taken: Counter[int]
) -> httpx.AsyncClient:
    """A client with one keep-alive connection to a server process that has fewer than
    ``share`` clients (counted in ``taken`` by process id)."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    for _ in range(BALANCE_TRIES):
        client = httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=30.0)
        pid = (await client.get("/health")).json().get("pid")
        if pid is None or taken[pid] < share:
            break
        await client.aclose()  # the connection landed on a process with its share: again
    taken[pid] += 1
    return client


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    """Drive the routes of ``spec`` (see the module docstring); the figures."""
    routes: list[dict[str, Any]] = spec["routes"]
    clients = int(spec["clients"])
    share = -(-clients // int(spec.get("workers", 1)))
    times: dict[str, list[float]] = {r["name"]: [] for r in routes}
    errors: dict[str, Counter[str]] = {r["name"]: Counter() for r in routes}
    headers = {"Authorization": f"Bearer {spec['token']}"}
    taken: Counter[int] = Counter()
    async with AsyncExitStack() as stack:
        pool = []
        for _ in range(clients):
            client = await _connect(spec["base_url"], headers, share, taken)
            stack.push_async_callback(client.aclose)
            pool.append(client)
        # each request built once: the client's own work per request stays small
        built = [
            {r["name"]: c.build_request(r["method"], r["path"], json=r.get("json")) for r in routes}
            for c in pool
        ]

        async def send(i: int, route: dict[str, Any]) -> str:
            try:
                response = await pool[i].send(built[i][route["name"]])
            except httpx.TransportError:
                return "transport"
            return str(response.status_code)

        async def one(i: int, warmup: int, stop: float | None) -> None:
            for k in range(warmup):
                await send(i, routes[(i + k) % len(routes)])
            if stop is None:
                return
            k = 0
            while time.perf_counter() < stop:
                route = routes[(i + k) % len(routes)]
                k += 1
                t0 = time.perf_counter()
                status = await send(i, route)
                times[route["name"]].append(time.perf_counter() - t0)
                if status != "200":
                    errors[route["name"]][status] += 1

        await asyncio.gather(*(one(i, int(spec["warmup"]), None) for i in range(clients)))
        start = time.perf_counter()
        stop = start + float(spec["seconds"])
        await asyncio.gather(*(one(i, 0, stop) for i in range(clients)))
        elapsed = time.perf_counter() - start
    out: dict[str, Any] = {"seconds": elapsed, "connections": sorted(taken.values())}
    for name, values in times.items():
        out[name] = _figures(values, errors[name], elapsed)
    every = [v for values in times.values() for v in values]
    out["all"] = _figures(every, sum(errors.values(), Counter()), elapsed)
    return out


def _figures(values: list[float], errors: Counter[str], seconds: float) -> dict[str, Any]:
    ms = np.asarray(values) * 1e3 if values else np.zeros(1)
    return {
        "requests": len(values),
        "per_second": len(values) / seconds,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "errors": dict(sorted(errors.items())),
    }


def main() -> None:
    """Read the spec on standard input, print the figures as JSON."""
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(drive(spec))))


if __name__ == "__main__":
    main()
