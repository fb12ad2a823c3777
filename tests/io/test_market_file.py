"""Market files: a good file, every row rule, file errors, JSON, recognition, several files."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from portmargin.core import DataFormatError, MarketDataError, ValidationError
from portmargin.data import demo_chain_path, demo_eth_market_path, demo_market_paths
from portmargin.instruments import format_expiry, parse_instrument
from portmargin.io import (
    is_market_file,
    load_market_file,
    load_markets,
    load_snapshot,
)
from portmargin.market import DEFAULT_TIME_TOLERANCE_MS, SanityRules
from portmargin.pricing import black76

T = 1590103355277  # 2020-05-21 23:22:35.277 UTC, the bundled chain's valuation time
HEADER = "instrument,kind,price,timestamp_ms,iv\n"
GOOD = (
    "# ETH of 2020-05-21\n"
    + HEADER
    + f"ETH,index,200,{T},\n"
    + f"ETH-PERPETUAL,perpetual,200.5,{T - 1000},\n"
    + "\n"
    + f"ETH-26JUN20,future,201,{T},0.75\n"
    + f"ETH-25SEP20,future,204,{T},\n"
    + f"ETH-25SEP20-200-C,option,,{T},0.8\n"
    + f"ETH-25SEP20-200-P,option,,{T},0.9\n"
    + f"ETH-25SEP20-250-C,option,0.1244,{T},0.85\n"
)
JUN = parse_instrument("ETH-26JUN20").expiry_ms  # type: ignore[attr-defined]
SEP = parse_instrument("ETH-25SEP20").expiry_ms  # type: ignore[attr-defined]


def write(tmp_path: Path, text: str, name: str = "eth.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_builds_the_snapshot(tmp_path: Path) -> None:
    load = load_market_file(write(tmp_path, GOOD))
    s = load.snapshot
    assert load.excluded == ()
    assert load.rows_read == 7
    assert s.valuation_ms == T
    assert dict(s.index_prices) == {"ETH": 200.0}
    assert dict(s.forwards) == {("ETH", JUN): 201.0, ("ETH", SEP): 204.0}
    assert {n: q.mark_price for n, q in s.futures.items()} == {
        "ETH-PERPETUAL": 200.5,
        "ETH-26JUN20": 201.0,
        "ETH-25SEP20": 204.0,
    }
    assert s.futures["ETH-PERPETUAL"].timestamp_ms == T - 1000
    assert set(s.quotes) == {"ETH-25SEP20-200-C", "ETH-25SEP20-200-P", "ETH-25SEP20-250-C"}
    flat = s.smiles["ETH", JUN]
    assert flat.forward == 201.0
    np.testing.assert_array_equal(s.vol("ETH", JUN, [100.0, 201.0, 400.0]), [0.75] * 3)
    sep = s.smiles["ETH", SEP]
    np.testing.assert_array_equal(sep.strikes, [200.0, 250.0])
    np.testing.assert_array_equal(sep.vols, [0.9, 0.85])  # K=200 < F=204: the put's vol
    assert s.metadata["source"] == "market-file"
    assert s.metadata["index_source"] == "ETH: index row 1"
    assert s.metadata["valuation_time"] == "2020-05-21T23:22:35.277000+00:00"
    assert s.rates == {}
    assert s.excluded == {}


def test_an_empty_option_price_is_the_black76_mark_in_coin(tmp_path: Path) -> None:
    s = load_market_file(write(tmp_path, GOOD)).snapshot
    q = s.quotes["ETH-25SEP20-200-C"]
    tau = (SEP - T) / 1000 / 86400 / 365
    usd = float(black76.price(204.0, 200.0, tau, 0.8, True))
    assert q.mark_price == pytest.approx(usd / 204.0, rel=1e-14)
    assert q.underlying_price == 204.0
    assert q.underlying_index == "ETH-25SEP20"
    assert q.index_price == 200.0
    assert s.quotes["ETH-25SEP20-250-C"].mark_price == 0.1244  # a given mark is kept


def test_json_with_the_same_rows_gives_the_same_snapshot(tmp_path: Path) -> None:
    reader = csv.DictReader(line for line in GOOD.splitlines() if not line.startswith("#"))
    rows = [
        {k: (float(v) if k in ("price", "iv") and v else v or None) for k, v in r.items()}
        for r in reader
        if r["instrument"]
    ]
    for r in rows:
        r["timestamp_ms"] = int(r["timestamp_ms"])  # type: ignore[arg-type]
    path = write(tmp_path, json.dumps({"rows": rows}), "eth.json")
    from_json = load_market_file(path).snapshot
    from_csv = load_market_file(write(tmp_path, GOOD)).snapshot
    assert dict(from_json.index_prices) == dict(from_csv.index_prices)
    assert dict(from_json.forwards) == dict(from_csv.forwards)
    assert {n: q.mark_price for n, q in from_json.quotes.items()} == {
        n: q.mark_price for n, q in from_csv.quotes.items()
    }
    assert is_market_file(path)


BAD_ROWS = [
    ("ETH-XYZ,future,200,{T},", "instrument", "not valid"),
    ("eth,index,200,{T},", "instrument", "underlying code in capitals"),
    ("ETH-29MAY20,swap,200,{T},", "kind", "'swap' is not one of index, perpetual, future, option"),
    ("ETH-29MAY20,perpetual,200,{T},", "kind", "does not match ETH-29MAY20, a future"),
    ("ETH-29MAY20,future,,{T},", "price", "value is missing"),
    ("ETH-29MAY20,future,abc,{T},", "price", "'abc' is not a number"),
    ("ETH-29MAY20,future,-3,{T},", "price", "is not > 0"),
    ("ETH-29MAY20,future,2e9,{T},", "price", "outside the plausible range 1e-08 to 1e+09 USD"),
    ("ETH-29MAY20,future,350,{T},", "price", "more than 50% from the ETH index 200.0"),
    ("ETH-29MAY20,future,200,,", "timestamp_ms", "value is missing"),
    ("ETH-29MAY20,future,200,{T}.5,", "timestamp_ms", "not a whole number of milliseconds"),
    ("ETH-29MAY20,future,200,{old},", "timestamp_ms", "more than the tolerance of 3600 s"),
    ("ETH_USDC-PERPETUAL,perpetual,200,{T},0.8", "iv", "only future rows"),
    ("ETH-25SEP20-300-C,option,0.01,{T},", "iv", "an option row needs its implied vol"),
    ("ETH-25SEP20-300-C,option,0.01,{T},abc", "iv", "'abc' is not a number"),
    ("ETH-25SEP20-300-C,option,0.01,{T},12", "iv", "outside the plausible range 0.01 to 10"),
    ("ETH-25SEP20-300-C,option,1.5,{T},0.8", "price", "above 1 coin"),
    ("ETH-25SEP20-100-P,option,0.6,{T},0.8", "price", "price: 0.6 coin is above 0.49019608 coin"),
    ("ETH-15MAY20,future,200,{T},", None, "expired at valuation time"),
    ("ETH-29MAY20-200-C,option,,{T},0.8", None, "no future row of ETH expiry 29MAY20"),
]


@pytest.mark.parametrize(("line", "column", "reason"), BAD_ROWS)
def test_each_bad_row_is_excluded_with_its_column_and_reason(
    tmp_path: Path, line: str, column: str | None, reason: str
) -> None:
    text = GOOD + line.format(T=T, old=T - DEFAULT_TIME_TOLERANCE_MS - 1) + "\n"
    load = load_market_file(write(tmp_path, text))
    (bad,) = load.excluded
    assert bad.row == 8
    assert bad.column == column
    assert reason in bad.reason
    assert bad.instrument in load.snapshot.excluded or not bad.instrument
    assert len(load.snapshot.futures) + len(load.snapshot.quotes) == 6  # the good rows stay


def test_a_row_exactly_at_the_tolerance_is_kept(tmp_path: Path) -> None:
    text = GOOD + f"ETH-29MAY20,future,200,{T - DEFAULT_TIME_TOLERANCE_MS},\n"
    load = load_market_file(write(tmp_path, text))
    assert load.excluded == ()
    load = load_market_file(write(tmp_path, text), tolerance_ms=DEFAULT_TIME_TOLERANCE_MS - 1)
    assert [e.column for e in load.excluded] == ["timestamp_ms"]


def test_duplicates_keep_the_latest_then_the_row_read_last(tmp_path: Path) -> None:
    text = GOOD + f"ETH-26JUN20,future,202,{T - 5},0.75\nETH,index,201,{T},\n"
    load = load_market_file(write(tmp_path, text))
    reasons = {(e.row, e.reason) for e in load.excluded}
    assert reasons == {
        (1, f"duplicate of {tmp_path / 'eth.csv'} row 9, which is kept"),
        (8, f"duplicate of {tmp_path / 'eth.csv'} row 3, which is kept"),
    }
    assert load.snapshot.index("ETH") == 201.0
    assert load.snapshot.forward("ETH", JUN) == 201.0


def test_a_given_mark_far_from_black76_is_a_warning(tmp_path: Path) -> None:
    text = GOOD + f"ETH-25SEP20-210-C,option,0.3,{T},0.8\n"
    load = load_market_file(write(tmp_path, text))
    (warning,) = load.warnings
    assert warning.startswith("ETH-25SEP20-210-C: mark_price 0.3 is")
    assert load_market_file(write(tmp_path, GOOD)).warnings == ()
    assert "ETH-25SEP20-210-C" in load.snapshot.quotes


FILE_ERRORS = [
    ("", "empty file"),
    ("# only a comment\n", "empty file"),
    ("instrument,kind,price\nETH,index,200\n", "missing column(s) timestamp_ms"),
    (HEADER.strip() + ",mark\n", "unknown column(s) 'mark'"),
    ("instrument,kind,kind,price,timestamp_ms\n", "duplicate column(s) kind"),
    (HEADER + f"ETH,index,200,{T}\n", "row 1: has 4 fields, the header has 5"),
    (HEADER + f"ETH,index,200,{T},\nETH-PERPETUAL,perpetual,200,nan,\n", "row 2, column"),
    (HEADER + f"ETH,index,200,{T},\nETH-PERPETUAL,perpetual,200,0,\n", "not a time"),
    (HEADER + f"ETH,index,200,{T // 1000},\n", "outside the plausible range 2009-01-03"),
    (HEADER + f"ETH-PERPETUAL,perpetual,200,{T},\n", "no index row for ETH"),
    (HEADER + f"ETH,index,200,{T},\nETH-26JUN20,future,201,{T},75\n", "looks like percent"),
    (HEADER + f"ETH,index,200,{T},\nETH-26JUN20,future,201,{T},0.001\n", "looks like fractions"),
    (
        HEADER + f"ETH,index,2000,{T},\nETH-PERPETUAL,perpetual,200,{T},\n",
        "implausible ETH index 2000.0: more than 50% from the median mark 200",
    ),
    (HEADER + f"ETH,index,abc,{T},\n", "no usable row"),
    (
        GOOD + f"ETH-25SEP20-300-C,option,,{T},0.8\nETH-25SEP20,future,204,{T},0.7\n",
        "has a vol already",
    ),
    (
        HEADER + f"ETH,index,200,{T},\nBTC-PERPETUAL,perpetual,9000,{T},\n",
        "no index row for BTC (needed by BTC-PERPETUAL)",
    ),
]


@pytest.mark.parametrize(("text", "message"), FILE_ERRORS)
def test_file_errors_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(DataFormatError) as info:
        load_market_file(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


JSON_ERRORS = [
    ("{", "not a JSON file"),
    ('{"rows": {}}', 'expected a JSON object {"rows"'),
    ('{"rows": [1]}', "row 1: 1 is not an object"),
    (
        '{"rows": [{"instrument": "ETH", "kind": "index", "price": 1, "time": 2}]}',
        "unknown key(s) 'time'",
    ),
]


@pytest.mark.parametrize(("text", "message"), JSON_ERRORS)
def test_json_file_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataFormatError) as info:
        load_market_file(write(tmp_path, text, "x.json"))
    assert message in str(info.value)


def test_json_cells_follow_the_same_rules(tmp_path: Path) -> None:
    rows = [
        {"instrument": "ETH", "kind": "index", "price": 200, "timestamp_ms": T},
        {"instrument": "ETH-PERPETUAL", "kind": "perpetual", "price": "x", "timestamp_ms": T},
        {"instrument": 7, "kind": "future", "price": 200, "timestamp_ms": T},
    ]
    load = load_market_file(write(tmp_path, json.dumps({"rows": rows}), "x.json"))
    assert [(e.row, e.column) for e in load.excluded] == [(2, "price"), (3, "instrument")]


def test_a_missing_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="cannot read file"):
        load_market_file(tmp_path / "none.csv")


def test_rules_are_those_given(tmp_path: Path) -> None:
    tight = SanityRules(max_basis=0.012)  # 25SEP20 at 204 is 2 % from the index 200
    load = load_market_file(write(tmp_path, GOOD), rules=tight)
    assert {e.instrument for e in load.excluded} == {
        "ETH-25SEP20",
        "ETH-25SEP20-200-C",
        "ETH-25SEP20-200-P",
        "ETH-25SEP20-250-C",
    }
    with pytest.raises(ValidationError, match="rules"):
        load_market_file(write(tmp_path, GOOD), rules="strict")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="tolerance_ms"):
        load_market_file(write(tmp_path, GOOD), tolerance_ms=-1)


def test_recognition_of_market_files(tmp_path: Path) -> None:
    assert is_market_file(write(tmp_path, GOOD))
    assert is_market_file(demo_eth_market_path())
    assert not is_market_file(demo_chain_path())
    assert not is_market_file(write(tmp_path, '{"options": []}', "d.json"))
    assert not is_market_file(write(tmp_path, "[]", "e.json"))
    assert not is_market_file(write(tmp_path, "# nothing\n\n", "f.csv"))


def test_load_markets_merges_a_chain_and_a_market_file(tmp_path: Path) -> None:
    load = load_markets([demo_chain_path(), write(tmp_path, GOOD)])
    s = load.snapshot
    assert s.underlyings == ("BTC", "ETH")
    assert s.valuation_ms == T
    chain = load_snapshot(demo_chain_path())
    assert load.rows_read == chain.rows_read + 7
    assert len(s.quotes) == len(chain.snapshot.quotes) + 3
    assert s.metadata["BTC.source"] == "deribit-csv"
    assert s.metadata["ETH.source"] == "market-file"
    one = load_markets([write(tmp_path, GOOD)])
    assert one.snapshot.metadata["source"] == "market-file"


def test_load_markets_refuses_a_file_far_from_the_chain_time(tmp_path: Path) -> None:
    later = GOOD.replace(str(T), str(T + DEFAULT_TIME_TOLERANCE_MS + 1))
    with pytest.raises(MarketDataError, match="more than the tolerance of 3600 s"):
        load_markets([demo_chain_path(), write(tmp_path, later)])
    merged = load_markets([demo_chain_path(), write(tmp_path, later)], tolerance_ms=2 * 3600_000)
    assert merged.snapshot.valuation_ms == T + DEFAULT_TIME_TOLERANCE_MS + 1


def test_load_markets_refuses_two_files_of_one_underlying(tmp_path: Path) -> None:
    with pytest.raises(MarketDataError, match="underlying"):
        load_markets([write(tmp_path, GOOD, "a.csv"), write(tmp_path, GOOD, "b.csv")])
    with pytest.raises(ValidationError, match="paths"):
        load_markets([])
    with pytest.raises(ValidationError, match="paths"):
        load_markets(str(demo_chain_path()))  # type: ignore[arg-type]


def yahoo_close(day: str) -> float:
    from portmargin.data import demo_daily_path

    with demo_daily_path("ETH").open(newline="") as fh:
        return next(float(r["Close"]) for r in csv.DictReader(fh) if r["Date"] == day)


def test_bundled_eth_market_round_trip_and_its_documented_values() -> None:
    load = load_market_file(demo_eth_market_path())
    eth = load.snapshot
    chain = load_snapshot(demo_chain_path()).snapshot
    assert load.excluded == ()
    assert load.warnings == ()
    assert eth.valuation_ms == chain.valuation_ms == T
    close = yahoo_close("2020-05-21")
    assert eth.index("ETH") == close == 199.883606
    assert eth.futures["ETH-PERPETUAL"].mark_price == close
    future_expiries = sorted(
        {
            q.instrument.expiry_ms
            for q in chain.quotes.values()
            if not q.underlying_index.startswith("SYN.")
        }
    )
    assert [format_expiry(e) for e in future_expiries] == ["26JUN20", "25SEP20", "25DEC20"]
    assert eth.expiries("ETH") == tuple(future_expiries)
    for expiry in future_expiries:
        btc_basis = chain.forward("BTC", expiry) / chain.index("BTC")
        mark = eth.futures[f"ETH-{format_expiry(expiry)}"].mark_price
        assert mark == round(close * btc_basis, 2)
        annualised_eth = math.log(mark / close) / eth.year_fraction(expiry)
        annualised_btc = math.log(btc_basis) / chain.year_fraction(expiry)
        assert annualised_eth == pytest.approx(annualised_btc, abs=0.005 / 200 / 0.09)
    assert demo_market_paths() == (demo_chain_path(), demo_eth_market_path())
