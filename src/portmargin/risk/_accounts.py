"""Account-level checks and valuation shared by every method: quantity bounds and equity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.risk._array import unit_values
from portmargin.risk._book import Book
from portmargin.risk._table import STABLECOINS, InstrumentTable, Kind

__all__ = ["Equity", "account_equity", "oversized_accounts", "unsettled_pnl"]


def oversized_accounts(book: Book, max_abs_quantity: float) -> dict[str, str]:
    """Accounts holding a position larger than ``max_abs_quantity`` in absolute value.

    Parameters
    ----------
    book
        Accounts × instruments (quantities in coins of underlying or currency units).
    max_abs_quantity
        Largest accepted ``|quantity|`` of one position.

    Returns
    -------
    dict
        Account → reason naming the instrument, the quantity and the bound (the instrument
        of the largest such position, ties to the first by name), in book order.
    """
    q = book.quantities
    big = np.abs(q.data) > max_abs_quantity
    if not np.any(big):
        return {}
    rows = np.repeat(np.arange(len(book.accounts)), np.diff(q.indptr))
    names = np.array([i.name for i in book.instruments], dtype=object)
    hit = np.flatnonzero(big)
    order = np.lexsort((names[q.indices[hit]], -np.abs(q.data[hit]), rows[hit]))
    hit = hit[order]
    first = hit[np.r_[True, rows[hit][1:] != rows[hit][:-1]]]
    return {
        book.accounts[rows[k]]: (
            f"quantity {q.data[k]:g} of {names[q.indices[k]]} is outside the supported range "
            f"|quantity| <= {max_abs_quantity:g}; check the positions file"
        )
        for k in first.tolist()
    }


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Equity:
    """Value of every account's holdings, bucketed by currency.

    Attributes
    ----------
    currencies
        Currency of each bucket, shape ``(c,)``, sorted.
    amounts
        Shape ``(n_accounts, c)``: value of the account's holdings settled in each currency,
        in that currency (balances at face value, spot pairs at the index in their quote
        currency, options at their model value, long > 0 and short < 0; futures and
        perpetuals 0, their P&L being settled into balances).
    usd_rate
        USD per unit of each currency, shape ``(c,)`` (stablecoins 1, coins the index).
    """

    currencies: tuple[str, ...]
    amounts: NDArray[np.float64]
    usd_rate: NDArray[np.float64]

    def total_usd(self) -> NDArray[np.float64]:
        """Equity of every account in USD, shape ``(n_accounts,)``."""
        result: NDArray[np.float64] = self.amounts @ self.usd_rate
        return result


def account_equity(
    book: Book, table: InstrumentTable, reference: NDArray[np.float64] | None = None
) -> Equity:
    """Value the holdings of every account of ``book``.

    Parameters
    ----------
    book
        Accounts × instruments.
    table
        ``book.instruments`` resolved against the snapshot (:func:`resolve_instruments`).
        Instruments it cannot price contribute nothing (their holders are reported as errors
        by the methods); neither do coins without an index.
    reference
        Optional, shape ``(n_instruments,)``: for futures and perpetuals, the price (USD or
        quote currency per coin) up to which their P&L is already in the balances; they
        then carry the rest, ``mark - reference`` per coin in the quote currency (linear) or
        ``1 - reference / mark`` coin per coin (inverse), ``mark`` being ``table.forward``.
        Other rows ignore it. Without it futures and perpetuals are worth 0 (settled at the
        mark).
    """
    value = np.nan_to_num(unit_values(table), nan=0.0)
    if reference is not None:
        value += np.nan_to_num(unsettled_pnl(table, reference), nan=0.0)
    settle = table.settlement_currency
    currencies = tuple(sorted({str(c) for c in settle.tolist()}))
    # column k of ``weights`` holds the unit values of the instruments settled in currency k:
    # one sparse product for every bucket, no column slicing of the book
    weights = np.zeros((len(book.instruments), len(currencies)))
    usd_rate = np.zeros(len(currencies))
    for k, ccy in enumerate(currencies):
        cols = np.flatnonzero(settle == ccy)
        weights[cols, k] = value[cols]
        if ccy in STABLECOINS:
            usd_rate[k] = 1.0
        else:
            priced = cols[np.isfinite(table.index[cols])]
            usd_rate[k] = table.index[priced[0]] if priced.size else 0.0
    amounts = np.asarray(book.quantities @ weights, dtype=np.float64).reshape(
        len(book.accounts), len(currencies)
    )
    return Equity(currencies=currencies, amounts=amounts, usd_rate=usd_rate)


def unsettled_pnl(table: InstrumentTable, reference: NDArray[np.float64]) -> NDArray[np.float64]:
    """P&L per coin held of futures and perpetuals since ``reference``, settlement currency.

    Linear: ``mark - reference`` (quote currency); inverse: ``1 - reference / mark`` coin;
    ``mark`` is ``table.forward`` (the venue mark, else the forward). Other rows 0; rows
    listed in ``table.missing`` NaN. Shape ``(n_instruments,)``.

    A NaN reference (no price known) gives NaN.

    Raises
    ------
    ValidationError
        If ``reference`` has the wrong shape or a future or perpetual has a reference that is
        not NaN or a finite price > 0.
    """
    ref = np.asarray(reference, dtype=np.float64)
    if ref.shape != (len(table),):
        raise ValidationError("reference", ref.shape, f"shape ({len(table)},)")
    delta_one = (table.kind == Kind.FUTURE) | (table.kind == Kind.PERPETUAL)
    bad = delta_one & ~np.isnan(ref) & ~(np.isfinite(ref) & (ref > 0))
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValidationError(f"reference of {table.names[k]}", float(ref[k]), "a price > 0")
    mark = table.forward
    pnl = np.zeros(len(table))
    with np.errstate(divide="ignore", invalid="ignore"):
        pnl[delta_one] = np.where(
            table.inverse[delta_one],
            1.0 - ref[delta_one] / mark[delta_one],
            mark[delta_one] - ref[delta_one],
        )
    pnl[~table.usable] = np.nan
    return pnl
