"""Plausibility rules of the Deribit loaders on the bundled 2020-05-21 chain and JSON payloads."""

from __future__ import annotations

import copy
import csv
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.core import DataFormatError
from portmargin.data import demo_chain_path
from portmargin.instruments import parse_instrument
from portmargin.io.deribit import SnapshotLoad, load_deribit_chain_csv, load_deribit_json
from portmargin.io.params import load_params
from portmargin.market import SanityRules
from portmargin.methods import get_method, method_names
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "deribit"
OPTIONS = FIXTURES / "book_summary_btc_option.json"
FUTURES = FIXTURES / "book_summary_btc_future.json"
INDEX = FIXTURES / "index_price_btc_usd.json"
CALL = "BTC-26JUN20-9000-C"
VALUATION_ROW = "BTC-25SEP20-8000-C"
"""The latest row of the bundled chain: it sets the valuation time, the index and the
25SEP20 forward."""


def _rows() -> tuple[list[str], list[dict[str, str]]]:
    with demo_chain_path().open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or ()), list(reader)


def chain(tmp_path: Path, edit: dict[str, dict[str, str]] | None = None, **column: Any) -> Path:
    """The bundled chain with cells replaced: ``edit[instrument][column] = text``; a keyword
    ``column=function`` maps every cell of that column."""
    header, rows = _rows()
    for row in rows:
        for name, cells in (edit or {}).items():
            if row["instrument_name"] == name:
                row.update(cells)
        for name, function in column.items():
            row[name] = function(row[name])
    path = tmp_path / "chain.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def load(path: Path, rules: SanityRules | None = None) -> SnapshotLoad:
    """Load with every warning turned into an error (no numpy RuntimeWarning may escape)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_deribit_chain_csv(path, rules=rules)


def reasons(result: SnapshotLoad) -> dict[str, tuple[str | None, str]]:
    return {e.instrument: (e.column, e.reason) for e in result.excluded}


def test_bundled_chain_passes_every_rule() -> None:
    result = load(demo_chain_path())
    assert result.excluded == ()
    assert result.warnings == ()
    assert len(result.snapshot.quotes) == 326
    assert dict(result.snapshot.excluded) == {}


class TestVolColumn:
    def test_vol_column_times_100_is_an_error(self, tmp_path: Path) -> None:
        path = chain(tmp_path, mark_iv=lambda v: repr(float(v) * 100))
        with pytest.raises(DataFormatError, match="multiplied by 100") as caught:
            load(path)
        assert caught.value.column == "mark_iv"
        assert "median 10091 %" in str(caught.value)

    def test_vol_column_in_fractions_is_an_error(self, tmp_path: Path) -> None:
        path = chain(tmp_path, mark_iv=lambda v: repr(float(v) / 100))
        with pytest.raises(DataFormatError, match="looks like fractions"):
            load(path)

    def test_one_row_at_100000_percent_is_excluded(self, tmp_path: Path) -> None:
        result = load(chain(tmp_path, {CALL: {"mark_iv": "100000.0"}}))
        assert reasons(result) == {
            CALL: ("mark_iv", "mark_iv: 100000 % is outside the plausible range 1 % to 1000 %")
        }
        assert CALL not in result.snapshot.quotes
        assert result.snapshot.excluded[CALL] == reasons(result)[CALL][1]

    @pytest.mark.parametrize("iv", ["0.5", "1500.0"])
    def test_vol_bounds_are_rules(self, tmp_path: Path, iv: str) -> None:
        path = chain(tmp_path, {CALL: {"mark_iv": iv}})
        assert CALL in reasons(load(path))
        loose = SanityRules(min_vol=0.001, max_vol=20.0)
        assert load(path, loose).excluded == ()


@pytest.mark.parametrize("name", method_names())
def test_short_call_on_a_bad_vol_row_is_an_error_not_zero_margin(tmp_path: Path, name: str) -> None:
    """The defect: a row at 100,000 % (or a column x100) gave a naked short call IM 0."""
    snapshot = load(chain(tmp_path, {CALL: {"mark_iv": "100000.0"}})).snapshot
    held = CALL.replace("BTC", "BTC_USDC") if name == "derive-pm2" else CALL
    book = Book.from_portfolios(
        [Portfolio.from_positions("A", [Position(instrument=parse_instrument(held), quantity=-1)])]
    )
    method = get_method(name)
    batch = method.compute(book, snapshot, load_params(method))
    assert batch.initial_margin.size == 0
    assert f"the quote of {CALL} was excluded: mark_iv: 100000 %" in batch.errors["A"]


class TestPrices:
    @pytest.mark.parametrize(
        ("row", "column", "value", "fragment"),
        [
            (CALL, "mark_price", "1e300", "above 1 coin, the most an inverse call"),
            (CALL, "mark_price", "1.5", "above 1 coin"),
            ("BTC-26JUN20-3000-P", "mark_price", "0.5", "the most an inverse put"),
            (CALL, "underlying_price", "1e300", "outside the plausible range 1e-08 to 1e+09 USD"),
            (CALL, "underlying_price", "1e-300", "outside the plausible range"),
            (CALL, "index_price", "1e300", "outside the plausible range"),
            (VALUATION_ROW, "underlying_price", "1e-300", "outside the plausible range"),
            (VALUATION_ROW, "index_price", "1e300", "outside the plausible range"),
            (CALL, "underlying_price", "20000", "is more than 50% from the BTC index 9085.195"),
            (CALL, "underlying_price", "5000", "is more than 50% from the BTC index"),
            (CALL, "index_price", "10500", "is more than 10% from the BTC index 9085.195"),
            (CALL, "underlying_price", "10500", "10% from the median 9094.485 of the rows of"),
        ],
    )
    def test_impossible_values_exclude_the_row(
        self, tmp_path: Path, row: str, column: str, value: str, fragment: str
    ) -> None:
        result = load(chain(tmp_path, {row: {column: value}}))
        assert list(reasons(result)) == [row]
        got_column, reason = reasons(result)[row]
        assert got_column == column
        assert reason.startswith(f"{column}: ")
        assert fragment in reason
        assert len(result.snapshot.quotes) == 325

    def test_a_bad_valuation_row_no_longer_moves_the_index_or_forward(self, tmp_path: Path) -> None:
        good = load(demo_chain_path()).snapshot
        for column in ("underlying_price", "index_price"):
            for value in ("1e300", "1e-300"):
                bad = load(chain(tmp_path, {VALUATION_ROW: {column: value}})).snapshot
                assert bad.index("BTC") == pytest.approx(good.index("BTC"), rel=0.01)
                for key, forward in bad.forwards.items():
                    assert forward == pytest.approx(good.forwards[key], rel=0.01)

    def test_an_index_far_from_every_forward_is_an_error(self, tmp_path: Path) -> None:
        path = chain(tmp_path, index_price=lambda v: repr(float(v) * 3))
        with pytest.raises(DataFormatError, match=r"implausible BTC index 27255\.585"):
            load(path)

    def test_zero_marks_are_kept(self, tmp_path: Path) -> None:
        result = load(chain(tmp_path, {"BTC-22MAY20-6000-P": {"mark_price": "0.0"}}))
        assert result.excluded == ()


class TestRepricing:
    def test_a_mark_the_model_cannot_reproduce_is_a_warning(self, tmp_path: Path) -> None:
        result = load(chain(tmp_path, {CALL: {"mark_price": "0.2"}}))
        assert result.excluded == ()
        (warning,) = result.warnings
        assert warning.startswith(
            f"{CALL}: mark_price 0.2 is -0.091 from the Black-76 price 0.10904114"
        )
        assert "tolerance 0.01" in warning
        assert CALL in result.snapshot.quotes

    def test_tolerance_is_a_rule(self, tmp_path: Path) -> None:
        path = chain(tmp_path, {CALL: {"mark_price": "0.1095"}})
        assert load(path).warnings == ()
        strict = SanityRules(reprice_abs_tolerance=1e-6, reprice_rel_tolerance=1e-6)
        assert len(load(path, strict).warnings) > 1


class TestTimestamps:
    @pytest.mark.parametrize(
        ("value", "fragment"),
        [
            ("300000000000000", "300000000000000 ms is outside the plausible range 2009-01-03"),
            ("253402300800000", "outside the plausible range"),  # 10000-01-01
            ("1590103193", "1590103193 ms is outside the plausible range"),  # seconds
            ("-5", "'-5' is not a time"),
            ("nan", "'nan' is not a time"),
            ("inf", "'inf' is not a time"),
        ],
    )
    def test_impossible_option_timestamp_fails_the_load(
        self, tmp_path: Path, value: str, fragment: str
    ) -> None:
        with pytest.raises(DataFormatError, match="column 'timestamp'") as caught:
            load(chain(tmp_path, {CALL: {"timestamp": value}}))
        assert caught.value.row == 36
        assert fragment in str(caught.value)
        assert "\n" not in str(caught.value)

    def test_json_creation_timestamp(self, tmp_path: Path) -> None:
        items = json.loads(OPTIONS.read_text())["result"]
        items[0]["creation_timestamp"] = 4_200_000_000_000
        path = tmp_path / "options.json"
        path.write_text(json.dumps({"options": items}))
        with pytest.raises(DataFormatError, match="column 'creation_timestamp'"):
            load_deribit_json(path)


class TestDuplicates:
    """Rule (``portmargin.io.deribit``): the latest timestamp is kept, ties go to the row read
    last, every other row is excluded as ``duplicate of <source> row <n>, which is kept``."""

    def _with_copies(self, tmp_path: Path, stamps: list[str]) -> tuple[Path, list[int]]:
        header, rows = _rows()
        (original,) = [i for i, r in enumerate(rows) if r["instrument_name"] == CALL]
        copies = []
        for stamp in stamps:
            row = copy.deepcopy(rows[original])
            row["timestamp"] = stamp
            rows.append(row)
            copies.append(len(rows))
        path = tmp_path / "dup.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return path, [original + 1, *copies]

    def test_equal_timestamps_keep_the_row_read_last(self, tmp_path: Path) -> None:
        stamp = _rows()[1][35]["timestamp"]
        path, (first, second) = self._with_copies(tmp_path, [stamp])
        result = load(path)
        assert [(e.row, e.column, e.reason) for e in result.excluded] == [
            (first, None, f"duplicate of {path} row {second}, which is kept")
        ]
        assert CALL not in result.snapshot.excluded

    def test_latest_of_three_is_kept(self, tmp_path: Path) -> None:
        stamp = int(_rows()[1][35]["timestamp"])
        path, (first, early, late) = self._with_copies(tmp_path, [str(stamp - 5), str(stamp + 5)])
        result = load(path)
        assert {(e.row, e.reason) for e in result.excluded} == {
            (first, f"duplicate of {path} row {late}, which is kept"),
            (early, f"duplicate of {path} row {late}, which is kept"),
        }
        assert result.snapshot.quotes[CALL].timestamp_ms == stamp + 5


class TestJsonPayloads:
    def _files(self, tmp_path: Path, index: float, future_mark: float | None = None) -> list[Path]:
        index_doc = json.loads(INDEX.read_text())
        index_doc["result"]["index_price"] = index
        futures = json.loads(FUTURES.read_text())
        if future_mark is not None:
            futures["result"][0]["mark_price"] = future_mark
        paths = [tmp_path / "index.json", tmp_path / "futures.json"]
        paths[0].write_text(json.dumps(index_doc))
        paths[1].write_text(json.dumps(futures))
        return [OPTIONS, *paths]

    def test_index_payload_far_from_the_forwards_is_an_error(self, tmp_path: Path) -> None:
        with pytest.raises(DataFormatError, match=r"implausible BTC index 908163\.0"):
            load_deribit_json(self._files(tmp_path, 908_163.0))

    def test_future_mark_far_from_the_index_is_excluded(self, tmp_path: Path) -> None:
        result = load_deribit_json(self._files(tmp_path, 9081.63, 90_914.3))
        ((name, (column, reason)),) = reasons(result).items()
        assert name == "BTC-26JUN20"
        assert column == "mark_price"
        assert reason == "mark_price: 90914.3 is more than 50% from the BTC index 9081.63"
        assert name not in result.snapshot.futures
        assert result.snapshot.excluded[name] == reason


NUMERIC = ("mark_price", "mark_iv", "underlying_price", "index_price", "timestamp")


@settings(max_examples=60, deadline=None)
@given(
    row=st.integers(min_value=0, max_value=325),
    column=st.sampled_from(NUMERIC),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([1e300, -1e300, 1e-300, 0.0, 1e9, 1e-9, 3e14]),
    ),
)
def test_any_corrupted_cell_is_excluded_or_one_error(row: int, column: str, value: float) -> None:
    """One bad number anywhere: either a typed one-line error, or a snapshot whose every row
    obeys the rules; never a numpy warning, a traceback or a silently moved index."""
    header, rows = _rows()
    rows[row][column] = repr(value)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chain.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        try:
            result = load(path)
        except DataFormatError as exc:
            error = str(exc)
        else:
            error = ""
    if error:
        assert "\n" not in error
        return
    rules = SanityRules()
    good = load(demo_chain_path()).snapshot
    snapshot = result.snapshot
    assert len(snapshot.quotes) + len(result.excluded) == 326
    assert snapshot.index("BTC") == pytest.approx(good.index("BTC"), rel=1e-3)
    for key, forward in snapshot.forwards.items():
        assert forward == pytest.approx(good.forwards[key], rel=1e-2)
    for quote in snapshot.quotes.values():
        assert rules.min_vol <= quote.mark_iv <= rules.max_vol
        assert quote.underlying_price == pytest.approx(
            good.forwards["BTC", quote.instrument.expiry_ms], rel=0.1
        )
        assert quote.mark_price <= max(1.0, quote.instrument.strike / quote.underlying_price)


def test_future_with_an_impossible_timestamp_is_excluded(tmp_path: Path) -> None:
    futures = json.loads(FUTURES.read_text())
    futures["result"][0]["creation_timestamp"] = 4_200_000_000_000
    path = tmp_path / "futures.json"
    path.write_text(json.dumps(futures))
    result = load_deribit_json([OPTIONS, path, INDEX])
    assert reasons(result) == {
        "BTC-26JUN20": (
            "creation_timestamp",
            "creation_timestamp: 4200000000000 ms is outside the plausible range 2009-01-03 to "
            "2100-01-01 (epoch milliseconds expected)",
        )
    }
    assert set(result.snapshot.futures) == {"BTC-25SEP20", "BTC-PERPETUAL"}


def test_a_denormal_mark_iv_is_excluded_not_a_crash() -> None:
    """5e-324 % is > 0 but 0 as a fraction: the row is excluded with the column named."""
    header, rows = _rows()
    rows[0]["mark_iv"] = "5e-324"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chain.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        result = load(path)
    assert len(result.snapshot.quotes) == 325
    assert any("mark_iv" in str(x) for x in result.excluded)
