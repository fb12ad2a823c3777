"""``portmargin serve --demo`` as a real process (one server process, or two workers): it
prints an admin key, serves the demo accounts over HTTP on loopback and stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_demo(tmp_path: Path, workers: int) -> None:
    port = _free_port()
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    args = ["serve", "--demo", "--port", str(port), "--database-url", url]
    args += ["--workers", str(workers)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "portmargin", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        token = None
        deadline = time.monotonic() + 60
        while token is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            found = re.search(r"(pm_[A-Za-z0-9_-]{56})", line)
            token = found.group(1) if found else None
        assert token is not None, "".join(lines)
        assert f"http://127.0.0.1:{port}/" in proc.stdout.readline()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while time.monotonic() < deadline:
                try:
                    if client.get("/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            accounts = client.get("/v1/accounts", headers=headers).json()
            assert "market-maker" in [a["account_id"] for a in accounts]
            margin = client.get("/v1/accounts/market-maker/margin", headers=headers)
            assert margin.status_code == 200, margin.text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
