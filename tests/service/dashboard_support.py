"""The service on a temporary store holding the demo data and keys for the dashboard tests,
and the same app served by a real uvicorn on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from portmargin.service import ServiceSettings, create_app, load_demo

OWN = ("naked-short-call", "covered-call")
"""Accounts of the key ``tokens["a"]``."""

OTHERS = ("short-strangle", "box")
"""Accounts of the key ``tokens["b"]``."""


@dataclass(frozen=True, slots=True)
class Demo:
    """The app, every demo account and the tokens of its keys: ``a`` (read, :data:`OWN`),
    ``b`` (read, :data:`OTHERS`), ``admin`` (every account).

    ``naked-short-call`` holds no collateral: it is the one account under water.
    """

    app: FastAPI
    accounts: tuple[str, ...]
    tokens: dict[str, str]


def demo_app(database_url: str) -> Demo:
    """The service on a fresh store at ``database_url`` with the demo data and three keys."""
    app = create_app(ServiceSettings(database_url=database_url))
    store = app.state.services.store
    loaded = load_demo(store)
    with store.begin() as tx:
        tx.set_collateral("naked-short-call", {}, replace=True)
        tokens = {
            "a": tx.create_key(scopes=["read"], accounts=OWN, label="a")[1],
            "b": tx.create_key(scopes=["read"], accounts=OTHERS, label="b")[1],
            "admin": tx.create_key(scopes=["admin"], all_accounts=True, label="admin")[1],
        }
    return Demo(app=app, accounts=loaded.accounts, tokens=tokens)


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port; yields the base URL
    (``http://127.0.0.1:<port>``) and stops the server on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


PERP_ACCOUNTS = tuple(f"perp-{k:02d}" for k in range(1, 13))
"""Accounts :func:`add_perp_accounts` adds: long BTC perpetuals, 1 to 12 BTC (cascades)."""


def add_perp_accounts(app: FastAPI) -> tuple[str, ...]:
    """Add :data:`PERP_ACCOUNTS` (futures only, no collateral) to the app's store."""
    store = app.state.services.store
    with store.begin() as tx:
        for account in PERP_ACCOUNTS:
            tx.create_account(account, label="perpetual long")
        tx.upsert_positions(
            [(a, "BTC-PERPETUAL", float(k)) for k, a in enumerate(PERP_ACCOUNTS, start=1)]
        )
    return PERP_ACCOUNTS
