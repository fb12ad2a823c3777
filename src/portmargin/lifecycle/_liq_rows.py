"""The rows a liquidation price is solved for, and ``E - MM`` of many of them at one market.

In ``multi`` collateral scope a row is an account (equity and requirement in USD); in
``segregated`` scope it is one settlement currency of an account (a sub-account; equity and
requirement in that currency, ``lifecycle.md`` §1 and §11).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from portmargin.core import PortmarginError
from portmargin.instruments import Instrument, Option
from portmargin.lifecycle._collateral import CollateralPolicy, CollateralScope
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._requirements import Margining
from portmargin.lifecycle._values import account_values
from portmargin.market import MarketSnapshot
from portmargin.risk import STABLECOINS, Book, resolve_instruments

__all__ = ["USD", "Evaluation", "SolverRows", "evaluate", "restricted_market", "solver_rows"]

USD = "USD"
"""Currency of a row in ``multi`` scope (haircut-adjusted equity and requirement in USD)."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SolverRows:
    """Rows of the solver over the columns of the holdings.

    Attributes
    ----------
    holdings
        One book row per solver row (labels unique), the holdings' columns and reference.
    accounts
        Account id of each row, shape ``(n,)``.
    currency
        ``"USD"`` in ``multi`` scope, the sub-account's settlement currency in
        ``segregated`` scope, shape ``(n,)``.
    collateral
        The collateral policy equity is valued with.
    """

    holdings: Holdings
    accounts: tuple[str, ...]
    currency: tuple[str, ...]
    collateral: CollateralPolicy

    @property
    def labels(self) -> tuple[str, ...]:
        """Row labels: the account id (``multi``), ``account/CCY`` (``segregated``)."""
        return self.holdings.accounts

    def subset(self, rows: NDArray[np.intp]) -> SolverRows:
        """Rows ``rows`` only, with the columns none of them holds left out."""
        book = self.holdings.book
        q = book.quantities[rows]
        cols = np.unique(q.indices)
        sub = Book(
            accounts=tuple(book.accounts[i] for i in rows.tolist()),
            instruments=tuple(book.instruments[c] for c in cols.tolist()),
            quantities=sp.csr_array(q[:, cols]),
        )
        return SolverRows(
            holdings=Holdings(book=sub, reference=self.holdings.reference[cols]),
            accounts=tuple(self.accounts[i] for i in rows.tolist()),
            currency=tuple(self.currency[i] for i in rows.tolist()),
            collateral=self.collateral,
        )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Evaluation:
    """Equity and maintenance margin of every row of a :class:`SolverRows` at one market.

    Attributes
    ----------
    equity, maintenance_margin
        Shape ``(n,)``, in each row's currency; NaN for the rows in ``errors``.
    errors
        Row index → reason.
    """

    equity: NDArray[np.float64]
    maintenance_margin: NDArray[np.float64]
    errors: Mapping[int, str]

    @property
    def buffer(self) -> NDArray[np.float64]:
        """``g = E - MM``, shape ``(n,)``."""
        result: NDArray[np.float64] = self.equity - self.maintenance_margin
        return result


def solver_rows(
    holdings: Holdings, market: MarketSnapshot, collateral: CollateralPolicy
) -> tuple[SolverRows, dict[str, str]]:
    """The solver rows of ``holdings`` and the accounts that cannot be valued at all.

    Accounts holding something settled in a currency the policy does not accept (``multi``
    scope) or in a coin without an index price (``segregated`` scope) are returned as
    errors (account → reason) and get no row.
    """
    book = holdings.book
    settle = resolve_instruments(book.instruments, market).settlement_currency.astype(str)
    q = book.quantities
    rows = np.repeat(np.arange(len(book.accounts)), np.diff(q.indptr))
    # currencies of the columns, then of every stored position
    codes, code_of_column = np.unique(settle, return_inverse=True)
    ccy = code_of_column[q.indices]
    segregated = collateral.scope is CollateralScope.SEGREGATED
    if segregated:
        accepted = {*STABLECOINS, *market.index_prices}
        why = "no index price for the settlement currency {}"
    else:
        accepted = set(collateral.haircuts)
        why = (
            "holds value in {}, which is not accepted as collateral (no haircut schedule; "
            f"accepted: {', '.join(sorted(collateral.haircuts))})"
        )
    refused = ~np.isin(codes, sorted(accepted))[ccy]
    errors: dict[str, str] = {}
    for k in np.flatnonzero(refused).tolist():
        errors.setdefault(book.accounts[rows[k]], why.format(codes[ccy[k]]))
    keep = np.ones(len(book.accounts), dtype=bool)
    keep[rows[refused]] = False
    if not segregated:
        sub = book.select_accounts(keep)
        n = len(sub.accounts)
        return SolverRows(
            holdings=Holdings(book=sub, reference=holdings.reference),
            accounts=sub.accounts,
            currency=(USD,) * n,
            collateral=collateral,
        ), errors
    # one row per (account, settlement currency) held, in account then currency order
    entries = keep[rows]
    pair = rows[entries] * codes.size + ccy[entries]
    pairs, new_rows = np.unique(pair, return_inverse=True)
    owner, currency = np.divmod(pairs, codes.size)
    accounts = tuple(book.accounts[r] for r in owner.tolist())
    currencies = tuple(str(codes[c]) for c in currency.tolist())
    labels = [f"{a}/{c}" for a, c in zip(accounts, currencies, strict=True)]
    sub = Book.from_arrays(
        labels, book.instruments, new_rows.astype(np.intp), q.indices[entries], q.data[entries]
    )
    return SolverRows(
        holdings=Holdings(book=sub, reference=holdings.reference),
        accounts=accounts,
        currency=currencies,
        collateral=collateral,
    ), errors


def evaluate(rows: SolverRows, market: MarketSnapshot, margining: Margining) -> Evaluation:
    """``E`` and ``MM`` of every row at ``market`` (one valuation, one margining call).

    ``multi``: haircut-adjusted equity and MM, USD. ``segregated``: the sub-account's
    balance ``B_c`` and its MM converted from USD at the index of ``market`` itself (so both
    are in the coin at the same prices, never at a stale rate). A margining call that fails
    as a whole makes every row an error with its reason.
    """
    n = len(rows.labels)
    try:
        values = account_values(rows.holdings, market, rows.collateral)
        req = margining.requirements(rows.holdings.book, market)
    except PortmarginError as exc:
        nan = np.full(n, np.nan)
        return Evaluation(
            equity=nan, maintenance_margin=nan.copy(), errors=dict.fromkeys(range(n), str(exc))
        )
    mm = np.asarray(req.maintenance_margin, dtype=np.float64)
    if rows.collateral.scope is CollateralScope.SEGREGATED:
        col = {c: k for k, c in enumerate(values.currencies)}
        k = np.array([col.get(c, -1) for c in rows.currency], dtype=np.intp)
        # every row holds something settled in its currency, so k >= 0
        equity = values.balances[np.arange(n), k]
        mm = mm / values.usd_rate[k]
    else:
        equity = np.asarray(values.equity, dtype=np.float64)
    reasons = {**values.errors, **req.errors}
    errors: dict[int, str] = {}
    if reasons:
        errors = {i: reasons[a] for i, a in enumerate(rows.labels) if a in reasons}
    if errors:
        bad = np.fromiter(errors, dtype=np.intp)
        equity = equity.copy()
        equity[bad] = np.nan
        mm = mm.copy()
        mm[bad] = np.nan
    return Evaluation(equity=equity, maintenance_margin=mm, errors=errors)


def restricted_market(
    market: MarketSnapshot, instruments: tuple[Instrument, ...]
) -> MarketSnapshot:
    """``market`` with only the option quotes that list one of ``instruments``.

    Every price the lifecycle and the methods read for a book of ``instruments`` (forwards,
    smiles, futures marks, index prices, history, the quotes of its own options) is kept, so
    values and requirements are the same; moving the smaller market is cheaper.
    """
    keys = {_key(i) for i in instruments if isinstance(i, Option)}
    quotes = {name: q for name, q in market.quotes.items() if _key(q.instrument) in keys}
    if len(quotes) == len(market.quotes):
        return market
    return dataclasses.replace(market, quotes=quotes)


def _key(option: Option) -> tuple[str, int, float, bool]:
    """How a quote lists an option: any settlement of the same contract reads it."""
    return (option.underlying, option.expiry_ms, option.strike, option.is_call)
