"""``portmargin bench var`` run as a real process."""

from __future__ import annotations

import json

from cli_support import run_cli as run


def test_bench_var_json() -> None:
    proc = run("bench", "var", "--accounts", "200", "--positions", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["accounts"] == 200
    assert data["scenarios"] >= 1000
    assert {"history", "scenarios", "revaluation", "compute"} == set(data["stages"])
    assert data["account_errors"] == 0
    assert data["peak_rss_mb"] > 0
