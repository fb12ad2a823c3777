"""``portmargin cascade`` run as a real process on the §10.3 population (method A's deposits
in the file, ``as-is``) and on the bundled market with a chart."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import run_cli

SIZES = (100, 200, 150, 300, 100, 400)
CUSHIONS = (1.05, 1.2, 1.5, 2.0, 3.0, 4.0)


def write_inputs(folder: Path) -> tuple[Path, Path]:
    market = folder / "market.csv"
    market.write_text(
        "instrument,kind,price,timestamp_ms\n"
        "BTC,index,50000,1637712000000\n"
        "BTC_USDC-PERPETUAL,perpetual,50000,1637712000000\n",
        encoding="utf-8",
    )
    positions = folder / "positions.csv"
    rows = ["account,instrument,quantity"]
    for k, (size, cushion) in enumerate(zip(SIZES, CUSHIONS, strict=True), start=1):
        rows.append(f"#{k},BTC_USDC-PERPETUAL,{size}")
        rows.append(f"#{k},USDC,{cushion * 0.05 * 50_000 * size!r}")
    positions.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return market, positions


def test_cascade_json_reproduces_method_a(tmp_path: Path) -> None:
    market, positions = write_inputs(tmp_path)
    proc = run_cli(
        "cascade", str(positions), "--market", str(market), "--shock", "BTC=-0.1",
        "--method", "rates:0.04/0.05", "--population", "as-is", "--penalty", "0.01",
        "--depth-1pct", "BTC=10000000", "--fund", "1000000", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    (a,) = data["methods"]
    assert a["rounds"] == 2
    assert round(a["liquidated_notional"], 2) == 38_098_125.0
    assert round(a["final_price"]["BTC"], 2) == 43_292.19
    assert a["accounts_bankrupt"] == 4
    assert round(a["fund_end"], 2) == 43_481.25
    assert round(a["mutualised_loss"], 2) == 394_531.25
    assert [r["liquidated"] for r in a["round_details"]] == [["#1", "#2", "#3", "#4"], ["#5"]]


def test_cascade_side_by_side_with_plot(tmp_path: Path) -> None:
    market, positions = write_inputs(tmp_path)
    plot = tmp_path / "cascade.html"
    proc = run_cli(
        "cascade", str(positions), "--market", str(market), "--shock", "BTC=-0.2",
        "--method", "rates:0.04/0.05", "--method", "rates:0.12/0.15",
        "--method", "ewma", "--sigma-daily", "BTC=0.030217", "--plot", str(plot),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "A: notional rates" in proc.stdout
    assert "C: ewma rates" in proc.stdout
    assert "liquidated_notional" in proc.stdout
    page = plot.read_text(encoding="utf-8")
    assert "Plotly.newPlot('cascade'" in page
    assert "<script src" not in page


def test_cascade_sets_aside_option_holders(tmp_path: Path) -> None:
    _market, positions = write_inputs(tmp_path)
    with positions.open("a", encoding="utf-8") as f:
        f.write("opt,BTC-26JUN20-9000-C,1\n")
    proc = run_cli(
        "cascade", str(positions), "--shock", "BTC=-0.1", "--method", "rates:0.04/0.05",
        "--population", "as-is",
    )  # fmt: skip
    assert proc.returncode == 1
    assert "set aside: opt: holds BTC-26JUN20-9000-C" in proc.stderr


def test_cascade_needs_a_shock(tmp_path: Path) -> None:
    market, positions = write_inputs(tmp_path)
    proc = run_cli("cascade", str(positions), "--market", str(market))
    assert proc.returncode == 2
    assert "--shock" in proc.stderr


def test_partial_liquidation_trades_less_than_full_close(tmp_path: Path) -> None:
    market, positions = write_inputs(tmp_path)
    base = (
        "cascade", str(positions), "--market", str(market), "--shock", "BTC=-0.02",
        "--method", "rates:0.04/0.05", "--population", "max-leverage", "--cushion", "1.1",
        "--depth-1pct", "BTC=1e9", "--json",
    )  # fmt: skip
    runs = {}
    for mode in ("full", "partial"):
        proc = run_cli(*base, "--liquidation", mode)
        assert proc.returncode == 0, proc.stderr
        runs[mode] = json.loads(proc.stdout)["methods"][0]
    assert runs["partial"]["mode"] == "partial"
    assert runs["full"]["accounts_liquidated"] == runs["partial"]["accounts_liquidated"] > 0
    assert runs["partial"]["accounts_bankrupt"] == 0
    # slices until E >= 1.05 MM instead of closing everything
    assert runs["partial"]["liquidated_notional"] < 0.5 * runs["full"]["liquidated_notional"]
    bad = run_cli(*base, "--liquidation", "half")
    assert bad.returncode == 2
    assert "full or partial" in bad.stderr
