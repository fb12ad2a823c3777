"""Deribit adapters: option-chain CSV and saved JSON-RPC payloads → :class:`MarketSnapshot`.

Conventions (pricing conventions §4.4, §6, §8):

- Valuation time is the latest row timestamp among the option rows whose fields all parse
  (CSV ``timestamp``; JSON ``creation_timestamp``; the JSON-RPC envelope's ``usIn``/``usOut``
  are ignored: they time the HTTP reply, not the marks).
- Index per underlying: the index price of that underlying's latest row (ties: lowest
  instrument name); for a single-underlying chain this is the row that sets the valuation time.
  CSV rows carry ``index_price``; book summaries carry none, so a ``public/get_index_price``
  payload is used when given, else the latest option row's ``estimated_delivery_price`` (equal
  to the index before the delivery window).
- Forward per ``(underlying, expiry)`` from the option rows' ``underlying_price`` (a future or a
  ``SYN.`` synthetic forward, treated alike), picked by ``forward_pick``: ``"latest"`` (latest
  row of the expiry, ties: lowest instrument name) or ``"median"`` (median of the expiry's rows,
  mean of the two middle ones for an even count). Futures marks are kept as quotes only.
- Smile per ``(underlying, expiry)`` from ``mark_iv`` (percent → fraction), one vol per strike:
  when the call and put of a strike differ (they are sampled at different instants), the
  out-of-the-money side's is used: the call for ``K >= F``, the put for ``K < F``.
- Rates are left empty (rate 0, discount factor 1): Deribit prices with ``interest_rate = 0``.

Rows that cannot be used are **excluded** and listed with a reason naming the column:
an unparseable or non-option name, a non-numeric / NaN / missing / non-positive ``mark_iv``,
``underlying_price`` or ``index_price``, a missing, non-numeric or fractional timestamp, a
negative price, a crossed book (best bid
above best ask), contract columns that contradict the name, a book state other than ``open``,
a malformed ``greeks``/``stats`` literal, a row that breaks a plausibility rule (below), a
duplicate instrument, and options or futures expired at valuation time. Excluded instruments
are recorded in ``snapshot.excluded`` (name → reason) and are not listed: a position on one is
an error unless unlisted instruments are allowed (``MarketSnapshot.with_unlisted_allowed``).

Duplicate instrument rows: the row with the latest timestamp is kept; on equal timestamps the
row read last (later in the file, or in a later file). Every other row of that instrument is
excluded with the reason ``duplicate of <source> row <n>, which is kept``. Rows excluded for
their values are left out before duplicates are resolved.

Plausibility rules (:class:`~portmargin.market.SanityRules`, defaults documented there),
applied in this order:

- the median ``mark_iv`` of all option rows must be a percentage between 2 % and 1 000 %, else
  :class:`~portmargin.core.DataFormatError` (a column in fractions, or multiplied by 100);
- an option row timestamp that is NaN, infinite, <= 0 or outside 2009-01-03 … 2100-01-01 is
  a :class:`~portmargin.core.DataFormatError` naming the row (option timestamps set the
  valuation time: a wrong unit or a corrupted cell must not move it);
- per row, excluded: a USD price (forward, index) outside 1e-8 … 1e9, a ``mark_iv`` outside
  1 % … 1 000 %, a mark above the option's no-arbitrage bound (an inverse call is worth less
  than 1 coin, an inverse put less than ``K / F`` coin);
- the reference index of an underlying (the index payload, else the median of the rows' index
  observations) must be within 50 % of the median forward of its rows, else
  :class:`~portmargin.core.DataFormatError`; a row whose index is more than 10 % from the
  reference, whose forward is more than 50 % from it or more than 10 % from the median forward
  of its expiry's rows, is excluded; futures and perpetual
  marks likewise (timestamp range, USD range, 50 % from the index: excluded);
- a kept option whose mark Black-76 does not reproduce from its own ``mark_iv``,
  ``underlying_price`` and timestamp within ``max(1e-3 coin, 5 % of the mark)`` gives a
  warning in ``SnapshotLoad.warnings``.

Problems with the **file** raise :class:`~portmargin.core.DataFormatError` naming the file (and
row or column when one row breaks the file's structure or its time): unreadable or empty file,
invalid JSON, a JSON-RPC error reply, a payload of the wrong shape (including a book-summary
item that is not an object with an ``instrument_name``), a CSV without the required columns
(not a Deribit chain), a duplicate column, a CSV row that is not valid CSV or has the wrong
number of fields, an impossible option timestamp, an implausible ``mark_iv`` column or index
(plausibility rules below), no usable option row at all, and no index price for an underlying.

Quirks handled: best bid/ask ``0.0`` or ``null`` → missing; ``bid_iv``/``ask_iv`` ``0.0`` →
missing (an empty side, or a bid below intrinsic value); ``ask_iv`` ``500.0`` → censored
(``ask_iv=None, ask_iv_censored=True``); ``stats`` of ``None`` values, empty ``last_price`` →
``None``. ``mark_price`` of 0 or below the tick is kept as reported; above the no-arbitrage
bound (e.g. above 1 coin for an inverse call) the row is excluded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from portmargin.core import DataFormatError, ValidationError
from portmargin.io._deribit_assemble import (
    ExcludedRow,
    ForwardPick,
    SnapshotLoad,
    assemble,
    check_forward_pick,
)
from portmargin.io._deribit_csv import read_chain_csv
from portmargin.io._deribit_json import read_payload_files
from portmargin.market import SanityRules

__all__ = [
    "ExcludedRow",
    "ForwardPick",
    "SanityRules",
    "SnapshotLoad",
    "load_deribit_chain_csv",
    "load_deribit_json",
    "load_snapshot",
]

PathLike = str | os.PathLike[str]


def load_deribit_chain_csv(
    path: PathLike, *, forward_pick: ForwardPick = "latest", rules: SanityRules | None = None
) -> SnapshotLoad:
    """Load a Deribit option-chain CSV (one row per option, as in the bundled 2020-05-21 file).

    Parameters
    ----------
    path
        CSV file, UTF-8, comma separated, header first. Required columns: ``instrument_name,
        timestamp, mark_price, mark_iv, underlying_price, underlying_index, index_price``.
    forward_pick
        ``"latest"`` or ``"median"``: how one forward per expiry is chosen (module notes).
    rules
        Plausibility rules (module notes); ``None`` for the documented defaults.

    Returns
    -------
    SnapshotLoad
        ``.snapshot`` (prices in USD per coin, vols as fractions, marks in coin),
        ``.excluded`` rows with reasons and ``.warnings``.

    Raises
    ------
    DataFormatError
        For file-level problems (module notes); rows are excluded instead wherever possible.
    ValidationError
        If ``forward_pick`` is not ``"latest"`` or ``"median"``.
    """
    pick = check_forward_pick(forward_pick)
    return assemble(read_chain_csv(Path(path)), pick, _rules(rules))


def load_deribit_json(
    path_or_paths: PathLike | Sequence[PathLike],
    *,
    forward_pick: ForwardPick = "latest",
    rules: SanityRules | None = None,
) -> SnapshotLoad:
    """Load saved Deribit ``public/get_book_summary_by_currency`` and ``get_index_price`` replies.

    Parameters
    ----------
    path_or_paths
        One file holding ``{"options": ..., "futures": ..., "index": ...}`` (keys may also be
        the method names, with or without ``public/``), or several files holding one payload
        each. A payload is a JSON-RPC envelope ``{"jsonrpc": "2.0", "result": ...}`` or the bare
        ``result``. Book-summary lists may mix options, futures and perpetuals (instrument
        kind follows the name); at least one option is required. Option ``mark_price`` is in
        coin, ``mark_iv`` in percent; future ``mark_price`` in USD; ``null`` bid/ask = missing.
    forward_pick
        ``"latest"`` or ``"median"`` (module notes).
    rules
        Plausibility rules (module notes); ``None`` for the documented defaults.

    Returns
    -------
    SnapshotLoad
        ``.snapshot`` with option quotes in ``quotes`` and futures/perpetual marks in
        ``futures``; ``.excluded`` items with reasons (``row`` = 1-based position in the list)
        and ``.warnings``.

    Raises
    ------
    DataFormatError
        For file-level problems, including a JSON-RPC error reply (its code and message are
        quoted).
    ValidationError
        If no path is given or ``forward_pick`` is invalid.
    """
    pick = check_forward_pick(forward_pick)
    if isinstance(path_or_paths, str | os.PathLike):
        paths = [Path(path_or_paths)]
    else:
        paths = [Path(path) for path in path_or_paths]
    if not paths:
        raise ValidationError("path_or_paths", path_or_paths, "at least one file")
    return assemble(read_payload_files(paths), pick, _rules(rules))


def load_snapshot(
    path: PathLike, *, forward_pick: ForwardPick = "latest", rules: SanityRules | None = None
) -> SnapshotLoad:
    """Load a Deribit snapshot file, JSON or CSV, recognised by its first non-blank character.

    A file starting with ``{`` or ``[`` goes to :func:`load_deribit_json`, any other to
    :func:`load_deribit_chain_csv`; ``forward_pick`` and ``rules`` are passed on.
    """
    try:
        with Path(path).open("rb") as handle:
            start = handle.read(4096)
    except OSError as exc:
        raise DataFormatError(str(path), f"cannot read file: {exc.strerror or exc}") from None
    if start.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"["):
        return load_deribit_json(path, forward_pick=forward_pick, rules=rules)
    return load_deribit_chain_csv(path, forward_pick=forward_pick, rules=rules)


def _rules(rules: SanityRules | None) -> SanityRules:
    if rules is None:
        return SanityRules()
    if not isinstance(rules, SanityRules):
        raise ValidationError("rules", rules, "a SanityRules or None")
    return rules
