"""Run a method over a book so that every account is accounted for and carries its equity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import MarketDataError, ValidationError, name_some
from portmargin.market import MarketSnapshot
from portmargin.methods._inputs import NO_INPUTS, AccountInputs, check_inputs
from portmargin.methods._protocol import MarginMethod, compute_with_inputs
from portmargin.results import MarginBatch
from portmargin.risk import (
    STABLECOINS,
    Book,
    Equity,
    InstrumentTable,
    account_equity,
    oversized_accounts,
    price_snapshot,
    resolve_instruments,
    with_expired_at_intrinsic,
)

__all__ = ["RunOptions", "run_method"]

IM_RAISED_NOTE = (
    "IM raised to MM for {n} row(s) where the venue's rounding of IM put it below MM "
    "(e.g. {account})"
)
UNLISTED_NAMED = 10
"""Instruments and accounts named in the note on unlisted instruments (the rest counted)."""
EMPTY_NOTE = "{n} account(s) hold no position with risk (empty, flat or collateral only): margin 0"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """Checks applied around a method's ``compute``.

    Attributes
    ----------
    max_abs_quantity
        Largest accepted ``|quantity|`` of one position (coins of underlying or currency
        units). Larger positions make their account an error instead of overflowing the
        arithmetic: no venue lists contracts anywhere near it (BTC's whole supply is 2.1e7
        coins), so such a quantity is a unit or typing error. Default ``1e12``.
    """

    max_abs_quantity: float = 1e12

    def __post_init__(self) -> None:
        if not (np.isfinite(self.max_abs_quantity) and self.max_abs_quantity > 0):
            raise ValidationError("max_abs_quantity", self.max_abs_quantity, "a finite number > 0")


def run_method(
    method: MarginMethod,
    book: Book,
    market: MarketSnapshot,
    params: Any,
    options: RunOptions | None = None,
    inputs: AccountInputs = NO_INPUTS,
) -> MarginBatch:
    """Margin of every account of ``book`` under ``method``, each account accounted for.

    ``inputs`` are per-account inputs the method declares (``method.account_inputs``); values
    of accounts that are not in ``book`` are not used. An input the method does not declare
    is a :class:`~portmargin.core.ValidationError`.

    Around ``method.compute``:

    - the book's instruments are resolved once (:func:`portmargin.risk.price_snapshot`; not
      at all when ``market`` is already priced for them): the method and the equity step
      take their rows;
    - columns are ordered by instrument name, so nothing an account gets (numbers or the
      reason it could not be computed) depends on the other accounts of the batch;
    - accounts with a position beyond ``options.max_abs_quantity`` are errors (the rest are
      computed);
    - accounts the method returns no row for (empty, flat, collateral only) get one row with
      margin 0, in the currency of their largest holding by USD value (``USD`` when they hold
      nothing);
    - rows whose IM is below their MM (a venue rounding IM on a tiny position) get IM = MM,
      and the batch notes say so;
    - every row carries the account's equity in its currency, the excess over the IM of the
      account's rows in that currency, and the margin ratio (their MM over equity). An
      account with one currency of rows values all its holdings into that currency; an
      account with rows in several currencies (margined separately per currency) counts in
      each the holdings settled in that currency. Options past expiry count at intrinsic
      value on the index.

    Returns
    -------
    MarginBatch
        Accounts in ``book`` = accounts with a row + accounts in ``errors``.
    """
    check_inputs(method.name, method.account_inputs, inputs)
    opts = options or RunOptions()
    ordered = book.with_columns_by_name()
    rejected = oversized_accounts(ordered, opts.max_abs_quantity)
    if rejected:
        keep = np.array([a not in rejected for a in ordered.accounts], dtype=bool)
        ordered = ordered.select_accounts(keep)
    priced = price_snapshot(market, ordered.instruments)
    mine = inputs.select(ordered.accounts) if inputs else inputs
    batch = compute_with_inputs(method, ordered, priced, params, mine)
    return _account_for(ordered, batch, priced, rejected)


def _account_for(
    book: Book, batch: MarginBatch, market: MarketSnapshot, rejected: dict[str, str]
) -> MarginBatch:
    # options past expiry count at intrinsic value: only a method that margins them (e.g.
    # span) returns rows for their holders, every other method reports them as errors
    table = with_expired_at_intrinsic(resolve_instruments(book.instruments, market))
    equity = account_equity(book, table)
    rows = _book_rows(book, batch)
    covered = np.zeros(len(book.accounts), dtype=bool)
    covered[rows] = True
    if batch.errors:
        errors = batch.errors
        covered[[r for r, a in enumerate(book.accounts) if a in errors]] = True
    missing_rows = np.flatnonzero(~covered)
    parts = [batch]
    notes: list[str] = []
    if missing_rows.size:
        missing = [book.accounts[r] for r in missing_rows.tolist()]
        parts.append(_zero_rows(batch, missing, equity, missing_rows))
        notes.append(EMPTY_NOTE.format(n=missing_rows.size))
        rows = np.concatenate([rows, missing_rows])
    if np.any(table.unlisted):
        notes.append(_unlisted_note(book, table, batch.errors))
    whole = MarginBatch.concat(parts) if len(parts) > 1 else batch
    im = whole.initial_margin
    low = im < whole.maintenance_margin
    if np.any(low):
        im = np.where(low, whole.maintenance_margin, im)
        first = str(whole.account[int(np.argmax(low))])
        notes.append(IM_RAISED_NOTE.format(n=int(low.sum()), account=first))
    funds = _funds(whole, im, rows, equity, market)
    return MarginBatch(
        method=whole.method,
        params_version=whole.params_version,
        account=whole.account,
        currency=whole.currency,
        initial_margin=im,
        maintenance_margin=whole.maintenance_margin,
        components=whole.components,
        sources=whole.sources,
        worst_scenario=whole.worst_scenario,
        group=whole.group,
        errors={**whole.errors, **rejected},
        explain=whole.explain,
        notes=(*whole.notes, *notes),
        equity=funds[0],
        excess=funds[1],
        margin_ratio=funds[2],
        figures=whole.figures,
    )


def _book_rows(book: Book, batch: MarginBatch) -> NDArray[np.intp]:
    """Book row of every batch row (no account map when the batch has exactly the book's
    accounts in book order, the usual case of a venue whose accounts all hold positions)."""
    n = len(book.accounts)
    if len(batch) == n and bool(np.all(batch.account == np.array(book.accounts, dtype=object))):
        return np.arange(n, dtype=np.intp)
    position = dict(zip(book.accounts, range(n), strict=True))
    labels = batch.account.tolist()
    return np.fromiter(map(position.__getitem__, labels), np.intp, len(labels))


def _unlisted_note(book: Book, table: InstrumentTable, errors: Mapping[str, str]) -> str:
    """Which computed accounts hold instruments priced from the smile, and which ones."""
    cols = np.flatnonzero(table.unlisted)
    holders = [
        a
        for a, held in zip(book.accounts, book.holders(cols).tolist(), strict=True)
        if held and a not in errors
    ]
    names = name_some([table.names[c] for c in cols.tolist()], UNLISTED_NAMED)
    return (
        f"priced from the smile, not listed in the snapshot: {names}; "
        f"held by {len(holders)} computed account(s): {name_some(holders, UNLISTED_NAMED)}"
    )


def _zero_rows(
    batch: MarginBatch, accounts: list[str], equity: Equity, rows: NDArray[np.intp]
) -> MarginBatch:
    amounts = equity.amounts[rows]
    held = np.any(amounts != 0.0, axis=1)
    largest = (
        np.argmax(np.abs(amounts * equity.usd_rate[None, :]), axis=1)
        if amounts.shape[1]
        else np.zeros(len(accounts), dtype=np.intp)  # a book without any instrument
    )
    labels = np.array([*equity.currencies, "USD"], dtype=object)
    ccy = labels[np.where(held, largest, len(equity.currencies))]
    n = len(accounts)
    return MarginBatch(
        method=batch.method,
        params_version=batch.params_version,
        account=np.array(accounts, dtype=object),
        currency=ccy,
        initial_margin=np.zeros(n),
        maintenance_margin=np.zeros(n),
        components={name: np.zeros(n) for name in batch.components},
        sources=batch.sources,
        worst_scenario=None if batch.worst_scenario is None else np.full(n, None, dtype=object),
        group=None if batch.group is None else np.full(n, None, dtype=object),
        figures={
            name: np.full(n, np.nan) if v.dtype.kind in "fiub" else np.full(n, None, dtype=object)
            for name, v in batch.figures.items()
        },
    )


def _funds(
    batch: MarginBatch,
    im: NDArray[np.float64],
    rows: NDArray[np.intp],
    equity: Equity,
    market: MarketSnapshot,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Equity, excess and margin ratio of every row (see :func:`run_method`); NaN where the
    row's currency has no USD price in ``market``."""
    r = len(batch)
    if r == 0:
        empty = np.zeros(0)
        return empty, empty, empty
    ccy_index = {c: k for k, c in enumerate(equity.currencies)}
    currencies = sorted(str(c) for c in set(batch.currency.tolist()))
    rate = np.array([_usd_rate(c, market) for c in currencies])
    code = np.searchsorted(np.array(currencies, dtype=object), batch.currency)
    # (account row, currency) cells: one key per distinct pair
    cell = rows.astype(np.int64) * len(currencies) + code
    cells, cell_of = np.unique(cell, return_inverse=True)
    n_ccy_of_account = np.bincount(cells // len(currencies), minlength=int(rows.max()) + 1)
    single = n_ccy_of_account[rows] == 1
    own = np.array([ccy_index.get(c, -1) for c in currencies], dtype=np.intp)[code]
    bucket = np.zeros(r)
    mine = own >= 0
    bucket[mine] = equity.amounts[rows[mine], own[mine]]
    with np.errstate(divide="ignore", invalid="ignore"):
        whole = np.where(rate[code] > 0, equity.total_usd()[rows] / rate[code], np.nan)
    eq: NDArray[np.float64] = np.where(single, whole, bucket).astype(np.float64)
    im_cell = np.bincount(cell_of, weights=im, minlength=len(cells))
    mm_cell = np.bincount(cell_of, weights=batch.maintenance_margin, minlength=len(cells))
    excess: NDArray[np.float64] = eq - im_cell[cell_of]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: NDArray[np.float64] = np.where(eq > 0, mm_cell[cell_of] / eq, np.nan)
    return eq, excess, ratio


def _usd_rate(currency: str, market: MarketSnapshot) -> float:
    """USD per unit of ``currency`` (stablecoins 1, coins their index; NaN when unpriced)."""
    if currency in STABLECOINS:
        return 1.0
    try:
        return market.index(currency)
    except MarketDataError:
        return float("nan")
