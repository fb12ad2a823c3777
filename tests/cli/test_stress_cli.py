"""``portmargin stress`` run as a real process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_support import run_cli as run
from portmargin.data import demo_market_paths
from portmargin.io import load_markets


@pytest.fixture
def positions(tmp_path: Path) -> Path:
    path = tmp_path / "positions.csv"
    path.write_text(
        "account,instrument,quantity\n"
        "a,USDC,1000\n"
        "a,BTC_USDC-PERPETUAL,1\n"
        "b,USDC,500\n"
        "b,ETH_USDC-PERPETUAL,10\n"
        "c,USDC,100000\n"
        "c,BTC-26JUN20-10000-C,-1\n",
        encoding="utf-8",
    )
    return path


def test_json_cover_two_by_hand(positions: Path) -> None:
    index = load_markets(list(demo_market_paths())).snapshot.index_prices
    proc = run("stress", str(positions), "--scenario", "HYP-EXCHANGE-COLLAPSE", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    loss_a = -(1_000 - 0.25 * index["BTC"])  # BTC -25 %
    loss_b = -(500 - 0.30 * 10 * index["ETH"])  # ETH -30 %
    assert data["cover_two"]["usd"] == pytest.approx(loss_a + loss_b, abs=1e-6)
    assert data["cover_two"]["scenario"] == "HYP-EXCHANGE-COLLAPSE"
    assert data["cover_two"]["accounts"] == ["a", "b"]
    assert data["cover_one"] == {
        "usd": pytest.approx(loss_a, abs=1e-6),
        "scenario": "HYP-EXCHANGE-COLLAPSE",
        "account": "a",
    }
    (row,) = data["scenarios"]
    assert row["kind"] == "hypothetical"
    assert row["defaults"] == 2
    assert row["defaulted_accounts"] == ["a", "b"]
    assert row["breaches"] >= 2
    assert data["errors"] == []


def test_table_names_hypothetical_and_cover_two(positions: Path) -> None:
    proc = run("stress", str(positions), "--method", "span")
    assert proc.returncode == 0, proc.stderr
    assert "HIST-2020-03-12-1D" in proc.stdout
    assert "Cover-2:" in proc.stdout
    assert "hypothetical: a judgement parameter set" in proc.stdout


def test_bad_account_is_reported_and_the_rest_finish(positions: Path, tmp_path: Path) -> None:
    text = positions.read_text(encoding="utf-8") + "d,SOL_USDC-PERPETUAL,1\n"
    path = tmp_path / "more.csv"
    path.write_text(text, encoding="utf-8")
    proc = run("stress", str(path), "--scenario", "HYP-VOL-CRUSH", "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert [e["account"] for e in data["errors"]] == ["d"]
    assert data["accounts"] == 3


def test_unknown_scenario_is_unusable_input(positions: Path) -> None:
    proc = run("stress", str(positions), "--scenario", "NOPE")
    assert proc.returncode == 2
    assert "NOPE" in proc.stderr
