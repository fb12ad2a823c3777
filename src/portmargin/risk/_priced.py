"""A market snapshot that carries its instruments already resolved (the priced form)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from portmargin.instruments import Instrument
from portmargin.market import MarketSnapshot
from portmargin.risk._table import InstrumentTable, resolve_fresh

__all__ = ["PricedSnapshot", "price_snapshot", "resolve_instruments"]


def _no_rows() -> InstrumentTable:
    return _concat(())


def _no_index() -> Mapping[Instrument, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PricedSnapshot(MarketSnapshot):
    """A :class:`~portmargin.market.MarketSnapshot` with some instruments resolved against it.

    It is the snapshot (every method takes it where it takes a snapshot) plus the
    :class:`InstrumentTable` of the instruments it was priced for, so that
    :func:`resolve_instruments` takes their rows instead of resolving them again: a book's
    instruments are resolved once per snapshot, however many times a run (the method, then the
    equity of the accounts) or an engine (one account after another) asks for them. Build it
    with :func:`price_snapshot`.

    Attributes
    ----------
    table
        The priced instruments, resolved against this snapshot under its ``allow_unlisted``
        (not an argument: a snapshot made by ``dataclasses.replace``, e.g. by
        :meth:`MarketSnapshot.with_unlisted_allowed`, holds no rows, so rows are never reused
        under other market data or another permission).
    """

    table: InstrumentTable = field(init=False, repr=False, default_factory=_no_rows)
    _rows: Mapping[Instrument, int] = field(init=False, repr=False, default_factory=_no_index)

    def holds(self, instruments: Sequence[Instrument]) -> bool:
        """True when every one of ``instruments`` is priced in :attr:`table`."""
        rows = self._rows
        return all(i in rows for i in instruments)

    def with_unlisted_allowed(self) -> MarketSnapshot:
        """The same snapshot allowing unlisted instruments, its instruments priced again under
        that permission; ``self`` if already allowed."""
        allowed = MarketSnapshot.with_unlisted_allowed(self)
        if allowed is self:
            return self
        return price_snapshot(allowed, self.table.instruments)


def price_snapshot(market: MarketSnapshot, instruments: Sequence[Instrument]) -> PricedSnapshot:
    """``market`` with ``instruments`` resolved once (rows ``market`` already holds are reused).

    Parameters
    ----------
    market
        The snapshot (plain or priced).
    instruments
        Distinct instruments to price (e.g. a book's columns).

    Returns
    -------
    PricedSnapshot
        ``market`` itself when it is priced for every instrument; otherwise a priced copy of
        it (same market data and permission, no re-validation) whose table holds
        ``instruments`` in the given order.
    """
    insts = tuple(instruments)
    if isinstance(market, PricedSnapshot) and market.holds(insts):
        return market
    table = resolve_instruments(insts, market)
    priced = object.__new__(PricedSnapshot)
    for f in dataclasses.fields(MarketSnapshot):
        object.__setattr__(priced, f.name, getattr(market, f.name))
    object.__setattr__(priced, "table", table)
    object.__setattr__(priced, "_rows", MappingProxyType({i: r for r, i in enumerate(insts)}))
    return priced


def resolve_instruments(
    instruments: Sequence[Instrument], market: MarketSnapshot
) -> InstrumentTable:
    """Resolve instruments into an :class:`InstrumentTable` against ``market``.

    The table is the one :func:`resolve_fresh` computes (see there: prices, vols, discount
    factors, ``missing`` reasons and ``unlisted`` flags), bit for bit. When ``market`` is a
    :class:`PricedSnapshot`, the rows of the instruments it holds are taken from its table and
    only the others are resolved.
    """
    insts = tuple(instruments)
    if not isinstance(market, PricedSnapshot) or not insts:
        return resolve_fresh(insts, market)
    rows = np.fromiter((market._rows.get(i, -1) for i in insts), dtype=np.intp, count=len(insts))
    known = rows >= 0
    if known.all():
        return market.table.take(rows)
    if not known.any() or len({i.name for i in insts}) != len(insts):
        return resolve_fresh(insts, market)
    new = np.flatnonzero(~known)
    fresh = resolve_fresh([insts[r] for r in new.tolist()], market)
    both = _concat((market.table.take(rows[known]), fresh))
    order = np.empty(len(insts), dtype=np.intp)
    order[known] = np.arange(int(known.sum()))
    order[new] = int(known.sum()) + np.arange(new.size)
    return both.take(order)


def _concat(tables: Sequence[InstrumentTable]) -> InstrumentTable:
    """Rows of ``tables`` one after the other (instrument names distinct across tables)."""
    arrays = {
        name: np.concatenate([getattr(t, name) for t in tables]) if tables else np.empty(0, dtype)
        for name, dtype in _COLUMNS.items()
    }
    return InstrumentTable(
        instruments=tuple(i for t in tables for i in t.instruments),
        names=tuple(n for t in tables for n in t.names),
        missing=MappingProxyType({n: r for t in tables for n, r in t.missing.items()}),
        **arrays,
    )


_COLUMNS: dict[str, type] = {
    "kind": np.int8,
    "underlying": object,
    "settlement_currency": object,
    "inverse": np.bool_,
    "strike": np.float64,
    "is_call": np.bool_,
    "expiry_ms": np.int64,
    "tau": np.float64,
    "forward": np.float64,
    "index": np.float64,
    "sigma": np.float64,
    "df": np.float64,
    "unlisted": np.bool_,
}
"""Array columns of :class:`InstrumentTable` and their dtypes."""
