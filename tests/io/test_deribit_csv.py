"""Deribit option-chain CSV loader: the bundled 2020-05-21 chain, quirks, bad input."""

from __future__ import annotations

import csv
import math
import os
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from portmargin.core import MS_PER_DAY, DataFormatError, ValidationError
from portmargin.data import demo_chain_path
from portmargin.io.deribit import SnapshotLoad, load_deribit_chain_csv
from portmargin.market import OptionQuote

ROOT = Path(__file__).resolve().parents[2]
SMALL_CSV = ROOT / "tests" / "data" / "deribit" / "chain_btc_small.csv"
SHARED = Path(os.environ.get("PORTMARGIN_SHARED_DIR", ROOT.parent / "shared"))
BUNDLED = demo_chain_path()
DAILY = SHARED / "data" / "btc_usd_daily.csv"

EXPIRY = {
    "22MAY20": 1590134400000,
    "26JUN20": 1593158400000,
    "25SEP20": 1601020800000,
    "25DEC20": 1608883200000,
}


def shared_file(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared data file not found at {path} (set PORTMARGIN_SHARED_DIR)")
    return path


@pytest.fixture(scope="module")
def bundled() -> SnapshotLoad:
    return load_deribit_chain_csv(BUNDLED)


def rewrite(tmp_path: Path, edits: dict[tuple[int, str], str], source: Path = SMALL_CSV) -> Path:
    """Copy ``source`` with cells replaced: ``{(data_row, column): text}`` (rows 1-based)."""
    with source.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    for (row, column), value in edits.items():
        rows[row - 1][header.index(column)] = value
    target = tmp_path / "chain.csv"
    with target.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *rows])
    return target


def is_itm(quote: OptionQuote) -> bool:
    strike, forward = quote.instrument.strike, quote.underlying_price
    return strike < forward if quote.instrument.is_call else strike > forward


class TestBundledChain:
    def test_every_row_loads(self, bundled: SnapshotLoad) -> None:
        snapshot = bundled.snapshot
        assert bundled.rows_read == 326
        assert bundled.excluded == ()
        assert len(snapshot.quotes) == 326
        assert sum(q.instrument.is_call for q in snapshot.quotes.values()) == 163
        assert len(snapshot.expiries("BTC")) == 7
        assert len(snapshot.smiles) == 7

    def test_valuation_time_and_index(self, bundled: SnapshotLoad) -> None:
        snapshot = bundled.snapshot
        assert snapshot.valuation_ms == 1590103355277  # 2020-05-21 23:22:35.277 UTC
        assert snapshot.metadata["valuation_time"] == "2020-05-21T23:22:35.277000+00:00"
        assert snapshot.metadata["valuation_instrument"] == "BTC-25SEP20-8000-C"
        assert snapshot.index("BTC") == 9081.63
        assert snapshot.metadata["forward_pick"] == "latest"
        assert snapshot.metadata["source"] == "deribit-csv"
        assert dict(snapshot.rates) == {}
        assert snapshot.discount_factor("USD", EXPIRY["25DEC20"]) == 1.0

    def test_missing_sides_and_ivs(self, bundled: SnapshotLoad) -> None:
        quotes = list(bundled.snapshot.quotes.values())
        assert sum(q.best_bid is None for q in quotes) == 64
        assert sum(q.best_ask is None for q in quotes) == 49
        assert all(q.best_bid is None or q.best_bid > 0 for q in quotes)
        assert all(q.best_ask is None or q.best_ask > 0 for q in quotes)
        no_bid_iv = [q for q in quotes if q.best_bid is not None and q.bid_iv is None]
        assert len(no_bid_iv) == 83
        assert all(is_itm(q) for q in no_bid_iv)
        assert sum(q.bid_iv is None for q in quotes) == 64 + 83
        assert sum(q.ask_iv_censored for q in quotes) == 49
        assert all(q.ask_iv is None for q in quotes if q.ask_iv_censored)
        assert sum(q.ask_iv is None for q in quotes) == 49 + 49
        assert all(q.ask_iv is None or q.ask_iv < 5.0 for q in quotes)

    def test_other_quirks_kept_as_reported(self, bundled: SnapshotLoad) -> None:
        quotes = list(bundled.snapshot.quotes.values())
        assert sum(q.mark_price == 0.0 for q in quotes) == 16
        assert sum(q.mark_price > 1.0 for q in quotes) == 18
        assert sum(q.volume is None for q in quotes) == 137
        assert sum(q.last_price is None for q in quotes) == 66
        assert sum(q.open_interest == 0.0 for q in quotes) == 69
        assert all(q.greeks is not None for q in quotes)

    def test_rows_keep_their_own_forward_time_and_greeks(self, bundled: SnapshotLoad) -> None:
        row = bundled.snapshot.quotes["BTC-22MAY20-9250-P"]
        assert row.underlying_price == 9096.11
        assert row.timestamp_ms == 1590103193775
        assert row.index_price == 9095.83
        assert row.underlying_index == "SYN.BTC-22MAY20"
        assert row.mark_price == 0.02124908
        assert row.mark_iv == pytest.approx(0.8505, rel=1e-15)
        assert row.bid_iv == pytest.approx(0.724, rel=1e-15)
        assert row.greeks is not None
        assert row.greeks.delta == -0.73032
        assert row.volume == 717.1

    @pytest.mark.parametrize(
        ("expiry", "basis"),
        [("22MAY20", 1.9e-5), ("26JUN20", 1.07e-3), ("25SEP20", 1.05e-2), ("25DEC20", 1.99e-2)],
    )
    def test_latest_forward_basis_matches_spec(
        self, bundled: SnapshotLoad, expiry: str, basis: float
    ) -> None:
        snapshot = bundled.snapshot
        rows = [q for q in snapshot.quotes.values() if q.instrument.expiry_ms == EXPIRY[expiry]]
        latest = min(rows, key=lambda q: (-q.timestamp_ms, q.instrument_name))
        forward = snapshot.forward("BTC", EXPIRY[expiry])
        assert forward == latest.underlying_price
        assert latest.index_price is not None
        unit = 10 ** math.floor(math.log10(basis)) / 100  # half a unit of the quoted last digit
        assert forward / latest.index_price - 1 == pytest.approx(basis, abs=5 * unit)
        assert forward / snapshot.index("BTC") - 1 == pytest.approx(basis, rel=0.05)

    @pytest.mark.parametrize(
        ("expiry", "basis"),
        [("22MAY20", 1.3e-5), ("26JUN20", 1.06e-3), ("25SEP20", 1.05e-2), ("25DEC20", 1.95e-2)],
    )
    def test_median_pick(self, expiry: str, basis: float) -> None:
        load = load_deribit_chain_csv(BUNDLED, forward_pick="median")
        rows = [
            q for q in load.snapshot.quotes.values() if q.instrument.expiry_ms == EXPIRY[expiry]
        ]
        prices = [q.underlying_price for q in rows]
        assert load.snapshot.forward("BTC", EXPIRY[expiry]) == statistics.median(prices)
        assert load.snapshot.metadata["forward_pick"] == "median"
        assert load.snapshot.valuation_ms == 1590103355277
        own = statistics.median(q.underlying_price / (q.index_price or math.nan) - 1 for q in rows)
        assert own == pytest.approx(basis, rel=0.05)

    def test_smiles_take_the_otm_side(self, bundled: SnapshotLoad) -> None:
        snapshot = bundled.snapshot
        sides: dict[tuple[int, float], dict[bool, float]] = defaultdict(dict)
        for q in snapshot.quotes.values():
            sides[q.instrument.expiry_ms, q.instrument.strike][q.instrument.is_call] = q.mark_iv
        assert sum(len(s.strikes) for s in snapshot.smiles.values()) == len(sides) == 163
        differing = 0
        for (expiry, strike), by_side in sides.items():
            forward = snapshot.forward("BTC", expiry)
            expected = by_side[strike >= forward]
            differing += by_side[True] != by_side[False]
            assert float(snapshot.vol("BTC", expiry, strike)) == expected
        assert differing > 0

    def test_calendar_arbitrage_free(self, bundled: SnapshotLoad) -> None:
        snapshot = bundled.snapshot
        start = snapshot.valuation_ms + MS_PER_DAY // 8
        expiries = np.unique(
            np.concatenate(
                [
                    np.arange(start, EXPIRY["25DEC20"] + 30 * MS_PER_DAY, MS_PER_DAY),
                    snapshot.expiries("BTC"),
                ]
            )
        )
        for k in np.linspace(-0.5, 0.5, 11):
            forwards = snapshot.forwards_for("BTC", expiries)
            vols = snapshot.vols_for("BTC", expiries, forwards * math.exp(k))
            total = vols**2 * (expiries - snapshot.valuation_ms) / 1000 / 31_536_000
            assert np.all(np.diff(total) >= -1e-12), f"calendar arbitrage at k={k}"


class TestSmallChain:
    def test_loads(self) -> None:
        load = load_deribit_chain_csv(SMALL_CSV)
        snapshot = load.snapshot
        assert load.rows_read == 12
        assert load.excluded == ()
        assert snapshot.valuation_ms == 1590103353892
        assert snapshot.index("BTC") == 9081.64
        assert snapshot.forward("BTC", EXPIRY["22MAY20"]) == 9081.81
        assert snapshot.forward("BTC", EXPIRY["26JUN20"]) == 9091.43
        np.testing.assert_array_equal(
            snapshot.smiles["BTC", EXPIRY["26JUN20"]].strikes, [3000, 8000, 9000, 10000, 11500]
        )
        assert snapshot.quotes["BTC-22MAY20-10500-P"].best_bid is None
        assert snapshot.quotes["BTC-22MAY20-10500-P"].best_ask is None


class TestExcludedRows:
    @pytest.mark.parametrize(
        ("column", "value", "reason"),
        [
            ("mark_iv", "abc", "mark_iv: 'abc' is not a number"),
            ("mark_iv", "nan", "mark_iv: 'nan' is not a finite number"),
            ("mark_iv", "", "mark_iv: value is missing"),
            ("mark_iv", "0.0", "mark_iv: '0.0' is not > 0"),
            ("underlying_price", "-9000", "underlying_price: '-9000' is not > 0"),
            ("index_price", "inf", "index_price: 'inf' is not a finite number"),
            ("timestamp", "1590103213006.5", "timestamp: '1590103213006.5' is not a whole"),
            ("mark_price", "-0.1", "mark_price: '-0.1' is negative"),
            ("mark_price", "", "mark_price: value is missing"),
            ("best_bid_price", "0.2", "crossed book: best_bid_price 0.2 > best_ask_price 0.111"),
            ("instrument_name", "BTC-26XYZ20-9000-C", "instrument_name: instrument name"),
            ("instrument_name", "BTC-26JUN20", "instrument_name: 'BTC-26JUN20' is not an option"),
            ("expiration_timestamp", "1590134400000", "is not the expiry of BTC-26JUN20-9000-C"),
            ("strike", "9500.0", "strike: '9500.0' is not the strike of BTC-26JUN20-9000-C"),
            ("option_type", "put", "option_type: 'put' does not match BTC-26JUN20-9000-C"),
            ("state", "closed", "state: book is 'closed', not 'open'"),
            ("greeks", "{'delta': 0.5", "greeks: \"{'delta': 0.5\" is not a literal"),
            ("greeks", "{'delta': 0.5}", "greeks: missing gamma, vega, theta, rho"),
            ("stats", "[1, 2]", "stats: '[1, 2]' is not a dict"),
            ("greeks", "[1, 2]", "greeks: '[1, 2]' is not a dict"),
            ("open_interest", "many", "open_interest: 'many' is not a number"),
        ],
    )
    def test_bad_value_excludes_the_row_naming_the_column(
        self, tmp_path: Path, column: str, value: str, reason: str
    ) -> None:
        path = rewrite(tmp_path, {(1, column): value})
        load = load_deribit_chain_csv(path)
        (excluded,) = load.excluded
        assert excluded.row == 1
        assert excluded.column == column
        assert excluded.source == str(path)
        assert reason in excluded.reason
        assert len(load.snapshot.quotes) == 11
        assert "BTC-26JUN20-9000-C" not in load.snapshot.quotes

    def test_expired_rows_are_excluded(self, tmp_path: Path) -> None:
        late = str(EXPIRY["22MAY20"] + 1)  # a 26JUN20 row stamped after the 22MAY20 expiry
        load = load_deribit_chain_csv(rewrite(tmp_path, {(1, "timestamp"): late}))
        assert load.snapshot.valuation_ms == EXPIRY["22MAY20"] + 1
        assert len(load.excluded) == 6
        assert {e.instrument[:11] for e in load.excluded} == {"BTC-22MAY20"}
        assert all(e.reason.startswith("expired at valuation time") for e in load.excluded)
        assert all(e.column is None for e in load.excluded)
        assert load.snapshot.expiries("BTC") == (EXPIRY["26JUN20"],)

    @pytest.mark.parametrize(
        ("stamp", "kept", "dropped"), [("1590103213000", 1, 13), ("1590103213009", 13, 1)]
    )
    def test_duplicate_keeps_the_later_row(
        self, tmp_path: Path, stamp: str, kept: int, dropped: int
    ) -> None:
        lines = SMALL_CSV.read_text().splitlines()
        path = tmp_path / "dup.csv"
        path.write_text("\n".join([*lines, lines[1].replace("1590103213006", stamp)]))
        load = load_deribit_chain_csv(path)
        (excluded,) = load.excluded
        assert (excluded.row, excluded.instrument) == (dropped, "BTC-26JUN20-9000-C")
        assert excluded.reason == f"duplicate of {path} row {kept}, which is kept"
        assert load.snapshot.quotes["BTC-26JUN20-9000-C"].timestamp_ms == max(
            1590103213006, int(stamp)
        )

    def test_optional_columns_may_be_empty_or_absent(self, tmp_path: Path) -> None:
        edits = {
            (1, "stats"): "",
            (
                1,
                "greeks",
            ): "{'delta': None, 'gamma': None, 'vega': None, 'theta': None, 'rho': None}",
            (2, "last_price"): "None",
        }
        quotes = load_deribit_chain_csv(rewrite(tmp_path, edits)).snapshot.quotes
        assert quotes["BTC-26JUN20-9000-C"].volume is None
        assert quotes["BTC-26JUN20-9000-C"].greeks is None
        assert quotes["BTC-26JUN20-9000-P"].last_price is None
        with SMALL_CSV.open(newline="") as handle:
            header, *rows = list(csv.reader(handle))
        keep = [header.index(c) for c in header if c not in ("stats", "greeks", "bid_iv", "strike")]
        path = tmp_path / "narrow.csv"
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows([[r[i] for i in keep] for r in [header, *rows]])
        narrow = load_deribit_chain_csv(path).snapshot.quotes["BTC-26JUN20-9000-C"]
        assert (narrow.greeks, narrow.volume, narrow.bid_iv) == (None, None, None)
        assert narrow.best_bid == 0.1075

    def test_zero_bid_is_missing_not_free(self, tmp_path: Path) -> None:
        edits = {(1, "best_bid_price"): "0.0", (1, "bid_iv"): "0.0", (1, "ask_iv"): "500.0"}
        quote = load_deribit_chain_csv(rewrite(tmp_path, edits)).snapshot.quotes
        row = quote["BTC-26JUN20-9000-C"]
        assert row.best_bid is None
        assert row.bid_iv is None
        assert row.ask_iv is None
        assert row.ask_iv_censored
        assert row.mid is None


class TestFileErrors:
    def test_empty_file(self, tmp_path: Path) -> None:
        path = tmp_path / "empty.csv"
        path.write_text("\n\n")
        with pytest.raises(DataFormatError, match="empty file") as caught:
            load_deribit_chain_csv(path)
        assert caught.value.source == str(path)

    def test_header_only(self, tmp_path: Path) -> None:
        path = tmp_path / "header.csv"
        path.write_text(SMALL_CSV.read_text().splitlines()[0] + "\n")
        with pytest.raises(DataFormatError, match="no usable option rows"):
            load_deribit_chain_csv(path)

    def test_every_option_expired(self, tmp_path: Path) -> None:
        path = rewrite(tmp_path, {(1, "timestamp"): str(EXPIRY["26JUN20"])})
        with pytest.raises(DataFormatError, match="every option has expired at valuation time"):
            load_deribit_chain_csv(path)

    def test_malformed_csv_names_the_row(self, tmp_path: Path) -> None:
        lines = SMALL_CSV.read_text().splitlines()
        lines[2] = lines[2].replace(",put,", ",put" + "x" * 200_000 + ",", 1)
        path = tmp_path / "chain.csv"
        path.write_text("\n".join(lines))
        with pytest.raises(DataFormatError, match="row 2: malformed CSV: field larger"):
            load_deribit_chain_csv(path)

    def test_every_row_excluded(self, tmp_path: Path) -> None:
        path = rewrite(tmp_path, {(row, "mark_iv"): "x" for row in range(1, 13)})
        with pytest.raises(DataFormatError, match=r"no usable option rows.*row 1: mark_iv"):
            load_deribit_chain_csv(path)

    def test_daily_price_csv_is_not_a_chain(self) -> None:
        path = shared_file(DAILY)
        with pytest.raises(DataFormatError, match="not a Deribit option chain") as caught:
            load_deribit_chain_csv(path)
        assert str(path) in str(caught.value)
        assert "found: Date, Open" in str(caught.value)

    def test_missing_required_column_is_named(self, tmp_path: Path) -> None:
        path = tmp_path / "chain.csv"
        path.write_text(SMALL_CSV.read_text().replace(",mark_iv,", ",markiv,", 1))
        with pytest.raises(DataFormatError, match="missing column"):
            load_deribit_chain_csv(path)

    def test_duplicate_column(self, tmp_path: Path) -> None:
        path = tmp_path / "chain.csv"
        path.write_text(SMALL_CSV.read_text().replace(",strike,", ",mark_iv,", 1))
        with pytest.raises(DataFormatError, match="duplicate column"):
            load_deribit_chain_csv(path)

    def test_ragged_row_names_the_row(self, tmp_path: Path) -> None:
        lines = SMALL_CSV.read_text().splitlines()
        lines[3] += ",extra"
        path = tmp_path / "chain.csv"
        path.write_text("\n".join(lines))
        with pytest.raises(DataFormatError, match="row 3: has 31 fields") as caught:
            load_deribit_chain_csv(path)
        assert caught.value.row == 3

    def test_unreadable_files(self, tmp_path: Path) -> None:
        with pytest.raises(DataFormatError, match="cannot read file"):
            load_deribit_chain_csv(tmp_path / "absent.csv")
        binary = tmp_path / "binary.csv"
        binary.write_bytes(b"\xff\xfe\x00\x01")
        with pytest.raises(DataFormatError, match="not a UTF-8 text file"):
            load_deribit_chain_csv(binary)

    def test_forward_pick_is_validated(self) -> None:
        with pytest.raises(ValidationError, match="forward_pick"):
            load_deribit_chain_csv(SMALL_CSV, forward_pick="mean")  # type: ignore[arg-type]
