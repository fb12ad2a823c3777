"""Read saved Deribit JSON-RPC payloads (book summaries and the index price) into rows."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from portmargin.core import DataFormatError
from portmargin.instruments import Future, Option, Perpetual
from portmargin.io import _deribit_values as v
from portmargin.io._deribit_rows import ExcludedRow, FutureRow, OptionRow, RowSet, exclusion
from portmargin.market import FutureQuote, OptionQuote

__all__ = ["BOOK_KEYS", "INDEX_KEYS", "read_payload_files"]

BOOK_KEYS = frozenset(
    {
        "options",
        "futures",
        "book_summary",
        "get_book_summary_by_currency",
        "public/get_book_summary_by_currency",
    }
)
"""Keys of a combined file whose value is a ``public/get_book_summary_by_currency`` payload."""

INDEX_KEYS = frozenset({"index", "get_index_price", "public/get_index_price"})
"""Keys of a combined file whose value is a ``public/get_index_price`` payload."""

_ENVELOPE_KEYS = frozenset({"jsonrpc", "result", "error"})
_EXPECTED = (
    "a JSON-RPC envelope or bare result of public/get_book_summary_by_currency (a list) or "
    "public/get_index_price (an object with index_price), or an object holding such payloads "
    "under the keys options, futures, index (or the method names)"
)


def _read_json(path: Path, source: str) -> object:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(source, f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(source, f"not a UTF-8 text file ({exc.reason})") from None
    if not text.strip():
        raise DataFormatError(source, f"empty file: expected {_EXPECTED}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def _unwrap(document: object, source: str) -> object:
    """Return the ``result`` of a JSON-RPC envelope (or the document itself if bare)."""
    if not isinstance(document, Mapping):
        return document
    if "error" in document:
        error = document["error"]
        detail = repr(error)
        if isinstance(error, Mapping):
            detail = f"code {error.get('code')!r}, message {error.get('message')!r}"
            if error.get("data") is not None:
                detail += f", data {error.get('data')!r}"
        raise DataFormatError(source, f"the venue returned a JSON-RPC error: {detail}")
    return document.get("result", document)


def _payloads(document: object, source: str) -> list[tuple[str, str | None, object]]:
    """Split a file into ``(source label, key or None, unwrapped payload)``."""
    if (
        not isinstance(document, Mapping)
        or not document
        or (_ENVELOPE_KEYS | {"index_price"}) & document.keys()
    ):
        return [(source, None, _unwrap(document, source))]
    unknown = sorted(str(key) for key in document if key not in BOOK_KEYS | INDEX_KEYS)
    if unknown:
        raise DataFormatError(
            source,
            f"not a Deribit payload: unexpected key(s) {', '.join(unknown)}; expected {_EXPECTED}",
        )
    return [
        (f"{source} [{key}]", str(key), _unwrap(value, f"{source} [{key}]"))
        for key, value in document.items()
    ]


def _index_price(payload: Mapping[str, object], source: str) -> float:
    try:
        return v.positive(payload.get("index_price"), "index_price")
    except v.RowError as exc:
        raise DataFormatError(source, exc.message, column="index_price") from None


def _book_side(item: Mapping[str, object]) -> tuple[int, float | None, float | None]:
    """Timestamp, best bid and best ask of a book-summary item (``null`` or 0 → ``None``)."""
    bid, ask = v.book(item.get("bid_price"), item.get("ask_price"), "bid_price", "ask_price")
    return v.timestamp(item.get("creation_timestamp"), "creation_timestamp"), bid, ask


def _option_row(item: Mapping[str, object], option: Option, source: str, row: int) -> OptionRow:
    stamp, bid, ask = _book_side(item)
    quote = OptionQuote(
        instrument_name=option.name,
        instrument=option,
        timestamp_ms=stamp,
        mark_price=v.non_negative(item.get("mark_price"), "mark_price"),
        mark_iv=v.percent_iv(item.get("mark_iv"), "mark_iv"),
        underlying_price=v.positive(item.get("underlying_price"), "underlying_price"),
        underlying_index=v.text(item.get("underlying_index"), "underlying_index"),
        best_bid=bid,
        best_ask=ask,
        open_interest=v.optional_non_negative(item.get("open_interest"), "open_interest"),
        volume=v.optional_non_negative(item.get("volume"), "volume"),
        last_price=v.optional_non_negative(item.get("last"), "last"),
    )
    index = v.optional_positive(item.get("estimated_delivery_price"), "estimated_delivery_price")
    return OptionRow(source=source, row=row, quote=quote, index_price=index)


def _future_row(
    item: Mapping[str, object], instrument: Future | Perpetual, source: str, row: int
) -> FutureRow:
    stamp, bid, ask = _book_side(item)
    quote = FutureQuote(
        instrument_name=instrument.name,
        instrument=instrument,
        timestamp_ms=stamp,
        mark_price=v.positive(item.get("mark_price"), "mark_price"),
        best_bid=bid,
        best_ask=ask,
        open_interest=v.optional_non_negative(item.get("open_interest"), "open_interest"),
        volume=v.optional_non_negative(item.get("volume"), "volume"),
    )
    return FutureRow(source=source, row=row, quote=quote)


class _Collector:
    """Accumulates rows, exclusions and the index price over every payload of every file."""

    def __init__(self) -> None:
        self.options: list[OptionRow] = []
        self.futures: list[FutureRow] = []
        self.excluded: list[ExcludedRow] = []
        self.rows_read = 0
        self.index: tuple[str, float] | None = None

    def add(self, source: str, key: str | None, payload: object) -> None:
        if isinstance(payload, list) and key not in INDEX_KEYS:
            self._book_summary(source, payload)
        elif isinstance(payload, Mapping) and "index_price" in payload and key not in BOOK_KEYS:
            if self.index is not None:
                raise DataFormatError(source, f"second index payload (first: {self.index[0]})")
            self.index = (source, _index_price(payload, source))
        else:
            found = type(payload).__name__
            if isinstance(payload, Mapping):
                found = "object with keys " + ", ".join(sorted(map(str, payload))[:8])
            raise DataFormatError(
                source, f"not a Deribit payload: found {found}; expected {_EXPECTED}"
            )

    def _book_summary(self, source: str, items: Sequence[object]) -> None:
        for row, item in enumerate(items, start=1):
            if not isinstance(item, Mapping) or not isinstance(item.get("instrument_name"), str):
                raise DataFormatError(
                    source,
                    f"not a book-summary item (an object with instrument_name): {item!r:.80}",
                    row=row,
                )
            self.rows_read += 1
            name = str(item["instrument_name"])
            try:
                instrument = v.derivative_instrument(name, "instrument_name")
                if isinstance(instrument, Option):
                    try:
                        self.options.append(_option_row(item, instrument, source, row))
                    except v.TimestampError as exc:
                        raise DataFormatError(
                            source, exc.message, row=row, column=exc.column
                        ) from None
                else:
                    self.futures.append(_future_row(item, instrument, source, row))
            except v.RowError as exc:
                self.excluded.append(exclusion(source, row, name, exc))


def read_payload_files(paths: Sequence[Path]) -> RowSet:
    """Parse every payload of every file; items with unusable values become exclusions.

    Raises
    ------
    DataFormatError
        If a file cannot be read or is not valid JSON, holds a JSON-RPC error, is not one of
        the accepted payload shapes, has a book-summary item that is not an object with an
        ``instrument_name``, if more than one index payload is given, or if an option's
        ``creation_timestamp`` is NaN, infinite or <= 0 (it would set the valuation time).
    """
    collector = _Collector()
    sources = tuple(str(path) for path in paths)
    for path, source in zip(paths, sources, strict=True):
        for label, key, payload in _payloads(_read_json(path, source), source):
            collector.add(label, key, payload)
    return RowSet(
        sources=sources,
        options=tuple(collector.options),
        futures=tuple(collector.futures),
        excluded=tuple(collector.excluded),
        rows_read=collector.rows_read,
        metadata={"source": "deribit-json", "files": ", ".join(sources)},
        index_column="estimated_delivery_price",
        timestamp_column="creation_timestamp",
        index_override=None if collector.index is None else collector.index[1],
    )
