"""Sum position requirements into (account, currency) rows with bincount, never per account."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.results import Contribution, Explainer
from portmargin.risk import Book

__all__ = ["Positions", "RowSums", "explainer", "row_sums"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Positions:
    """The non-zero entries of a book, shape ``(p,)`` each (CSR order).

    Attributes
    ----------
    account, column
        Row and column of each entry in the book.
    quantity
        Signed quantity (coins of underlying; > 0 long).
    """

    account: NDArray[np.intp]
    column: NDArray[np.intp]
    quantity: FloatArray

    @classmethod
    def of(cls, book: Book) -> Positions:
        """Entries of ``book.quantities`` (no Python loop over accounts)."""
        q = book.quantities
        counts = np.diff(q.indptr)
        return cls(
            account=np.repeat(np.arange(len(book.accounts), dtype=np.intp), counts),
            column=q.indices.astype(np.intp),
            quantity=np.asarray(q.data, dtype=np.float64),
        )

    def select(self, mask: NDArray[np.bool_]) -> Positions:
        """The entries where ``mask`` is True."""
        return Positions(
            account=self.account[mask], column=self.column[mask], quantity=self.quantity[mask]
        )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RowSums:
    """Row labels and the row of each position.

    Attributes
    ----------
    account, currency
        Row labels, object arrays of shape ``(r,)``.
    row
        Row index of each position, shape ``(p,)``.
    """

    account: NDArray[np.object_]
    currency: NDArray[np.object_]
    row: NDArray[np.intp]

    def total(self, amounts: FloatArray) -> FloatArray:
        """Per-row sums of per-position ``amounts``, shape ``(r,)``."""
        sums = np.bincount(self.row, weights=amounts, minlength=len(self.account))
        return np.asarray(sums, dtype=np.float64)

    def by_group(self, amounts: FloatArray, group: NDArray[np.intp], n_groups: int) -> FloatArray:
        """Per-row, per-group sums, shape ``(r, n_groups)``."""
        r = len(self.account)
        flat = np.bincount(self.row * n_groups + group, weights=amounts, minlength=r * n_groups)
        return np.asarray(flat, dtype=np.float64).reshape(r, n_groups)


def row_sums(
    accounts: NDArray[np.object_],
    positions: Positions,
    column_currency: NDArray[np.object_] | None,
    keep: NDArray[np.bool_],
) -> RowSums:
    """Rows of the result.

    Parameters
    ----------
    accounts
        Account ids of the book, shape ``(a,)``.
    positions
        Positions to assign, all of accounts in ``keep``.
    column_currency
        Row currency of each instrument column, shape ``(m,)``: one row per (account,
        currency) with positions. ``None``: one ``"USD"`` row per kept account.
    keep
        Accounts to report, shape ``(a,)``.
    """
    if column_currency is None:
        kept = np.flatnonzero(keep)
        slot = np.full(len(accounts), -1, dtype=np.intp)
        slot[kept] = np.arange(kept.size)
        return RowSums(
            account=accounts[kept],
            currency=np.full(kept.size, "USD", dtype=object),
            row=slot[positions.account],
        )
    codes, column_code = np.unique(column_currency.astype(str), return_inverse=True)
    n_codes = max(len(codes), 1)
    key = positions.account * n_codes + column_code.astype(np.intp)[positions.column]
    used = np.bincount(key, minlength=len(accounts) * n_codes) > 0
    keys = np.flatnonzero(used)
    slot = np.cumsum(used, dtype=np.intp) - 1
    return RowSums(
        account=accounts[keys // n_codes],
        currency=codes[keys % n_codes].astype(object),
        row=slot[key],
    )


def explainer(
    rows: RowSums, names: tuple[str, ...], positions: Positions, im: FloatArray
) -> Explainer:
    """Per-row contributions: ``Contribution(instrument, quantity, pnl=-IM of the position)``,
    in the row currency (built on demand for the requested row only)."""
    if bool(np.all(rows.row[1:] >= rows.row[:-1])):  # already grouped by row (CSR order)
        bounds = np.searchsorted(rows.row, np.arange(len(rows.account) + 1))
        cols, qty, req = positions.column, positions.quantity, im
    else:
        order = np.argsort(rows.row, kind="stable")
        bounds = np.searchsorted(rows.row[order], np.arange(len(rows.account) + 1))
        cols, qty, req = positions.column[order], positions.quantity[order], im[order]

    def explain(i: int) -> tuple[Contribution, ...]:
        part = slice(int(bounds[i]), int(bounds[i + 1]))
        return tuple(
            Contribution(instrument=names[int(c)], quantity=float(q), pnl=-float(v))
            for c, q, v in zip(cols[part], qty[part], req[part], strict=True)
        )

    return explain
