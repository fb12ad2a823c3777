"""Holdings: the positions and balances of many accounts with the prices their futures' P&L
is settled at, so equity can be valued at any (moved) market."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.instruments import Currency, Future, Instrument, Perpetual, Settlement
from portmargin.market import MarketSnapshot
from portmargin.risk import Book, Kind, resolve_instruments

__all__ = ["Holdings"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Holdings:
    """Positions of many accounts, with the reference prices of their futures and perpetuals.

    Attributes
    ----------
    book
        Accounts × instruments (coins of underlying for derivatives and spot pairs, units of
        currency for balances; > 0 long). Balances hold cash including realised P&L,
        premiums, fees and funding (``lifecycle.md`` §1); they may be negative (borrowed).
    reference
        Shape ``(n_instruments,)``: for each future and perpetual, the price (USD, or quote
        currency, per coin) up to which its P&L is in the balances; its unrealised P&L at a
        market is measured from there (:func:`portmargin.risk.unsettled_pnl`); NaN where no
        mark was known (its holders cannot be valued) and for other instruments.
    """

    book: Book
    reference: NDArray[np.float64]

    def __post_init__(self) -> None:
        ref = np.array(self.reference, dtype=np.float64)
        if ref.shape != (len(self.book.instruments),):
            raise ValidationError(
                "reference", ref.shape, f"shape ({len(self.book.instruments)},) like the columns"
            )
        delta_one = _delta_one(self.book.instruments)
        bad = delta_one & ~np.isnan(ref) & ~(np.isfinite(ref) & (ref > 0))
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            name = self.book.instruments[k].name
            raise ValidationError(f"reference of {name}", float(ref[k]), "a price > 0")
        ref[~delta_one] = np.nan
        ref.flags.writeable = False
        object.__setattr__(self, "reference", ref)

    @property
    def accounts(self) -> tuple[str, ...]:
        """Account ids (rows)."""
        return self.book.accounts

    @classmethod
    def settled(cls, book: Book, market: MarketSnapshot) -> Holdings:
        """Holdings whose futures' P&L is settled at ``market``'s marks (unrealised P&L 0 there).

        A future or perpetual without a mark in ``market`` gets a NaN reference: the accounts
        holding it are reported as errors by :func:`account_values`, the others are valued.
        """
        return cls(book=book, reference=_marks(book.instruments, market))

    @classmethod
    def from_entries(
        cls, book: Book, entry: NDArray[np.float64], market: MarketSnapshot
    ) -> Holdings:
        """Holdings of positions opened at ``entry`` prices, settled at ``market``'s marks.

        The P&L from entry to the mark moves into the balance of the settlement currency:
        linear ``q (mark - entry)`` in the quote currency; inverse ``q (1 - entry / mark)``
        coin, and the inverse position keeps its USD notional: it is held as
        ``q entry / mark`` coins from then on (a contract of face value ``N`` USD is worth
        ``N (1/entry - 1/mark)`` coin whatever the mark).

        Parameters
        ----------
        book
            Positions; futures and perpetuals in coins at their entry price.
        entry
            Entry price of each stored position, aligned with ``book.quantities.data``
            (USD or quote currency per coin); NaN where the position has no entry price
            (settled at the mark) and for instruments other than futures and perpetuals.
        market
            The snapshot whose marks the P&L is settled at.
        """
        q = book.quantities
        entry = np.asarray(entry, dtype=np.float64)
        if entry.shape != q.data.shape:
            raise ValidationError("entry", entry.shape, f"shape {q.data.shape} like the positions")
        marks = _marks(book.instruments, market)
        cols = q.indices
        rows = np.repeat(np.arange(len(book.accounts)), np.diff(q.indptr))
        has = np.isfinite(marks[cols]) & np.isfinite(entry)
        if np.any(has & ~(entry > 0)):
            k = int(np.flatnonzero(has & ~(entry > 0))[0])
            raise ValidationError(
                f"entry of {book.instruments[cols[k]].name} in account {book.accounts[rows[k]]}",
                float(entry[k]),
                "a price > 0",
            )
        inverse = np.array([_inverse(i) for i in book.instruments], dtype=bool)[cols]
        m, e, qty = marks[cols], np.where(has, entry, marks[cols]), q.data
        with np.errstate(invalid="ignore", divide="ignore"):
            pnl = np.where(inverse, qty * (1.0 - e / m), qty * (m - e))
            new_qty = np.where(has & inverse, qty * e / m, qty)
        pnl = np.where(has, pnl, 0.0)
        currencies = [_settlement(i) for i in book.instruments]
        names = [i.name for i in book.instruments]
        extra = sorted({currencies[c] for c in cols[has]} - set(names))
        instruments = (*book.instruments, *(Currency(code=c) for c in extra))
        column = {inst.name: k for k, inst in enumerate(instruments)}
        settle_col = np.array([column.get(currencies[c], -1) for c in cols], dtype=np.intp)
        moved = has & (pnl != 0)
        new_book = Book.from_arrays(
            book.accounts,
            instruments,
            np.concatenate([rows, rows[moved]]),
            np.concatenate([cols, settle_col[moved]]),
            np.concatenate([new_qty, pnl[moved]]),
        )
        reference = np.concatenate([marks, np.full(len(extra), np.nan)])
        return cls(book=new_book, reference=reference)


def _delta_one(instruments: tuple[Instrument, ...]) -> NDArray[np.bool_]:
    return np.array([isinstance(i, Future | Perpetual) for i in instruments], dtype=bool)


def _inverse(inst: Instrument) -> bool:
    return isinstance(inst, Future | Perpetual) and inst.settlement is Settlement.INVERSE


def _settlement(inst: Instrument) -> str:
    return inst.settlement_currency if isinstance(inst, Future | Perpetual) else ""


def _marks(instruments: tuple[Instrument, ...], market: MarketSnapshot) -> NDArray[np.float64]:
    """Marks of futures and perpetuals (USD or quote per coin); NaN for other instruments and
    for those the market cannot price."""
    table = resolve_instruments(instruments, market)
    delta_one = ((table.kind == Kind.FUTURE) | (table.kind == Kind.PERPETUAL)) & table.usable
    return np.where(delta_one, table.forward, np.nan)
