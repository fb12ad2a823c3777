"""Margin modes side by side: isolated, cross and portfolio (``lifecycle.md`` §1).

Isolated positions become their own *margin units*: a row of the holdings holding only that
position and its own collateral ``C_p`` (in the position's settlement currency, moved out of
the account's cross pool), so every batch computation (equity, requirements, states,
liquidation) treats it alone: its losses can take at most ``C_p``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.instruments import Currency, Future, Instrument, Option, Perpetual, Spot
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._params import LifecycleParams
from portmargin.lifecycle._requirements import Margining
from portmargin.lifecycle._states import Assessment, assess
from portmargin.market import MarketSnapshot
from portmargin.risk import STABLECOINS, Book

__all__ = [
    "ISOLATED_TAG",
    "MarginMode",
    "ModeComparison",
    "compare_modes",
    "isolate",
    "unit_owner",
]

ISOLATED_TAG = "/isolated/"
"""Unit id of an isolated position: ``<account>/isolated/<instrument>``."""


class MarginMode(StrEnum):
    """How an account's positions are margined (``lifecycle.md`` §1)."""

    CROSS = "cross"
    """One collateral pool, requirements per position, summed (``standard`` margin)."""
    ISOLATED = "isolated"
    """Each isolated position has its own collateral and is liquidated alone."""
    PORTFOLIO = "portfolio"
    """One requirement from a portfolio method over all positions."""


def unit_owner(unit: str) -> str:
    """The account a margin unit belongs to (the unit itself for a cross pool)."""
    return unit.split(ISOLATED_TAG, 1)[0]


def _settlement(inst: Instrument) -> str:
    if isinstance(inst, Future | Perpetual | Option):
        return inst.settlement_currency
    if isinstance(inst, Spot):
        return inst.quote
    raise ValidationError("isolated position", inst.name, "a derivative or spot pair")


def _amount_ok(amount: object) -> bool:
    return (
        not isinstance(amount, bool)
        and isinstance(amount, int | float)
        and bool(np.isfinite(amount))
        and amount >= 0
    )


def isolate(holdings: Holdings, collateral: Mapping[tuple[str, str], float]) -> Holdings:
    """Holdings with the given positions isolated, each with its own collateral.

    Parameters
    ----------
    holdings
        Accounts (rows) as cross pools.
    collateral
        ``(account, instrument name)`` → ``C_p`` >= 0, in the position's settlement currency
        (the coin for inverse contracts, the quote for linear ones). The position moves to a
        new row ``<account>/isolated/<instrument>`` holding it and a balance ``C_p``; the
        account's own row keeps the rest and gives up ``C_p`` of that currency (it may go
        negative: the pool then borrows). Rows are sorted by id, so results do not depend on
        the order of ``collateral``.

    Raises
    ------
    ValidationError
        If an account or position is not held, the instrument is a currency balance, or an
        amount is not a finite number >= 0.
    """
    book = holdings.book
    q = book.quantities.tocoo()
    names = [i.name for i in book.instruments]
    column = {n: k for k, n in enumerate(names)}
    row_of = {a: k for k, a in enumerate(book.accounts)}
    held = {
        (book.accounts[r], names[c]): float(v) for r, c, v in zip(q.row, q.col, q.data, strict=True)
    }
    instruments = list(book.instruments)
    units: list[str] = list(book.accounts)
    rows, cols, qty = q.row.tolist(), q.col.tolist(), q.data.tolist()
    for (account, name), amount in sorted(collateral.items()):
        where = f"isolated collateral of {name} in account {account}"
        if (account, name) not in held:
            raise ValidationError(where, name, f"a position held by account {account!r}")
        inst = book.instruments[column[name]]
        if isinstance(inst, Currency):
            raise ValidationError(where, name, "a position, not a currency balance")
        if not _amount_ok(amount):
            raise ValidationError(where, amount, "a finite amount >= 0 (settlement currency)")
        currency = _settlement(inst)
        if currency not in column:
            column[currency] = len(instruments)
            instruments.append(Currency(code=currency))
        unit = len(units)
        units.append(f"{account}{ISOLATED_TAG}{name}")
        # move the position out of the pool, then the collateral
        rows += [row_of[account], unit, row_of[account], unit]
        cols += [column[name], column[name], column[currency], column[currency]]
        qty += [-held[account, name], held[account, name], -float(amount), float(amount)]
    order = sorted(range(len(units)), key=units.__getitem__)
    new_row = np.empty(len(units), dtype=np.intp)
    new_row[order] = np.arange(len(units))
    new_book = Book.from_arrays(
        [units[k] for k in order],
        instruments,
        new_row[np.array(rows, dtype=np.intp)],
        np.array(cols, dtype=np.intp),
        np.array(qty, dtype=np.float64),
    )
    reference = np.concatenate(
        [holdings.reference, np.full(len(instruments) - len(book.instruments), np.nan)]
    )
    return Holdings(book=new_book, reference=reference)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ModeComparison:
    """The same accounts under the three margin modes, at one market (USD).

    Attributes
    ----------
    accounts
        Account ids, shape ``(n,)``.
    cross, portfolio
        Assessments of the accounts as one pool (per-position and portfolio requirements).
    isolated
        Assessment of the margin units after isolating every derivative position with
        collateral equal to its own IM (converted to its settlement currency); cross pools
        keep the rest. Unit ids are in ``isolated.accounts`` (:func:`unit_owner` maps them
        back).
    isolated_im, isolated_mm
        Sum over an account's units of IM and MM, shape ``(n,)``; NaN for accounts in
        ``isolated_errors``.
    isolated_worst_state
        Worst state code over an account's units, shape ``(n,)`` (-1 for accounts in
        ``isolated_errors``).
    isolated_errors
        Account → reason one of its positions or units could not be margined on its own
        (the other accounts are compared).
    """

    accounts: tuple[str, ...]
    cross: Assessment
    portfolio: Assessment
    isolated: Assessment
    isolated_im: NDArray[np.float64]
    isolated_mm: NDArray[np.float64]
    isolated_worst_state: NDArray[np.int8]
    isolated_errors: Mapping[str, str]


def compare_modes(
    holdings: Holdings,
    market: MarketSnapshot,
    cross: Margining,
    portfolio: Margining,
    params: LifecycleParams,
) -> ModeComparison:
    """Assess every account of ``holdings`` as cross, isolated and portfolio margined.

    ``cross`` is the per-position model (e.g. :class:`MethodMargining` with ``standard``),
    ``portfolio`` any portfolio method. Isolated: every position other than balances becomes
    a unit with collateral equal to its IM under ``cross`` (one batch over one row per
    position), moved from the account's pool; the pool keeps what remains (and the
    collateral-only rows). Three batch assessments in all. An account with a position the
    cross model cannot margin alone is in ``isolated_errors``; the others are compared.
    """
    book = holdings.book
    q = book.quantities.tocoo()
    derivative = np.array([not isinstance(i, Currency) for i in book.instruments], dtype=bool)
    keep = derivative[q.col]
    pos_rows, pos_cols, pos_qty = q.row[keep], q.col[keep], q.data[keep]
    single = Book.from_arrays(
        [str(k) for k in range(pos_rows.size)],
        book.instruments,
        np.arange(pos_rows.size, dtype=np.intp),
        pos_cols.astype(np.intp),
        pos_qty,
    )
    per_position = cross.requirements(single, market)
    failed: dict[str, str] = {}
    collateral: dict[tuple[str, str], float] = {}
    for k in range(pos_rows.size):
        account, inst = book.accounts[pos_rows[k]], book.instruments[pos_cols[k]]
        if str(k) in per_position.errors:
            failed.setdefault(account, per_position.errors[str(k)])
            continue
        currency = _settlement(inst)
        rate = 1.0 if currency in STABLECOINS else market.index(currency)
        collateral[account, inst.name] = float(per_position.initial_margin[k]) / rate
    isolated = assess(isolate(holdings, collateral), market, cross, params)
    row_of = {a: k for k, a in enumerate(book.accounts)}
    owner = np.array([row_of[unit_owner(u)] for u in isolated.accounts], dtype=np.intp)
    n = len(book.accounts)
    im = np.bincount(owner, weights=isolated.initial_margin, minlength=n).astype(np.float64)
    mm = np.bincount(owner, weights=isolated.maintenance_margin, minlength=n).astype(np.float64)
    worst = np.full(n, -1, dtype=np.int8)
    np.maximum.at(worst, owner, isolated.state)
    errored = np.array([a in failed for a in book.accounts], dtype=bool)
    errored[owner[isolated.state < 0]] = True
    worst[errored] = -1
    im[errored] = np.nan
    mm[errored] = np.nan
    return ModeComparison(
        accounts=book.accounts,
        cross=assess(holdings, market, cross, params),
        portfolio=assess(holdings, market, portfolio, params),
        isolated=isolated,
        isolated_im=im,
        isolated_mm=mm,
        isolated_worst_state=worst,
        isolated_errors=MappingProxyType(
            {
                **failed,
                **{
                    unit_owner(u): r
                    for u, r in isolated.errors.items()
                    if unit_owner(u) not in failed
                },
            }
        ),
    )
