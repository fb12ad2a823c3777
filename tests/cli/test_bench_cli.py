"""``portmargin bench e2e`` run as a real process on a small synthetic venue."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def bench_json(*args: str) -> dict[str, Any]:
    """Run ``portmargin bench ARGS --json`` as a process; its JSON output."""
    proc = subprocess.run(
        [sys.executable, "-m", "portmargin", "bench", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_bench_e2e_json() -> None:
    data = bench_json("e2e", "--accounts", "2000", "--baseline", "500")
    assert data["accounts"] == 2000
    assert data["seconds"] > 0
    assert data["peak_rss_mb"] > 0
    assert {"read", "book", "margin", "write"} <= set(data["stages"])
    assert data["run"]["exit_code"] == 0
    assert data["run"]["rows"] > 2000 * 20
    assert data["baseline"]["accounts"] == 500
    assert data["baseline"]["format"] == "csv"
    assert data["baseline"]["output"] == "json"


def test_bench_incremental_json() -> None:
    data = bench_json("incremental", "--accounts", "300", "--updates", "3")
    assert data["accounts"] == 300
    assert data["updates"] == 3
    assert data["new_snapshot_seconds"] > 0
    assert data["one_account_ms"] > 0
    assert data["one_account_full_run_ms"] > 0
