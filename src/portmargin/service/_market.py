"""Uploaded market data: parse payload bytes with :mod:`portmargin.io`, price the listed
instruments once, attach the bundled daily histories."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, get_args

from portmargin.core import DataFormatError, ValidationError
from portmargin.data import demo_daily_paths
from portmargin.instruments import Currency, Instrument
from portmargin.io import load_deribit_chain_csv, load_deribit_json, load_history, load_market_file
from portmargin.io.deribit import SnapshotLoad
from portmargin.market import MarketSnapshot, PriceHistory, merge_snapshots
from portmargin.risk import STABLECOINS, PricedSnapshot, price_snapshot

__all__ = ["FORMATS", "Format", "ParsedMarket", "parse_market", "priced_market"]

Format = Literal["deribit-csv", "deribit-json", "market-file"]
"""Formats of an uploaded snapshot part."""

FORMATS: tuple[str, ...] = get_args(Format)

_SUFFIX = {"deribit-csv": ".csv", "deribit-json": ".json", "market-file": ""}


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedMarket:
    """An uploaded snapshot, parsed.

    Attributes
    ----------
    snapshot
        The merged market snapshot of every part (USD per coin, vols as fractions).
    excluded
        Number of rows left out of the parts.
    excluded_reasons
        Why the first :data:`EXCLUDED_LISTED` of them were left out (``source, row: reason``).
    warnings
        Warnings of the loaders.
    """

    snapshot: MarketSnapshot
    excluded: int
    excluded_reasons: tuple[str, ...]
    warnings: tuple[str, ...]


EXCLUDED_LISTED = 20
"""Reasons of excluded rows kept with a parsed snapshot (the rest are counted)."""


def parse_market(parts: Sequence[tuple[str, bytes]]) -> ParsedMarket:
    """Parse the parts of one snapshot and merge them.

    Parameters
    ----------
    parts
        ``(format, payload)`` pairs; format one of :data:`FORMATS`, payload the bytes as
        uploaded (UTF-8 text).

    Raises
    ------
    ValidationError
        No part, or a format that is not one of :data:`FORMATS`.
    DataFormatError
        A part cannot be parsed (the message names the part, row and column).
    MarketDataError
        The parts cannot be merged (same underlying twice, valuation times too far apart).
    """
    if not parts:
        raise ValidationError("parts", [], "at least one snapshot part")
    loads: list[SnapshotLoad] = []
    with tempfile.TemporaryDirectory(prefix="portmargin-upload-") as folder:
        for k, (fmt, payload) in enumerate(parts):
            loads.append(_load_part(Path(folder), k, fmt, payload))
    snapshot = merge_snapshots(*(load.snapshot for load in loads))
    excluded = [e for load in loads for e in load.excluded]
    return ParsedMarket(
        snapshot=snapshot,
        excluded=len(excluded),
        excluded_reasons=tuple(
            f"{e.source}, row {e.row}: {e.reason}" for e in excluded[:EXCLUDED_LISTED]
        ),
        warnings=tuple(w for load in loads for w in load.warnings),
    )


def _load_part(folder: Path, k: int, fmt: str, payload: bytes) -> SnapshotLoad:
    """Parse part ``k`` (written to a file in ``folder``, which the loaders read)."""
    if fmt not in FORMATS:
        raise ValidationError(f"parts[{k}].format", fmt, f"one of {list(FORMATS)}")
    if not payload.strip():
        raise DataFormatError(f"part {k} ({fmt})", "is empty; expected the file's content")
    suffix = ".json" if fmt == "market-file" and payload.lstrip()[:1] == b"{" else _SUFFIX[fmt]
    path = folder / f"part-{k}{suffix or '.csv'}"
    path.write_bytes(payload)
    try:
        if fmt == "deribit-csv":
            return load_deribit_chain_csv(path)
        if fmt == "deribit-json":
            return load_deribit_json(path)
        return load_market_file(path)
    except DataFormatError as exc:
        # name the part instead of the temporary file
        message = str(exc).replace(str(path), f"part {k} ({fmt})")
        raise DataFormatError(f"part {k} ({fmt})", message.split(": ", 1)[-1]) from None


@cache
def _bundled_history() -> PriceHistory:
    return load_history(dict(demo_daily_paths())).history


def priced_market(snapshot: MarketSnapshot) -> PricedSnapshot:
    """``snapshot`` with the bundled daily histories attached (for history-based methods such
    as ``var``) and every listed instrument (options, futures, perpetuals) and the balances
    of its underlyings and of stablecoins priced once."""
    with_history = snapshot.with_history(_bundled_history())
    listed: list[Instrument] = [q.instrument for q in with_history.quotes.values()]
    listed.extend(q.instrument for q in with_history.futures.values())
    listed.extend(Currency(code=c) for c in (*with_history.underlyings, *sorted(STABLECOINS)))
    unique = sorted(set(listed), key=lambda i: i.name)
    return price_snapshot(with_history, unique)
