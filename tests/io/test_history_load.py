"""Daily close files: the bundled Yahoo exports, dropped rows, Parquet, bad files, spec figures."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portmargin.core import DataFormatError, MarketDataError
from portmargin.data import demo_daily_path, demo_daily_paths
from portmargin.io import DroppedDay, load_history
from portmargin.market import RECOMMENDED_HISTORY_START

NULL_DAYS = ["2020-04-17", "2020-10-09", "2020-10-12", "2020-10-13"]
HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"


@pytest.fixture(scope="module")
def bundled():  # type: ignore[no-untyped-def]
    return load_history(demo_daily_paths())


def plain_returns(path: Path) -> dict[str, float]:
    """End date -> ln(C_t / C_{t-1}), straightforwardly, for consecutive days with closes."""
    with path.open(newline="") as fh:
        rows = [(r["Date"], r["Close"]) for r in csv.DictReader(fh)]
    out = {}
    for (d0, c0), (d1, c1) in itertools.pairwise(rows):
        one_day = (np.datetime64(d1) - np.datetime64(d0)).astype(int) == 1
        if one_day and c0 != "null" and c1 != "null":
            out[d1] = math.log(float(c1) / float(c0))
    return out


def write(tmp_path: Path, text: str, name: str = "x.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_bundled_files_drop_exactly_the_four_null_rows_each(bundled) -> None:  # type: ignore[no-untyped-def]
    assert bundled.dropped == tuple(
        DroppedDay(underlying=u, date=d, reason="close is null")
        for u in ("BTC", "ETH")
        for d in NULL_DAYS
    )
    h = bundled.history
    assert h.underlyings == ("BTC", "ETH")
    assert str(h.dates[0]) == "2014-09-17"
    assert str(h.dates[-1]) == "2021-11-24"
    assert h.closes.shape == (2626 - 4, 2)  # one BTC row per calendar day, less the null days
    assert int(np.isfinite(h.closes[:, 0]).sum()) == 2626 - 4
    assert int(np.isfinite(h.closes[:, 1]).sum()) == 2302 - 4
    assert str(h.dates[np.isfinite(h.closes[:, 1])][0]) == "2015-08-07"
    assert h.closes[-1, 0] == 56654.578125


@pytest.mark.parametrize("underlying", ["BTC", "ETH"])
def test_returns_equal_a_plain_computation_over_the_csv(bundled, underlying: str) -> None:  # type: ignore[no-untyped-def]
    expected = plain_returns(demo_daily_path(underlying))
    w = bundled.history.joint_returns([underlying], lookback_days=10_000)
    assert [str(d) for d in w.dates] == list(expected)
    np.testing.assert_allclose(w.returns[:, 0], list(expected.values()), rtol=1e-15, atol=0)
    for d in NULL_DAYS:
        assert d not in expected
    assert "2020-04-18" not in expected
    assert "2020-10-14" not in expected


def test_spec_count_of_returns_from_2017_to_the_as_of_date(bundled) -> None:  # type: ignore[no-untyped-def]
    # var-margin.md 3.4: 2017-01-01 ... 2021-11-24, n = 1,782 returns per asset.
    start = RECOMMENDED_HISTORY_START["ETH"]
    w = bundled.history.joint_returns(
        as_of="2021-11-24", lookback_days=10_000, history_start={"BTC": start, "ETH": start}
    )
    assert w.n == 1782
    assert str(w.dates[0]) == "2017-01-01"
    assert str(w.dates[-1]) == "2021-11-24"
    assert w.short_history
    assert not w.proxied.any()


def test_spec_figures_of_the_bundled_returns(bundled) -> None:  # type: ignore[no-untyped-def]
    r = bundled.history.log_returns()
    dates = bundled.history.dates
    # 3.2: BTC's worst 1-day log return -0.4647; worst observed 5-day move -44.2 %.
    assert round(float(np.nanmin(r[:, 0])), 4) == -0.4647
    assert str(dates[np.nanargmin(r[:, 0])]) == "2020-03-12"
    five = np.lib.stride_tricks.sliding_window_view(r, 5, axis=0).sum(axis=2)
    assert round(float(np.expm1(np.nanmin(five[:, 0]))), 3) == -0.442
    # 3.1: 2015-2016 ETH has a one-day move of -72.8 % and a five-day move of +160.4 %.
    early = dates < np.datetime64("2017-01-01")
    assert round(float(np.expm1(np.nanmin(r[early, 1]))), 3) == -0.728
    assert round(float(np.expm1(np.nanmax(five[early[4:], 1]))), 3) == 1.604


def test_default_window_at_the_as_of_date(bundled) -> None:  # type: ignore[no-untyped-def]
    w = bundled.history.joint_returns(as_of="2021-11-24")
    assert w.n == 1095
    assert not w.short_history
    assert str(w.dates[-1]) == "2021-11-24"
    # 7 returns are missing around the null days inside the window.
    assert (w.dates[-1] - w.dates[0]).astype(int) == 1095 - 1 + 7


def test_parquet_date_close(tmp_path: Path) -> None:
    p = tmp_path / "a.parquet"
    pq.write_table(
        pa.table(
            {
                "date": pa.array(np.datetime64("2021-01-01") + np.arange(4)),
                "close": pa.array([1.0, None, 3.0, 4.0]),
            }
        ),
        p,
    )
    s = tmp_path / "b.parquet"
    pq.write_table(pa.table({"date": ["2021-01-02", "2021-01-03"], "close": [10, 11]}), s)
    load = load_history({"A": p, "B": s})
    assert load.dropped == (DroppedDay(underlying="A", date="2021-01-02", reason="close is null"),)
    h = load.history
    assert [str(d) for d in h.dates] == ["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04"]
    np.testing.assert_array_equal(h.closes[:, 0], [1.0, np.nan, 3.0, 4.0])
    np.testing.assert_array_equal(h.closes[:, 1], [np.nan, 10.0, 11.0, np.nan])
    assert h.joint_returns(["A"]).n == 1
    with pytest.raises(MarketDataError):
        h.joint_returns()  # the only returns of A and B end on different days


def test_timestamp_dates_in_parquet(tmp_path: Path) -> None:
    p = tmp_path / "t.parquet"
    ts = pa.array(np.array(["2021-01-01", "2021-01-02"], dtype="datetime64[s]"))
    pq.write_table(pa.table({"date": ts, "close": [1.0, 2.0]}), p)
    assert load_history({"A": p}).history.joint_returns().returns[0, 0] == math.log(2.0)


@pytest.mark.parametrize(
    ("close", "reason"),
    [
        ("abc", "close 'abc' is not a number"),
        ("", "close is empty"),
        ("0", "close 0 is not > 0"),
        ("-3", "close -3 is not > 0"),
        ("1e999", "close is not finite"),
        ("null", "close is null"),
    ],
)
def test_invalid_closes_drop_the_day_and_are_reported(
    tmp_path: Path, close: str, reason: str
) -> None:
    p = write(
        tmp_path,
        HEADER + f"2021-01-01,,,,1,1,0\n2021-01-02,,,,{close},1,0\n2021-01-03,,,,3,3,0\n"
        "2021-01-04,,,,6,6,0\n",
    )
    load = load_history({"X": p})
    assert load.dropped == (DroppedDay(underlying="X", date="2021-01-02", reason=reason),)
    w = load.history.joint_returns()
    assert [str(d) for d in w.dates] == ["2021-01-04"]  # never a return over the dropped day
    assert w.returns[0, 0] == pytest.approx(math.log(2.0))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "2021-01-02,,,,1,,\n2021-01-01,,,,2,,\n",
            "x.csv, row 2, column 'Date': date 2021-01-01 is before the previous row's date",
        ),
        (
            "2021-01-01,,,,1,,\n2021-01-01,,,,2,,\n",
            "x.csv, row 2, column 'Date': date 2021-01-01 repeats the previous row's date",
        ),
        (
            "2021-01-01,,,,1,,\n01/02/2021,,,,2,,\n",
            "x.csv, row 2, column 'Date': date '01/02/2021' is not a calendar day",
        ),
        ("2021-02-30,,,,1,,\n", "x.csv, row 1, column 'Date': date '2021-02-30'"),
        ("2021-01-01,,,,null,,\n", "x.csv, column 'Close': no row has a valid close"),
        ("", "x.csv: has no data rows"),
    ],
)
def test_bad_rows_raise_one_line_errors(tmp_path: Path, body: str, message: str) -> None:
    p = write(tmp_path, HEADER + body)
    with pytest.raises(DataFormatError) as err:
        load_history({"X": p})
    text = str(err.value)
    assert "\n" not in text
    assert str(tmp_path) in text
    assert message in text


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="cannot be read"):
        load_history({"X": tmp_path / "missing.csv"})
    with pytest.raises(DataFormatError, match="missing column\\(s\\) Close"):
        load_history({"X": write(tmp_path, "Date,Open\n2021-01-01,1\n")})
    with pytest.raises(DataFormatError, match="missing column\\(s\\) Date, Close"):
        load_history({"X": write(tmp_path, "")})
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00Date")
    with pytest.raises(DataFormatError, match="not UTF-8"):
        load_history({"X": p})
    with pytest.raises(DataFormatError, match="is not a valid CSV file"):
        load_history({"X": write(tmp_path, "Date,Close\n2021-01-01,1,2,3\n")})
    with pytest.raises(DataFormatError, match=r"not a readable Parquet file|cannot be read"):
        load_history({"X": write(tmp_path, "not parquet", "bad.parquet")})
    q = tmp_path / "m.parquet"
    pq.write_table(pa.table({"date": ["2021-01-01"], "price": [1.0]}), q)
    with pytest.raises(DataFormatError, match="missing column\\(s\\) close"):
        load_history({"X": q})
    b = tmp_path / "bool.parquet"
    pq.write_table(pa.table({"date": ["2021-01-01"], "close": [True]}), b)
    with pytest.raises(DataFormatError, match="column 'close': closes are bool"):
        load_history({"X": b})
    with pytest.raises(ValueError, match="paths"):
        load_history({})


def test_spec_median_30_day_volumes_at_the_as_of_date(bundled) -> None:  # type: ignore[no-untyped-def]
    # var-margin.md 7: BTC V = 0.01 x 3.598e10, ETH V = 1.885e8 (= 0.01 x 1.885e10).
    h = bundled.history
    assert round(h.median_volume("BTC", as_of="2021-11-24"), -7) == 3.598e10
    assert round(h.median_volume("ETH", as_of="2021-11-24"), -7) == 1.885e10
    assert h.median_volume("BTC") == 35982763561.5
    assert h.median_volume("ETH") == 18853070365.5


def test_median_volume_skips_null_days_and_counts_valid_rows(bundled) -> None:  # type: ignore[no-untyped-def]
    # The 30 valid rows ending 2020-10-20 reach back past the three null days in October.
    h = bundled.history
    with demo_daily_path("BTC").open(newline="") as fh:
        rows = [
            r for r in csv.DictReader(fh) if r["Volume"] != "null" and r["Date"] <= "2020-10-20"
        ]
    expected = float(np.median([float(r["Volume"]) for r in rows[-30:]]))
    assert rows[-30]["Date"] == "2020-09-18"
    assert h.median_volume("BTC", as_of="2020-10-20") == expected


def test_bad_volume_keeps_the_close_and_is_reported(tmp_path: Path) -> None:
    p = write(tmp_path, HEADER + "2021-01-01,,,,1,1,5\n2021-01-02,,,,2,2,x\n2021-01-03,,,,3,3,-1\n")
    load = load_history({"X": p})
    assert load.dropped == (
        DroppedDay(
            underlying="X",
            date="2021-01-02",
            reason="volume 'x' is not a number; the close is kept",
        ),
        DroppedDay(
            underlying="X", date="2021-01-03", reason="volume -1 is not >= 0; the close is kept"
        ),
    )
    h = load.history
    assert h.joint_returns().n == 2
    assert h.volumes is not None
    np.testing.assert_array_equal(h.volumes[:, 0], [5.0, np.nan, np.nan])
    assert h.median_volume("X", rows=1) == 5.0
    with pytest.raises(
        MarketDataError, match="X: 1 rows with a close and a volume up to 2021-01-03; expected 2"
    ):
        h.median_volume("X", rows=2)


def test_volume_column_is_optional(tmp_path: Path) -> None:
    h = load_history({"X": write(tmp_path, "Date,Close\n2021-01-01,1\n2021-01-02,2\n")}).history
    assert h.volumes is None
    with pytest.raises(MarketDataError, match="no volumes"):
        h.median_volume("X")
    q = tmp_path / "v.parquet"
    pq.write_table(pa.table({"date": ["2021-01-01"], "close": [1.0], "volume": [7]}), q)
    mixed = load_history({"X": tmp_path / "x.csv", "Y": q}).history
    assert mixed.volumes is not None
    np.testing.assert_array_equal(mixed.volumes, [[np.nan, 7.0], [np.nan, np.nan]])


def test_demo_daily_paths() -> None:
    assert {u: p.name for u, p in demo_daily_paths().items()} == {
        "BTC": "btc_usd_daily.csv",
        "ETH": "eth_usd_daily.csv",
    }
    assert demo_daily_path("BTC").is_file()
    with pytest.raises(KeyError, match="no bundled daily history for 'SOL'"):
        demo_daily_path("SOL")
