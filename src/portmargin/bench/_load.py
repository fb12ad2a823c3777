"""The load generator of ``portmargin bench service``, run as a separate process.

``python -m portmargin.bench._load`` reads a JSON spec on standard input, drives the routes
it names over HTTP with ``clients`` concurrent asyncio tasks sharing one keep-alive
connection pool (httpx), and prints the figures as JSON on standard output.

Spec: ``base_url``, ``token`` (an API key), ``seconds`` (timed window), ``clients``,
``warmup`` (untimed requests per client before the window) and ``routes``, a list of
``{"name", "method", "path", "json"}``. Client ``i`` sends its ``k``-th request to route
``(i + k) mod len(routes)``, so every route gets the same share.

Output: per route name and for ``all`` requests: ``requests``, ``per_second``, ``p50_ms``,
``p99_ms``, ``max_ms`` and ``errors`` (count per HTTP status other than 200, or
``transport`` for a failed connection), plus ``seconds`` (the window as measured).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import httpx
import numpy as np

__all__ = ["CONNECT_PAUSE_SECONDS", "drive", "main"]

CONNECT_PAUSE_SECONDS = 0.05
"""Pause after each client's first request: connections arrive one at a time, as from
independent clients, so that each is accepted by a server process that is free then (a
burst of connections is all accepted by the first process to wake)."""


async def drive(spec: dict[str, Any]) -> dict[str, Any]:
    """Drive the routes of ``spec`` (see the module docstring); the figures."""
    routes: list[dict[str, Any]] = spec["routes"]
    clients = int(spec["clients"])
    times: dict[str, list[float]] = {r["name"]: [] for r in routes}
    errors: dict[str, Counter[str]] = {r["name"]: Counter() for r in routes}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {spec['token']}"}
    async with httpx.AsyncClient(
        base_url=spec["base_url"], headers=headers, limits=limits, timeout=30.0
    ) as client:
        # each request built once: the client's own work per request stays small
        built = {
            r["name"]: client.build_request(r["method"], r["path"], json=r.get("json"))
            for r in routes
        }

        async def send(route: dict[str, Any]) -> str:
            try:
                response = await client.send(built[route["name"]])
            except httpx.TransportError:
                return "transport"
            return str(response.status_code)

        async def one(i: int, warmup: int, stop: float | None) -> None:
            for k in range(warmup):
                await send(routes[(i + k) % len(routes)])
            if stop is None:
                return
            k = 0
            while time.perf_counter() < stop:
                route = routes[(i + k) % len(routes)]
                k += 1
                t0 = time.perf_counter()
                status = await send(route)
                times[route["name"]].append(time.perf_counter() - t0)
                if status != "200":
                    errors[route["name"]][status] += 1

        for i in range(clients):  # connections opened one after another
            await send(routes[i % len(routes)])
            await asyncio.sleep(CONNECT_PAUSE_SECONDS)
        await asyncio.gather(*(one(i, int(spec["warmup"]), None) for i in range(clients)))
        start = time.perf_counter()
        stop = start + float(spec["seconds"])
        await asyncio.gather(*(one(i, 0, stop) for i in range(clients)))
        elapsed = time.perf_counter() - start
    out: dict[str, Any] = {"seconds": elapsed}
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
