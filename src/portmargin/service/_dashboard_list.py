"""The dashboard's account list: the latest margin of each account a key sees, its
lifecycle state and open margin call.

Amounts in USD are converted at the index of the latest snapshot (stablecoins at 1); rows of
one account in one currency share that currency's equity and excess, which count once. The
state is the one recorded by the lifecycle monitor; for accounts computed on the fly it is
the table's state of their assessment (no history, so no hysteresis and no call).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from portmargin.analysis import compute_margin, to_usd
from portmargin.core import ValidationError
from portmargin.io.positions import positions_from_table
from portmargin.lifecycle import STATES
from portmargin.market import MarketSnapshot
from portmargin.service._desk import Desk, now_ms
from portmargin.service._lifecycle import assess_batch, open_calls_by_account
from portmargin.service._results import batch_rows
from portmargin.store import STATUSES, CallRow, ResultRow, Store

__all__ = ["LIST_ROWS", "ON_THE_FLY_ACCOUNTS", "ListRow", "account_list"]

LIST_ROWS = 1000
"""Accounts shown on the list page, in sort order (the page says how many there are)."""

ON_THE_FLY_ACCOUNTS = 500
"""Accounts without a recorded result computed for the account list (more: not computed)."""


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

    ``status`` is the account's lifecycle state (healthy, warning, margin_call, liquidation,
    bankrupt); without one the worst of its rows' statuses, ``"not_computed"`` without a
    result. ``margin_ratio`` is MM over equity (None when equity <= 0), both in the method's
    terms; ``call`` is the open margin call (USD), if any.
    """

    account: str
    label: str
    status: str
    call: CallRow | None
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
) -> tuple[list[_Row], list[tuple[str, str]], dict[str, str]]:
    """Rows of ``accounts`` computed now on the latest snapshot (not recorded), the
    accounts that could not be computed with their reason, and the table state of each
    assessed account."""
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
    assessment = assess_batch(batch, file.book, market)
    states = {
        a: STATES[int(c)].value
        for a, c in zip(assessment.accounts, assessment.state.tolist(), strict=True)
        if c >= 0
    }
    return rows, errors, states


def _usd(amount: float | None, currency: str, market: MarketSnapshot) -> float | None:
    if amount is None or not math.isfinite(amount):
        return None
    try:
        return to_usd(amount, currency, market)
    except ValidationError:
        return None


def _list_row(
    account: str,
    label: str,
    rows: Sequence[_Row],
    market: MarketSnapshot,
    state: str | None,
    call: CallRow | None,
) -> ListRow:
    if not rows:
        return ListRow(
            account=account,
            label=label,
            status=state or "not_computed",
            call=call,
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
        status=state or max((r.status for r in rows), key=STATUSES.index),
        call=call,
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
    states = {s.account_id: s.status for s in store.states(method, ids)}
    calls = open_calls_by_account(store, ids, method)
    if missing and len(missing) <= ON_THE_FLY_ACCOUNTS:
        rows, errors, fresh = _on_the_fly(store, desk, missing)
        for row in rows:
            by_account.setdefault(row.account, []).append(row)
        states = fresh | states
    out = [
        _list_row(
            a.account_id,
            a.label or "",
            by_account.get(a.account_id, []),
            market,
            states.get(a.account_id),
            calls.get(a.account_id),
        )
        for a in known
    ]
    sign = 1.0 if ascending else -1.0
    out.sort(key=lambda r: (r.excess_usd is None, sign * (r.excess_usd or 0.0), r.account))
    return out, errors
