"""Durability: the server is killed with SIGKILL while a client writes; after a restart every
acknowledged write is there and the store passes its integrity check."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from portmargin.store import Store

TOKEN = re.compile(r"(pm_[A-Za-z0-9_-]{56})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(url: str, port: int, demo: bool) -> tuple[subprocess.Popen[str], str | None]:
    args = ["serve", "--port", str(port), "--database-url", url, *(["--demo"] if demo else [])]
    proc = subprocess.Popen(
        [sys.executable, "-m", "portmargin", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    token = None
    if demo:
        assert proc.stdout is not None
        for line in proc.stdout:
            found = TOKEN.search(line)
            if found:
                token = found.group(1)
                break
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return proc, token
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_acknowledged_writes_survive_sigkill(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'durable.db'}"
    else:
        url = request.getfixturevalue("database_url_postgresql")
    port = _free_port()
    proc, token = _serve(url, port, demo=True)
    assert token is not None
    headers = {"Authorization": f"Bearer {token}"}
    acknowledged: list[int] = []
    stop = threading.Event()

    def write() -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10
        ) as client:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    created = client.post("/v1/accounts", json={"account_id": f"d-{i}"})
                    put = client.put(
                        f"/v1/accounts/d-{i}/positions",
                        json={"positions": [{"instrument": "BTC-PERPETUAL", "quantity": i}]},
                    )
                except httpx.TransportError:
                    return  # the server is gone
                if created.status_code == 201 and put.status_code == 200:
                    acknowledged.append(i)

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(2.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    stop.set()
    writer.join(30)
    assert len(acknowledged) > 5

    with Store.open(url) as store:
        assert store.check_integrity() == []
        for i in acknowledged:
            (position,) = store.positions(f"d-{i}")
            assert position.quantity == float(i)

    restarted, _ = _serve(url, port, demo=False)
    try:
        last = acknowledged[-1]
        got = httpx.get(f"http://127.0.0.1:{port}/v1/accounts/d-{last}/positions", headers=headers)
        assert got.json()["positions"][0]["quantity"] == float(last)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(30)
