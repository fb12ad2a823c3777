"""The dashboard's account page: margin, breakdown, risk matrix, methods side by side,
history, positions and the what-if rows, built from the store and the desk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from portmargin.analysis import Comparison, compare_methods, compute_margin
from portmargin.io.figures import (
    Figure,
    MarginHistory,
    account_grid_figures,
    components_figure,
    history_figure,
    method_margins_figure,
    row_name,
)
from portmargin.market import MarketSnapshot
from portmargin.methods import method_names
from portmargin.results import MarginResult
from portmargin.risk import Book
from portmargin.service._desk import Desk, Holding, to_portfolio
from portmargin.service._lifecycle import AccountState, assess_batch, stored_state, table_state
from portmargin.service._outcomes import WhatIfMargin
from portmargin.service._results import Status, status_of, worst_status
from portmargin.store import Store

__all__ = [
    "HISTORY_POINTS",
    "WHATIF_ROWS",
    "AccountPage",
    "WhatIfRow",
    "account_page",
    "whatif_rows",
]

HISTORY_POINTS = 500
"""Recorded results drawn on an account's history chart (the newest)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WhatIfRow:
    """One result row (by name, see :func:`~portmargin.io.figures.row_name`) before and after
    the trades, amounts in the row's currency; a row missing on one side counts as 0."""

    name: str
    im_before: float
    im_after: float
    mm_before: float
    mm_after: float

    @property
    def im_change(self) -> float:
        """IM after minus before (> 0: the trades need more margin)."""
        return self.im_after - self.im_before

    @property
    def mm_change(self) -> float:
        """MM after minus before."""
        return self.mm_after - self.mm_before


def whatif_rows(change: WhatIfMargin) -> list[WhatIfRow]:
    """The rows of a what-if, paired by row name, in the order they first appear."""
    before = {row_name(r): r for r in change.before.results}
    after = {row_name(r): r for r in change.after.results}
    names = list(dict.fromkeys([*before, *after]))

    def get(side: dict[str, MarginResult], name: str, attr: str) -> float:
        r = side.get(name)
        return 0.0 if r is None else float(getattr(r, attr))

    return [
        WhatIfRow(
            name=n,
            im_before=get(before, n, "initial_margin"),
            im_after=get(after, n, "initial_margin"),
            mm_before=get(before, n, "maintenance_margin"),
            mm_after=get(after, n, "maintenance_margin"),
        )
        for n in names
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionLine:
    """A position of the account page: its P&L in each result row's worst scenario (None
    where the row does not hold it)."""

    instrument: str
    quantity: float
    pnl: tuple[float | None, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountPage:
    """Everything the account page shows.

    Attributes
    ----------
    account, method, params_version
        The account and the default method with its parameter version.
    snapshot_label, valuation_ms
        The latest snapshot the page is computed on.
    status, row_status
        The account's lifecycle state (the worst status of the rows when it has none) and
        the status of each row.
    state
        Lifecycle state with USD equity (haircut-adjusted), IM, MM, ratios and open call: the
        one recorded by the monitor, else the table's state now; None when not assessable.
    results
        Margin rows of the account under the method (empty on error).
    error
        Why the method cannot margin the account, or None.
    components_figure, grid_figures, methods_figure, history_figures
        Charts: component bars, heatmaps of the method's scenario grids (None: the method
        has none), IM/MM per method in USD, IM/MM/equity over time per currency.
    comparison
        Every registered method on the account, USD at the index.
    positions
        Positions and balances with their P&L in the worst scenario of each row.
    instruments
        Listed instrument names of the snapshot (what-if suggestions).
    notes
        Assumptions of the run.
    whatif_rows
        The what-if form's rows (instrument, quantity as typed).
    """

    account: str
    method: str
    params_version: str
    snapshot_label: str
    valuation_ms: int
    status: str
    row_status: tuple[Status, ...]
    state: AccountState | None
    results: tuple[MarginResult, ...]
    error: str | None
    components_figure: Figure
    grid_figures: list[Figure] | None
    comparison: Comparison
    methods_figure: Figure
    history_figures: list[Figure]
    positions: tuple[PositionLine, ...]
    instruments: tuple[str, ...]
    notes: tuple[str, ...]
    whatif_rows: tuple[tuple[str, str], ...]


WHATIF_ROWS = 4
"""Rows of the what-if form (blank ones are ignored)."""


def _history_figures(store: Store, account: str, method: str) -> list[Figure]:
    rows = store.history(account, method=method, limit=HISTORY_POINTS)
    out = []
    for ccy in sorted({r.currency for r in rows}):
        mine = [r for r in rows if r.currency == ccy]
        history = MarginHistory(
            currency=ccy,
            times_ms=np.array([r.computed_ms for r in mine], dtype=np.int64),
            initial_margin=np.array([r.initial_margin for r in mine]),
            maintenance_margin=np.array([r.maintenance_margin for r in mine]),
            equity=np.array([np.nan if r.equity is None else r.equity for r in mine]),
        )
        out.append(history_figure(history, f"{account}: {method} margin over time ({ccy})"))
    return out


def _listed(market: MarketSnapshot) -> tuple[str, ...]:
    names = {q.instrument.name for q in market.quotes.values()}
    names.update(q.instrument.name for q in market.futures.values())
    return tuple(sorted(names))


def account_page(
    store: Store,
    desk: Desk,
    account: str,
    form: Sequence[tuple[str, str]] = (),
) -> AccountPage:
    """The account page of ``account`` (which must exist) on the latest snapshot.

    ``form`` is the what-if form's rows as typed (shown again, padded to
    :data:`WHATIF_ROWS`).

    Raises
    ------
    ValidationError
        No snapshot uploaded yet (field ``snapshot_id``).
    """
    method, params = desk.params()
    snapshot_id, market = desk.market()
    snapshot = store.snapshot(snapshot_id)
    holdings: list[Holding] = desk.holdings(account)
    portfolio = to_portfolio(account, holdings, "positions")
    book = Book.from_portfolios([portfolio])
    batch = compute_margin(method, book, market, params)
    error = batch.errors.get(account)
    state = stored_state(store, account, method.name)
    if state is None and error is None:
        state = table_state(assess_batch(batch, book, market))
    results = tuple(batch.result(i) for i in batch.rows_of(account))
    row_status = tuple(status_of(r.equity, r.initial_margin, r.maintenance_margin) for r in results)
    runs = {name: desk.params(name) for name in method_names()}
    (comparison,) = compare_methods(runs, [portfolio], market)
    pnl = [{c.instrument: c.pnl for c in r.contributions} for r in results]
    positions = tuple(
        PositionLine(
            instrument=p.instrument.name,
            quantity=p.quantity,
            pnl=tuple(m.get(p.instrument.name) for m in pnl),
        )
        for p in sorted(portfolio.positions, key=lambda p: p.instrument.name)
    )
    rows = tuple(form) + (("", ""),) * max(WHATIF_ROWS - len(form), 1)
    return AccountPage(
        account=account,
        method=method.name,
        params_version=batch.params_version,
        snapshot_label=snapshot.label if snapshot is not None else str(snapshot_id),
        valuation_ms=market.valuation_ms,
        status="not_computed"
        if error is not None
        else state.state
        if state is not None
        else worst_status(list(row_status)),
        row_status=row_status,
        state=state,
        results=results,
        error=error,
        components_figure=components_figure(results),
        grid_figures=None if error else account_grid_figures(batch, portfolio, market, params),
        comparison=comparison,
        methods_figure=method_margins_figure(comparison),
        history_figures=_history_figures(store, account, method.name),
        positions=positions,
        instruments=_listed(market),
        notes=batch.notes,
        whatif_rows=rows,
    )
