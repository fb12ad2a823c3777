"""Positions files: CSV and Parquet, per-account errors, duplicates, file-level errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.core import DataFormatError
from portmargin.io.positions import MAX_DUPLICATE_WARNINGS, read_positions, read_positions_csv


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


def test_book_is_built_from_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account,instrument,quantity\n"
        "alice,BTC-PERPETUAL,2\n"
        "alice,BTC-26JUN20-9000-C,-1\n"
        "bob,BTC,0.5\n",
    )
    book = read_positions(path).book
    assert book.accounts == ("alice", "bob")
    assert [i.name for i in book.instruments] == sorted(i.name for i in book.instruments)
    dense = book.quantities.toarray()
    column = {i.name: k for k, i in enumerate(book.instruments)}
    assert dense[0, column["BTC-PERPETUAL"]] == 2.0
    assert dense[0, column["BTC-26JUN20-9000-C"]] == -1.0
    assert dense[1, column["BTC"]] == 0.5


def test_zero_quantity_accounts_are_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account,instrument,quantity\nA,BTC-PERPETUAL,0\nB,BTC-PERPETUAL,1\nC,BTC,0\nC,BTC,0\n",
    )
    result = read_positions(path)
    assert result.book.accounts == ("A", "B", "C")
    assert result.book.quantities.nnz == 1
    assert [p.account for p in result.portfolios] == ["A", "B", "C"]
    assert result.portfolios[0].is_empty


def test_bad_rows_keep_first_bad_row_per_account_and_other_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account,instrument,quantity\n"
        "A,BTC-PERPETUAL,1\n"
        "A,BTC-26JUN20-9000-Q,1\n"
        "A,BTC-PERPETUAL,\n"
        "B,BTC-PERPETUAL, 2 \n"
        "C,BTC-PERPETUAL,inf\n"
        "D,,1\n",
    )
    result = read_positions_csv(path)
    assert result.book.accounts == ("B",)
    assert result.book.quantities.toarray().tolist() == [[2.0]]
    assert list(result.account_errors) == ["A", "C", "D"]
    assert "row 2, column 'instrument'" in result.account_errors["A"]
    assert "BTC-26JUN20-9000-Q" in result.account_errors["A"]
    assert "row 5, column 'quantity'" in result.account_errors["C"]
    assert "'inf'" in result.account_errors["C"]
    assert "row 6, column 'instrument'" in result.account_errors["D"]


def test_empty_quantity_is_a_row_error(tmp_path: Path) -> None:
    path = write(tmp_path, "account,instrument,quantity\nA,BTC,\nB,BTC,1\n")
    result = read_positions_csv(path)
    assert "row 1, column 'quantity'" in result.account_errors["A"]
    assert "''" in result.account_errors["A"]


def test_blank_account_among_rows_is_a_file_error(tmp_path: Path) -> None:
    path = write(tmp_path, "account,instrument,quantity\nA,BTC,1\n  ,BTC,1\n")
    with pytest.raises(DataFormatError, match=r"row 2, column 'account'"):
        read_positions_csv(path)


def test_whitespace_and_spelling_variants_are_one_account_and_instrument(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account , instrument,quantity\nA,BTC-PERPETUAL,1\n A ,BTC-PERPETUAL ,2\n",
    )
    result = read_positions_csv(path)
    assert result.book.accounts == ("A",)
    assert result.book.quantities.toarray().tolist() == [[3.0]]
    assert len(result.warnings) == 1
    assert "row 2" in result.warnings[0]
    assert "first at row 1" in result.warnings[0]


def test_many_duplicates_are_warned_in_aggregate(tmp_path: Path) -> None:
    n = MAX_DUPLICATE_WARNINGS + 15
    rows = "".join(f"A{i},BTC,1\nA{i},BTC,1\n" for i in range(n))
    result = read_positions_csv(write(tmp_path, "account,instrument,quantity\n" + rows))
    assert len(result.warnings) == MAX_DUPLICATE_WARNINGS + 1
    assert "row 2: account 'A0'" in result.warnings[0]
    assert "15 more rows" in result.warnings[-1]
    assert set(result.book.quantities.data.tolist()) == {2.0}


def test_parquet_with_numeric_and_null_columns(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "account": pa.array([1, 1, 2, 3], pa.int64()),
            "instrument": ["BTC-PERPETUAL", "BTC", None, "BTC"],
            "quantity": pa.array([1.0, None, 1.0, float("nan")], pa.float64()),
        }
    )
    path = tmp_path / "positions.parquet"
    pq.write_table(table, path, row_group_size=2)
    result = read_positions(path)
    assert result.book.accounts == ()
    assert "row 2, column 'quantity'" in result.account_errors["1"]
    assert "None" in result.account_errors["1"]
    assert "row 3, column 'instrument'" in result.account_errors["2"]
    assert "'nan'" not in result.account_errors["3"]
    assert "quantity nan" in result.account_errors["3"]


def test_parquet_row_groups_with_their_own_dictionaries(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    accounts = [f"acct-{i % 7}" for i in range(60)]
    names = ["BTC-PERPETUAL", "BTC-26JUN20-9000-C", "BTC_USDC", "USDC"] * 15
    table = pa.table({"account": accounts, "instrument": names, "quantity": [1.0] * 60})
    path = tmp_path / "positions.parquet"
    pq.write_table(table, path, row_group_size=9)
    parquet = read_positions(path)
    csv_path = tmp_path / "positions.csv"
    csv_path.write_text(
        "account,instrument,quantity\n"
        + "".join(f"{a},{n},1\n" for a, n in zip(accounts, names, strict=True)),
        encoding="utf-8",
    )
    text = read_positions(csv_path)
    assert parquet.book.accounts == text.book.accounts == tuple(f"acct-{i}" for i in range(7))
    assert (parquet.book.quantities != text.book.quantities).nnz == 0
    assert parquet.warnings == tuple(w.replace(str(csv_path), str(path)) for w in text.warnings)


_NAMES = ["BTC-PERPETUAL", "BTC-26JUN20-9000-C", "BTC-26JUN20", "BTC", "USDC", "ETH-PERPETUAL"]


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.sampled_from(_NAMES),
            st.integers(-5, 5),
        ),
        min_size=1,
        max_size=30,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_shuffling_rows_gives_the_same_book_up_to_account_order(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str, int]], seed: int
) -> None:
    folder = tmp_path_factory.mktemp("shuffle")
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)

    def book(lines: list[tuple[str, str, int]], name: str) -> dict[str, dict[str, float]]:
        text = "account,instrument,quantity\n" + "".join(f"{a},{i},{q}\n" for a, i, q in lines)
        b = read_positions_csv(write(folder, text, name)).book
        dense = b.quantities.toarray()
        names = [i.name for i in b.instruments]
        assert names == sorted(names)
        return {
            a: {n: float(dense[k, j]) for j, n in enumerate(names) if dense[k, j]}
            for k, a in enumerate(b.accounts)
        }

    assert book(rows, "a.csv") == book(shuffled, "b.csv")


def test_duplicates_are_warned_when_other_accounts_are_bad(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account,instrument,quantity\n"
        "A,BTC-PERPETUAL,1\nB,BTC-26JUN20-8000-P,-1\nB,BTC-26JUN20-8000-P,-1\n"
        "C,BTC-26JUN20-9000-Q,1\n",
    )
    result = read_positions_csv(path)
    assert list(result.account_errors) == ["C"]
    assert len(result.warnings) == 1
    assert "row 3: account 'B' repeats BTC-26JUN20-8000-P (first at row 2)" in result.warnings[0]
    column = [i.name for i in result.book.instruments].index("BTC-26JUN20-8000-P")
    assert result.book.quantities.toarray()[1, column] == -2.0


def test_rows_with_missing_or_extra_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account,instrument,quantity\nA,BTC-PERPETUAL,1,extra\nB,BTC-PERPETUAL\nC,BTC,2\n",
    )
    result = read_positions_csv(path)
    assert result.book.accounts == ("A", "C")
    assert "row 2, column 'quantity'" in result.account_errors["B"]
    assert "quantity None" in result.account_errors["B"]
