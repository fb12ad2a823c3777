"""Account states from equity against IM and MM (``lifecycle.md`` §3, §4), for many accounts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.instruments import Currency
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._params import LifecycleParams, StateParams
from portmargin.lifecycle._requirements import Margining
from portmargin.lifecycle._values import account_values
from portmargin.market import MarketSnapshot
from portmargin.risk import Book

__all__ = ["STATES", "AccountState", "Assessment", "assess", "classify", "open_positions"]


class AccountState(StrEnum):
    """Account states, from healthy to bankrupt (``lifecycle.md`` §4)."""

    HEALTHY = "healthy"
    WARNING = "warning"
    MARGIN_CALL = "margin_call"
    LIQUIDATION = "liquidation"
    BANKRUPT = "bankrupt"


STATES: tuple[AccountState, ...] = tuple(AccountState)
"""States by code: code ``k`` of :func:`classify` is ``STATES[k]`` (higher = worse)."""


def classify(
    equity: NDArray[np.float64],
    initial_margin: NDArray[np.float64],
    maintenance_margin: NDArray[np.float64],
    has_positions: NDArray[np.bool_],
    params: StateParams,
) -> NDArray[np.int8]:
    """State code of every account (index into :data:`STATES`), checked top-down.

    BANKRUPT ``E <= 0`` with open positions; LIQUIDATION ``E < MM``; MARGIN_CALL
    ``E < call_level MM``; WARNING ``E < IM``; HEALTHY otherwise. Equity and requirements in
    USD, shape ``(n,)``; they must be finite (accounts without a requirement are reported
    apart, never classified).
    """
    e = np.asarray(equity, dtype=np.float64)
    im = np.asarray(initial_margin, dtype=np.float64)
    mm = np.asarray(maintenance_margin, dtype=np.float64)
    for name, values in (("equity", e), ("initial_margin", im), ("maintenance_margin", mm)):
        if values.shape != e.shape or not np.all(np.isfinite(values)):
            raise ValidationError(name, values, f"finite USD amounts, shape {e.shape}")
    code = np.zeros(e.shape, dtype=np.int8)
    code[e < im] = 1
    code[e < params.call_level * mm] = 2
    code[e < mm] = 3
    code[(e <= 0) & np.asarray(has_positions, dtype=bool)] = 4
    return code


def open_positions(book: Book) -> NDArray[np.bool_]:
    """True for accounts holding anything but currency balances, shape ``(n_accounts,)``."""
    derivative = np.array([not isinstance(i, Currency) for i in book.instruments], dtype=bool)
    held: NDArray[np.bool_] = (abs(book.quantities) @ derivative.astype(np.float64)) > 0
    return held


def _no_errors() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Assessment:
    """Equity, requirements, ratios and state of every account at one market (USD).

    Accounts in ``errors`` (no equity or no requirement) have NaN figures and state code -1;
    every other account has finite figures and a state.

    Attributes
    ----------
    accounts
        Account ids, shape ``(n,)``.
    equity, initial_margin, maintenance_margin
        ``E``, ``IM``, ``MM``, USD, shape ``(n,)``.
    state
        Codes into :data:`STATES`, int8, shape ``(n,)`` (-1 for errors).
    margining
        Name of the requirement model.
    errors
        Account → reason.
    """

    accounts: tuple[str, ...]
    equity: NDArray[np.float64]
    initial_margin: NDArray[np.float64]
    maintenance_margin: NDArray[np.float64]
    state: NDArray[np.int8]
    margining: str
    errors: Mapping[str, str] = field(default_factory=_no_errors)

    @property
    def margin_ratio(self) -> NDArray[np.float64]:
        """``MM / E`` (> 1 means liquidation), ``+inf`` where ``E <= 0``."""
        return _ratio(self.maintenance_margin, self.equity)

    @property
    def im_ratio(self) -> NDArray[np.float64]:
        """``IM / E``, ``+inf`` where ``E <= 0``."""
        return _ratio(self.initial_margin, self.equity)

    @property
    def excess(self) -> NDArray[np.float64]:
        """``E - IM``, USD."""
        result: NDArray[np.float64] = self.equity - self.initial_margin
        return result

    @property
    def buffer(self) -> NDArray[np.float64]:
        """Liquidation buffer ``E - MM``, USD."""
        result: NDArray[np.float64] = self.equity - self.maintenance_margin
        return result

    def state_of(self, account: str) -> AccountState | None:
        """State of one account (None if it is in ``errors``)."""
        code = int(self.state[self.accounts.index(account)])
        return None if code < 0 else STATES[code]


def _ratio(num: NDArray[np.float64], equity: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(equity > 0, num / np.where(equity > 0, equity, 1.0), np.inf)
    result: NDArray[np.float64] = np.where(np.isnan(num), np.nan, ratio)
    return result


def assess(
    holdings: Holdings, market: MarketSnapshot, margining: Margining, params: LifecycleParams
) -> Assessment:
    """Equity (haircut-adjusted, ``params.collateral``), requirements and state of every
    account of ``holdings`` at ``market``, in one batch (``lifecycle.md`` §2–§4)."""
    values = account_values(holdings, market, params.collateral)
    req = margining.requirements(holdings.book, market)
    errors = {**values.errors, **req.errors}
    bad = np.array([a in errors for a in holdings.accounts], dtype=bool)
    e = np.where(bad, np.nan, values.equity)
    im = np.where(bad, np.nan, req.initial_margin)
    mm = np.where(bad, np.nan, req.maintenance_margin)
    state = np.full(len(holdings.accounts), -1, dtype=np.int8)
    ok = ~bad
    state[ok] = classify(e[ok], im[ok], mm[ok], open_positions(holdings.book)[ok], params.states)
    return Assessment(
        accounts=holdings.accounts,
        equity=e,
        initial_margin=im,
        maintenance_margin=mm,
        state=state,
        margining=margining.name,
        errors=MappingProxyType(errors),
    )
