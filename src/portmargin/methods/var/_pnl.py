"""Scenario P&L of every account under the ``var`` method's own scenarios and revaluation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.market import MarketSnapshot, PriceHistory
from portmargin.methods.var._compute import stage
from portmargin.methods.var._params import VarParams
from portmargin.risk import Book

__all__ = ["ScenarioPnl", "scenario_pnl"]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ScenarioPnl:
    """P&L of each account's margined positions in every scenario the ``var`` method
    measured, USD (gain > 0).

    Attributes
    ----------
    accounts
        Accounts holding at least one margined position, shape ``(n,)``.
    labels
        Scenario labels (end dates or path numbers), shape ``(s,)``.
    weights
        Scenario probabilities, shape ``(s,)``, summing to 1.
    pnl
        Shape ``(n, s)``: minus the loss the method measured (with ``worst_of`` the larger of
        the two vol models' losses per scenario for the account as a whole).
    by_underlying
        Underlying → P&L of the account's positions in it alone, shape ``(n, s)`` each
        (revalued as the group the method measures on its own).
    as_of
        Last return end date used.
    errors
        Accounts the method cannot margin, with the reason (as in its ``MarginBatch``).
    """

    accounts: tuple[str, ...]
    labels: tuple[str, ...]
    weights: NDArray[np.float64]
    pnl: NDArray[np.float64]
    by_underlying: Mapping[str, NDArray[np.float64]]
    as_of: date
    errors: Mapping[str, str]

    def of(self, account: str) -> NDArray[np.float64]:
        """P&L of ``account`` in every scenario, shape ``(s,)``.

        Raises
        ------
        ValidationError
            ``account`` holds no margined position.
        """
        if account not in self.accounts:
            raise ValidationError("account", account, f"one of {list(self.accounts)}")
        result: NDArray[np.float64] = self.pnl[self.accounts.index(account)]
        return result


def scenario_pnl(
    book: Book,
    market: MarketSnapshot,
    params: VarParams,
    history: PriceHistory | None = None,
) -> ScenarioPnl:
    """Scenario P&L of every account of ``book`` under the pack ``params``: the same
    scenarios, revaluation (Black-76 or Merton, vol model) and book as
    :func:`portmargin.methods.var.var_margin` measures, so its VaR and ES are those of the
    returned P&L (``risk_measures.var``/``es``, ``standalone_*/U`` of ``by_underlying``).

    Parameters
    ----------
    book
        Accounts × instruments, signed quantities.
    market
        Prices, forwards and vols at valuation and the daily history (``market.history``).
    params
        A ``var`` pack.
    history
        Daily closes to draw the scenarios from; the market's own history when None.

    Raises
    ------
    MarketDataError
        As :func:`~portmargin.methods.var.var_margin`.
    """
    staged = stage(book, market, params, history)
    x = staged.inputs
    if x is None:
        return ScenarioPnl(
            accounts=(),
            labels=(),
            weights=np.zeros(0),
            pnl=np.zeros((0, 0)),
            by_underlying={},
            as_of=staged.as_of,
            errors=staged.errors,
        )
    held = np.flatnonzero(np.diff(x.q.indptr) > 0)
    q = x.q[held]
    _, loss, _ = x.losses.of(q, np.arange(q.shape[1], dtype=np.intp))
    by_underlying = {}
    for u in x.underlyings:
        cols = np.flatnonzero(x.sub.underlying == u).astype(np.intp)
        _, loss_u, _ = x.losses.of(q[:, cols], cols)
        by_underlying[u] = -loss_u
    hist, _ = x.scenarios
    return ScenarioPnl(
        accounts=tuple(str(x.book.accounts[i]) for i in held.tolist()),
        labels=tuple(str(label) for label in x.labels.tolist()),
        weights=np.asarray(hist.weights, dtype=np.float64),
        pnl=-loss,
        by_underlying=by_underlying,
        as_of=x.as_of,
        errors=staged.errors,
    )
