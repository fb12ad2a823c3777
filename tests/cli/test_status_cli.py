"""``portmargin status``: states of the accounts of a file, moved markets, modes side by side."""

from __future__ import annotations

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
"""


@pytest.fixture(scope="module")
def positions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("status") / "positions.csv"
    path.write_text(ROWS)
    return path


def test_every_account_is_a_result_or_an_error(positions: Path) -> None:
    done = run_cli("status", str(positions), "--method", "standard", "--json")
    assert done.returncode == 1, done.stderr
    out = json.loads(done.stdout)
    states = {row["account"]: row["state"] for row in out["accounts"]}
    assert set(states) | set(out["errors"]) == {"alice", "bob", "carol", "dave", "erin"}
    assert set(states).isdisjoint(out["errors"])
    assert "BTC-27DEC99" in out["errors"]["dave"]
    assert "quantity" in out["errors"]["erin"]
    assert states["alice"] == "healthy"
    assert states["bob"] == "liquidation"  # 20 short calls against 2 BTC
    assert sum(out["counts"].values()) == len(states)
    assert out["lifecycle_version"] == "2021-11"


def test_moved_market_and_modes(positions: Path) -> None:
    done = run_cli(
        "status", str(positions), "--method", "standard", "--move", "BTC=-0.3", "--modes", "--json"
    )
    out = json.loads(done.stdout)
    assert out["moves"] == {"BTC": -0.3}
    rows = {row["account"]: row for row in out["accounts"]}
    # carol: 1,000 USDC against a long perp that lost 30 % of ~9,100 USD
    assert rows["carol"]["state"] == "bankrupt"
    assert rows["carol"]["equity"] < 0
    # standard margin is per position: isolating each position with its own IM needs the same
    assert rows["bob"]["isolated_initial_margin"] == pytest.approx(
        rows["bob"]["cross_initial_margin"], rel=1e-9
    )


def test_table_output_and_bad_move(positions: Path) -> None:
    done = run_cli("status", str(positions), "--method", "standard")
    assert "accounts under standard (lifecycle 2021-11)" in done.stdout
    assert "liquidation" in done.stdout
    bad = run_cli("status", str(positions), "--method", "standard", "--move", "BTC:-0.3")
    assert bad.returncode == 2
    assert "--move" in bad.stderr
    assert "UNDERLYING=FRACTION" in bad.stderr
