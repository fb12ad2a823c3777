"""``--set KEY=VALUE`` on ``margin`` and ``compare``; currencies covered in ``methods``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli_support import run_cli as run
from portmargin.data import demo_chain_path

CHAIN = str(demo_chain_path())


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "book.csv"
    path.write_text(
        "account,instrument,quantity\nA,BTC-26JUN20-10000-C,-1\nA,BTC-PERPETUAL,1\n",
        encoding="utf-8",
    )
    return path


def _margin(book: Path, *extra: str) -> dict[str, Any]:
    proc = run("margin", str(book), "--market", CHAIN, "--method", "deribit-pm", "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_margin_set_overrides_one_parameter(book: Path) -> None:
    base = _margin(book)
    half = _margin(book, "--set", "general.mm_factor=0.4")
    assert base["params_version"] == "2024-06-17"
    assert half["params_version"] == "2024-06-17+set"
    (a0,) = base["accounts"]
    (a1,) = half["accounts"]
    assert a1["initial_margin"] == a0["initial_margin"]
    assert a1["maintenance_margin"] == pytest.approx(a0["maintenance_margin"] / 2)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("general.mm_factor=1.5", "deribit-pm/2024-06-17: general.mm_factor"),
        ("currency_pair.btc_usd.price_rang=0.2", "currency_pair.btc_usd.price_rang"),
        ("currency_pair.xrp_usd.price_range=0.2", "currency_pair.xrp_usd"),
    ],
)
def test_margin_bad_set_is_a_one_line_error(book: Path, override: str, fragment: str) -> None:
    proc = run("margin", str(book), "--market", CHAIN, "--method", "deribit-pm", "--set", override)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert fragment in lines[0]


def test_compare_set_targets_one_method(book: Path) -> None:
    def mm(*extra: str) -> dict[str, float]:
        proc = run("compare", str(book), "--market", CHAIN, "--json", *extra)
        assert proc.returncode == 0, proc.stderr
        (account,) = json.loads(proc.stdout)["accounts"]
        return {m["method"]: m["maintenance_margin_usd"] for m in account["methods"]}

    base = mm()
    changed = mm("--set", "deribit-pm:general.mm_factor=0.4")
    assert changed["deribit-pm"] == pytest.approx(base["deribit-pm"] / 2)
    assert changed["standard"] == base["standard"]
    proc = run("compare", str(book), "--market", CHAIN, "--set", "general.mm_factor=0.4")
    assert proc.returncode == 2
    assert "METHOD:KEY=VALUE" in proc.stderr


def test_methods_show_covered_currencies() -> None:
    proc = run("methods", "--json")
    assert proc.returncode == 0, proc.stderr
    packs = {p["pack"]: p for r in json.loads(proc.stdout) for p in r["packs"]}
    assert packs["deribit-pm/2024-06-17"]["coverage"] == {
        "underlyings": ["BTC"],
        "settlement": ["BTC", "USD"],
    }
    assert packs["paradex-pm/2026-05"]["coverage"]["underlyings"] == ["BTC", "CL", "ETH", "HYPE"]
    assert packs["derive-pm2/mainnet"]["coverage"]["settlement"] == ["USDC"]
    assert "*" in packs["okx-pm/2025"]["coverage"]["underlyings"]
    table = run("methods")
    assert table.returncode == 0
    assert "covers" in table.stdout
