"""Books: positions of many accounts as a sparse accounts × instruments matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.instruments import Instrument
from portmargin.portfolio import Portfolio

__all__ = ["Book", "row_entries"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Book:
    """Signed quantities of ``n_accounts`` accounts in ``n_instruments`` instruments.

    Attributes
    ----------
    accounts
        Account ids, shape ``(n_accounts,)``.
    instruments
        Distinct instruments, shape ``(n_instruments,)`` (columns).
    quantities
        CSR matrix ``Q[n_accounts, n_instruments]`` of signed quantities (coins of underlying
        for derivatives and spot, currency units for balances; > 0 long). Explicit zeros are
        kept out.
    """

    accounts: tuple[str, ...]
    instruments: tuple[Instrument, ...]
    quantities: sp.csr_array

    def __post_init__(self) -> None:
        q = self.quantities
        if q.shape != (len(self.accounts), len(self.instruments)):
            raise ValidationError(
                "quantities", q.shape, f"shape ({len(self.accounts)}, {len(self.instruments)})"
            )
        if not np.all(np.isfinite(q.data)):
            raise ValidationError("quantities", "non-finite entries", "finite quantities")
        names = [i.name for i in self.instruments]
        if len(set(names)) != len(names):
            raise ValidationError("instruments", names, "distinct instruments")

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_accounts, n_instruments)``."""
        return (len(self.accounts), len(self.instruments))

    @classmethod
    def from_arrays(
        cls,
        accounts: Sequence[str],
        instruments: Sequence[Instrument],
        account_index: NDArray[np.intp],
        instrument_index: NDArray[np.intp],
        quantity: NDArray[np.float64],
    ) -> Book:
        """Build from coordinate arrays (one entry per position; repeats are summed).

        Parameters
        ----------
        accounts, instruments
            Row and column labels.
        account_index, instrument_index
            Row and column of each position, shape ``(n_positions,)``.
        quantity
            Signed quantity of each position, shape ``(n_positions,)``.
        """
        q = sp.coo_array(
            (np.asarray(quantity, dtype=np.float64), (account_index, instrument_index)),
            shape=(len(accounts), len(instruments)),
        ).tocsr()
        q.sum_duplicates()
        q.eliminate_zeros()
        return cls(accounts=tuple(accounts), instruments=tuple(instruments), quantities=q)

    @classmethod
    def from_portfolios(cls, portfolios: Sequence[Portfolio]) -> Book:
        """Build from portfolios (one row per portfolio, columns in first-seen order)."""
        columns: dict[str, int] = {}
        instruments: list[Instrument] = []
        rows: list[int] = []
        cols: list[int] = []
        qty: list[float] = []
        for a, portfolio in enumerate(portfolios):
            for p in portfolio.positions:
                c = columns.get(p.instrument.name)
                if c is None:
                    c = columns[p.instrument.name] = len(instruments)
                    instruments.append(p.instrument)
                rows.append(a)
                cols.append(c)
                qty.append(p.quantity)
        return cls.from_arrays(
            [p.account for p in portfolios],
            instruments,
            np.array(rows, dtype=np.intp),
            np.array(cols, dtype=np.intp),
            np.array(qty, dtype=np.float64),
        )

    def with_columns_by_name(self) -> Book:
        """The same positions with columns ordered by instrument name (``self`` when they
        already are); row entries stay sorted by column."""
        names = np.array([i.name for i in self.instruments], dtype=object)
        if names.size < 2 or bool(np.all(names[1:] > names[:-1])):
            return self
        order = np.argsort(names, kind="stable")
        new_column = np.empty_like(order)
        new_column[order] = np.arange(len(order))
        q = self.quantities
        quantities = sp.csr_array(
            (q.data.copy(), new_column[q.indices].astype(q.indices.dtype), q.indptr.copy()),
            shape=q.shape,
        )
        quantities.sort_indices()
        return Book(
            accounts=self.accounts,
            instruments=tuple(self.instruments[i] for i in order.tolist()),
            quantities=quantities,
        )

    def select_accounts(self, mask: NDArray[np.bool_]) -> Book:
        """The book restricted to the accounts where ``mask`` is True (same columns)."""
        keep = np.flatnonzero(mask)
        return Book(
            accounts=tuple(self.accounts[i] for i in keep),
            instruments=self.instruments,
            quantities=self.quantities[keep],
        )

    def holders(self, columns: NDArray[np.intp]) -> NDArray[np.bool_]:
        """Mask of accounts with a non-zero position in any of ``columns``."""
        if columns.size == 0:
            return np.zeros(len(self.accounts), dtype=bool)
        n = len(self.instruments)
        every = columns.size == n and np.array_equal(np.unique(columns), np.arange(n))
        sub = self.quantities if every else self.quantities[:, columns]
        result: NDArray[np.bool_] = np.diff(sub.indptr) > 0
        return result


def row_entries(
    quantities: sp.csr_array, row: int, columns: NDArray[np.intp] | None = None
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Stored entries of one row of a CSR matrix, read from its index arrays (no copy of
    the matrix, no scipy constructor).

    Parameters
    ----------
    quantities
        CSR matrix, shape ``(n_rows, n_columns)``.
    row
        Row index.
    columns
        Distinct column indices to restrict to, shape ``(k,)``; ``None`` keeps every column.

    Returns
    -------
    tuple of numpy.ndarray
        Column of each entry (its position in ``columns`` when given) and its value, shape
        ``(p,)`` each, in the order of ``quantities[[row]][:, columns].tocoo()``: the row's
        storage order.
    """
    span = slice(int(quantities.indptr[row]), int(quantities.indptr[row + 1]))
    cols = quantities.indices[span].astype(np.intp)
    data = np.asarray(quantities.data[span], dtype=np.float64)
    if columns is None:
        return cols, data
    position = np.full(quantities.shape[1], -1, dtype=np.intp)
    position[columns] = np.arange(len(columns), dtype=np.intp)
    local = position[cols]
    inside = local >= 0
    return local[inside], data[inside]
