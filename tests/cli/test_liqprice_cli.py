"""``portmargin liqprice`` run as a real process."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cli_support import run_cli as run


@pytest.fixture
def positions(tmp_path: Path) -> Path:
    path = tmp_path / "positions.csv"
    path.write_text(
        "account,instrument,quantity\n"
        "alice,USDC,30000\n"
        "alice,BTC,1\n"
        "alice,BTC-PERPETUAL,4\n"
        "alice,ETH-PERPETUAL,30\n"
        "bob,USDC,20000\n"
        "bob,BTC-26JUN20-9000-C,-5\n"
        "carol,USDC,100\n"
        "carol,BTC-PERPETUAL,3\n"
        "dave,USDC,1000\n"
        "dave,BTC-26JUN20-9000-Q,1\n",
        encoding="utf-8",
    )
    return path


def test_json_accounts_in_equal_results_plus_errors(positions: Path, tmp_path: Path) -> None:
    out = tmp_path / "liq.csv"
    proc = run("liqprice", str(positions), "--underlying", "BTC", "--json", "--out", str(out))
    assert proc.returncode == 1, proc.stderr  # dave's row cannot be read
    data = json.loads(proc.stdout)
    accounts = {a["account"]: a for a in data["accounts"]}
    errors = {e["account"]: e["error"] for e in data["errors"]}
    assert set(accounts) | set(errors) == {"alice", "bob", "carol", "dave"}
    assert not set(accounts) & set(errors)
    assert set(errors) == {"dave"}
    assert data["direction"] == {"BTC": 1.0}
    assert data["lifecycle_params"] == "2021-11"
    assert data["volatility"]["daily_sigma"]["BTC"] > 0
    assert "EWMA" in data["volatility"]["source"]
    spot = data["current_prices"]["BTC"]
    alice = accounts["alice"]
    assert alice["currency"] == "USD"
    assert not alice["liquidatable"]
    assert alice["down"]["reachable"]
    assert 0 < alice["down"]["prices"]["BTC"] < spot
    assert alice["down"]["equity"] == pytest.approx(alice["down"]["maintenance_margin"], abs=1e-4)
    assert alice["down"]["distance_sigma"]["BTC"] < 0
    assert not alice["up"]["reachable"]
    assert alice["up"]["x"] is None
    assert accounts["bob"]["up"]["prices"]["BTC"] > spot  # short calls lose going up
    carol = accounts["carol"]
    assert carol["liquidatable"]
    assert carol["down"]["prices"]["BTC"] == spot
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["account"] for r in rows] == ["alice", "bob", "carol", "dave"]
    assert rows[3]["error"]
    assert float(rows[0]["down_price_BTC"]) == pytest.approx(alice["down"]["prices"]["BTC"])


def test_table_output(positions: Path) -> None:
    proc = run("liqprice", str(positions), "--all", "--method", "standard")
    assert proc.returncode == 1
    assert "Liquidation prices of BTC / ETH" in proc.stdout
    assert "not reachable" in proc.stdout
    assert "4 accounts in: 3 rows solved, 1 liquidatable now" in proc.stdout
    assert "error: account dave" in proc.stderr


def test_segregated_scope_solves_each_settlement_currency(positions: Path) -> None:
    proc = run(
        "liqprice",
        str(positions),
        "--underlying",
        "BTC",
        "--lifecycle-set",
        "collateral.scope=segregated",
        "--json",
    )
    assert proc.returncode == 1  # dave
    data = json.loads(proc.stdout)
    assert data["scope"] == "segregated"
    rows = {(a["account"], a["currency"]): a for a in data["accounts"]}
    assert ("alice", "BTC") in rows
    assert ("alice", "USDC") in rows
    btc = rows["alice", "BTC"]
    assert btc["equity"] == pytest.approx(1.0, rel=1e-9)  # the BTC balance, in BTC
    assert btc["down"]["equity"] == pytest.approx(btc["down"]["maintenance_margin"], abs=1e-9)
    assert rows["alice", "ETH"]["liquidatable"]  # an ETH perpetual without ETH collateral


def test_underlying_and_all_exclude_each_other(positions: Path) -> None:
    proc = run("liqprice", str(positions), "--underlying", "BTC", "--all")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ")


def test_bench_liqprice_json() -> None:
    proc = run("bench", "liqprice", "--accounts", "16", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["accounts"] == 16
    assert data["errors"] == 0
    assert data["direction"] == "BTC"
    assert data["reachable_down"] + data["reachable_up"] > 0
    assert data["grid_calls"] > 0
