"""Liquidation prices of stored accounts (``lifecycle.md`` §8) for the dashboard and the API.

One call of :func:`portmargin.lifecycle.liquidation_prices` solves every account a key sees
at once: the accounts' positions and balances are read in one store read, futures settled at
the snapshot's marks (:meth:`Holdings.settled`, as the service's lifecycle assessment does)
and MM is the method's rows summed in USD (:class:`MethodMargining`). Results are kept per
snapshot, method with its parameters, direction and the exact positions read, so page loads
after the first do not solve again and any change of positions solves afresh.
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
    "CACHED_RUNS",
    "AccountLiquidation",
    "LiquidationCache",
    "SideFigures",
]

CACHED_RUNS = 16
"""Solver runs kept (least recently used dropped first)."""


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


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _side(result: LiquidationPrices, side: LiquidationSide, k: int) -> SideFigures:
    reachable = bool(side.reachable[k]) or bool(result.liquidatable[k])
    return SideFigures(
        reachable=reachable,
        distance_pct=_finite(float(side.distance_pct[k])) if reachable else None,
        prices={
            u: _finite(float(side.prices[k, j])) if reachable else None
            for j, u in enumerate(result.underlyings)
        },
        distance_sigma={
            u: _finite(float(side.distance_sigma[k, j])) if reachable else None
            for j, u in enumerate(result.underlyings)
        },
    )


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


def _digest(table: pa.Table) -> str:
    h = hashlib.sha256()
    for name in ("account", "instrument", "quantity"):
        h.update(repr(table.column(name).to_pylist()).encode())
    return h.hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    by_account: dict[str, AccountLiquidation]


@dataclass(slots=True)
class LiquidationCache:
    """Liquidation prices of sets of stored accounts, solved once per snapshot, method and
    parameters, direction and positions (thread-safe; the solver runs outside the lock)."""

    _runs: OrderedDict[tuple[Any, ...], _Run] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def accounts(
        self,
        store: Store,
        desk: Desk,
        accounts: Collection[str],
        method: str | None = None,
        underlying: str | None = None,
    ) -> dict[str, AccountLiquidation]:
        """Liquidation prices of ``accounts`` (existing ones) on the latest snapshot under
        ``method`` (None: the default), every held underlying moved together or ``underlying``
        alone.

        Raises
        ------
        ValidationError
            No snapshot yet, an unknown method or an underlying without an index price.
        """
        m, params = desk.params(method)
        snapshot_id, market = desk.market()
        pack, overrides = desk.in_use().get(m.name, (m.default_pack, ()))
        table = store.book_table(sorted(accounts))
        key = (snapshot_id, m.name, pack, overrides, underlying, _digest(table))
        with self._lock:
            run = self._runs.get(key)
            if run is not None:
                self._runs.move_to_end(key)
                return run.by_account
        run = _solve(
            table, market, MethodMargining(method=m, params=params), snapshot_id, underlying
        )
        with self._lock:
            self._runs[key] = run
            while len(self._runs) > CACHED_RUNS:
                self._runs.popitem(last=False)
        return run.by_account


def _solve(
    table: pa.Table,
    market: MarketSnapshot,
    margining: MethodMargining,
    snapshot_id: int,
    underlying: str | None,
) -> _Run:
    file = positions_from_table(table, "store")
    book = file.book
    failed: dict[str, str] = dict(file.account_errors)
    out: dict[str, AccountLiquidation] = {}
    direction: Mapping[str, float] | None = None if underlying is None else {underlying: 1.0}
    mains = _main_underlyings(book, market)
    result: LiquidationPrices | None = None
    if book.accounts:
        try:
            result = liquidation_prices(
                Holdings.settled(book, market), market, margining, lifecycle_params(), direction
            )
        except ValidationError as exc:
            if underlying is not None:
                raise
            failed.update(dict.fromkeys(book.accounts, str(exc)))
    if result is not None:
        current = {
            u: float(p) for u, p in zip(result.underlyings, result.current_prices, strict=True)
        }
        for k, account in enumerate(result.labels):
            error = result.errors.get(account)
            out[account] = AccountLiquidation(
                account=account,
                method=margining.name,
                snapshot_id=snapshot_id,
                underlyings=result.underlyings,
                current_prices=current,
                main_underlying=mains.get(account),
                equity_usd=_finite(float(result.equity[k])),
                maintenance_margin_usd=_finite(float(result.maintenance_margin[k])),
                liquidatable=bool(result.liquidatable[k]),
                down=None if error else _side(result, result.down, k),
                up=None if error else _side(result, result.up, k),
                error=error,
            )
    for account, reason in failed.items():
        out[account] = AccountLiquidation(
            account=account,
            method=margining.name,
            snapshot_id=snapshot_id,
            underlyings=(),
            current_prices={},
            main_underlying=None,
            equity_usd=None,
            maintenance_margin_usd=None,
            liquidatable=False,
            down=None,
            up=None,
            error=reason,
        )
    return _Run(by_account=out)
