"""Liquidation prices of stored accounts (``lifecycle.md`` §8) for the dashboard and the API.

One call of :func:`portmargin.lifecycle.liquidation_prices` solves the accounts asked for
that are not cached, at once: their positions and balances are read in one store read,
futures settled at the snapshot's marks (:meth:`Holdings.settled`, as the service's lifecycle
assessment does) and MM is the method's rows summed in USD (:class:`MethodMargining`).
Figures are kept per account, snapshot, method with its parameters, direction and the
account's exact rows, so page loads after the first do not solve again and a change of an
account's positions solves that account afresh.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from portmargin.core import ValidationError
from portmargin.instruments import Currency
from portmargin.io.positions import positions_from_table
from portmargin.lifecycle import (
    Holdings,
    LiquidationPrices,
    LiquidationSide,
    MethodMargining,
    liquidation_prices,
)
from portmargin.market import MarketSnapshot
from portmargin.risk import Book
from portmargin.service._desk import Desk
from portmargin.service._lifecycle import lifecycle_params
from portmargin.store import Store

__all__ = [
    "CACHED_ACCOUNTS",
    "AccountLiquidation",
    "LiquidationCache",
    "SideFigures",
]

CACHED_ACCOUNTS = 100_000
"""Accounts' figures kept (least recently used dropped first)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SideFigures:
    """The nearest liquidation point on one side (prices falling or rising).

    ``prices`` (USD per coin) and ``distance_sigma`` (log move in daily standard deviations,
    None without a volatility) are per moved underlying; ``distance_pct`` is ``100 x``, the
    move of every underlying in percent. Not ``reachable``: no root within the searched range
    (figures None).
    """

    reachable: bool
    distance_pct: float | None
    prices: dict[str, float | None]
    distance_sigma: dict[str, float | None]

    def to_json(self) -> dict[str, Any]:
        """JSON object of the fields."""
        return {
            "reachable": self.reachable,
            "distance_pct": self.distance_pct,
            "prices": self.prices,
            "distance_sigma": self.distance_sigma,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountLiquidation:
    """Liquidation prices of one account.

    Attributes
    ----------
    account, method, snapshot_id
        The account, the margin method and the snapshot solved on.
    underlyings, current_prices
        The underlyings moved together (``S_u = S_u0 (1 + x)``) and their index now, USD.
    main_underlying
        The underlying of the account's largest gross USD exposure (quantity × index), or
        None without positions in a moved underlying.
    equity_usd, maintenance_margin_usd
        ``E`` (haircut-adjusted) and ``MM`` now, USD.
    liquidatable
        ``E < MM`` now: both sides are the current prices.
    down, up
        The nearest liquidation point below and above; None with ``error``.
    error
        Why the account could not be solved, or None.
    """

    account: str
    method: str
    snapshot_id: int
    underlyings: tuple[str, ...]
    current_prices: dict[str, float]
    main_underlying: str | None
    equity_usd: float | None
    maintenance_margin_usd: float | None
    liquidatable: bool
    down: SideFigures | None
    up: SideFigures | None
    error: str | None

    @property
    def nearest(self) -> tuple[str, SideFigures] | None:
        """``("down" | "up", side)`` of the nearer reachable side, None if neither is."""
        sides = [(n, s) for n, s in (("down", self.down), ("up", self.up)) if s and s.reachable]
        if not sides:
            return None
        return min(sides, key=lambda ns: abs(ns[1].distance_pct or 0.0))

    def to_json(self) -> dict[str, Any]:
        """JSON object of the fields (prices USD, distances percent and daily σ)."""
        return {
            "account_id": self.account,
            "method": self.method,
            "snapshot_id": self.snapshot_id,
            "underlyings": list(self.underlyings),
            "current_prices": self.current_prices,
            "main_underlying": self.main_underlying,
            "equity_usd": self.equity_usd,
            "maintenance_margin_usd": self.maintenance_margin_usd,
            "liquidatable": self.liquidatable,
            "down": None if self.down is None else self.down.to_json(),
            "up": None if self.up is None else self.up.to_json(),
            "error": self.error,
        }


_UNREACHED = SideFigures(reachable=False, distance_pct=None, prices={}, distance_sigma={})


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _side(
    result: LiquidationPrices, side: LiquidationSide, k: int, columns: list[int]
) -> SideFigures:
    reachable = bool(side.reachable[k]) or bool(result.liquidatable[k])
    names = result.underlyings
    return SideFigures(
        reachable=reachable,
        distance_pct=_finite(float(side.distance_pct[k])) if reachable else None,
        prices={
            names[j]: _finite(float(side.prices[k, j])) if reachable else None for j in columns
        },
        distance_sigma={
            names[j]: _finite(float(side.distance_sigma[k, j])) if reachable else None
            for j in columns
        },
    )


def _held_columns(book: Book, names: tuple[str, ...]) -> dict[str, list[int]]:
    """Per account, the indices in ``names`` of the underlyings it holds a position or a
    balance in (the others do not change its equity or margin)."""
    column = {u: j for j, u in enumerate(names)}
    member = np.zeros((len(book.instruments), len(names)))
    for c, inst in enumerate(book.instruments):
        u = inst.code if isinstance(inst, Currency) else inst.underlying
        if u in column:
            member[c, column[u]] = 1.0
    held = np.asarray(abs(book.quantities) @ member) > 0
    return {a: np.flatnonzero(held[k]).tolist() for k, a in enumerate(book.accounts)}


def _main_underlyings(book: Book, market: MarketSnapshot) -> dict[str, str]:
    """Per account, the underlying with the largest ``sum |quantity| × index`` (positions are
    held in coins of the underlying), over positions whose underlying has an index price."""
    names = sorted(
        {
            i.underlying
            for i in book.instruments
            if not isinstance(i, Currency) and i.underlying in market.index_prices
        }
    )
    if not names:
        return {}
    weight = np.zeros((len(book.instruments), len(names)))
    column = {u: j for j, u in enumerate(names)}
    for c, inst in enumerate(book.instruments):
        if not isinstance(inst, Currency) and inst.underlying in column:
            weight[c, column[inst.underlying]] = market.index(inst.underlying)
    exposure = np.asarray(abs(book.quantities) @ weight)
    best = exposure.argmax(axis=1)
    held = exposure.max(axis=1) > 0
    return {a: names[int(best[k])] for k, a in enumerate(book.accounts) if held[k]}


def _digests(table: pa.Table) -> dict[str, str]:
    """Per account of ``table``, a digest of its rows (instrument and quantity)."""
    rows: dict[str, list[tuple[str, float]]] = {}
    columns = (table.column(n).to_pylist() for n in ("account", "instrument", "quantity"))
    for account, instrument, quantity in zip(*columns, strict=True):
        rows.setdefault(account, []).append((instrument, quantity))
    return {a: hashlib.sha256(repr(r).encode()).hexdigest() for a, r in rows.items()}


@dataclass(slots=True)
class LiquidationCache:
    """Liquidation prices of stored accounts, kept per account, snapshot, method and
    parameters, direction and the account's exact positions and balances (thread-safe; the
    solver runs outside the lock). Accounts not kept are solved together in one batch."""

    _entries: OrderedDict[tuple[Any, ...], AccountLiquidation] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def accounts(
        self,
        store: Store,
        desk: Desk,
        accounts: Collection[str],
        method: str | None = None,
        underlying: str | None = None,
        limit: int | None = None,
    ) -> dict[str, AccountLiquidation]:
        """Liquidation prices of ``accounts`` (existing ones) on the latest snapshot under
        ``method`` (None: the default), every held underlying of each account moved together
        or ``underlying`` alone.

        Accounts already solved for the same snapshot, parameters, direction and rows are
        answered from the cache; of the others the first ``limit`` in the order of
        ``accounts`` (None: all) are solved in one batch and the rest are left out of the
        answer. An account without positions or balances has E = MM = 0 and no liquidation
        price.

        Raises
        ------
        ValidationError
            No snapshot yet, an unknown method or an underlying without an index price.
        """
        m, params = desk.params(method)
        snapshot_id, market = desk.market()
        pack, overrides = desk.in_use().get(m.name, (m.default_pack, ()))
        wanted = list(dict.fromkeys(accounts))
        table = store.book_table(wanted)
        digests = _digests(table)
        base = (snapshot_id, m.name, pack, overrides, underlying)
        found: dict[str, AccountLiquidation] = {}
        missing: list[str] = []
        with self._lock:
            for account in wanted:
                key = (*base, account, digests.get(account, ""))
                hit = self._entries.get(key)
                if hit is None:
                    missing.append(account)
                else:
                    self._entries.move_to_end(key)
                    found[account] = hit
        todo = missing if limit is None else missing[: max(limit, 0)]
        if todo:
            rows = table.filter(pc.is_in(table.column("account"), pa.array(todo, pa.string())))
            margining = MethodMargining(method=m, params=params)
            solved = _solve(rows, todo, market, margining, snapshot_id, underlying)
            found.update(solved)
            with self._lock:
                for account, figures in solved.items():
                    self._entries[(*base, account, digests.get(account, ""))] = figures
                while len(self._entries) > CACHED_ACCOUNTS:
                    self._entries.popitem(last=False)
        return {a: found[a] for a in wanted if a in found}


def _solve(
    table: pa.Table,
    accounts: list[str],
    market: MarketSnapshot,
    margining: MethodMargining,
    snapshot_id: int,
    underlying: str | None,
) -> dict[str, AccountLiquidation]:
    """Figures of each of ``accounts`` from one solver run over their rows in ``table``."""
    out: dict[str, AccountLiquidation] = {}
    failed: dict[str, str] = {}
    if table.num_rows:
        file = positions_from_table(table, "store")
        failed.update(file.account_errors)
        book = file.book
        try:
            out.update(_solve_book(book, market, margining, snapshot_id, underlying))
        except ValidationError as exc:
            if underlying is not None:
                raise
            failed.update(dict.fromkeys(book.accounts, str(exc)))
    for account, reason in failed.items():
        out[account] = _without_figures(account, margining.name, snapshot_id, error=reason)
    for account in accounts:
        if account not in out:  # no positions nor balances: nothing can be liquidated
            out[account] = _without_figures(account, margining.name, snapshot_id, error=None)
    return out


def _without_figures(
    account: str, method: str, snapshot_id: int, *, error: str | None
) -> AccountLiquidation:
    """An account the solver gave no figures for: failed with ``error``, or (``error`` None)
    holding nothing, so equity and MM are 0 and neither side is ever reached."""
    side = None if error else _UNREACHED
    zero = None if error else 0.0
    return AccountLiquidation(
        account=account,
        method=method,
        snapshot_id=snapshot_id,
        underlyings=(),
        current_prices={},
        main_underlying=None,
        equity_usd=zero,
        maintenance_margin_usd=zero,
        liquidatable=False,
        down=side,
        up=side,
        error=error,
    )


def _solve_book(
    book: Book,
    market: MarketSnapshot,
    margining: MethodMargining,
    snapshot_id: int,
    underlying: str | None,
) -> dict[str, AccountLiquidation]:
    """Figures of every account of ``book`` from one solver run.

    Raises
    ------
    ValidationError
        ``underlying`` has no index price, or the book holds no underlying with one.
    """
    direction: Mapping[str, float] | None = None if underlying is None else {underlying: 1.0}
    result = liquidation_prices(
        Holdings.settled(book, market), market, margining, lifecycle_params(), direction
    )
    mains = _main_underlyings(book, market)
    out: dict[str, AccountLiquidation] = {}
    held = _held_columns(book, result.underlyings)
    for k, (label, account) in enumerate(zip(result.labels, result.accounts, strict=True)):
        error = result.errors.get(label)
        columns = held.get(account, [])
        out[label] = AccountLiquidation(
            account=label,
            method=margining.name,
            snapshot_id=snapshot_id,
            underlyings=tuple(result.underlyings[j] for j in columns),
            current_prices={
                result.underlyings[j]: float(result.current_prices[j]) for j in columns
            },
            main_underlying=mains.get(account),
            equity_usd=_finite(float(result.equity[k])),
            maintenance_margin_usd=_finite(float(result.maintenance_margin[k])),
            liquidatable=bool(result.liquidatable[k]),
            down=None if error else _side(result, result.down, k, columns),
            up=None if error else _side(result, result.up, k, columns),
            error=error,
        )
    return out
