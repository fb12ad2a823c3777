"""Market files: index prices, perpetual and futures marks, and implied vols of underlyings
without a venue option chain (e.g. ETH next to the Deribit BTC chain), in CSV or JSON.

Format
------
CSV, UTF-8, comma separated. Lines whose first non-blank character is ``#`` are comments and
blank lines are skipped; the first other line is the header. One row per index, perpetual,
future or option. Columns (any order; other column names are refused, to catch typos):

``instrument`` (required)
    For an ``index`` row the underlying code in capitals (``ETH``); otherwise a venue name:
    ``ETH-PERPETUAL``, ``ETH-26JUN20``, ``ETH-26JUN20-200-C`` (``_USDC`` forms for linear
    contracts, as in positions files).
``kind`` (required)
    ``index``, ``perpetual``, ``future`` or ``option``; must match the name.
``price`` (required column)
    ``index``: the index, USD per coin. ``perpetual`` / ``future``: the mark, USD per coin
    (quote currency per coin for linear contracts); a future's mark is also the forward of its
    expiry. ``option``: the mark in venue units (coin for inverse options, quote currency for
    linear ones), or empty: the mark is then Black-76 at the row's ``iv`` and the forward of
    its expiry, discount factor 1 (as Deribit marks).
``timestamp_ms`` (required)
    Time of the observation, Unix epoch milliseconds UTC (an integer).
``iv`` (optional column)
    Implied vol as a fraction per year (``0.75`` for 75 %). On a ``future`` row: one flat vol
    for the options of that expiry. On an ``option`` row (required there): the vol at its
    strike; the option rows of an expiry form its smile (one vol per strike; where call and
    put differ, the out-of-the-money side: the call for ``K >= F``, the put for ``K < F``).
    Must be empty on ``index`` and ``perpetual`` rows.

JSON: an object whose first key is ``"rows"``, holding a list of objects with the same keys
(numbers or strings; ``null`` or a missing key is an empty cell), e.g.
``{"rows": [{"instrument": "ETH", "kind": "index", "price": 199.88,
"timestamp_ms": 1590103355277}]}``. Row numbers are 1-based positions in that list.

What the snapshot holds
-----------------------
- ``valuation_ms``: the latest ``timestamp_ms`` of the rows kept after the value rules below.
- ``index_prices``: one per ``index`` row. Every underlying of the file needs one.
- ``forwards``: per ``(underlying, expiry)`` of a kept future, its mark (several futures of
  one expiry, e.g. inverse and ``_USDC``: the latest row's, ties the lowest name).
- ``futures``: a quote per kept perpetual and future (a perpetual is priced at its mark).
- ``smiles``: per expiry with option rows (their vols) or a future row with an ``iv`` (flat).
  An expiry may not have both, nor two future rows with an ``iv``.
- ``quotes``: a quote per kept option; this is what lists an option (a position on an option
  without a row is unlisted, as with a venue chain).
- ``rates`` empty (rate 0, discount factor 1); ``metadata`` ``source = "market-file"``,
  ``files``, ``valuation_time``, ``index_source``; ``excluded`` the names of excluded rows.

Rules, consistent with :mod:`portmargin.io.deribit` and :class:`~portmargin.market.SanityRules`
--------------------------------------------------------------------------------------------
A row is **excluded** with a reason naming the column when: ``instrument`` is empty or not a
valid name (an index row needs a code such as ``ETH``); ``kind`` is not one of the four or
does not match the name; ``price`` is missing (except on option rows), not a finite number,
<= 0 (< 0 for options), or outside ``min_price_usd`` … ``max_price_usd`` (index, perpetual,
future); ``timestamp_ms`` is missing, not a number or fractional; ``iv`` is given on an index
or perpetual row, is missing on an option row, not a number, <= 0 or outside ``min_vol`` …
``max_vol``; a perpetual or future mark is more than ``max_basis`` from its index; a future or
option has expired at valuation time; an option has no future row of its expiry (its forward);
an option mark is above its no-arbitrage bound (an inverse call is worth less than 1 coin, an
inverse put less than ``K / F`` coin, a linear call less than ``F``, a linear put less than
``K``); a row is more than ``tolerance_ms`` (default one hour,
:data:`~portmargin.market.DEFAULT_TIME_TOLERANCE_MS`) older than the latest row; or it
duplicates another row of the same instrument (the latest timestamp is kept, on a tie the
row read last; the other gets ``duplicate of <file> row <n>, which is kept``).

The **file** is refused with :class:`~portmargin.core.DataFormatError` naming the file, and
the row and column where one is at fault, when: it cannot be read, is empty, is not valid CSV
or JSON, has a missing, duplicate or unknown column (JSON: key), a row with the wrong number
of fields, a ``timestamp_ms`` that is NaN, infinite, <= 0 or outside
``earliest_ms`` … ``latest_ms`` (timestamps set the valuation time); when the median ``iv``
is outside ``min_median_vol`` … ``max_median_vol`` (the column was given in percent, or as
fractions of a percent); when an underlying has no index row, or its index is more than
``max_basis`` from the median of its perpetual and futures marks; when an expiry has both a
future ``iv`` and option rows, or two futures with an ``iv``; or when no row is usable.

A kept option whose given mark Black-76 does not reproduce from its ``iv`` and forward within
``max(reprice_abs_tolerance, reprice_rel_tolerance * mark)`` gives a warning.

Loading several files (:func:`load_markets`): each is recognised by its content (a market
file, or a Deribit chain CSV or JSON payload for :func:`~portmargin.io.load_snapshot`), loaded,
and the snapshots merged with :func:`~portmargin.market.merge_snapshots` (no underlying in two
files; valuation times within ``tolerance_ms``; the latest is used).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from portmargin.core import DataFormatError, ValidationError, ms_to_datetime, year_fraction
from portmargin.instruments import Future, Option, Perpetual, Settlement, format_expiry
from portmargin.io import _deribit_values as v
from portmargin.io._deribit_assemble import SnapshotLoad
from portmargin.io._deribit_rows import (
    ExcludedRow,
    OptionRow,
    exclude_failed,
    keep_latest,
    outside,
    ratio_gap,
)
from portmargin.io._deribit_sanity import reprice_warnings
from portmargin.io.deribit import load_snapshot
from portmargin.market import (
    DEFAULT_TIME_TOLERANCE_MS,
    FutureQuote,
    MarketSnapshot,
    OptionQuote,
    SanityRules,
    VolSmile,
    merge_snapshots,
)
from portmargin.pricing import black76

__all__ = [
    "COLUMNS",
    "KINDS",
    "REQUIRED_COLUMNS",
    "is_market_file",
    "load_market_file",
    "load_markets",
]

PathLike = str | os.PathLike[str]

COLUMNS = ("instrument", "kind", "price", "timestamp_ms", "iv")
"""Every column a market file may have."""
REQUIRED_COLUMNS = COLUMNS[:4]
"""Columns without which a file is not a market file."""
KINDS = ("index", "perpetual", "future", "option")
"""Values of the ``kind`` column."""

_CODE = re.compile(r"[A-Z][A-Z0-9]*")
_JSON_START = re.compile(rb'\{\s*"rows"\s*:')

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
_Instrument = Option | Future | Perpetual


@dataclass(frozen=True, slots=True, kw_only=True)
class _Row:
    """One parsed row; ``instrument`` is ``None`` for an index row, ``price`` NaN for an
    option row without a mark."""

    source: str
    row: int
    name: str
    kind: str
    underlying: str
    instrument: _Instrument | None
    price: float
    timestamp_ms: int
    iv: float | None


def _check_header(names: Sequence[str], source: str) -> None:
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DataFormatError(source, f"duplicate column(s) {', '.join(duplicates)}")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise DataFormatError(
            source,
            f"unknown column(s) {', '.join(repr(n) for n in unknown)}: a market file has the "
            f"columns {', '.join(COLUMNS)}",
            column=unknown[0],
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise DataFormatError(
            source,
            f"not a market file: missing column(s) {', '.join(missing)} (required: "
            f"{', '.join(REQUIRED_COLUMNS)})",
        )


def _csv_cells(path: Path, source: str) -> Iterator[tuple[int, Mapping[str, object]]]:
    """``(data row number, cells)`` of a CSV market file, comments and blank lines skipped."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            lines = (line for line in handle if not line.lstrip().startswith("#"))
            records = (r for r in csv.reader(lines) if any(cell.strip() for cell in r))
            try:
                header = next(records, None)
                if header is None:
                    raise DataFormatError(source, "empty file: expected a header and rows")
                names = [cell.strip() for cell in header]
                _check_header(names, source)
                for number, record in enumerate(records, start=1):
                    if len(record) != len(names):
                        raise DataFormatError(
                            source,
                            f"has {len(record)} fields, the header has {len(names)}",
                            row=number,
                        )
                    yield number, dict(zip(names, record, strict=True))
            except csv.Error as exc:
                raise DataFormatError(source, f"malformed CSV: {exc}") from None
    except OSError as exc:
        raise DataFormatError(source, f"cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(source, f"not a UTF-8 text file ({exc.reason})") from None


def _json_cells(path: Path, source: str) -> Iterator[tuple[int, Mapping[str, object]]]:
    """``(1-based position, object)`` of the ``rows`` list of a JSON market file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise DataFormatError(source, f"cannot read file: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(source, f"not a JSON file ({exc})") from None
    rows = document.get("rows") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise DataFormatError(source, 'expected a JSON object {"rows": [ {...}, ... ]}')
    for number, item in enumerate(rows, start=1):
        if not isinstance(item, dict):
            raise DataFormatError(source, f"{item!r} is not an object", row=number)
        unknown = [str(k) for k in item if k not in COLUMNS]
        if unknown:
            raise DataFormatError(
                source,
                f"unknown key(s) {', '.join(repr(k) for k in unknown)}: a market file row has "
                f"the keys {', '.join(COLUMNS)}",
                row=number,
                column=unknown[0],
            )
        yield number, item


def _kind_of(instrument: _Instrument) -> str:
    if isinstance(instrument, Option):
        return "option"
    return "future" if isinstance(instrument, Future) else "perpetual"


def _parse(cells: Mapping[str, object], source: str, number: int) -> _Row:
    """One row's cells as a :class:`_Row`; :class:`v.RowError` names the column at fault."""
    raw_kind = v.text(cells.get("kind"), "kind")
    kind = raw_kind.lower()
    if kind not in KINDS:
        raise v.RowError("kind", f"kind: {raw_kind!r} is not one of {', '.join(KINDS)}")
    name = v.text(cells.get("instrument"), "instrument")
    instrument: _Instrument | None = None
    if kind == "index":
        if not _CODE.fullmatch(name):
            raise v.RowError(
                "instrument",
                f"instrument: {name!r} is not an underlying code in capitals (e.g. ETH), "
                "as an index row needs",
            )
        underlying = name
    else:
        instrument = v.derivative_instrument(name, "instrument")
        if _kind_of(instrument) != kind:
            raise v.RowError(
                "kind", f"kind: {raw_kind!r} does not match {name}, a {_kind_of(instrument)}"
            )
        name, underlying = instrument.name, instrument.underlying
    stamp = v.timestamp(cells.get("timestamp_ms"), "timestamp_ms")
    iv = v.optional_positive(cells.get("iv"), "iv")
    if iv is not None and kind in ("index", "perpetual"):
        raise v.RowError(
            "iv",
            f"iv: {cells.get('iv')!r} is given on a {kind} row; only future rows (a flat vol "
            "of the expiry) and option rows take an iv",
        )
    if iv is None and kind == "option":
        raise v.RowError("iv", "iv: value is missing (an option row needs its implied vol)")
    raw_price = cells.get("price")
    price = (
        v.optional_non_negative(raw_price, "price")
        if kind == "option"
        else v.positive(raw_price, "price")
    )
    if price is None:
        price = float("nan")
    return _Row(
        source=source,
        row=number,
        name=name,
        kind=kind,
        underlying=underlying,
        instrument=instrument,
        price=price,
        timestamp_ms=stamp,
        iv=iv,
    )


def _exclude(
    rows: Sequence[_Row],
    checks: Sequence[tuple[BoolArray, str | None, Callable[[int], str]]],
    excluded: list[ExcludedRow],
) -> list[_Row]:
    """Apply ``(failed mask, column, reason of row i)`` checks in order; return kept rows."""
    return [rows[i] for i in exclude_failed(rows, checks, lambda r: r.name, excluded)]


def _check_times(rows: Sequence[_Row], rules: SanityRules) -> None:
    stamps = np.array([r.timestamp_ms for r in rows], dtype=np.float64)
    late = np.flatnonzero(outside(stamps, rules.earliest_ms, rules.latest_ms))
    if late.size:
        row = rows[int(late[0])]
        raise DataFormatError(
            row.source,
            f"timestamp_ms: {row.timestamp_ms} is outside the plausible range "
            f"{ms_to_datetime(rules.earliest_ms).date()} to "
            f"{ms_to_datetime(rules.latest_ms).date()} (epoch milliseconds expected; "
            f"{late.size} row(s) affected)",
            row=row.row,
            column="timestamp_ms",
        )


def _check_iv_column(rows: Sequence[_Row], rules: SanityRules, source: str) -> None:
    ivs = [r.iv for r in rows if r.iv is not None]
    if not ivs:
        return
    median = float(np.median(ivs))
    if rules.min_median_vol <= median <= rules.max_median_vol:
        return
    if median > rules.max_median_vol:
        what = "looks like percent: give fractions (0.75 for 75 %)"
    else:
        what = "looks like fractions of a percent: give fractions (0.75 for 75 %)"
    raise DataFormatError(
        source,
        f"implausible iv column: median {median:.6g} over {len(ivs)} rows is outside "
        f"{rules.min_median_vol:g} to {rules.max_median_vol:g} and {what}",
        column="iv",
    )


def _screen_values(
    rows: Sequence[_Row], rules: SanityRules, excluded: list[ExcludedRow]
) -> list[_Row]:
    """Exclude rows with an implausible USD price or vol."""
    usd = np.array([r.kind != "option" for r in rows], dtype=bool)
    price = np.array([r.price for r in rows])
    iv = np.array([np.nan if r.iv is None else r.iv for r in rows])
    low, high = rules.min_price_usd, rules.max_price_usd
    return _exclude(
        rows,
        [
            (
                usd & outside(price, low, high),
                "price",
                lambda i: (
                    f"price: {float(price[i])!r} is outside the plausible range {low:g} to "
                    f"{high:g} USD"
                ),
            ),
            (
                ~np.isnan(iv) & outside(iv, rules.min_vol, rules.max_vol),
                "iv",
                lambda i: (
                    f"iv: {float(iv[i])!r} is outside the plausible range {rules.min_vol:g} to "
                    f"{rules.max_vol:g} (fractions per year)"
                ),
            ),
        ],
        excluded,
    )


def _dedupe(rows: Sequence[_Row], excluded: list[ExcludedRow]) -> list[_Row]:
    """One row per instrument: latest timestamp, on a tie the row read last."""
    return keep_latest(rows, lambda r: r.name, lambda r: r.timestamp_ms, excluded)


def _screen_time(
    rows: Sequence[_Row], valuation_ms: int, tolerance_ms: int, excluded: list[ExcludedRow]
) -> list[_Row]:
    """Exclude rows older than ``tolerance_ms`` and futures and options expired at valuation."""
    stamp = np.array([r.timestamp_ms for r in rows], dtype=np.int64)
    expiry = np.array(
        [
            0
            if r.instrument is None or isinstance(r.instrument, Perpetual)
            else r.instrument.expiry_ms
            for r in rows
        ],
        dtype=np.int64,
    )
    when = ms_to_datetime(valuation_ms).isoformat()
    return _exclude(
        rows,
        [
            (
                valuation_ms - stamp > tolerance_ms,
                "timestamp_ms",
                lambda i: (
                    f"timestamp_ms: {int(stamp[i])} is {(valuation_ms - stamp[i]) / 1000:.12g} s "
                    f"before the latest row ({when}), more than the tolerance of "
                    f"{tolerance_ms / 1000:g} s"
                ),
            ),
            (
                (expiry > 0) & (expiry <= valuation_ms),
                None,
                lambda i: (
                    "expired at valuation time: expiry "
                    f"{ms_to_datetime(int(expiry[i])).isoformat()} is not after valuation {when}"
                ),
            ),
        ],
        excluded,
    )


def _index_prices(rows: Sequence[_Row], rules: SanityRules, source: str) -> dict[str, float]:
    """Index per underlying; raise if one is missing or far from its futures marks."""
    index = {r.underlying: r.price for r in rows if r.kind == "index"}
    for row in rows:
        if row.underlying not in index:
            raise DataFormatError(
                row.source,
                f"no index row for {row.underlying} (needed by {row.name}); add a row "
                f"'{row.underlying},index,<USD per coin>,<timestamp_ms>'",
                row=row.row,
            )
    for underlying, price in sorted(index.items()):
        marks = [
            r.price
            for r in rows
            if r.underlying == underlying and r.kind in ("perpetual", "future")
        ]
        if not marks:
            continue
        median = float(np.median(marks))
        if ratio_gap(np.array([price]), np.array([median]), rules.max_basis)[0]:
            raise DataFormatError(
                source,
                f"implausible {underlying} index {price!r}: more than {rules.max_basis:.0%} from "
                f"the median mark {median:.8g} of its {len(marks)} perpetual and future rows",
            )
    return index


def _screen_marks(
    rows: Sequence[_Row],
    index: Mapping[str, float],
    rules: SanityRules,
    excluded: list[ExcludedRow],
) -> list[_Row]:
    """Exclude perpetual and future marks more than ``rules.max_basis`` from their index."""
    linear = np.array([r.kind in ("perpetual", "future") for r in rows], dtype=bool)
    mark = np.array([r.price for r in rows])
    ref = np.array([index[r.underlying] for r in rows])
    return _exclude(
        rows,
        [
            (
                linear & ratio_gap(mark, ref, rules.max_basis),
                "price",
                lambda i: (
                    f"price: {float(mark[i])!r} is more than {rules.max_basis:.0%} from the "
                    f"{rows[i].underlying} index {float(ref[i])!r}"
                ),
            )
        ],
        excluded,
    )


def _forwards(rows: Sequence[_Row]) -> dict[tuple[str, int], tuple[float, str]]:
    """``(underlying, expiry)`` → (forward, future name): the latest future, ties lowest name."""
    out: dict[tuple[str, int], tuple[float, str]] = {}
    for row in sorted(rows, key=lambda r: (-r.timestamp_ms, r.name)):
        if isinstance(row.instrument, Future):
            out.setdefault((row.underlying, row.instrument.expiry_ms), (row.price, row.name))
    return out


def _option_rows(
    rows: Sequence[_Row],
    forwards: Mapping[tuple[str, int], tuple[float, str]],
    index: Mapping[str, float],
    excluded: list[ExcludedRow],
) -> tuple[list[OptionRow], list[OptionRow]]:
    """Option quotes of the kept option rows: ``(all, those whose mark was given)``.

    A row without a future of its expiry is excluded, as is a given mark above its
    no-arbitrage bound. A missing mark is Black-76 at the row's ``iv``, forward and timestamp
    (within the bound by construction).
    """
    options = [r for r in rows if isinstance(r.instrument, Option)]
    if not options:
        return [], []
    insts = [r.instrument for r in options if isinstance(r.instrument, Option)]
    keys = [(i.underlying, i.expiry_ms) for i in insts]
    has = np.array([k in forwards for k in keys], dtype=bool)
    forward = np.array([forwards[k][0] if k in forwards else 1.0 for k in keys])
    strike = np.array([i.strike for i in insts])
    call = np.array([i.is_call for i in insts], dtype=bool)
    inverse = np.array([i.settlement is Settlement.INVERSE for i in insts], dtype=bool)
    iv = np.array([r.iv for r in options], dtype=np.float64)
    price = np.array([r.price for r in options])
    given = ~np.isnan(price)
    tau = year_fraction(
        np.array([r.timestamp_ms for r in options], dtype=np.int64),
        np.array([i.expiry_ms for i in insts], dtype=np.int64),
    )
    usd = black76.price(forward, strike, tau, iv, call)
    model = np.where(inverse, usd / forward, usd)
    mark = np.where(given, price, model)
    bound = np.where(call, np.where(inverse, 1.0, forward), strike / np.where(inverse, forward, 1))
    unit = np.where(inverse, "coin", "USD per coin")

    def no_forward(i: int) -> str:
        u, e = keys[i]
        return (
            f"no future row of {u} expiry {format_expiry(e)} gives the forward of this option "
            "(add that future's mark)"
        )

    def too_high(i: int) -> str:
        return (
            f"price: {float(mark[i])!r} {unit[i]} is above {bound[i]:.8g} {unit[i]}, "
            f"the most this option can be worth at forward {float(forward[i])!r}"
        )

    kept = _exclude(
        options,
        [(~has, None, no_forward), (has & given & ~(mark <= bound), "price", too_high)],
        excluded,
    )
    position = {id(r): i for i, r in enumerate(options)}
    out: list[OptionRow] = []
    marked: list[OptionRow] = []
    for row in kept:
        i = position[id(row)]
        quote = OptionQuote(
            instrument_name=row.name,
            instrument=insts[i],
            timestamp_ms=row.timestamp_ms,
            mark_price=float(mark[i]),
            mark_iv=float(iv[i]),
            underlying_price=float(forward[i]),
            underlying_index=forwards[keys[i]][1],
            index_price=index[row.underlying],
        )
        option_row = OptionRow(source=row.source, row=row.row, quote=quote, index_price=None)
        out.append(option_row)
        if given[i]:
            marked.append(option_row)
    return out, marked


def _smiles(
    options: Sequence[OptionRow],
    futures: Sequence[_Row],
    forwards: Mapping[tuple[str, int], tuple[float, str]],
) -> dict[tuple[str, int], VolSmile]:
    """Smile per expiry: the option rows' vols (out-of-the-money side per strike), or the
    flat ``iv`` of a future row of the expiry."""
    chosen: dict[tuple[str, int], dict[float, tuple[bool, float]]] = {}
    for row in options:
        option = row.quote.instrument
        strikes = chosen.setdefault((option.underlying, option.expiry_ms), {})
        otm = option.is_call == (option.strike >= row.quote.underlying_price)
        if option.strike not in strikes or (otm and not strikes[option.strike][0]):
            strikes[option.strike] = (otm, row.quote.mark_iv)
    smiles = {
        key: VolSmile(
            expiry_ms=key[1],
            forward=forwards[key][0],
            strikes=np.array(sorted(by_strike)),
            vols=np.array([by_strike[k][1] for k in sorted(by_strike)]),
        )
        for key, by_strike in chosen.items()
    }
    for future in futures:
        if future.iv is None or not isinstance(future.instrument, Future):
            continue
        key = (future.underlying, future.instrument.expiry_ms)
        if key in smiles:
            raise DataFormatError(
                future.source,
                f"expiry {format_expiry(key[1])} of {key[0]} has a vol already (option rows or "
                "the iv of another future row): give the flat iv on one future row or the "
                "option rows, not both",
                row=future.row,
                column="iv",
            )
        forward = forwards[key][0]
        smiles[key] = VolSmile(
            expiry_ms=key[1],
            forward=forward,
            strikes=np.array([forward]),
            vols=np.array([future.iv]),
        )
    return smiles


def _assemble(
    parsed: Sequence[_Row],
    excluded: list[ExcludedRow],
    rows_read: int,
    source: str,
    rules: SanityRules,
    tolerance_ms: int,
) -> SnapshotLoad:
    """Apply the module's rules in order and build the snapshot."""
    _check_times(parsed, rules)
    _check_iv_column(parsed, rules, source)
    rows = _dedupe(_screen_values(parsed, rules, excluded), excluded)
    if not rows:
        raise DataFormatError(source, "no usable row: every row was excluded or the file has none")
    valuation_ms = max(r.timestamp_ms for r in rows)
    rows = _screen_time(rows, valuation_ms, tolerance_ms, excluded)
    index = _index_prices(rows, rules, source)
    rows = _screen_marks(rows, index, rules, excluded)
    futures = [r for r in rows if r.kind in ("perpetual", "future")]
    forwards = _forwards(futures)
    options, marked = _option_rows(rows, forwards, index, excluded)
    smiles = _smiles(options, futures, forwards)
    future_quotes = {
        r.name: FutureQuote(
            instrument_name=r.name,
            instrument=r.instrument,
            timestamp_ms=r.timestamp_ms,
            mark_price=r.price,
        )
        for r in futures
        if isinstance(r.instrument, Future | Perpetual)
    }
    quotes = {row.quote.instrument_name: row.quote for row in options}
    excluded.sort(key=lambda e: (e.source, e.row))
    left_out: dict[str, str] = {}
    for e in excluded:
        if e.instrument and e.instrument not in quotes and e.instrument not in future_quotes:
            left_out.setdefault(e.instrument, e.reason)
    index_rows = {r.underlying: r.row for r in rows if r.kind == "index"}
    snapshot = MarketSnapshot(
        valuation_ms=valuation_ms,
        index_prices=index,
        forwards={key: value[0] for key, value in forwards.items()},
        smiles=smiles,
        quotes=quotes,
        futures=future_quotes,
        metadata={
            "source": "market-file",
            "files": source,
            "valuation_time": ms_to_datetime(valuation_ms).isoformat(),
            "index_source": "; ".join(f"{u}: index row {n}" for u, n in sorted(index_rows.items())),
        },
        excluded=left_out,
    )
    return SnapshotLoad(
        snapshot=snapshot,
        excluded=tuple(excluded),
        rows_read=rows_read,
        warnings=reprice_warnings(marked, rules),
    )


def _rules(rules: SanityRules | None) -> SanityRules:
    if rules is None:
        return SanityRules()
    if not isinstance(rules, SanityRules):
        raise ValidationError("rules", rules, "a SanityRules or None")
    return rules


def _tolerance(tolerance_ms: object) -> int:
    if isinstance(tolerance_ms, bool) or not isinstance(tolerance_ms, int) or tolerance_ms < 0:
        raise ValidationError("tolerance_ms", tolerance_ms, "an integer number of ms >= 0")
    return tolerance_ms


def _start(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    except OSError as exc:
        raise DataFormatError(str(path), f"cannot read file: {exc.strerror or exc}") from None


def load_market_file(
    path: PathLike,
    *,
    rules: SanityRules | None = None,
    tolerance_ms: int = DEFAULT_TIME_TOLERANCE_MS,
) -> SnapshotLoad:
    """Load a market file (CSV, or JSON starting with ``{"rows":``); format and rules in the
    module notes.

    Parameters
    ----------
    path
        The file.
    rules
        Plausibility rules; ``None`` for the documented defaults of
        :class:`~portmargin.market.SanityRules`.
    tolerance_ms
        Largest age of a row against the file's latest row, milliseconds (default one hour);
        older rows are excluded.

    Returns
    -------
    SnapshotLoad
        ``.snapshot`` (USD per coin, vols as fractions), ``.excluded`` rows with reasons sorted
        by row, ``.rows_read`` and ``.warnings``.

    Raises
    ------
    DataFormatError
        For problems with the file as a whole (module notes).
    ValidationError
        If ``rules`` or ``tolerance_ms`` is invalid.
    """
    checked_rules, tolerance = _rules(rules), _tolerance(tolerance_ms)
    file = Path(path)
    source = str(file)
    is_json = _start(file)[:1] == b"{"
    cells = _json_cells(file, source) if is_json else _csv_cells(file, source)
    parsed: list[_Row] = []
    excluded: list[ExcludedRow] = []
    rows_read = 0
    for number, row in cells:
        rows_read += 1
        try:
            parsed.append(_parse(row, source, number))
        except v.TimestampError as exc:
            raise DataFormatError(source, exc.message, row=number, column=exc.column) from None
        except v.RowError as exc:
            name = row.get("instrument")
            excluded.append(
                ExcludedRow(
                    source=source,
                    row=number,
                    instrument=name.strip() if isinstance(name, str) else "",
                    column=exc.column,
                    reason=exc.message,
                )
            )
    return _assemble(parsed, excluded, rows_read, source, checked_rules, tolerance)


def is_market_file(path: PathLike) -> bool:
    """Whether ``path`` holds a market file (not a Deribit chain or payload).

    A JSON file is one if it starts with ``{"rows":``; a CSV file if its header (the first
    line that is not blank or a ``#`` comment) has the columns ``instrument`` and ``kind``.
    """
    start = _start(Path(path))
    if start[:1] in (b"{", b"["):
        return _JSON_START.match(start) is not None
    for line in start.decode("utf-8", errors="replace").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            names = {cell.strip() for cell in next(csv.reader([line]))}
            return {"instrument", "kind"} <= names
    return False


def load_markets(
    paths: Sequence[PathLike],
    *,
    rules: SanityRules | None = None,
    tolerance_ms: int = DEFAULT_TIME_TOLERANCE_MS,
) -> SnapshotLoad:
    """Load several market data files and merge them into one snapshot.

    Parameters
    ----------
    paths
        At least one file. Each is a market file (:func:`is_market_file`, loaded with
        :func:`load_market_file`) or a Deribit chain CSV or JSON payload
        (:func:`~portmargin.io.load_snapshot`, ``forward_pick="latest"``).
    rules
        Plausibility rules for every file; ``None`` for the defaults.
    tolerance_ms
        Largest gap between the valuation times of the files (and between the rows of one
        market file), milliseconds; default one hour.

    Returns
    -------
    SnapshotLoad
        The merged snapshot (:func:`~portmargin.market.merge_snapshots`: latest valuation
        time, metadata of each file under its underlyings); the excluded rows, rows read and
        warnings of every file, in the order given. One file gives its own load unchanged.

    Raises
    ------
    DataFormatError
        For a file that cannot be loaded (the error names it).
    MarketDataError
        If two files hold the same underlying, give different rates, or are more than
        ``tolerance_ms`` apart.
    ValidationError
        If no path is given.
    """
    if isinstance(paths, str | os.PathLike) or not paths:
        raise ValidationError("paths", paths, "a non-empty sequence of files")
    checked_rules, tolerance = _rules(rules), _tolerance(tolerance_ms)
    loads = [
        load_market_file(p, rules=checked_rules, tolerance_ms=tolerance)
        if is_market_file(p)
        else load_snapshot(p, rules=checked_rules)
        for p in paths
    ]
    if len(loads) == 1:
        return loads[0]
    return SnapshotLoad(
        snapshot=merge_snapshots(*(load.snapshot for load in loads), tolerance_ms=tolerance),
        excluded=tuple(e for load in loads for e in load.excluded),
        rows_read=sum(load.rows_read for load in loads),
        warnings=tuple(w for load in loads for w in load.warnings),
    )
