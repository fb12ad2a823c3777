"""Positions files: CSV and Parquet, per-account errors, duplicates, file-level errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from portmargin.core import DataFormatError
from portmargin.io.positions import read_positions, read_positions_csv


def write(tmp_path: Path, text: str, name: str = "positions.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_many_accounts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account,instrument,quantity\n"
        "alice,BTC-26JUN20-9000-C,-1\n"
        "alice,BTC,0.5\n"
        "bob,BTC-PERPETUAL,2.5\n"
        "bob,BTC_USDC,1\n",
    )
    result = read_positions_csv(path)
    assert [p.account for p in result.portfolios] == ["alice", "bob"]
    assert result.portfolios[0].balances == {"BTC": 0.5}
    assert not result.account_errors
    assert not result.warnings


def test_bad_rows_make_their_account_bad_and_name_row_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account,instrument,quantity\n"
        "alice,BTC-26JUN20-9000-C,-1\n"
        "bob,BTC-26JUN20-9000-Q,1\n"
        "carol,BTC-PERPETUAL,abc\n"
        "dave,BTC-PERPETUAL,nan\n",
    )
    result = read_positions_csv(path)
    assert [p.account for p in result.portfolios] == ["alice"]
    errors = result.account_errors
    assert "row 2" in errors["bob"]
    assert "column 'instrument'" in errors["bob"]
    assert "BTC-26JUN20-9000-Q" in errors["bob"]
    assert "row 3" in errors["carol"]
    assert "column 'quantity'" in errors["carol"]
    assert "'abc'" in errors["carol"]
    assert "row 4" in errors["dave"]


def test_duplicate_rows_are_summed_with_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account,instrument,quantity\nA,BTC-PERPETUAL,1\nA,BTC-PERPETUAL,2\n",
    )
    result = read_positions_csv(path)
    assert result.portfolios[0].positions[0].quantity == 3.0
    assert len(result.warnings) == 1
    assert "row 2" in result.warnings[0]
    assert "summed" in result.warnings[0]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("account,instrument,quantity\n", "no position rows"),
        ("acct,inst,qty\nA,BTC,1\n", "missing column"),
        ("account,instrument,quantity\n,BTC,1\n", "row 1"),
    ],
)
def test_file_level_errors(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(DataFormatError, match=fragment):
        read_positions_csv(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="cannot be read"):
        read_positions(tmp_path / "absent.csv")


def test_parquet_round_trip(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "account": ["A", "A", "B"],
            "instrument": ["BTC-26JUN20-9000-C", "BTC", "BTC-PERPETUAL"],
            "quantity": [-1.0, 0.5, 10.0],
        }
    )
    path = tmp_path / "positions.parquet"
    pq.write_table(table, path)
    result = read_positions(path)
    assert [p.account for p in result.portfolios] == ["A", "B"]
    assert result.portfolios[1].positions[0].quantity == 10.0


def test_parquet_wrong_columns(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"x": [1]}), path)
    with pytest.raises(DataFormatError, match="missing column"):
        read_positions(path)
    garbage = write(tmp_path, "not parquet", "garbage.parquet")
    with pytest.raises(DataFormatError, match="Parquet"):
        read_positions(garbage)
