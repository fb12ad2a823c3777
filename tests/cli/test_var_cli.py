"""``portmargin margin --method var``, ``compare`` and ``bench var`` run as real processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_support import CHAIN
from cli_support import run_cli as run
from portmargin.data import demo_daily_path


@pytest.fixture
def positions(tmp_path: Path) -> Path:
    path = tmp_path / "positions.csv"
    path.write_text(
        "account,instrument,quantity\n"
        "alice,BTC-26JUN20-10000-C,-2\n"
        "alice,BTC-PERPETUAL,1\n"
        "bob,BTC-26JUN20,3\n"
        "bob,BTC-PERPETUAL,-3\n",
        encoding="utf-8",
    )
    return path


def test_margin_var_json_carries_risk_measures(positions: Path) -> None:
    proc = run(
        "margin", str(positions), "--market", CHAIN, "--method", "var", "--json",
        "--set", "as_of=2020-05-20",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["params_version"] == "default+set"
    rows = {a["account"]: a for a in data["accounts"]}
    risk = rows["alice"]["risk_measures"]
    assert set(risk) == {"var", "es", "confidence", "holding_period_days", "scenarios", "as_of"}
    assert risk["as_of"] == "2020-05-20"
    assert risk["confidence"] == 0.99
    assert risk["scenarios"] == 1095
    assert 0 < risk["var"] <= risk["es"]
    assert rows["alice"]["initial_margin"] == pytest.approx(
        1.25 * rows["alice"]["maintenance_margin"]
    )
    figures = {c["instrument"]: c["figures"] for c in rows["alice"]["contributions"]}
    assert sum(f["euler_es"] for f in figures.values()) == pytest.approx(risk["es"])
    assert rows["bob"]["risk_measures"]["es"] < risk["es"]
    assert any("as_of 2020-05-20" in n for n in data["notes"])


def test_margin_var_measure_pack_and_history_options(positions: Path) -> None:
    proc = run(
        "margin", str(positions), "--market", CHAIN, "--method", "var", "--json",
        "--params", "var/conservative", "--set", "measure=var",
        "--history", f"BTC={demo_daily_path('BTC')}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    row = {a["account"]: a for a in json.loads(proc.stdout)["accounts"]}["alice"]
    assert row["risk_measures"]["confidence"] == 0.995
    assert row["risk_measures"]["holding_period_days"] == 2
    portfolio = next(c for c in row["components"] if c["name"] == "portfolio")
    assert portfolio["amount"] == pytest.approx(row["risk_measures"]["var"])
    bad = run("margin", str(positions), "--market", CHAIN, "--method", "var", "--history", "x.csv")
    assert bad.returncode != 0
    assert "UNDERLYING=FILE" in bad.stderr


def test_compare_includes_var(positions: Path) -> None:
    proc = run("compare", str(positions), "--market", CHAIN, "--json")
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout)["accounts"][0]["methods"]
    var = next(r for r in runs if r["method"] == "var")
    assert var["initial_margin_usd"] > 0


def test_bench_var_json() -> None:
    proc = run("bench", "var", "--accounts", "200", "--positions", "5", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["accounts"] == 200
    assert data["scenarios"] >= 1000
    assert {"history", "scenarios", "revaluation", "compute"} == set(data["stages"])
    assert data["account_errors"] == 0


def test_margin_var_shares_the_benefit_by_underlying(tmp_path: Path) -> None:
    """BTC calls against a short ETH perpetual on the default market: the JSON components
    and the terminal table carry each underlying's Euler share and benefit share."""
    path = tmp_path / "cross.csv"
    path.write_text(
        "account,instrument,quantity\ncross,BTC-26JUN20-10000-C,5\ncross,ETH-PERPETUAL,-20\n",
        encoding="utf-8",
    )
    proc = run("margin", str(path), "--method", "var", "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)["accounts"][0]
    tree: dict[str, dict[str, float]] = {}
    parent = ""
    for c in row["components"]:
        if c["depth"] == 1:
            parent = c["name"]
        elif c["depth"] == 2:
            tree.setdefault(parent, {})[c["name"]] = c["amount"]
    amounts = {c["name"]: c["amount"] for c in row["components"] if c["depth"] == 1}
    assert set(tree["portfolio"]) == set(tree["benefit"]) == {"BTC", "ETH"}
    assert sum(tree["portfolio"].values()) == pytest.approx(row["risk_measures"]["es"])
    assert sum(tree["benefit"].values()) == pytest.approx(amounts["benefit"])
    assert amounts["benefit"] > 0
    for u in ("BTC", "ETH"):
        alone = tree["group_sum"][u]
        assert tree["benefit"][u] == pytest.approx(alone - tree["portfolio"][u])
        assert tree["offset"][u] == pytest.approx(0.8 * tree["benefit"][u])
    text = run("margin", str(path), "--method", "var")
    assert text.returncode == 0, text.stderr
    assert "Diversification benefit by underlying" in text.stdout
    eth = next(line for line in text.stdout.splitlines() if "│ ETH " in line)
    assert f"{tree['benefit']['ETH']:,.2f}" in eth
