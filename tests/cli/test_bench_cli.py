"""``portmargin bench e2e`` run as a real process on a small synthetic venue."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_e2e_json() -> None:
    args = ["bench", "e2e", "--accounts", "2000", "--baseline", "500", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "portmargin", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
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
    args = ["bench", "incremental", "--accounts", "300", "--updates", "3", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "portmargin", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["accounts"] == 300
    assert data["updates"] == 3
    assert data["new_snapshot_seconds"] > 0
    assert data["one_account_ms"] > 0
    assert data["one_account_full_run_ms"] > 0
