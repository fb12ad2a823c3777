"""``portmargin margin --method span`` and ``compare`` as a real process on the bundled chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli_support import CHAIN, run_cli


@pytest.fixture
def positions(tmp_path: Path) -> Path:
    path = tmp_path / "book.csv"
    path.write_text(
        "account,instrument,quantity\n"
        "A,BTC-26JUN20-10000-C,-1\n"
        "A,BTC-PERPETUAL,1\n"
        "B,BTC-26JUN20,5\n"
        "B,BTC-25SEP20,-5\n"
        "C,BTC,2\n",
        encoding="utf-8",
    )
    return path


def _margin(positions: Path, *extra: str) -> dict[str, Any]:
    proc = run_cli(
        "margin", str(positions), "--market", CHAIN, "--method", "span", "--json", *extra
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _components(account: dict[str, Any]) -> dict[str, float]:
    return {c["name"]: c["amount"] for c in account["components"]}


def test_margin_span_prints_the_statement(positions: Path) -> None:
    data = _margin(positions)
    assert data["method"] == "span"
    assert data["params_version"] == "btc-eth-2021-11"
    rows = {a["account"]: a for a in data["accounts"]}
    assert set(rows) == {"A", "B", "C"}
    a = rows["A"]
    assert a["currency"] == "USD"
    assert a["initial_margin"] == pytest.approx(1.25 * a["maintenance_margin"])
    assert a["worst_scenario"].startswith("BTC-BTC #")
    names = [c["name"] for c in a["components"]]
    for name in ("span_risk_mm", "BTC-BTC", "scan_risk", "time_risk", "price_risk", "vol_risk"):
        assert name in names
    for name in ("intra_charge", "spot_charge", "inter_credit", "som", "nov", "req_mm", "req_im"):
        assert name in names
    # B: a calendar spread of futures, 5 spreads at 1 % of F_ref (coin CC: 0.01 BTC each)
    b = _components(rows["B"])
    assert b["intra_charge"] > 0
    assert b["req_mm"] == pytest.approx(rows["B"]["maintenance_margin"])
    # C holds only a coin balance: collateral, no requirement
    assert rows["C"]["initial_margin"] == 0.0


def test_margin_span_with_another_pack_and_an_override(positions: Path, tmp_path: Path) -> None:
    base = _margin(positions)
    changed = _margin(positions, "--set", "defaults.ratio_by_account_class.default=2.0")
    assert changed["params_version"] == "btc-eth-2021-11+set"
    for a0, a1 in zip(base["accounts"], changed["accounts"], strict=True):
        assert a1["maintenance_margin"] == pytest.approx(a0["maintenance_margin"])
        assert a1["initial_margin"] == pytest.approx(2.0 * a0["maintenance_margin"])
    # the worked-example pack has no coin-settled CC: every account holding one is an error
    proc = run_cli(
        "margin", str(positions), "--market", CHAIN, "--method", "span",
        "--params", "span/worked-example", "--json",
    )  # fmt: skip
    assert proc.returncode != 0
    assert "no span combined commodity" in proc.stdout + proc.stderr


def test_a_bad_override_names_the_key(positions: Path) -> None:
    proc = run_cli(
        "margin", str(positions), "--market", CHAIN, "--method", "span",
        "--set", "cc[0].price_scan.value=0",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "cc[0].price_scan.value" in proc.stderr


def test_compare_lists_span(positions: Path) -> None:
    proc = run_cli("compare", str(positions), "--market", CHAIN)
    assert proc.returncode in (0, 1), proc.stderr
    assert "span" in proc.stdout
    proc = run_cli(
        "compare", str(positions), "--market", CHAIN,
        "--set", "span:defaults.ratio_by_account_class.default=1.5",
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    assert "span" in proc.stdout
