"""What the dashboard pages show, built from the store and the desk (no HTTP here).

Amounts in USD are converted at the index of the latest snapshot (stablecoins at 1); rows of
one account in one currency share that currency's equity and excess, which count once.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from portmargin.analysis import Comparison, compare_methods, compute_margin, to_usd
from portmargin.core import ValidationError
from portmargin.instruments import format_expiry
from portmargin.io.figures import (
    Figure,
    MarginHistory,
    account_grid_figures,
    components_figure,
    history_figure,
    method_margins_figure,
    row_name,
    smile_figure,
)
from portmargin.io.positions import positions_from_table
from portmargin.market import MarketSnapshot
from portmargin.methods import method_names
from portmargin.results import MarginResult
from portmargin.service._desk import Desk, Holding, WhatIfMargin, now_ms, to_portfolio
from portmargin.service._results import STATUSES, Status, batch_rows, status_of, worst_status
from portmargin.store import ResultRow, Store

__all__ = [
    "ON_THE_FLY_ACCOUNTS",
    "AccountPage",
    "ListRow",
    "SnapshotPage",
    "WhatIfRow",
    "account_list",
    "account_page",
    "snapshot_page",
    "whatif_rows",
]

ON_THE_FLY_ACCOUNTS = 500
"""Accounts without a recorded result computed for the account list (more: not computed)."""

HISTORY_POINTS = 500
"""Recorded results drawn on an account's history chart (the newest)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Row:
    """One result row of an account, in the row's currency."""

    account: str
    currency: str
    im: float
    mm: float
    equity: float | None
    excess: float | None
    status: str
    computed_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRow:
    """One account on the account list (USD at the index; None: not computed or not valued).

    ``status`` is the worst of the account's rows, ``"not_computed"`` without a result.
    ``margin_ratio`` is MM over equity (None when equity <= 0).
    """

    account: str
    label: str
    status: str
    im_usd: float | None
    mm_usd: float | None
    equity_usd: float | None
    excess_usd: float | None
    margin_ratio: float | None
    computed_ms: int | None


def _recorded(rows: Iterable[ResultRow]) -> list[_Row]:
    return [
        _Row(
            account=r.account_id,
            currency=r.currency,
            im=r.initial_margin,
            mm=r.maintenance_margin,
            equity=r.equity,
            excess=r.excess,
            status=r.status,
            computed_ms=r.computed_ms,
        )
        for r in rows
    ]


def _on_the_fly(
    store: Store, desk: Desk, accounts: Sequence[str]
) -> tuple[list[_Row], list[tuple[str, str]]]:
    """Rows of ``accounts`` computed now on the latest snapshot (not recorded), and the
    accounts that could not be computed with their reason."""
    book = store.book_table(accounts)
    held = set(book.column("account").to_pylist()) if book.num_rows else set()
    empty = [a for a in accounts if a not in held]
    if empty:  # accounts without any row margin 0: give them a row of their own
        book = pa.concat_tables(
            [
                book,
                pa.table(
                    {
                        "account": pa.array(empty, pa.string()),
                        "instrument": pa.array(["USDC"] * len(empty), pa.string()),
                        "quantity": pa.array([0.0] * len(empty), pa.float64()),
                    }
                ),
            ]
        )
    method, params = desk.params()
    snapshot_id, market = desk.market()
    file = positions_from_table(book, "store")
    batch = compute_margin(method, file.book, market, params)
    table, failed = batch_rows(batch, snapshot_id, now_ms())
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    rows = [
        _Row(
            account=cols["account"][i],
            currency=cols["currency"][i],
            im=cols["initial_margin"][i],
            mm=cols["maintenance_margin"][i],
            equity=cols["equity"][i],
            excess=cols["excess"][i],
            status=cols["status"][i],
            computed_ms=cols["computed_ms"][i],
        )
        for i in range(table.num_rows)
    ]
    errors = sorted({**file.account_errors, **failed}.items())
    return rows, errors


def _usd(amount: float | None, currency: str, market: MarketSnapshot) -> float | None:
    if amount is None or not math.isfinite(amount):
        return None
    try:
        return to_usd(amount, currency, market)
    except ValidationError:
        return None


def _list_row(account: str, label: str, rows: Sequence[_Row], market: MarketSnapshot) -> ListRow:
    if not rows:
        return ListRow(
            account=account,
            label=label,
            status="not_computed",
            im_usd=None,
            mm_usd=None,
            equity_usd=None,
            excess_usd=None,
            margin_ratio=None,
            computed_ms=None,
        )
    im = sum(_usd(r.im, r.currency, market) or 0.0 for r in rows)
    mm = sum(_usd(r.mm, r.currency, market) or 0.0 for r in rows)
    firsts = {r.currency: r for r in reversed(rows)}.values()
    equity = [_usd(r.equity, r.currency, market) for r in firsts]
    excess = [_usd(r.excess, r.currency, market) for r in firsts]
    eq = None if None in equity else sum(e for e in equity if e is not None)
    ex = None if None in excess else sum(e for e in excess if e is not None)
    return ListRow(
        account=account,
        label=label,
        status=max((r.status for r in rows), key=STATUSES.index),
        im_usd=im,
        mm_usd=mm,
        equity_usd=eq,
        excess_usd=ex,
        margin_ratio=mm / eq if eq is not None and eq > 0 else None,
        computed_ms=max(r.computed_ms for r in rows),
    )


def account_list(
    store: Store, desk: Desk, accounts: Collection[str] | None, ascending: bool
) -> tuple[list[ListRow], list[tuple[str, str]]]:
    """The accounts a key sees with their latest margin under the default method.

    Parameters
    ----------
    store, desk
        Where the accounts and results are, and how to compute the missing ones.
    accounts
        Account ids the key may see (None: every account).
    ascending
        Sort by excess (USD) from the lowest (the most at risk) when True; accounts without
        an excess come last either way, then by id.

    Returns
    -------
    rows, errors
        One row per existing account; the accounts the method could not compute now, with
        their reason.
    """
    known = store.accounts(accounts)
    ids = [a.account_id for a in known]
    method = desk.params()[0].name
    by_account: dict[str, list[_Row]] = {}
    for row in _recorded(store.latest_results(ids, method=method)):
        by_account.setdefault(row.account, []).append(row)
    missing = [a for a in ids if a not in by_account]
    errors: list[tuple[str, str]] = []
    _, market = desk.market()
    if missing and len(missing) <= ON_THE_FLY_ACCOUNTS:
        rows, errors = _on_the_fly(store, desk, missing)
        for row in rows:
            by_account.setdefault(row.account, []).append(row)
    out = [
        _list_row(a.account_id, a.label or "", by_account.get(a.account_id, []), market)
        for a in known
    ]
    sign = 1.0 if ascending else -1.0
    out.sort(key=lambda r: (r.excess_usd is None, sign * (r.excess_usd or 0.0), r.account))
    return out, errors


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
        Worst status of the rows and the status of each row.
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
    batch = compute_margin(method, [portfolio], market, params)
    error = batch.errors.get(account)
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
        status="not_computed" if error is not None else worst_status(list(row_status)),
        row_status=row_status,
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardLine:
    """A forward of the snapshot: USD per coin, days to expiry, annualised log basis
    ``ln(F / S) / T`` (None at or past expiry)."""

    underlying: str
    expiry: str
    days: float
    index: float
    forward: float
    basis: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SmileChart:
    """The vol smiles of one underlying (a figure without traces: no vols)."""

    underlying: str
    figure: Figure


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotPage:
    """The snapshot page: id, label, valuation time, smiles and forwards."""

    snapshot_id: int
    label: str
    valuation_ms: int
    underlyings: tuple[str, ...]
    smiles: tuple[SmileChart, ...]
    forwards: tuple[ForwardLine, ...]


def snapshot_page(store: Store, desk: Desk) -> SnapshotPage:
    """The latest snapshot's vol smiles and forwards.

    Raises
    ------
    ValidationError
        No snapshot uploaded yet (field ``snapshot_id``).
    """
    snapshot_id, market = desk.market()
    row = store.snapshot(snapshot_id)
    forwards = []
    for u in market.underlyings:
        spot = market.index(u)
        for e in market.expiries(u):
            t = market.year_fraction(e)
            f = market.forward(u, e)
            forwards.append(
                ForwardLine(
                    underlying=u,
                    expiry=format_expiry(e),
                    days=t * 365.0,
                    index=spot,
                    forward=f,
                    basis=math.log(f / spot) / t if t > 0 else None,
                )
            )
    return SnapshotPage(
        snapshot_id=snapshot_id,
        label=row.label if row is not None else str(snapshot_id),
        valuation_ms=market.valuation_ms,
        underlyings=market.underlyings,
        smiles=tuple(
            SmileChart(underlying=u, figure=smile_figure(market, u)) for u in market.underlyings
        ),
        forwards=tuple(forwards),
    )
