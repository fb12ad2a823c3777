"""An engine that keeps a venue's book and results and re-margins only what changed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.instruments import Instrument
from portmargin.market import MarketSnapshot
from portmargin.methods import NO_INPUTS, AccountInputs, MarginMethod, RunOptions, run_method
from portmargin.portfolio import Portfolio
from portmargin.results import MarginBatch
from portmargin.risk import Book, PricedSnapshot, price_snapshot

__all__ = ["MarginEngine"]

Holdings = tuple[tuple[Instrument, ...], NDArray[np.float64]]
"""An account's instruments and signed quantities."""

BASE = -1
"""Owner of accounts whose rows come from the last full run (others: index of their part)."""


class MarginEngine:
    """Margin of every account of a book, kept up to date as prices and positions change.

    The engine holds the book, the market snapshot priced for the book's instruments (each
    resolved once per snapshot, :func:`portmargin.risk.price_snapshot`) and the results. A new
    snapshot re-margins
    every account in one batch over the book it already holds (no re-reading or rebuilding of
    positions); new positions for a few accounts re-margin only those accounts, each over the
    instruments it holds (taking the rows of the priced instruments; instruments the book did
    not hold are resolved on the fly), and their rows replace the old ones in :attr:`batch`.

    Every run goes through :func:`portmargin.methods.run_method`, so the engine's results are
    exactly those of a full run over the same book and snapshot (same rows, numbers, errors).

    Parameters
    ----------
    method, params
        The margin method and its parameters.
    book
        Accounts × instruments.
    market
        The snapshot to margin at.
    options
        Checks around the method (quantity bound); default :class:`RunOptions`.
    inputs
        Per-account inputs the method declares (``method.account_inputs``).
    """

    def __init__(
        self,
        method: MarginMethod,
        params: Any,
        book: Book,
        market: MarketSnapshot,
        options: RunOptions | None = None,
        inputs: AccountInputs = NO_INPUTS,
    ) -> None:
        self._method = method
        self._params = params
        self._options = options or RunOptions()
        self._market = market
        self._inputs = inputs
        self._reset(book)

    @property
    def inputs(self) -> AccountInputs:
        """The per-account inputs of the current results."""
        return self._inputs

    @property
    def market(self) -> MarketSnapshot:
        """The snapshot of the current results."""
        return self._market

    @property
    def priced(self) -> PricedSnapshot:
        """:attr:`market` priced for the instruments of the book of the last full run."""
        return self._priced

    @property
    def accounts(self) -> tuple[str, ...]:
        """Every account: those of the book of the last full run, then accounts added since."""
        known = set(self._book.accounts)
        return (*self._book.accounts, *(a for a in self._changed if a not in known))

    @property
    def book(self) -> Book:
        """The current positions of every account (built on request): columns in instrument
        name order as of the last full run, instruments first held since then after them."""
        if not self._changed:
            return self._book
        return _merge(self._book, self._changed)

    @property
    def batch(self) -> MarginBatch:
        """Current results of every account (assembled on request)."""
        if not self._parts:
            return self._full
        owner = self._owner
        pieces: list[MarginBatch] = []
        errors: dict[str, str] = {}
        for k, part in enumerate([self._full, *self._parts], start=BASE):
            mine = np.array([owner.get(a, BASE) == k for a in part.account.tolist()], dtype=bool)
            pieces.append(part.take(np.flatnonzero(mine)))
            errors.update((a, e) for a, e in part.errors.items() if owner.get(a, BASE) == k)
        whole = MarginBatch.concat(pieces)
        return whole.take(np.arange(len(whole)), errors=errors)

    def update_market(self, market: MarketSnapshot) -> MarginBatch:
        """Re-margin every account at ``market`` over the positions held now."""
        self._market = market
        self._reset(self.book)
        return self._full

    def update_positions(self, portfolios: Sequence[Portfolio]) -> MarginBatch:
        """Replace the positions of some accounts (new ones are added) and re-margin them.

        Parameters
        ----------
        portfolios
            The new positions of each account, in full (an empty portfolio holds nothing
            but remains an account).

        Returns
        -------
        MarginBatch
            The results of those accounts only; :attr:`batch` now includes them.
        """
        names = [p.account for p in portfolios]
        if len(set(names)) != len(names):
            raise ValidationError("portfolios", names, "each account at most once")
        book = Book.from_portfolios(portfolios)
        part = self._run_part(book)
        for row, account in enumerate(names):
            self._changed[account] = _rows_of(book, row)
        return part

    def update_inputs(self, inputs: AccountInputs) -> MarginBatch:
        """Replace the per-account inputs of the accounts ``inputs`` names and re-margin them.

        Each account named gets exactly the values given (an input not given to it falls
        back to its default); other accounts keep theirs.

        Returns
        -------
        MarginBatch
            The results of those accounts only; :attr:`batch` now includes them.

        Raises
        ------
        ValidationError
            If an account is not held by the engine, or an input is not declared by the
            method.
        """
        named = inputs.accounts()
        unknown = sorted(named - set(self.accounts))
        if unknown:
            raise ValidationError("inputs", unknown, "accounts the engine holds")
        updated = self._inputs.replace_accounts(inputs)
        book = self.book
        part = self._run_part(
            book.select_accounts(np.array([a in named for a in book.accounts], dtype=bool)),
            updated,
        )
        self._inputs = updated
        return part

    def _run_part(self, book: Book, inputs: AccountInputs | None = None) -> MarginBatch:
        """Margin the accounts of ``book`` over the priced snapshot; their rows replace the
        ones :attr:`batch` had."""
        chosen = self._inputs if inputs is None else inputs
        part = run_method(
            self._method, book, self._priced, self._params, self._options, inputs=chosen
        )
        index = len(self._parts)
        self._parts.append(part)
        for account in book.accounts:
            self._owner[account] = index
        return part

    def remove_accounts(self, accounts: Iterable[str]) -> None:
        """Take accounts out of the book and the results."""
        gone = set(accounts)
        unknown = sorted(gone - set(self.accounts))
        if unknown:
            raise ValidationError("accounts", unknown, "accounts the engine holds")
        book, current = self.book, self.batch
        self._book = book.select_accounts(np.array([a not in gone for a in book.accounts]))
        rows = np.flatnonzero([a not in gone for a in current.account.tolist()])
        errors = {a: e for a, e in current.errors.items() if a not in gone}
        self._full = current.take(rows, errors=errors)
        self._inputs = self._inputs.select(a for a in self._inputs.accounts() if a not in gone)
        self._forget_changes()

    def _reset(self, book: Book) -> None:
        self._book = book.with_columns_by_name()
        self._priced = price_snapshot(self._market, self._book.instruments)
        self._full = run_method(
            self._method, book, self._priced, self._params, self._options, inputs=self._inputs
        )
        self._forget_changes()

    def _forget_changes(self) -> None:
        """Start over from ``_book`` and ``_full``, which hold every account."""
        self._parts: list[MarginBatch] = []
        self._owner: dict[str, int] = {}
        self._changed: dict[str, Holdings] = {}


def _rows_of(book: Book, row: int) -> Holdings:
    """The instruments and quantities of account ``row`` of ``book``."""
    q = book.quantities
    span = slice(q.indptr[row], q.indptr[row + 1])
    return tuple(book.instruments[c] for c in q.indices[span].tolist()), q.data[span].copy()


def _merge(book: Book, changed: dict[str, Holdings]) -> Book:
    """``book`` with the rows of ``changed`` accounts replaced (new accounts appended)."""
    keep = np.array([a not in changed for a in book.accounts], dtype=bool)
    base = book.select_accounts(keep).quantities.tocoo()
    accounts = [a for a, k in zip(book.accounts, keep.tolist(), strict=True) if k]
    instruments = list(book.instruments)
    column = {i.name: c for c, i in enumerate(instruments)}
    rows, cols, qty = [base.row], [base.col], [base.data]
    for account, (insts, quantities) in changed.items():
        for inst in insts:
            if inst.name not in column:
                column[inst.name] = len(instruments)
                instruments.append(inst)
        rows.append(np.full(len(insts), len(accounts), dtype=np.intp))
        cols.append(np.array([column[i.name] for i in insts], dtype=np.intp))
        qty.append(quantities)
        accounts.append(account)
    return Book.from_arrays(
        accounts, instruments, np.concatenate(rows), np.concatenate(cols), np.concatenate(qty)
    )
