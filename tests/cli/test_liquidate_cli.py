"""``portmargin liquidate``: every account of a file assessed at a moved market, the
liquidatable ones liquidated, bankruptcies resolved, fund flows reported."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cli_support import run_cli

ROWS = """account,instrument,quantity
alice,USDC,30000
alice,BTC,1
alice,BTC_USDC-PERPETUAL,4
bob,BTC,2
bob,BTC-26JUN20-10000-C,-20
carol,USDC,1000
carol,BTC_USDC-PERPETUAL,1
dave,USDC,100
dave,BTC-27DEC99,1
erin,USDC,abc
frank,USDC,5000
frank,BTC_USDC-PERPETUAL,-3
"""


@pytest.fixture(scope="module")
def positions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("liquidate") / "positions.csv"
    path.write_text(ROWS)
    return path


def _args(positions: Path) -> list[str]:
    return [
        "liquidate",
        str(positions),
        "--method",
        "standard",
        "--move",
        "BTC=-0.2",
        "--slippage",
        "BTC=0.002",
        "--fund",
        "1000",
    ]


def test_accounts_in_are_results_plus_errors(positions: Path) -> None:
    done = run_cli(*_args(positions), "--json")
    assert done.returncode == 1, done.stderr  # dave and erin fail
    out = json.loads(done.stdout)
    names = {row["account"] for row in out["accounts"]}
    assert names | set(out["errors"]) == {"alice", "bob", "carol", "dave", "erin", "frank"}
    assert names.isdisjoint(out["errors"])
    rows = {row["account"]: row for row in out["accounts"]}
    assert rows["bob"]["outcome"] == "restored"
    assert rows["carol"]["outcome"] == "bankrupt"
    assert "outcome" not in rows["frank"]
    assert [s["account"] for s in out["steps"]] == ["bob"] * rows["bob"]["steps"]
    (event,) = out["bankruptcies"]
    assert event["account"] == "carol"
    fund = out["fund"]
    flows = sum(f["amount_usd"] for f in fund["flows"])
    assert fund["closing_usd"] == pytest.approx(fund["opening_usd"] + flows)
    assert fund["opening_usd"] == 1000.0
    assert {f["kind"] for f in fund["flows"]} == {"penalty", "deficit"}


def test_table_output_and_steps_file(positions: Path, tmp_path: Path) -> None:
    out = tmp_path / "steps.csv"
    done = run_cli(*_args(positions), "--out", str(out))
    assert done.returncode == 1
    assert "6 accounts under standard: 2 liquidated" in done.stdout
    assert "insurance fund: 1,000.00" in done.stdout
    assert "bankrupt carol" in done.stdout
    assert "error: account erin" in done.stderr
    with out.open() as handle:
        steps = list(csv.DictReader(handle))
    assert {s["account"] for s in steps} == {"bob"}
    assert all(float(s["equity_after"]) > 0 for s in steps)


def test_fixed_slippage_and_impact_exclude_each_other(positions: Path) -> None:
    done = run_cli(*_args(positions), "--depth", "BTC=10000000")
    assert done.returncode == 2
    assert "exclude each other" in done.stderr
