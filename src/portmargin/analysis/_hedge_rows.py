"""Margin of many (account, trade) rows in few batch runs: every row is an account's
positions plus one trade, margined as an account of one book."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.instruments import Instrument
from portmargin.lifecycle import Margining, MethodMargining, Requirements
from portmargin.market import MarketSnapshot
from portmargin.methods import AccountInputs
from portmargin.risk import Book

__all__ = ["TradeRows"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TradeRows:
    """Margins accounts of ``book`` with one trade in a candidate added, in batch runs.

    Attributes
    ----------
    margining
        Requirements in USD (e.g. a :class:`~portmargin.lifecycle.MethodMargining`).
    book
        The accounts.
    market
        Market of every run.
    candidates
        Tradable instruments; a candidate named like a column of ``book`` is that column.
    max_rows
        Largest number of rows margined in one run (bigger requests are cut in chunks).
    """

    margining: Margining
    book: Book
    market: MarketSnapshot
    candidates: Sequence[Instrument]
    max_rows: int = 100_000
    _union: Book = dataclasses.field(init=False, repr=False)
    _column: NDArray[np.intp] = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = {inst.name: c for c, inst in enumerate(self.book.instruments)}
        extra = [i for i in self.candidates if i.name not in names]
        instruments = (*self.book.instruments, *extra)
        for c, inst in enumerate(extra, start=len(self.book.instruments)):
            names[inst.name] = c
        q = self.book.quantities
        union = Book(
            accounts=self.book.accounts,
            instruments=instruments,
            quantities=sp.csr_array(
                (q.data, q.indices, q.indptr), shape=(len(self.book.accounts), len(instruments))
            ),
        )
        object.__setattr__(self, "_union", union)
        column = np.array([names[i.name] for i in self.candidates], dtype=np.intp)
        object.__setattr__(self, "_column", column)

    def applied(
        self, account: NDArray[np.intp], candidate: NDArray[np.intp], quantity: NDArray[np.float64]
    ) -> Book:
        """Book of one row per trade: account ``account[r]`` (book row) with ``quantity[r]``
        coins of candidate ``candidate[r]`` added; rows are named ``"{account}"`` when every
        account appears once, else ``"{account}\\x00{r}"``. Columns: the instruments some
        row holds."""
        n = account.size
        base = self._union.quantities[account]
        trade = sp.csr_array(
            (quantity, (np.arange(n), self._column[candidate])), shape=(n, base.shape[1])
        )
        q = sp.csr_array(base + trade)
        q.eliminate_zeros()
        used = np.unique(q.indices)
        position = np.zeros(base.shape[1], dtype=q.indices.dtype)
        position[used] = np.arange(used.size, dtype=q.indices.dtype)
        q = sp.csr_array((q.data, position[q.indices], q.indptr), shape=(n, used.size))
        q.sort_indices()
        names = [self.book.accounts[a] for a in account.tolist()]
        if len(set(names)) != n:
            names = [f"{a}\x00{r}" for r, a in enumerate(names)]
        instruments = tuple(self._union.instruments[c] for c in used.tolist())
        return Book(accounts=tuple(names), instruments=instruments, quantities=q)

    def margins(
        self, account: NDArray[np.intp], candidate: NDArray[np.intp], quantity: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """IM and MM (USD) of each trade row (see :meth:`applied`), shape ``(r,)`` each; NaN
        where the engine reports the row as an error."""
        im = np.empty(account.size)
        mm = np.empty(account.size)
        for start in range(0, account.size, self.max_rows):
            part = slice(start, start + self.max_rows)
            req = self._requirements(account[part], candidate[part], quantity[part])
            im[part] = req.initial_margin
            mm[part] = req.maintenance_margin
        return im, mm

    def _requirements(
        self, account: NDArray[np.intp], candidate: NDArray[np.intp], quantity: NDArray[np.float64]
    ) -> Requirements:
        book = self.applied(account, candidate, quantity)
        margining = self.margining
        if isinstance(margining, MethodMargining) and margining.inputs:
            margining = dataclasses.replace(
                margining, inputs=_copied(margining.inputs, self.book.accounts, account, book)
            )
        return margining.requirements(book, self.market)


def _copied(
    inputs: AccountInputs, accounts: Sequence[str], rows: NDArray[np.intp], book: Book
) -> AccountInputs:
    """The inputs of account ``accounts[rows[r]]`` given to row ``book.accounts[r]``."""
    labels: dict[str, list[str]] = {}
    for a, label in zip(rows.tolist(), book.accounts, strict=True):
        labels.setdefault(accounts[a], []).append(label)
    values = {
        name: MappingProxyType(
            {(lab, g): x for (acc, g), x in given.items() for lab in labels.get(acc, ())}
        )
        for name, given in inputs.values.items()
    }
    return AccountInputs(MappingProxyType(values))
