"""Per-account inputs read from CSV and Parquet files and from ``--input`` assignments."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portmargin.core import DataFormatError, ValidationError
from portmargin.io.inputs import parse_input_assignments, read_account_inputs, unused_inputs
from portmargin.methods import get_method

OKX = get_method("okx-pm").account_inputs
DERIBIT = get_method("deribit-pm").account_inputs


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inputs.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_empty_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "account,borrowing,spot_unit\ndesk-1,1200,\ndesk-2,,USD\n\n007,0,\n")
    inputs = read_account_inputs(path, OKX)
    assert inputs.per_account("borrowing") == {"desk-1": 1200.0, "007": 0.0}
    assert inputs.per_account("spot_unit") == {"desk-2": "USD"}


def test_parquet_with_groups(tmp_path: Path) -> None:
    path = tmp_path / "inputs.parquet"
    table = pa.table(
        {
            "account": ["a", "a", "b"],
            "group": ["btc_btc", "usdc_btc", "btc_btc"],
            "mmp_margin": [0.06, None, 0.01],
            "open_orders_margin": [None, 12.5, None],
        }
    )
    pq.write_table(table, path)
    inputs = read_account_inputs(path, DERIBIT)
    assert inputs.get("mmp_margin") == {("a", "btc_btc"): 0.06, ("b", "btc_btc"): 0.01}
    assert inputs.get("open_orders_margin") == {("a", "usdc_btc"): 12.5}


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("borrowing\n1\n", DataFormatError, "has no 'account' column"),
        ("account,borrow\na,1\n", DataFormatError, r"\['borrow'\] are not inputs.*'borrowing'"),
        ("account,borrowing,borrowing\na,1,2\n", DataFormatError, "repeated column"),
        ("account,borrowing\na,-5\n", ValidationError, r"row 1, column 'borrowing': got '-5'"),
        ("account,borrowing\na,1\n,2\n", ValidationError, r"row 2, column 'account'"),
        ("account,borrowing\na,1\na,2\n", ValidationError, r"borrowing\['a'\].*given twice"),
        ("account,spot_unit\na,EUR\n", ValidationError, r"column 'spot_unit': got 'EUR'"),
        ("", DataFormatError, "is empty"),
    ],
)
def test_bad_files_are_named(tmp_path: Path, text: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        read_account_inputs(write(tmp_path, text), OKX)


def test_group_column_needed_for_inputs_per_group(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="needs a 'group' column"):
        read_account_inputs(write(tmp_path, "account,mmp_margin\na,1\n"), DERIBIT)
    with pytest.raises(ValidationError, match=r"row 1, column 'group'"):
        read_account_inputs(write(tmp_path, "account,group,mmp_margin\na,,1\n"), DERIBIT)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="cannot be read"):
        read_account_inputs(tmp_path / "none.csv", OKX)
    with pytest.raises(DataFormatError, match="cannot be read"):
        read_account_inputs(tmp_path / "none.parquet", OKX)


def test_assignments() -> None:
    inputs = parse_input_assignments(["desk:1:borrowing=1200", "b:spot_unit=USDC"], OKX)
    assert inputs.per_account("borrowing") == {"desk:1": 1200.0}
    assert inputs.per_account("spot_unit") == {"b": "USDC"}
    grouped = parse_input_assignments(["a:mmp_margin@btc_btc=0.06"], DERIBIT)
    assert grouped.get("mmp_margin") == {("a", "btc_btc"): 0.06}
    for bad in ("borrowing=1", "a:borrowing", ":borrowing=1", "a:=1"):
        with pytest.raises(ValidationError, match="ACCOUNT:NAME=VALUE"):
            parse_input_assignments([bad], OKX)
    with pytest.raises(ValidationError, match=r"borrowing\['a'\]: got 'x'"):
        parse_input_assignments(["a:borrowing=x"], OKX)


def test_unused_accounts() -> None:
    inputs = parse_input_assignments(["a:borrowing=1", "z:borrowing=2"], OKX)
    assert unused_inputs(inputs, ["a", "b"]) == ["z"]
