"""``portmargin hedge`` run as a real process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_support import CHAIN
from cli_support import run_cli as run


@pytest.fixture
def positions(tmp_path: Path) -> Path:
    path = tmp_path / "positions.csv"
    path.write_text(
        "account,instrument,quantity\n"
        "alice,BTC-26JUN20-10000-C,-2\n"
        "alice,BTC-PERPETUAL,1\n"
        "bob,BTC-26JUN20-9500-C,10\n"
        "bob,BTC-PERPETUAL,3\n"
        "carol,ETH-26JUN20-200-C,-1\n",
        encoding="utf-8",
    )
    return path


def test_hedge_whole_file_json(positions: Path) -> None:
    proc = run("hedge", str(positions), "--market", CHAIN, "--method", "deribit-pm", "--json")
    assert proc.returncode == 1  # carol holds an ETH option the BTC chain cannot price
    data = json.loads(proc.stdout)
    by_account = {s["account"]: s for s in data["suggestions"]}
    assert set(by_account) == {"alice", "bob", "carol"}
    assert data["method"] == "deribit-pm"
    assert "BTC-PERPETUAL" in data["candidates"]
    for name in ("alice", "bob"):
        s = by_account[name]
        assert [t["instrument"] in data["candidates"] for t in s["trades"]] == [True]
        assert s["im_after_usd"] < s["im_before_usd"]
    assert by_account["carol"]["error"]
    assert by_account["carol"]["trades"] == []


def test_hedge_target_with_explicit_candidates(positions: Path) -> None:
    proc = run(
        "hedge",
        str(positions),
        "--market",
        CHAIN,
        "--method",
        "span",
        "--account",
        "bob",
        "--candidates",
        "BTC-PERPETUAL",
        "--target",
        "3000",
        "--budget",
        "100",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    (s,) = data["suggestions"]
    (trade,) = s["trades"]
    assert trade["instrument"] == "BTC-PERPETUAL"
    assert trade["quantity"] < 0
    assert s["im_after_usd"] <= 3000 < s["im_before_usd"]
    assert s["meets_target"] is True
    assert 0 < s["cost_usd"] <= 100
    assert s["premium_usd"] == 0.0


def test_hedge_table(positions: Path) -> None:
    proc = run(
        "hedge", str(positions), "--market", CHAIN, "--method", "standard", "--account", "alice"
    )
    assert proc.returncode == 0, proc.stderr
    assert "Hedge suggestions under standard" in proc.stdout
    assert "alice" in proc.stdout
    assert "trade rows margined" in proc.stdout


def test_hedge_unknown_account_is_refused(positions: Path) -> None:
    proc = run("hedge", str(positions), "--method", "standard", "--account", "zed")
    assert proc.returncode == 2
    assert "--account" in proc.stderr


def test_hedge_two_legs(positions: Path) -> None:
    proc = run(
        "hedge",
        str(positions),
        "--market",
        CHAIN,
        "--method",
        "deribit-pm",
        "--account",
        "alice",
        "--legs",
        "2",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["legs"] == 2
    (s,) = data["suggestions"]
    assert 1 <= len(s["trades"]) <= 2
    assert s["im_after_usd"] < s["im_before_usd"]
