"""Prepare a book for a method: resolve instruments, set aside accounts that cannot be priced."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.market import MarketSnapshot
from portmargin.risk._book import Book
from portmargin.risk._priced import resolve_instruments
from portmargin.risk._table import InstrumentTable, with_expired_at_intrinsic

__all__ = ["PreparedBook", "group_columns", "prepare_book", "scenario_pnl", "set_aside"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PreparedBook:
    """A book whose every instrument has market data.

    Attributes
    ----------
    book
        Accounts that can be computed; columns are the resolved instruments.
    table
        Resolved instruments, aligned with ``book.instruments``.
    errors
        Accounts set aside → reason (names the instrument and what is missing).
    unlisted
        Account of ``book`` → names of the instruments it holds (non-zero quantity) that the
        snapshot does not list and that were priced from its forwards and smiles
        (``table.unlisted``; only when the snapshot allows unlisted instruments). Accounts
        holding none are absent.
    """

    book: Book
    table: InstrumentTable
    errors: Mapping[str, str]
    unlisted: Mapping[str, tuple[str, ...]]


def prepare_book(
    book: Book, market: MarketSnapshot, *, expired_at_intrinsic: bool = False
) -> PreparedBook:
    """Resolve ``book``'s instruments against ``market``; accounts holding an unpriceable
    instrument (missing market data, or not listed by a snapshot that does not allow unlisted
    instruments) go to ``errors`` and the rest, restricted to priceable columns, is returned
    with the unlisted instruments each account holds.

    With ``expired_at_intrinsic``, options past expiry are priced at intrinsic value on the
    index (:func:`~portmargin.risk.with_expired_at_intrinsic`) instead of making their
    holders errors; ``table.past_expiry`` marks them."""
    table = resolve_instruments(book.instruments, market)
    if expired_at_intrinsic:
        table = with_expired_at_intrinsic(table)
    usable = table.usable
    bad_cols = np.flatnonzero(~usable)
    held = book.quantities[:, bad_cols].tocsr()
    bad_rows = np.flatnonzero(np.diff(held.indptr) > 0)
    first_bad = bad_cols[held.indices[held.indptr[bad_rows]]]
    errors = {
        book.accounts[r]: table.missing[table.names[c]]
        for r, c in zip(bad_rows.tolist(), first_bad.tolist(), strict=True)
    }
    keep_cols = np.flatnonzero(usable)
    if bad_rows.size == 0 and keep_cols.size == len(book.instruments):
        return PreparedBook(
            book=book,
            table=table,
            errors=MappingProxyType(errors),
            unlisted=MappingProxyType(_unlisted_held(book, table)),
        )
    keep_rows = np.ones(len(book.accounts), dtype=bool)
    keep_rows[bad_rows] = False
    sub = book.quantities[np.flatnonzero(keep_rows)][:, keep_cols]
    good = Book(
        accounts=tuple(a for a, k in zip(book.accounts, keep_rows.tolist(), strict=True) if k),
        instruments=tuple(book.instruments[c] for c in keep_cols),
        quantities=sub.tocsr(),
    )
    kept = table.take(keep_cols)
    return PreparedBook(
        book=good,
        table=kept,
        errors=MappingProxyType(errors),
        unlisted=MappingProxyType(_unlisted_held(good, kept)),
    )


def _unlisted_held(book: Book, table: InstrumentTable) -> dict[str, tuple[str, ...]]:
    """Account → names of the unlisted instruments it holds (columns in book order)."""
    cols = np.flatnonzero(table.unlisted)
    if cols.size == 0:
        return {}
    held = book.quantities[:, cols].tocsr()
    held.eliminate_zeros()
    rows = np.flatnonzero(np.diff(held.indptr) > 0)
    return {
        book.accounts[r]: tuple(
            table.names[c] for c in np.sort(cols[held.indices[held.indptr[r] : held.indptr[r + 1]]])
        )
        for r in rows.tolist()
    }


def set_aside(
    book: Book, groups: Sequence[tuple[NDArray[np.intp], str]]
) -> tuple[Book, dict[str, str]]:
    """Take the holders of some columns out of ``book``, each with a reason.

    Parameters
    ----------
    book
        Accounts × instruments.
    groups
        ``(columns, reason)`` pairs in priority order: the accounts holding any of
        ``columns`` (instrument column indices, shape ``(c,)``) cannot be computed because
        of ``reason``.

    Returns
    -------
    tuple
        The book without those accounts (same columns; ``book`` itself when nobody is set
        aside) and account → reason, the reason of the first group an account falls in;
        accounts are listed by that group, then in book order.
    """
    if not groups:
        return book, {}
    cols = np.concatenate([np.asarray(c, dtype=np.intp) for c, _ in groups])
    group_of = np.repeat(np.arange(len(groups)), [len(c) for c, _ in groups])
    held = book.quantities[:, cols].tocsr()
    rows = np.flatnonzero(np.diff(held.indptr) > 0)
    if rows.size == 0:
        return book, {}
    first = np.minimum.reduceat(group_of[held.indices], held.indptr[rows])
    order = np.lexsort((rows, first))
    errors = {book.accounts[rows[i]]: groups[first[i]][1] for i in order.tolist()}
    keep = np.ones(len(book.accounts), dtype=bool)
    keep[rows] = False
    return book.select_accounts(keep), errors


def group_columns(keys: NDArray[np.object_]) -> dict[object, NDArray[np.intp]]:
    """Column indices per distinct key (e.g. settlement currency), keys in sorted order."""
    return {k: np.flatnonzero(keys == k) for k in sorted(set(keys.tolist()), key=str)}


def scenario_pnl(
    book: Book, columns: NDArray[np.intp], pnl: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per-account scenario P&L of the positions in ``columns``: ``Q[:, columns] @ pnl``.

    Parameters
    ----------
    book
        Accounts × instruments.
    columns
        Instrument columns to include, shape ``(c,)``.
    pnl
        P&L per unit of those instruments, shape ``(c, n_scenarios)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_accounts, n_scenarios)``.
    """
    result: NDArray[np.float64] = np.asarray(book.quantities[:, columns] @ pnl)
    return result
