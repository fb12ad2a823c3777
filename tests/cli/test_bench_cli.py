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


def test_bench_service_json() -> None:
    data = bench_json("service", "--seconds", "1", "--clients", "2", "--workers", "1")
    assert (data["clients"], data["workers"], data["method"]) == (2, 1, "deribit-pm")
    assert data["positions"] == 50
    assert (data["load_accounts"], data["load_rows"]) == (1000, 20_000)
    assert [r["route"].split()[0] for r in data["routes"]] == ["POST", "GET"]
    for route in data["routes"]:
        assert route["requests"] > 0
        assert route["errors"] == {}
        assert route["p50_ms"] <= route["p99_ms"] <= route["max_ms"]
        assert route["baseline_p50_ms"] > 0
        assert route["overhead_ratio"] > 0
    assert data["errors"] == 0
    assert data["per_second"] > 0
    assert isinstance(data["target_met"], bool)
    assert data["target"] == {"per_second": 200.0, "p99_ms": 50.0}


def test_bench_recompute_json_and_text() -> None:
    data = bench_json("recompute", "--accounts", "200", "--positions", "5")
    assert (data["accounts"], data["positions_per_account"], data["method"]) == (
        200,
        5,
        "standard",
    )
    assert data["rows"] >= 200
    assert data["errors"] == 0
    assert list(data["stages"]) == ["read_book", "margin", "write"]
    assert data["job_seconds"] > 0
    assert data["peak_rss_mb"] > 0
    proc = subprocess.run(
        [sys.executable, "-m", "portmargin", "bench", "recompute", "--accounts", "50"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "recompute job" in proc.stdout
    assert "peak RSS" in proc.stdout
