"""The command-line interface, run as a real process."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cli_support import run_cli as run
from portmargin.data import demo_chain_path


def test_chain_json() -> None:
    proc = run("chain", str(demo_chain_path()), "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == 326
    for key in ("instrument", "model_price", "mark_price", "delta", "gamma", "vega", "theta"):
        assert key in rows[0]
    errors = [abs(r["model_price"] - r["mark_price"]) for r in rows]
    assert sorted(errors)[len(errors) // 2] <= 1e-5


def test_chain_table() -> None:
    proc = run("chain", str(demo_chain_path()))
    assert proc.returncode == 0, proc.stderr
    assert "BTC-25DEC20-9000-C" in proc.stdout
    assert "median" in proc.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot read"),
        ("", "empty"),
        ("Date,Open,High,Low,Close\n2020-01-01,1,2,0.5,1.5\n", "column"),
        ('{"jsonrpc": "2.0", "error": {"code": 13009, "message": "unauthorized"}}', "13009"),
    ],
)
def test_chain_bad_input_is_one_line_on_stderr(
    tmp_path: Path, content: str | None, fragment: str
) -> None:
    path = tmp_path / "snap.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    proc = run("chain", str(path))
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]
    assert "Traceback" not in proc.stderr


def test_demo_writes_an_offline_report(tmp_path: Path) -> None:
    proc = run("demo", "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "326 options" in proc.stdout
    assert "portmargin serve --demo" in " ".join(proc.stdout.split())
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "plotly" in page.lower()
    assert re.search(r"<script[^>]*\bsrc=", page) is None  # plotly.js is inline
    assert "25DEC20" in page


def test_bench_pricing_json() -> None:
    proc = run("bench", "pricing", "--evaluations", "20000", "--baseline", "2000", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["evaluations"] == 20000
    assert data["evals_per_second"] > 0
    assert data["baseline_evals_per_second"] > 0
    assert data["speedup"] == pytest.approx(
        data["evals_per_second"] / data["baseline_evals_per_second"]
    )


def test_unknown_command_exits_non_zero() -> None:
    proc = run("no-such-command")
    assert proc.returncode != 0


def test_bench_margin_json() -> None:
    proc = run("bench", "margin", "--accounts", "2000", "--baseline", "20", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for key in ("accounts", "seconds", "baseline_seconds_per_account", "speedup", "peak_rss_mb"):
        assert key in data
    assert data["accounts"] == 2000
    assert data["account_errors"] == 0
    assert data["speedup"] > 1
