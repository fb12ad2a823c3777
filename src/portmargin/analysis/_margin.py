"""Run methods over portfolios: margin, what-if trades, side-by-side comparison in USD."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.market import MarketSnapshot
from portmargin.methods import NO_INPUTS, AccountInputs, MarginMethod, run_method
from portmargin.portfolio import Portfolio, Position
from portmargin.results import MarginBatch, MarginResult
from portmargin.risk import STABLECOINS, Book

__all__ = [
    "Comparison",
    "MethodRun",
    "WhatIf",
    "compare_methods",
    "compute_margin",
    "to_usd",
    "what_if",
]


def compute_margin(
    method: MarginMethod,
    portfolios: Book | Sequence[Portfolio],
    market: MarketSnapshot,
    params: Any,
    inputs: AccountInputs = NO_INPUTS,
) -> MarginBatch:
    """Margin of every account under ``method`` (one sparse book, one call).

    ``portfolios`` is a :class:`~portmargin.risk.Book` (e.g. ``read_positions(...).book``) or
    a sequence of portfolios, which is turned into one. Accounts that cannot be computed are in
    the batch's ``errors``; every other account has at least one row (empty, flat and
    collateral-only accounts margin 0), with its equity (see
    :func:`portmargin.methods.run_method`). ``inputs`` are per-account inputs the method
    declares (``method.account_inputs``).
    """
    return run_method(method, _as_book(portfolios), market, params, inputs=inputs)


def _as_book(portfolios: Book | Sequence[Portfolio]) -> Book:
    return portfolios if isinstance(portfolios, Book) else Book.from_portfolios(portfolios)


def to_usd(amount: float, currency: str, market: MarketSnapshot) -> float:
    """Convert an amount to USD at the snapshot's index (stablecoins at 1)."""
    if currency in STABLECOINS:
        return amount
    return amount * market.index(currency)


@dataclass(frozen=True, slots=True, kw_only=True)
class WhatIf:
    """Margin of one account before and after adding trades.

    Attributes
    ----------
    account
        Account id.
    before, after
        Results per row the method reports (one per currency or book); empty on error.
    change_im, change_mm
        Currency → IM (MM) after minus before; > 0 means the trades need more margin.
    error
        Why the account could not be computed before or after the trades, or None.
    """

    account: str
    before: tuple[MarginResult, ...] = ()
    after: tuple[MarginResult, ...] = ()
    change_im: Mapping[str, float] = field(default_factory=dict)
    change_mm: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return {
            "account": self.account,
            "before": [r.to_dict() for r in self.before],
            "after": [r.to_dict() for r in self.after],
            "change_im": dict(self.change_im),
            "change_mm": dict(self.change_mm),
            "error": self.error,
        }


def what_if(
    method: MarginMethod,
    portfolios: Sequence[Portfolio],
    trades: Iterable[Position],
    market: MarketSnapshot,
    params: Any,
    inputs: AccountInputs = NO_INPUTS,
) -> list[WhatIf]:
    """Change in IM and MM of each portfolio when the same ``trades`` are added to it.

    Every account before and after the trades goes through one ``compute`` call, with the
    same per-account ``inputs``. An account that cannot be computed either way gets a
    :class:`WhatIf` with ``error`` set.
    """
    trades = tuple(trades)
    after_pfs = [
        Portfolio(account=f"{i}\x00after", positions=pf.with_trades(trades).positions)
        for i, pf in enumerate(portfolios)
    ]
    copies = {pf.account: tagged.account for pf, tagged in zip(portfolios, after_pfs, strict=True)}
    both = inputs.with_copies(copies) if inputs else inputs
    batch = compute_margin(method, [*portfolios, *after_pfs], market, params, both)
    rows = batch.rows_by_account()
    out = []
    for pf, tagged in zip(portfolios, after_pfs, strict=True):
        error = batch.errors.get(pf.account) or batch.errors.get(tagged.account)
        if error is not None:
            out.append(WhatIf(account=pf.account, error=error))
            continue
        before = tuple(batch.result(i) for i in rows.get(pf.account, ()))
        after = tuple(
            replace(batch.result(i), account=pf.account) for i in rows.get(tagged.account, ())
        )
        out.append(
            WhatIf(
                account=pf.account,
                before=before,
                after=after,
                change_im=_change(before, after, "initial_margin"),
                change_mm=_change(before, after, "maintenance_margin"),
            )
        )
    return out


def _change(
    before: tuple[MarginResult, ...], after: tuple[MarginResult, ...], attr: str
) -> dict[str, float]:
    totals: dict[str, float] = {}
    for sign, rows in ((-1.0, before), (1.0, after)):
        for r in rows:
            totals[r.currency] = totals.get(r.currency, 0.0) + sign * getattr(r, attr)
    return dict(sorted(totals.items()))


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodRun:
    """One method's margin of one account, in USD.

    Attributes
    ----------
    method
        Method name.
    initial_margin_usd, maintenance_margin_usd
        Sum over the method's rows for the account, converted at the index; None on error.
    error
        Why the account could not be computed, or None.
    """

    method: str
    initial_margin_usd: float | None
    maintenance_margin_usd: float | None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """Every method side by side for one account.

    Attributes
    ----------
    account
        Account id.
    runs
        One entry per method, in the order given.
    baseline
        Name of the baseline method (``standard``).
    """

    account: str
    runs: tuple[MethodRun, ...]
    baseline: str

    def saving(self, method: str) -> float | None:
        """Capital saved by ``method`` against the baseline, fraction of the baseline IM."""
        runs = {r.method: r for r in self.runs}
        base, other = runs.get(self.baseline), runs.get(method)
        if base is None or other is None:
            return None
        if base.initial_margin_usd is None or other.initial_margin_usd is None:
            return None
        if base.initial_margin_usd <= 0:
            return None
        return 1.0 - other.initial_margin_usd / base.initial_margin_usd

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, with ``saving_vs_<baseline>`` per method."""
        return {
            "account": self.account,
            "methods": [
                {
                    "method": r.method,
                    "initial_margin_usd": r.initial_margin_usd,
                    "maintenance_margin_usd": r.maintenance_margin_usd,
                    "error": r.error,
                    f"saving_vs_{self.baseline}": self.saving(r.method),
                }
                for r in self.runs
            ],
        }


def compare_methods(
    runs: Mapping[str, tuple[MarginMethod, Any]],
    portfolios: Book | Sequence[Portfolio],
    market: MarketSnapshot,
    baseline: str = "standard",
    inputs: AccountInputs = NO_INPUTS,
) -> list[Comparison]:
    """Compute every method for every portfolio and line them up per account in USD.

    Parameters
    ----------
    runs
        Method name → (method, params).
    portfolios
        The accounts: a book, or portfolios (turned into one book for all methods).
    market
        Snapshot used by every method and for USD conversion at the index.
    baseline
        Method whose IM the savings are measured against.
    inputs
        Per-account inputs; each method gets those it declares (``account_inputs``).
    """
    if baseline not in runs:
        raise ValidationError("baseline", baseline, f"one of {sorted(runs)}")
    book = _as_book(portfolios)
    batches = {
        name: compute_margin(m, book, market, p, inputs.restrict(s.name for s in m.account_inputs))
        for name, (m, p) in runs.items()
    }
    accounts = list(book.accounts)
    totals = {name: _totals_usd(batch, accounts, market) for name, batch in batches.items()}
    out = []
    for k, account in enumerate(accounts):
        entries = []
        for name, batch in batches.items():
            error = batch.errors.get(account)
            im, mm = totals[name]
            entries.append(
                MethodRun(
                    method=name,
                    initial_margin_usd=None if error else float(im[k]),
                    maintenance_margin_usd=None if error else float(mm[k]),
                    error=error,
                )
            )
        out.append(Comparison(account=account, runs=tuple(entries), baseline=baseline))
    return out


def _totals_usd(
    batch: MarginBatch, accounts: Sequence[str], market: MarketSnapshot
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """IM and MM per account (in ``accounts`` order), summed over rows in USD at the index."""
    position = {a: i for i, a in enumerate(accounts)}
    rate = {c: to_usd(1.0, str(c), market) for c in set(batch.currency.tolist())}
    factor = np.array([rate[c] for c in batch.currency.tolist()], dtype=np.float64)
    rows = np.array([position[a] for a in batch.account.tolist()], dtype=np.intp)
    n = len(accounts)
    im = np.bincount(rows, weights=batch.initial_margin * factor, minlength=n).astype(np.float64)
    mm = np.bincount(rows, weights=batch.maintenance_margin * factor, minlength=n).astype(
        np.float64
    )
    return im, mm
