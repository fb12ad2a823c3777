"""Turn parsed Deribit rows into one consistent MarketSnapshot (pricing conventions §6)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np

from portmargin.core import DataFormatError, ValidationError, ms_to_datetime
from portmargin.instruments import Perpetual
from portmargin.io import _deribit_sanity as sanity
from portmargin.io._deribit_rows import (
    ExcludedRow,
    FutureRow,
    OptionRow,
    RowSet,
    exclusion,
    keep_latest,
)
from portmargin.market import MarketSnapshot, SanityRules, VolSmile

__all__ = [
    "FORWARD_PICKS",
    "ExcludedRow",
    "ForwardPick",
    "FutureRow",
    "OptionRow",
    "RowSet",
    "SnapshotLoad",
    "assemble",
    "check_forward_pick",
    "exclusion",
]

ForwardPick = Literal["latest", "median"]
FORWARD_PICKS: tuple[ForwardPick, ...] = ("latest", "median")


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotLoad:
    """Result of loading a venue file: the snapshot and the rows that were left out.

    Attributes
    ----------
    snapshot
        The market snapshot built from the usable rows.
    excluded
        Rows left out, sorted by source and row.
    rows_read
        Data rows (or payload items) read, usable or not.
    warnings
        One line each: kept rows that look wrong but are usable (a mark that Black-76 on the
        row's own vol and forward does not reproduce within the tolerance of the rules).
    """

    snapshot: MarketSnapshot
    excluded: tuple[ExcludedRow, ...]
    rows_read: int
    warnings: tuple[str, ...] = ()


_Row = TypeVar("_Row", OptionRow, FutureRow)


def check_forward_pick(forward_pick: object) -> ForwardPick:
    """Return ``forward_pick`` if it is ``"latest"`` or ``"median"``, else raise."""
    for pick in FORWARD_PICKS:
        if forward_pick == pick:
            return pick
    raise ValidationError("forward_pick", forward_pick, "'latest' or 'median'")


def _latest_first(row: OptionRow | FutureRow) -> tuple[int, str]:
    """Sort key: latest timestamp first, ties broken by lowest instrument name."""
    return -row.quote.timestamp_ms, row.quote.instrument_name


def _dedupe(rows: Sequence[_Row], excluded: list[ExcludedRow]) -> list[_Row]:
    """One row per instrument (:func:`keep_latest` on the quote's name and timestamp)."""
    return keep_latest(
        rows, lambda r: r.quote.instrument_name, lambda r: r.quote.timestamp_ms, excluded
    )


def _live(rows: Iterable[_Row], valuation_ms: int, excluded: list[ExcludedRow]) -> list[_Row]:
    live: list[_Row] = []
    for row in rows:
        instrument = row.quote.instrument
        if isinstance(instrument, Perpetual) or instrument.expiry_ms > valuation_ms:
            live.append(row)
            continue
        expiry_ms = instrument.expiry_ms
        excluded.append(
            ExcludedRow(
                source=row.source,
                row=row.row,
                instrument=row.quote.instrument_name,
                column=None,
                reason=(
                    f"expired at valuation time: expiry {ms_to_datetime(expiry_ms).isoformat()}"
                    f" is not after valuation {ms_to_datetime(valuation_ms).isoformat()}"
                ),
            )
        )
    return live


def _pick_forward(rows: Sequence[OptionRow], pick: ForwardPick) -> float:
    if pick == "latest":
        return min(rows, key=_latest_first).quote.underlying_price
    return statistics.median(row.quote.underlying_price for row in rows)


def _smile(rows: Sequence[OptionRow], expiry_ms: int, forward: float) -> VolSmile:
    """One vol per strike; where call and put differ, the out-of-the-money side's mark_iv."""
    chosen: dict[float, tuple[bool, float]] = {}
    for row in rows:
        option = row.quote.instrument
        otm = option.is_call == (option.strike >= forward)
        if option.strike not in chosen or (otm and not chosen[option.strike][0]):
            chosen[option.strike] = (otm, row.quote.mark_iv)
    strikes = sorted(chosen)
    return VolSmile(
        expiry_ms=expiry_ms,
        forward=forward,
        strikes=np.array(strikes),
        vols=np.array([chosen[strike][1] for strike in strikes]),
    )


def _no_rows_error(rows: RowSet, excluded: Sequence[ExcludedRow], what: str) -> DataFormatError:
    reasons = "; ".join(f"row {e.row}: {e.reason}" for e in excluded[:3])
    more = f" (first exclusions: {reasons})" if reasons else ""
    return DataFormatError(", ".join(rows.sources), f"no usable option rows: {what}{more}")


def _index_prices(
    rows: RowSet, options: Sequence[OptionRow]
) -> tuple[dict[str, float], dict[str, str]]:
    latest: dict[str, OptionRow] = {}
    for row in sorted(options, key=_latest_first):
        latest.setdefault(row.quote.instrument.underlying, row)
    if rows.index_override is not None:
        if len(latest) != 1:
            raise DataFormatError(
                ", ".join(rows.sources),
                f"an index payload cannot be assigned: options of several underlyings "
                f"({', '.join(sorted(latest))})",
            )
        (underlying,) = latest
        return {underlying: rows.index_override}, {underlying: "public/get_index_price"}
    prices: dict[str, float] = {}
    notes: dict[str, str] = {}
    for underlying, row in latest.items():
        if row.index_price is None:
            raise DataFormatError(
                row.source,
                f"no index price for {underlying}: the latest row has none",
                row=row.row,
            )
        prices[underlying] = row.index_price
        notes[underlying] = f"{rows.index_column} of {row.quote.instrument_name}"
    return prices, notes


def assemble(rows: RowSet, forward_pick: ForwardPick, rules: SanityRules) -> SnapshotLoad:
    """Build the snapshot: valuation time, index, forwards, smiles (spec §6), quotes.

    Steps: the ``mark_iv`` column unit check; row value rules (timestamp, USD prices, vol,
    no-arbitrage bound of the mark); duplicates (:func:`_dedupe`); each row's index and forward
    against the reference index (the index payload, else the median of the rows' index
    observations), after checking that index against the median forward; valuation time and
    index; expired rows; futures rules; forwards and smiles; the repricing warnings.

    Parameters
    ----------
    rows
        Parsed rows of one or more files.
    forward_pick
        ``"latest"``: forward of an expiry = ``underlying_price`` of its latest row (ties:
        lowest instrument name); ``"median"``: median of the expiry's ``underlying_price``.
    rules
        Plausibility rules.

    Raises
    ------
    DataFormatError
        If no usable option row remains, no index price can be found, the ``mark_iv`` column
        is not in percent, or an index is far from the forwards.
    """
    source = ", ".join(rows.sources)
    excluded = list(rows.excluded)
    sanity.check_vol_column(rows.options, rules, source)
    columns = (rows.timestamp_column, rows.index_column)
    options = sanity.screen_option_values(rows.options, rules, columns, excluded)
    options = _dedupe(options, excluded)
    reference = sanity.reference_index(options, rows.index_override)
    sanity.check_index(options, reference, rules, source)
    options = sanity.screen_option_forwards(options, reference, rules, rows.index_column, excluded)
    if not options:
        raise _no_rows_error(rows, excluded, "every row was excluded or the file has none")
    valuation = min(options, key=_latest_first)
    valuation_ms = valuation.quote.timestamp_ms
    index_prices, index_notes = _index_prices(rows, options)
    options = _live(options, valuation_ms, excluded)
    if not options:
        raise _no_rows_error(rows, excluded, "every option has expired at valuation time")
    futures = _live(_dedupe(rows.futures, excluded), valuation_ms, excluded)
    futures = sanity.screen_futures(futures, index_prices, rules, rows.timestamp_column, excluded)

    by_expiry: dict[tuple[str, int], list[OptionRow]] = defaultdict(list)
    for row in options:
        option = row.quote.instrument
        by_expiry[option.underlying, option.expiry_ms].append(row)
    groups = sorted(by_expiry.items(), key=lambda item: item[0])
    forwards = {key: _pick_forward(group, forward_pick) for key, group in groups}
    smiles = {key: _smile(group, key[1], forwards[key]) for key, group in groups}

    metadata = {
        **rows.metadata,
        "forward_pick": forward_pick,
        "valuation_instrument": valuation.quote.instrument_name,
        "valuation_time": ms_to_datetime(valuation_ms).isoformat(),
        "index_source": "; ".join(f"{u}: {note}" for u, note in sorted(index_notes.items())),
    }
    quotes = {row.quote.instrument_name: row.quote for row in options}
    future_quotes = {row.quote.instrument_name: row.quote for row in futures}
    excluded.sort(key=lambda e: (e.source, e.row))
    left_out: dict[str, str] = {}
    for e in excluded:
        if e.instrument and e.instrument not in quotes and e.instrument not in future_quotes:
            left_out.setdefault(e.instrument, e.reason)
    snapshot = MarketSnapshot(
        valuation_ms=valuation_ms,
        index_prices=index_prices,
        forwards=forwards,
        smiles=smiles,
        quotes=quotes,
        futures=future_quotes,
        metadata=metadata,
        excluded=left_out,
    )
    return SnapshotLoad(
        snapshot=snapshot,
        excluded=tuple(excluded),
        rows_read=rows.rows_read,
        warnings=sanity.reprice_warnings(options, rules),
    )
