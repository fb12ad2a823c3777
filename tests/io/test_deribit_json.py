"""Deribit JSON-RPC payload loader and the content-based ``load_snapshot`` dispatch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from portmargin.core import DataFormatError, ValidationError
from portmargin.instruments import Perpetual
from portmargin.io.deribit import load_deribit_chain_csv, load_deribit_json, load_snapshot

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "data" / "deribit"
COMBINED = FIXTURES / "snapshot_btc_combined.json"
OPTIONS = FIXTURES / "book_summary_btc_option.json"
FUTURES = FIXTURES / "book_summary_btc_future.json"
INDEX = FIXTURES / "index_price_btc_usd.json"
SMALL_CSV = FIXTURES / "chain_btc_small.csv"

MAY22, JUN26 = 1590134400000, 1593158400000


def option_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(OPTIONS.read_text())["result"]
    return items


def write(tmp_path: Path, document: object, name: str = "payload.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


class TestFixtures:
    def test_combined_file(self) -> None:
        load = load_deribit_json(COMBINED)
        snapshot = load.snapshot
        assert load.rows_read == 15
        assert load.excluded == ()
        assert snapshot.valuation_ms == 1590103353892
        assert snapshot.index("BTC") == 9081.63
        assert snapshot.metadata["index_source"] == "BTC: public/get_index_price"
        assert snapshot.metadata["source"] == "deribit-json"
        assert snapshot.forward("BTC", MAY22) == 9081.81
        assert snapshot.forward("BTC", JUN26) == 9091.43
        assert len(snapshot.quotes) == 12
        assert set(snapshot.futures) == {"BTC-26JUN20", "BTC-25SEP20", "BTC-PERPETUAL"}
        perpetual = snapshot.futures["BTC-PERPETUAL"]
        assert isinstance(perpetual.instrument, Perpetual)
        assert perpetual.mark_price == 9083.9
        assert snapshot.futures["BTC-26JUN20"].mark_price == snapshot.forward("BTC", JUN26)

    def test_null_bid_and_ask_are_missing(self) -> None:
        quotes = load_deribit_json(COMBINED).snapshot.quotes
        both = quotes["BTC-22MAY20-10500-P"]
        assert both.best_bid is None
        assert both.best_ask is None
        assert quotes["BTC-22MAY20-7250-P"].best_bid is None
        assert quotes["BTC-22MAY20-7250-P"].best_ask == 0.0005
        assert quotes["BTC-26JUN20-3000-C"].best_ask is None
        assert quotes["BTC-26JUN20-3000-C"].best_bid == 0.343
        row = quotes["BTC-26JUN20-9000-C"]
        assert (row.best_bid, row.best_ask, row.mark_iv) == (0.1075, 0.111, 0.8425)
        assert (row.bid_iv, row.ask_iv, row.greeks, row.index_price) == (None, None, None, None)
        assert row.volume == 86.2
        assert row.last_price == 0.112

    def test_separate_files_give_the_same_snapshot(self) -> None:
        combined = load_deribit_json(COMBINED).snapshot
        separate = load_deribit_json([OPTIONS, FUTURES, str(INDEX)]).snapshot
        assert dict(separate.forwards) == dict(combined.forwards)
        assert dict(separate.index_prices) == dict(combined.index_prices)
        assert dict(separate.quotes) == dict(combined.quotes)
        assert dict(separate.futures) == dict(combined.futures)

    def test_options_alone_use_estimated_delivery_price(self) -> None:
        snapshot = load_deribit_json(OPTIONS).snapshot
        assert snapshot.index("BTC") == 9081.64
        assert "estimated_delivery_price of BTC-22MAY20-7250-P" in snapshot.metadata["index_source"]
        assert dict(snapshot.futures) == {}

    def test_consistent_with_the_csv_of_the_same_rows(self) -> None:
        from_json = load_deribit_json(OPTIONS).snapshot
        from_csv = load_deribit_chain_csv(SMALL_CSV).snapshot
        assert from_json.valuation_ms == from_csv.valuation_ms
        assert from_json.index("BTC") == from_csv.index("BTC")
        assert dict(from_json.forwards) == dict(from_csv.forwards)
        for key, smile in from_csv.smiles.items():
            np.testing.assert_array_equal(from_json.smiles[key].strikes, smile.strikes)
            np.testing.assert_array_equal(from_json.smiles[key].vols, smile.vols)
        for name, quote in from_csv.quotes.items():
            other = from_json.quotes[name]
            assert (other.mark_price, other.underlying_price) == (
                quote.mark_price,
                quote.underlying_price,
            )
            assert (other.best_bid, other.best_ask) == (quote.best_bid, quote.best_ask)

    def test_bare_results_and_method_name_keys(self, tmp_path: Path) -> None:
        index = json.loads(INDEX.read_text())["result"]
        bare = write(tmp_path, option_items(), "options.json")
        bare_index = write(tmp_path, index, "index.json")
        assert load_deribit_json([bare, bare_index]).snapshot.index("BTC") == 9081.63
        keyed = write(
            tmp_path,
            {"public/get_book_summary_by_currency": option_items(), "get_index_price": index},
        )
        assert load_deribit_json(keyed).snapshot.index("BTC") == 9081.63

    def test_median_pick(self) -> None:
        snapshot = load_deribit_json(COMBINED, forward_pick="median").snapshot
        may = [i["underlying_price"] for i in option_items() if "22MAY20" in i["instrument_name"]]
        assert snapshot.forward("BTC", MAY22) == float(np.median(may))
        assert snapshot.metadata["forward_pick"] == "median"


class TestExcludedItems:
    def test_bad_items_are_excluded_with_reasons(self, tmp_path: Path) -> None:
        items = option_items()
        items[1]["mark_iv"] = None
        items[2]["bid_price"] = 0.5
        items[3]["instrument_name"] = "BTC-FS-26JUN20_PERP"
        items[4]["mark_price"] = [0.1]
        items[5]["underlying_index"] = None
        futures = [
            {"instrument_name": "BTC-15MAY20", "mark_price": 9000.0, "creation_timestamp": 1},
            {"instrument_name": "BTC_USDC", "mark_price": 9000.0, "creation_timestamp": 1},
        ]
        load = load_deribit_json(write(tmp_path, {"options": items, "futures": futures}))
        reasons = {(e.row, e.column): e.reason for e in load.excluded}
        source = str(tmp_path / "payload.json")
        assert {e.source for e in load.excluded} == {f"{source} [options]", f"{source} [futures]"}
        assert reasons[2, "mark_iv"] == "mark_iv: value is missing"
        assert reasons[3, "bid_price"].startswith("crossed book: bid_price 0.5 > ask_price")
        assert "BTC-FS-26JUN20_PERP" in reasons[4, "instrument_name"]
        assert reasons[1, None].startswith("expired at valuation time")
        assert "is not an option, future or perpetual" in reasons[2, "instrument_name"]
        assert reasons[5, "mark_price"] == "mark_price: [0.1] is not a number"
        assert reasons[6, "underlying_index"] == "underlying_index: None is not a non-empty string"
        assert len(load.snapshot.quotes) == 7
        assert dict(load.snapshot.futures) == {}


class TestFileErrors:
    def test_json_rpc_error_envelope(self, tmp_path: Path) -> None:
        error = {
            "jsonrpc": "2.0",
            "error": {"message": "Invalid params", "data": {"param": "currency"}, "code": -32602},
            "usIn": 1590103355301120,
            "usOut": 1590103355301200,
            "usDiff": 80,
            "testnet": False,
        }
        path = write(tmp_path, error)
        with pytest.raises(DataFormatError) as caught:
            load_deribit_json(path)
        message = str(caught.value)
        assert message.startswith(str(path))
        assert "JSON-RPC error" in message
        assert "-32602" in message
        assert "'Invalid params'" in message

    @pytest.mark.parametrize(
        ("document", "match"),
        [
            ({"foo": 1}, "unexpected key"),
            ({"jsonrpc": "2.0", "result": {"foo": 1}}, "not a Deribit payload: found object"),
            ({"index": [{"instrument_name": "BTC-PERPETUAL"}]}, r"payload.json \[index\]"),
            ({"options": {"index_price": 1.0}}, "not a Deribit payload"),
            ("text", "found str"),
            ([1, 2], "row 1: not a book-summary item"),
            ([], "no usable option rows"),
            ({"index_price": "high"}, "column 'index_price': index_price: 'high' is not"),
        ],
    )
    def test_wrong_shapes(self, tmp_path: Path, document: object, match: str) -> None:
        with pytest.raises(DataFormatError, match=match):
            load_deribit_json(write(tmp_path, document))

    def test_no_index_price_at_all(self, tmp_path: Path) -> None:
        items = [
            {k: v for k, v in i.items() if k != "estimated_delivery_price"} for i in option_items()
        ]
        with pytest.raises(DataFormatError, match="row 1: no index price for BTC"):
            load_deribit_json(write(tmp_path, items))

    def test_two_index_payloads(self, tmp_path: Path) -> None:
        with pytest.raises(DataFormatError, match="second index payload"):
            load_deribit_json([OPTIONS, INDEX, INDEX])

    def test_index_payload_with_several_underlyings(self, tmp_path: Path) -> None:
        eth = dict(option_items()[0], instrument_name="ETH-22MAY20-200-P")
        path = write(tmp_path, {"options": [*option_items(), eth], "index": {"index_price": 1.0}})
        with pytest.raises(DataFormatError, match=r"several underlyings \(BTC, ETH\)"):
            load_deribit_json(path)

    def test_invalid_and_empty_json(self, tmp_path: Path) -> None:
        broken = tmp_path / "broken.json"
        broken.write_text('{"options": [\n  {"instrument_name": }')
        with pytest.raises(DataFormatError, match="invalid JSON at line 2, column 23"):
            load_deribit_json(broken)
        empty = tmp_path / "empty.json"
        empty.write_text(" ")
        with pytest.raises(DataFormatError, match="empty file"):
            load_deribit_json(empty)
        with pytest.raises(DataFormatError, match="cannot read file"):
            load_deribit_json(tmp_path / "absent.json")
        latin = tmp_path / "latin.json"
        latin.write_bytes(b'{"index_price": "\xe9"}')
        with pytest.raises(DataFormatError, match="not a UTF-8 text file"):
            load_deribit_json(latin)

    def test_no_paths(self) -> None:
        with pytest.raises(ValidationError, match="path_or_paths"):
            load_deribit_json([])


class TestLoadSnapshot:
    def test_dispatches_on_content(self, tmp_path: Path) -> None:
        assert load_snapshot(SMALL_CSV).snapshot.metadata["source"] == "deribit-csv"
        assert load_snapshot(COMBINED).snapshot.metadata["source"] == "deribit-json"
        padded = tmp_path / "snapshot.txt"
        padded.write_bytes(b"\xef\xbb\xbf\n  " + COMBINED.read_bytes())
        assert load_snapshot(padded).snapshot.index("BTC") == 9081.63

    def test_forward_pick_and_errors_pass_through(self, tmp_path: Path) -> None:
        median = load_snapshot(SMALL_CSV, forward_pick="median").snapshot
        assert median.metadata["forward_pick"] == "median"
        with pytest.raises(DataFormatError, match="cannot read file"):
            load_snapshot(tmp_path / "absent")
