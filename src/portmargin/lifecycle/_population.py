"""Cascade populations: positions with deposits sized by a margin method or fixed
(``lifecycle.md`` §9), and a seeded synthetic population."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.instruments import Currency, Perpetual, Settlement
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._requirements import Margining
from portmargin.market import MarketSnapshot
from portmargin.risk import STABLECOINS, Book

__all__ = [
    "Population",
    "PopulationKind",
    "fixed_equity_population",
    "max_leverage_population",
    "synthetic_positions",
]


class PopulationKind(StrEnum):
    """How deposits are set when methods are compared."""

    MAX_LEVERAGE = "max-leverage"
    """Deposit = cushion × IM of the method at ``S_0``: tighter methods admit less leverage."""
    FIXED_EQUITY = "fixed-equity"
    """The same deposits for every method: isolates the trigger level."""
    AS_IS = "as-is"
    """The balances of the positions as given."""


def _no_errors() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Population:
    """Holdings for a cascade and the accounts that could not be set up.

    Attributes
    ----------
    holdings
        Positions settled at ``S_0`` plus the deposit balance.
    deposits
        Deposit of each account of ``holdings``, in the deposit currency (USD value for
        stablecoins), shape ``(n,)``.
    errors
        Account → reason (e.g. the method could not margin it); those accounts are left out.
    """

    holdings: Holdings
    deposits: NDArray[np.float64]
    errors: Mapping[str, str] = field(default_factory=_no_errors)


def _per_account(name: str, value: float | NDArray[np.float64], n: int) -> NDArray[np.float64]:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
    if not np.all(np.isfinite(arr) & (arr >= 0)):
        raise ValidationError(name, value, f"finite amounts >= 0, one or shape ({n},)")
    return arr


def _positions_only(book: Book) -> Book:
    """``book`` without its currency balances."""
    q = book.quantities.tocoo()
    keep = np.array([not isinstance(i, Currency) for i in book.instruments], dtype=bool)
    cols = np.flatnonzero(keep)
    new_col = np.full(len(book.instruments), -1, dtype=np.intp)
    new_col[cols] = np.arange(cols.size)
    mask = keep[q.col]
    return Book.from_arrays(
        book.accounts,
        tuple(book.instruments[c] for c in cols.tolist()),
        q.row[mask].astype(np.intp),
        new_col[q.col[mask]],
        q.data[mask],
    )


def _with_deposit(book: Book, deposits: NDArray[np.float64], currency: str) -> Book:
    q = book.quantities.tocoo()
    instruments = (*book.instruments, Currency(code=currency))
    n = len(book.accounts)
    return Book.from_arrays(
        book.accounts,
        instruments,
        np.concatenate([q.row, np.arange(n)]).astype(np.intp),
        np.concatenate([q.col, np.full(n, len(book.instruments))]).astype(np.intp),
        np.concatenate([q.data, deposits]),
    )


def fixed_equity_population(
    book: Book,
    market: MarketSnapshot,
    deposits: float | NDArray[np.float64],
    *,
    currency: str = "USDC",
) -> Population:
    """Positions entered at ``market`` (``S_0``) with the given deposits.

    Parameters
    ----------
    book
        Positions (coins of underlying, > 0 long); currency balances in it are dropped.
    market
        ``S_0``: positions are settled at its marks (unrealised P&L 0).
    deposits
        Deposit per account in ``currency`` (one amount for all or shape ``(n,)``), >= 0.
    currency
        Deposit currency (default USDC).
    """
    positions = _positions_only(book)
    amounts = _per_account("deposits", deposits, len(book.accounts))
    holdings = Holdings.settled(_with_deposit(positions, amounts, currency), market)
    return Population(holdings=holdings, deposits=amounts)


def max_leverage_population(
    book: Book,
    market: MarketSnapshot,
    margining: Margining,
    cushion: float | NDArray[np.float64],
    *,
    currency: str = "USDC",
) -> Population:
    """Positions entered at ``S_0`` with deposit ``cushion × IM(S_0)`` under ``margining``.

    ``IM`` is the method's initial margin of the positions alone (USD) at ``market``; the
    deposit is in ``currency`` (a USD stablecoin by default). Accounts ``margining`` cannot
    margin are left out and reported.

    Parameters
    ----------
    book
        Positions; currency balances in it are dropped.
    market
        ``S_0``.
    margining
        The method whose IM sets the deposits.
    cushion
        Deposit over IM, one value or shape ``(n,)``, >= 0 (``lifecycle.md`` §10.3:
        1.05 … 4.0).
    currency
        Deposit currency.
    """
    positions = _positions_only(book)
    cushions = _per_account("cushion", cushion, len(book.accounts))
    req = margining.requirements(positions, market)
    ok = np.array([a not in req.errors for a in positions.accounts], dtype=bool)
    if not np.all(ok):
        positions = positions.select_accounts(ok)
        cushions = cushions[ok]
    im = req.initial_margin[ok]
    rate = 1.0 if currency in STABLECOINS else market.index(currency)
    population = fixed_equity_population(positions, market, cushions * im / rate, currency=currency)
    return Population(
        holdings=population.holdings,
        deposits=population.deposits,
        errors=MappingProxyType(dict(req.errors)),
    )


def synthetic_positions(
    n_accounts: int,
    seed: int | np.random.Generator,
    *,
    underlyings: Sequence[str] = ("BTC", "ETH"),
    long_share: float = 0.7,
    median_notional_usd: float = 250_000.0,
    prices: Mapping[str, float] | None = None,
) -> tuple[Book, NDArray[np.float64]]:
    """A seeded population of linear perpetual positions and leverage cushions.

    Each account holds one or two of ``underlyings`` as ``<U>_USDC-PERPETUAL``: long with
    probability ``long_share``, notional lognormal around ``median_notional_usd`` (sigma 1),
    converted to coins at ``prices`` (default BTC 50,000, ETH 4,000, others 1,000). Cushions
    are ``1 + lognormal(-0.5, 0.6)`` (most accounts 1.3–2.5 times IM). ``seed`` is an integer
    (numpy's default PCG64 generator seeded with it: the same seed gives the same population)
    or a generator, which is advanced.

    Returns
    -------
    (Book, numpy.ndarray)
        Positions of accounts ``a0000000`` … (zero-padded, sorted) and their cushions.
    """
    if isinstance(n_accounts, bool) or not isinstance(n_accounts, int) or n_accounts < 1:
        raise ValidationError("n_accounts", n_accounts, "an integer >= 1")
    if not underlyings:
        raise ValidationError("underlyings", underlyings, "at least one underlying")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    default = {"BTC": 50_000.0, "ETH": 4_000.0}
    px = np.array([(prices or default).get(u, default.get(u, 1_000.0)) for u in underlyings])
    k = len(underlyings)
    first = rng.integers(0, k, n_accounts)
    second = rng.integers(0, k, n_accounts)
    two = (rng.random(n_accounts) < 0.3) & (second != first)
    rows = np.concatenate([np.arange(n_accounts), np.flatnonzero(two)])
    cols = np.concatenate([first, second[two]])
    notional = median_notional_usd * rng.lognormal(0.0, 1.0, rows.size)
    side = np.where(rng.random(rows.size) < long_share, 1.0, -1.0)
    qty = side * notional / px[cols]
    cushions = 1.0 + rng.lognormal(-0.5, 0.6, n_accounts)
    width = len(str(n_accounts - 1))
    accounts = [f"a{i:0{width}d}" for i in range(n_accounts)]
    instruments = [
        Perpetual(underlying=u, quote="USDC", settlement=Settlement.LINEAR) for u in underlyings
    ]
    book = Book.from_arrays(accounts, instruments, rows.astype(np.intp), cols.astype(np.intp), qty)
    return book, cushions
