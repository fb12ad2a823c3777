"""The compute layer of the service: snapshots, parameters in use and margin runs.

The desk keeps each parsed snapshot, priced for its listed instruments, in memory per
snapshot id (the last few used); instruments met in requests that the snapshot does not list
(e.g. a perpetual it has no quote for) are priced once and kept with it, up to
:data:`PRICED_INSTRUMENTS_MAX` instruments per snapshot. It also keeps the parameters of each
method as set in the store (a bundled pack plus ``--set`` style overrides, loaded through
:func:`portmargin.io.params.load_params`). Margin of posted positions, of one stored account,
what-if trades and the recompute of every stored account all go through
:func:`portmargin.analysis.compute_margin` (what-if through :func:`portmargin.analysis.what_if`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from portmargin.analysis import compute_margin, what_if
from portmargin.core import ValidationError
from portmargin.instruments import Instrument, parse_instrument
from portmargin.io.params import bundled_packs, load_params
from portmargin.io.positions import positions_from_table
from portmargin.lifecycle import Assessment
from portmargin.methods import MarginMethod, MethodParams, get_method
from portmargin.portfolio import Portfolio, Position
from portmargin.results import MarginResult
from portmargin.risk import Book, PricedSnapshot, price_snapshot
from portmargin.service._lifecycle import assess_batch, monitor, record_step, table_state
from portmargin.service._market import ParsedMarket, parse_market, priced_market
from portmargin.service._outcomes import AccountMargin, WhatIfMargin
from portmargin.service._results import batch_rows
from portmargin.store import NotFound, SnapshotRow, Store

__all__ = ["Desk", "Holding", "RecomputeProgress", "now_ms"]

Holding = tuple[str, float]
"""An instrument name (or currency code) and a signed quantity."""

RecomputeProgress = Callable[[int], None]
"""Called with the number of accounts done so far during a recompute."""

SNAPSHOTS_KEPT = 4
"""Parsed snapshots kept in memory (least recently used ones are dropped)."""
PRICED_INSTRUMENTS_MAX = 20_000
"""Instruments a kept snapshot is priced for at most (its own and those met in requests)."""
RECOMPUTE_CHUNK_ROWS = 400_000
"""Book rows margined and recorded per step of a recompute (about 20,000 accounts)."""


def now_ms() -> int:
    """Current time, integer epoch milliseconds UTC."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class _Loaded:
    snapshot_id: int
    market: PricedSnapshot


class Desk:
    """Snapshots, parameters and margin runs over a :class:`~portmargin.store.Store`.

    Parameters
    ----------
    store
        Where accounts, snapshots and parameters in use are kept.
    default_method
        Method used when a request names none.

    Notes
    -----
    Thread-safe: parsed snapshots and parameters are shared between request threads behind
    a lock; computations run outside it.
    """

    def __init__(self, store: Store, default_method: str) -> None:
        get_method(default_method)
        self._store = store
        self.default_method = default_method
        self._lock = threading.Lock()
        self._snapshots: OrderedDict[int, _Loaded] = OrderedDict()
        self._in_use: dict[str, tuple[str, tuple[str, ...]]] | None = None

    # -- snapshots -------------------------------------------------------------------------

    def market(self, snapshot_id: int | None = None) -> tuple[int, PricedSnapshot]:
        """The snapshot ``snapshot_id`` (None: the latest), parsed and priced.

        Raises
        ------
        ValidationError
            No such snapshot (field ``snapshot_id``), or none uploaded yet.
        """
        if snapshot_id is None:
            snapshot_id = self._store.latest_snapshot_id()
            if snapshot_id is None:
                raise ValidationError("snapshot_id", None, "an uploaded snapshot (none yet)")
        with self._lock:
            cached = self._snapshots.get(snapshot_id)
            if cached is not None:
                self._snapshots.move_to_end(snapshot_id)
                return snapshot_id, cached.market
        row = self._store.snapshot(snapshot_id)
        if row is None:
            raise ValidationError("snapshot_id", snapshot_id, "the id of an uploaded snapshot")
        market = priced_market(parse_market(snapshot_parts(row)).snapshot)
        self._keep(snapshot_id, market)
        return snapshot_id, market

    def priced_for(
        self, snapshot_id: int, market: PricedSnapshot, instruments: Sequence[Instrument]
    ) -> PricedSnapshot:
        """``market`` (snapshot ``snapshot_id``) priced for ``instruments`` too.

        Instruments it is not priced for are resolved once and kept with the snapshot, so the
        next request holding them reuses their rows (the same rows, bit for bit, as resolving
        them afresh). Past :data:`PRICED_INSTRUMENTS_MAX` instruments nothing more is kept:
        the computation then resolves the others itself.
        """
        if market.holds(instruments):
            return market
        with self._lock:
            kept = self._snapshots.get(snapshot_id)
            current = kept.market if kept is not None else market
            new = [i for i in dict.fromkeys(instruments) if not current.holds([i])]
            if not new:
                return current
            if len(current.table.instruments) + len(new) > PRICED_INSTRUMENTS_MAX:
                return current
            grown = price_snapshot(current, (*current.table.instruments, *new))
            if kept is not None:
                self._snapshots[snapshot_id] = _Loaded(snapshot_id=snapshot_id, market=grown)
            return grown

    def keep_parsed(self, snapshot_id: int, parsed: ParsedMarket) -> None:
        """Keep a snapshot parsed at upload under its new id (no second parse)."""
        self._keep(snapshot_id, priced_market(parsed.snapshot))

    def _keep(self, snapshot_id: int, market: PricedSnapshot) -> None:
        with self._lock:
            self._snapshots[snapshot_id] = _Loaded(snapshot_id=snapshot_id, market=market)
            self._snapshots.move_to_end(snapshot_id)
            while len(self._snapshots) > SNAPSHOTS_KEPT:
                self._snapshots.popitem(last=False)

    # -- parameters ------------------------------------------------------------------------

    def params(
        self, method: str | None = None, pack: str | None = None, overrides: Sequence[str] = ()
    ) -> tuple[MarginMethod, MethodParams]:
        """The method and its parameters: ``pack`` and ``overrides`` when given, otherwise
        those in use (set in the store; the method's default pack when none is set).

        Raises
        ------
        ValidationError
            Unknown method (field ``method``), a pack that is not bundled for it (``params``)
            or a bad override (its key path).
        """
        m = get_method(method or self.default_method)
        if pack is None and not overrides:
            pack, overrides = self.in_use().get(m.name, (m.default_pack, ()))
        return m, _load(m.name, pack, tuple(overrides))

    def in_use(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Method → (pack, overrides) set in the store."""
        with self._lock:
            if self._in_use is None:
                self._in_use = {
                    name: (row.pack, tuple(f"{k}={v}" for k, v in row.overrides.items()))
                    for name, row in self._store.params_in_use().items()
                }
            return dict(self._in_use)

    def forget_params(self) -> None:
        """Read the parameters in use from the store again on next use."""
        with self._lock:
            self._in_use = None

    # -- margin ----------------------------------------------------------------------------

    def margin(
        self,
        holdings: Sequence[Holding],
        *,
        account: str = "posted",
        snapshot_id: int | None = None,
        method: str | None = None,
        params: tuple[str | None, Sequence[str]] = (None, ()),
    ) -> AccountMargin:
        """Margin of ``holdings`` (one account) on a snapshot.

        Raises
        ------
        ValidationError
            A bad instrument name or quantity (field ``positions[i]...``), unknown method,
            pack, override or snapshot, or an account the method cannot margin (field
            ``positions``, the method's reason).
        """
        m, p = self.params(method, *params)
        sid, market = self.market(snapshot_id)
        portfolio = to_portfolio(account, holdings, "positions")
        priced = self.priced_for(sid, market, [q.instrument for q in portfolio.positions])
        return _one(m, p, portfolio, priced, sid)[0]

    def account_margin(
        self, account_id: str, method: str | None = None
    ) -> tuple[AccountMargin, Assessment]:
        """Margin of a stored account (positions and collateral) on the latest snapshot, with
        its lifecycle assessment (its state by the table alone, before the monitor).

        Raises
        ------
        NotFound
            No such account.
        """
        m, p = self.params(method)
        sid, market = self.market()
        portfolio = to_portfolio(account_id, self.holdings(account_id), "positions")
        priced = self.priced_for(sid, market, [q.instrument for q in portfolio.positions])
        return _one(m, p, portfolio, priced, sid)

    def holdings(self, account_id: str) -> list[Holding]:
        """Positions and collateral balances of a stored account (one store read).

        Raises
        ------
        NotFound
            No such account.
        """
        held = self._store.holdings(account_id)
        if held is None:
            raise NotFound("account", account_id)
        return held

    def what_if(
        self, account_id: str, trades: Sequence[Holding], method: str | None = None
    ) -> WhatIfMargin:
        """IM and MM of a stored account before and after ``trades`` (latest snapshot), through
        :func:`portmargin.analysis.what_if`.

        Raises
        ------
        ValidationError
            Bad trades (field ``trades[i]...``) or an account the method cannot margin.
        NotFound
            No such account.
        """
        holdings = self.holdings(account_id)
        m, p = self.params(method)
        sid, market = self.market()
        portfolio = to_portfolio(account_id, holdings, "positions")
        added = to_portfolio(account_id, trades, "trades").positions
        held = [q.instrument for q in (*portfolio.positions, *added)]
        (change,) = what_if(m, [portfolio], added, self.priced_for(sid, market, held), p)
        if change.error is not None:
            raise ValidationError("trades", [t[0] for t in trades], change.error)
        at = now_ms()

        def side(rows: tuple[MarginResult, ...]) -> AccountMargin:
            return AccountMargin(
                account=account_id,
                method=m.name,
                params_version=p.version,
                snapshot_id=sid,
                computed_ms=at,
                results=rows,
                notes=rows[0].notes if rows else (),
            )

        return WhatIfMargin(
            before=side(change.before),
            after=side(change.after),
            change_im=change.change_im,
            change_mm=change.change_mm,
        )

    def recompute(self, methods: Sequence[str], progress: RecomputeProgress) -> dict[str, Any]:
        """Margin of every stored account under each of ``methods`` on the latest snapshot,
        recorded in the results history, and each account's lifecycle state and margin calls
        moved on (:mod:`portmargin.service._lifecycle`), chunk by chunk.

        The book comes from :meth:`Store.book_table` and goes through the columnar path
        (``positions_from_table`` → ``compute_margin`` → ``to_arrow``; the batch's
        requirements feed :func:`portmargin.lifecycle.assess`, the method is not run twice).
        ``progress`` is called after each recorded chunk with the accounts done so far (over
        all methods).

        Returns
        -------
        dict
            ``accounts`` (with rows), ``rows`` recorded, ``errors`` (count), ``first_errors``
            (account → reason, the first few), ``snapshot_id``, ``notes`` per method,
            ``state_changes`` and ``calls`` (issued, raised or closed) over all methods, and
            ``stages``: wall seconds spent reading the book (store read and parse into a
            book), computing margin (method, result rows and lifecycle assessment) and writing
            results, history, states and calls (``read_book``, ``margin``, ``write``).
        """
        runs = [self.params(name) for name in methods]
        sid, market = self.market()
        stages = dict.fromkeys(("read_book", "margin", "write"), 0.0)
        start = time.perf_counter()
        book = self._store.book_table()
        chunks = _chunks(book)
        stages["read_book"] += time.perf_counter() - start
        done = recorded = changes = touched = 0
        errors: dict[str, str] = {}
        notes: dict[str, list[str]] = {}
        for m, p in runs:
            for chunk in chunks:
                start = time.perf_counter()
                pos = positions_from_table(chunk, "store")
                parsed = time.perf_counter()
                batch = compute_margin(m, pos.book, market, p)
                at = now_ms()
                rows, failed = batch_rows(batch, sid, at)
                assessment = assess_batch(batch, pos.book, market)
                computed = time.perf_counter()
                with self._store.begin() as tx:
                    recorded += tx.record_results(rows, update_status=False)
                    step = monitor(tx, m.name, assessment, at)
                    changes += record_step(tx, m.name, step, assessment, sid)
                touched += len(step.calls)
                stages["read_book"] += parsed - start
                stages["margin"] += computed - parsed
                stages["write"] += time.perf_counter() - computed
                errors.update(pos.account_errors)
                errors.update(failed)
                errors.update(assessment.errors)
                notes.setdefault(m.name, []).extend(
                    n for n in batch.notes if n not in notes.get(m.name, ())
                )
                done += len(pos.book.accounts) + len(pos.account_errors)
                progress(done)
        return {
            "snapshot_id": sid,
            "accounts": pc.count_distinct(book.column("account")).as_py(),
            "rows": recorded,
            "errors": len(errors),
            "first_errors": dict(list(errors.items())[:20]),
            "notes": notes,
            "state_changes": changes,
            "calls": touched,
            "stages": {k: round(v, 3) for k, v in stages.items()},
        }


@lru_cache(maxsize=64)
def _load(method: str, pack: str | None, overrides: tuple[str, ...]) -> MethodParams:
    """Parameters of ``method`` from a bundled pack (never a file path) and overrides."""
    m = get_method(method)
    if pack is not None and pack not in bundled_packs(m.name):
        raise ValidationError(
            "params", pack, f"a bundled pack of {m.name}: {bundled_packs(m.name)}"
        )
    return load_params(m, pack, overrides)


@lru_cache(maxsize=100_000)
def _instrument(name: str) -> Instrument:
    """:func:`parse_instrument`, once per name (instruments are immutable)."""
    return parse_instrument(name)


def to_portfolio(account: str, holdings: Sequence[Holding], field: str) -> Portfolio:
    """One portfolio of ``holdings`` (repeated instruments summed).

    Raises
    ------
    ValidationError
        A name that is not an instrument or currency code (field ``<field>[i].instrument``)
        or a quantity that is not finite (``<field>[i].quantity``).
    """
    positions = []
    for i, (name, quantity) in enumerate(holdings):
        try:
            instrument = _instrument(name)
        except ValueError as exc:
            raise ValidationError(f"{field}[{i}].instrument", name, str(exc)) from None
        try:
            positions.append(Position(instrument=instrument, quantity=quantity))
        except ValidationError as exc:
            raise ValidationError(f"{field}[{i}].quantity", quantity, exc.expected) from None
    return Portfolio.from_positions(account, positions)


def _one(
    method: MarginMethod,
    params: MethodParams,
    portfolio: Portfolio,
    market: PricedSnapshot,
    snapshot_id: int,
) -> tuple[AccountMargin, Assessment]:
    book = Book.from_portfolios([portfolio])
    batch = compute_margin(method, book, market, params)
    error = batch.errors.get(portfolio.account)
    if error is not None:
        raise ValidationError(
            "positions", [p.instrument.name for p in portfolio.positions][:10], error
        )
    assessment = assess_batch(batch, book, market)
    margin = AccountMargin(
        account=portfolio.account,
        method=method.name,
        params_version=batch.params_version,
        snapshot_id=snapshot_id,
        computed_ms=now_ms(),
        results=tuple(batch.results()),
        notes=batch.notes,
        lifecycle=table_state(assessment),
    )
    return margin, assessment


def _chunks(book: pa.Table) -> list[pa.Table]:
    """``book`` (ordered by account) cut into slices of about :data:`RECOMPUTE_CHUNK_ROWS`
    rows, never splitting an account."""
    n = book.num_rows
    if n == 0:
        return []
    accounts = book.column("account")
    out = []
    start = 0
    while start < n:
        stop = min(start + RECOMPUTE_CHUNK_ROWS, n)
        if stop < n:
            last = accounts[stop - 1].as_py()
            while stop < n and accounts[stop].as_py() == last:
                stop += 1
        out.append(book.slice(start, stop - start))
        start = stop
    return out


def snapshot_parts(row: SnapshotRow) -> list[tuple[str, bytes]]:
    """The ``(format, payload)`` parts of a stored snapshot."""
    parts = []
    for part in row.parts:
        if part.payload is None:
            raise ValidationError("snapshot_id", row.snapshot_id, "a snapshot with its payloads")
        parts.append((part.format, part.payload))
    return parts
