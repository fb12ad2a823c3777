"""Account values: balances per currency, USD values, haircut-adjusted equity (§2)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.lifecycle._collateral import CollateralPolicy
from portmargin.lifecycle._holdings import Holdings
from portmargin.market import MarketSnapshot
from portmargin.risk import InstrumentTable, Kind, account_equity, resolve_instruments

__all__ = ["AccountValues", "account_values"]


def _no_errors() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class AccountValues:
    """What every account of a set of holdings is worth at one market.

    Attributes
    ----------
    accounts
        Account ids, shape ``(n,)``.
    currencies
        Settlement currencies, shape ``(c,)``, sorted.
    balances
        ``B_c`` of ``lifecycle.md`` §2, shape ``(n, c)``, in each currency: cash plus
        unrealised P&L of futures and perpetuals, option values (long > 0, short < 0) and
        spot pairs at the index.
    usd_rate
        USD per unit of each currency, shape ``(c,)`` (stablecoins 1, coins the index).
    value_usd
        ``v_c = B_c P_c``, shape ``(n, c)``, USD.
    equity
        ``E = sum_c adj(v_c)``, shape ``(n,)``, USD: haircuts on positive values, borrow
        add-ons on negative ones (``multi`` scope); the plain sum of ``v_c`` in
        ``segregated`` scope (use ``balances`` per sub-account there).
    errors
        Account → reason, for accounts that cannot be valued (a currency not accepted as
        collateral, a negative balance where borrowing is not allowed, an instrument the
        market cannot value); their ``equity`` must not be used.
    """

    accounts: tuple[str, ...]
    currencies: tuple[str, ...]
    balances: NDArray[np.float64]
    usd_rate: NDArray[np.float64]
    value_usd: NDArray[np.float64]
    equity: NDArray[np.float64]
    errors: Mapping[str, str] = field(default_factory=_no_errors)

    @property
    def gross_usd(self) -> NDArray[np.float64]:
        """``sum_c v_c`` before haircuts, USD, shape ``(n,)``."""
        total: NDArray[np.float64] = self.value_usd.sum(axis=1)
        return total


def account_values(
    holdings: Holdings,
    market: MarketSnapshot,
    collateral: CollateralPolicy,
    rate_moves: Mapping[str, float] | None = None,
) -> AccountValues:
    """Value every account of ``holdings`` at ``market`` (``lifecycle.md`` §2).

    Full revaluation at the market's prices: options at their model value, futures and
    perpetuals by their P&L since the holdings' reference prices, balances at face value;
    then USD values at the index and the haircut schedule of each currency.

    ``rate_moves`` (currency → relative move ``x > -1``) scales the USD rate of a currency
    by ``1 + x`` before haircuts: a stablecoin de-peg of a stress scenario
    (``collateral_shock``), stablecoins being valued at 1 by the market. It applies to
    everything held or settled in that currency (balances and the P&L or option values
    settled in it); ``usd_rate`` and ``value_usd`` then show the moved rate.

    Accounts that cannot be valued are in ``errors`` (their equity must not be used): a
    non-zero value in a currency ``collateral`` has no schedule for (not accepted as
    collateral), a negative balance in a currency whose schedule does not allow borrowing,
    an instrument the market cannot value.

    Raises
    ------
    ValidationError
        If a rate move is not a finite number > -1.
    """
    book = holdings.book
    table = resolve_instruments(book.instruments, market)
    equity = account_equity(book, table, holdings.reference)
    amounts, rate = equity.amounts, equity.usd_rate
    if rate_moves:
        for ccy, x in rate_moves.items():
            if not (isinstance(x, int | float) and math.isfinite(x) and x > -1):
                raise ValidationError(f"rate_moves[{ccy!r}]", x, "a finite relative move > -1")
        rate = rate * np.array([1.0 + rate_moves.get(c, 0.0) for c in equity.currencies])
    value = amounts * rate
    adjusted = np.zeros(len(book.accounts))
    errors: dict[str, str] = {}
    segregated = collateral.scope.value == "segregated"
    for k, ccy in enumerate(equity.currencies):
        column = value[:, k]
        if not np.any(column != 0):
            continue
        if segregated:
            adjusted += column
            continue
        schedule = collateral.haircuts.get(ccy)
        if schedule is None:
            for row in np.flatnonzero(column != 0).tolist():
                errors.setdefault(
                    book.accounts[row],
                    f"holds {amounts[row, k]:g} {ccy}, not accepted as collateral (currencies "
                    f"with a haircut schedule: {', '.join(sorted(collateral.haircuts))})",
                )
            continue
        if not schedule.borrowing_allowed:
            for row in np.flatnonzero(amounts[:, k] < 0).tolist():
                errors.setdefault(
                    book.accounts[row],
                    f"negative {ccy} balance {amounts[row, k]:g} where borrowing {ccy} is not "
                    "allowed (its haircut schedule has borrowing_allowed = false)",
                )
        adjusted += schedule.adjusted(column)
    for account, reason in _unvalued(holdings, table).items():
        errors.setdefault(account, reason)
    return AccountValues(
        accounts=book.accounts,
        currencies=equity.currencies,
        balances=amounts,
        usd_rate=rate,
        value_usd=value,
        equity=adjusted,
        errors=MappingProxyType(errors),
    )


def _unvalued(holdings: Holdings, table: InstrumentTable) -> dict[str, str]:
    """Accounts holding an instrument the market cannot value, with the first such one."""
    reason = {n: f"cannot value {n}: {r}" for n, r in table.missing.items()}
    no_reference = np.flatnonzero(
        ((table.kind == Kind.FUTURE) | (table.kind == Kind.PERPETUAL))
        & np.isnan(holdings.reference)
    )
    for c in no_reference.tolist():
        reason.setdefault(table.names[c], f"cannot value {table.names[c]}: no mark to settle at")
    if not reason:
        return {}
    bad = np.array([n in reason for n in table.names], dtype=bool)
    q = holdings.book.quantities
    errors: dict[str, str] = {}
    for row in np.flatnonzero(abs(q) @ bad.astype(np.float64) > 0).tolist():
        cols = q.indices[q.indptr[row] : q.indptr[row + 1]]
        errors[holdings.book.accounts[row]] = reason[table.names[int(cols[bad[cols]][0])]]
    return errors
