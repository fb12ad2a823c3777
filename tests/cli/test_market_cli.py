"""Several ``--market`` files and the default BTC + ETH market, in the CLI and in process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_support import CHAIN
from cli_support import run_cli as run
from portmargin.analysis import compute_margin
from portmargin.data import demo_daily_paths, demo_eth_market_path
from portmargin.instruments import parse_instrument
from portmargin.io import load_history, load_markets
from portmargin.io.params import load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method, method_names
from portmargin.portfolio import Portfolio, Position

ETH = str(demo_eth_market_path())
BOOK = (
    "account,instrument,quantity\n"
    "cross,BTC-26JUN20-9000-C,5\n"
    "cross,BTC-25SEP20-8000-P,2\n"
    "cross,ETH-PERPETUAL,-40\n"
    "eth-basis,ETH-26JUN20,10\n"
    "eth-basis,ETH-PERPETUAL,-10\n"
    "btc,BTC-PERPETUAL,1\n"
)


@pytest.fixture
def positions(tmp_path: Path) -> Path:
    path = tmp_path / "positions.csv"
    path.write_text(BOOK, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def merged() -> MarketSnapshot:
    """The two files merged, with the bundled daily history as the command line attaches."""
    snapshot = load_markets([CHAIN, ETH]).snapshot
    return snapshot.with_history(load_history(demo_daily_paths()).history)


def test_margin_with_two_market_files_equals_the_default(positions: Path) -> None:
    explicit = run(
        "margin", str(positions), "--market", CHAIN, "--market", ETH, "--method", "standard"
    )
    default = run("margin", str(positions), "--method", "standard", "--json")
    assert explicit.returncode == default.returncode == 0, explicit.stderr + default.stderr
    data = json.loads(default.stdout)
    rows = {(a["account"], a["currency"]): a for a in data["accounts"]}
    assert rows["eth-basis", "ETH"]["initial_margin"] > 0
    assert rows["cross", "ETH"]["initial_margin"] > 0
    assert rows["cross", "BTC"]["equity"] > 0  # long BTC options
    twice = run(
        "margin",
        str(positions),
        "--market",
        ETH,
        "--market",
        CHAIN,
        "--method",
        "standard",
        "--json",
    )
    assert json.loads(twice.stdout)["accounts"] == data["accounts"]


def test_one_market_file_alone_still_works(positions: Path) -> None:
    proc = run("margin", str(positions), "--market", CHAIN, "--method", "standard", "--json")
    assert proc.returncode == 1  # the ETH accounts have no ETH market
    errors = {e["account"]: e["error"] for e in json.loads(proc.stdout)["errors"]}
    assert set(errors) == {"cross", "eth-basis"}
    assert "no index price for underlying 'ETH' (have: BTC)" in errors["cross"]


def test_market_files_that_cannot_merge_are_one_line_errors(
    positions: Path, tmp_path: Path
) -> None:
    proc = run("compare", str(positions), "--market", ETH, "--market", ETH)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: cannot merge snapshots: underlying(s) ETH")
    late = tmp_path / "late.csv"
    late.write_text(
        "instrument,kind,price,timestamp_ms\nETH,index,200,1590110000000\n", encoding="utf-8"
    )
    proc = run(
        "margin", str(positions), "--market", CHAIN, "--market", str(late), "--method", "standard"
    )
    assert proc.returncode == 2
    assert "more than the tolerance of 3600 s" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_compare_on_the_default_market(positions: Path) -> None:
    proc = run("compare", str(positions), "--json")
    data = json.loads(proc.stdout)
    runs = {(c["account"], r["method"]): r for c in data["accounts"] for r in c["methods"]}
    assert set(m for _, m in runs) == set(method_names())
    assert runs["eth-basis", "standard"]["initial_margin_usd"] > 0
    assert "eth_usd" in runs["eth-basis", "deribit-pm"]["error"]


def test_a_btc_and_eth_book_under_every_method(merged: MarketSnapshot) -> None:
    """Long BTC options, short ETH perpetual: a result or a clear error per account."""
    p = parse_instrument
    books = [
        Portfolio.from_positions(
            "long-btc-options-short-eth-perp",
            [
                Position(instrument=p("BTC-26JUN20-9000-C"), quantity=5.0),
                Position(instrument=p("BTC-25SEP20-8000-P"), quantity=3.0),
                Position(instrument=p("ETH-PERPETUAL"), quantity=-40.0),
            ],
        ),
        Portfolio.from_positions(
            "eth-futures", [Position(instrument=p("ETH-25DEC20"), quantity=-20.0)]
        ),
        Portfolio.from_positions(
            "eth-usdc-perp", [Position(instrument=p("ETH_USDC-PERPETUAL"), quantity=-5.0)]
        ),
    ]
    outcome: dict[str, dict[str, str]] = {}
    for name in method_names():
        method = get_method(name)
        batch = compute_margin(method, books, merged, load_params(method))
        computed = set(batch.account.tolist())
        assert computed | set(batch.errors) == {b.account for b in books}, name
        assert not computed & set(batch.errors), name
        assert np.all(np.isfinite(batch.initial_margin)), name
        assert np.all(batch.initial_margin >= batch.maintenance_margin), name
        for account, reason in batch.errors.items():
            assert reason.strip(), (name, account)
            assert "\n" not in reason, (name, account)
        outcome[name] = {b.account: batch.errors.get(b.account, "ok") for b in books}
    # methods with cross-asset USD margin compute the mixed book
    assert outcome["paradex-pm"]["long-btc-options-short-eth-perp"] == "ok"
    assert outcome["okx-pm"]["long-btc-options-short-eth-perp"] == "ok"
    assert outcome["standard"]["long-btc-options-short-eth-perp"] == "ok"
    # deribit-pm's bundled pack has no ETH pair: a per-account error naming it
    assert "currency_pair.eth_usd" in outcome["deribit-pm"]["eth-futures"]
    # derive-pm2 margins USDC-settled contracts only
    assert "coin-settled" in outcome["derive-pm2"]["long-btc-options-short-eth-perp"]
