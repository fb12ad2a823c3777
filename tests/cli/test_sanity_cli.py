"""Implausible chains and unlisted instruments through the CLI, run as a real process."""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from cli_support import run_cli as run
from portmargin.data import demo_chain_path

CALL = "BTC-26JUN20-9000-C"


def chain(
    tmp_path: Path,
    edit: dict[str, dict[str, str]] | None = None,
    column: tuple[str, Callable[[str], str]] | None = None,
) -> Path:
    with demo_chain_path().open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or ()), list(reader)
    for row in rows:
        row.update((edit or {}).get(row["instrument_name"], {}))
        if column is not None:
            row[column[0]] = column[1](row[column[0]])
    path = tmp_path / "chain.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def positions(tmp_path: Path, rows: list[tuple[str, str, float]]) -> Path:
    path = tmp_path / "positions.csv"
    lines = ["account,instrument,quantity", *(f"{a},{i},{q}" for a, i, q in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def one_line_error(proc: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]


def test_vol_column_times_100_is_an_error_not_zero_margin(tmp_path: Path) -> None:
    market = chain(tmp_path, column=("mark_iv", lambda v: repr(float(v) * 100)))
    book = positions(tmp_path, [("A", CALL, -1.0)])
    proc = run("margin", str(book), "--market", str(market), "--method", "deribit-pm")
    one_line_error(proc, "implausible mark_iv column")
    assert proc.stdout == ""


@pytest.mark.parametrize("value", ["300000000000000", "-5", "nan"])
def test_impossible_timestamp_is_one_line(tmp_path: Path, value: str) -> None:
    market = chain(tmp_path, {CALL: {"timestamp": value}})
    one_line_error(run("chain", str(market)), "column 'timestamp'")
    book = positions(tmp_path, [("A", "BTC-PERPETUAL", 1.0)])
    proc = run("margin", str(book), "--market", str(market), "--method", "standard")
    one_line_error(proc, "column 'timestamp'")


@pytest.mark.parametrize("method", ["standard", "deribit-pm", "okx-pm"])
def test_absurd_prices_are_excluded_and_the_batch_finishes(tmp_path: Path, method: str) -> None:
    """1e300 / 1e-300 cells (including on the row that sets the valuation time) neither abort
    the batch nor leak numpy warnings."""
    market = chain(
        tmp_path,
        {
            "BTC-25SEP20-8000-C": {"underlying_price": "1e-300"},
            "BTC-26JUN20-8000-C": {"mark_price": "1e300"},
            "BTC-25DEC20-9000-C": {"index_price": "1e300"},
            "BTC-26JUN20-10000-C": {"mark_iv": "1e300"},
        },
    )
    book = positions(tmp_path, [("A", CALL, -1.0), ("B", "BTC-25SEP20-9000-P", -1.0)])
    proc = run("margin", str(book), "--market", str(market), "--method", method, "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr
    assert json.loads(proc.stdout)


def test_chain_prints_warnings_and_lists_excluded_rows(tmp_path: Path) -> None:
    market = chain(
        tmp_path, {CALL: {"mark_price": "0.2"}, "BTC-26JUN20-8000-C": {"mark_iv": "100000.0"}}
    )
    proc = run("chain", str(market), "--json")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 325
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith(f"warning: {CALL}: mark_price 0.2 is -0.091 from the Black-76")
    assert lines[1] == (
        "note: 1 row(s) excluded from the snapshot; --excluded lists them with their reasons"
    )
    listed = run("chain", str(market), "--json", "--excluded").stderr.strip().splitlines()
    assert listed[1] == (
        f"excluded: {market} row 6 BTC-26JUN20-8000-C: mark_iv: 100000 % is outside the "
        "plausible range 1 % to 1000 %"
    )


def test_bundled_chain_has_no_warnings() -> None:
    proc = run("chain", str(demo_chain_path()), "--json", "--excluded")
    assert proc.returncode == 0
    assert proc.stderr == ""


def test_unlisted_positions_need_allow_unlisted(tmp_path: Path) -> None:
    book = positions(
        tmp_path,
        [("A", "BTC-27JUN20-9000-C", -1.0), ("B", CALL, -1.0), ("C", "BTC-26JUN20-123456-C", -1)],
    )
    market = str(demo_chain_path())
    proc = run("margin", str(book), "--market", market, "--method", "deribit-pm", "--json")
    assert proc.returncode == 1, proc.stderr
    errors = {e["account"]: e["error"] for e in json.loads(proc.stdout)["errors"]}
    assert errors["A"] == (
        "BTC-27JUN20-9000-C is not listed in the market snapshot (no quote at expiry 27JUN20 "
        "of BTC); allow unlisted instruments (--allow-unlisted) to price it from the smile"
    )
    assert "no call quote for strike 123456 at expiry 26JUN20" in errors["C"]
    assert set(errors) == {"A", "C"}
    allowed = run(
        "margin", str(book), "--market", market, "--method", "deribit-pm", "--allow-unlisted"
    )
    assert allowed.returncode == 0, allowed.stderr
    compared = run("compare", str(book), "--market", market, "--allow-unlisted", "--json")
    assert compared.returncode == 0, compared.stderr
    assert "not listed" not in compared.stdout
