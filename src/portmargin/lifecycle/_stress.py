"""Stressed account results (``stress-and-dynamics.md`` A.1) and the cover-2 figure of the
insurance fund: equity and maintenance margin of every account recomputed under each
scenario of a stress library."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.instruments import Currency
from portmargin.lifecycle._collateral import CollateralPolicy
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._requirements import Margining
from portmargin.lifecycle._values import account_values
from portmargin.market import MarketSnapshot
from portmargin.risk import (
    Book,
    Kind,
    price_snapshot,
    resolve_instruments,
    stressed_market,
    unit_values,
    with_expired_at_intrinsic,
)
from portmargin.scenarios import StressScenario

__all__ = ["CoverTwo", "StressResults", "cover_two", "expiry_settled", "stress_accounts"]


def _no_errors() -> Mapping[str, str]:
    return MappingProxyType({})


def expiry_settled(holdings: Holdings, market: MarketSnapshot) -> Holdings:
    """``holdings`` with the positions that have expired at ``market`` settled into cash.

    An option whose expiry is at or before ``market.valuation_ms`` pays its intrinsic value
    on the index (``max(S - K, 0)`` or ``max(K - S, 0)`` per coin; inverse options in coin,
    divided by the index); a dated future pays its P&L since the holdings' reference price at
    the index (linear ``S - reference``, inverse ``1 - reference / S`` coin per coin). The
    amount goes to the balance of the settlement currency and the position is closed. Expired
    instruments whose underlying has no index stay (their holders are reported by
    valuation). ``holdings`` itself is returned when nothing has expired.
    """
    book = holdings.book
    table = with_expired_at_intrinsic(resolve_instruments(book.instruments, market))
    expired_future = (
        (table.kind == Kind.FUTURE)
        & (table.expiry_ms > 0)
        & (table.expiry_ms <= market.valuation_ms)
        & np.isfinite(table.index)
    )
    expired_option = table.past_expiry & table.usable
    expired = expired_future | expired_option
    if not np.any(expired):
        return holdings
    ref = holdings.reference
    pay = np.zeros(len(table))  # settlement currency per unit held
    with np.errstate(invalid="ignore", divide="ignore"):
        future_pnl = np.where(table.inverse, 1.0 - ref / table.index, table.index - ref)
    pay[expired_future] = future_pnl[expired_future]
    pay[expired_option] = unit_values(table)[expired_option]
    q = book.quantities
    rows = np.repeat(np.arange(len(book.accounts)), np.diff(q.indptr))
    cols = q.indices
    hit = expired[cols]
    settle = table.settlement_currency
    kept = np.flatnonzero(~expired)
    names = {book.instruments[c].name for c in kept.tolist()}
    extra = sorted({str(settle[c]) for c in cols[hit].tolist()} - names)
    instruments = (
        *(book.instruments[c] for c in kept.tolist()),
        *(Currency(code=c) for c in extra),
    )
    new_col = np.full(len(book.instruments), -1, dtype=np.intp)
    new_col[kept] = np.arange(kept.size)
    column = {inst.name: k for k, inst in enumerate(instruments)}
    cash_col = np.array([column[str(settle[c])] for c in cols[hit].tolist()], dtype=np.intp)
    settled = Book.from_arrays(
        book.accounts,
        instruments,
        np.concatenate([rows[~hit], rows[hit]]),
        np.concatenate([new_col[cols[~hit]], cash_col]),
        np.concatenate([q.data[~hit], q.data[hit] * pay[cols[hit]]]),
    )
    reference = np.concatenate([ref[kept], np.full(len(extra), np.nan)])
    return Holdings(book=settled, reference=reference)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class StressResults:
    """Stressed equity and maintenance margin of every account under every scenario (A.1).

    Attributes
    ----------
    scenarios
        The scenarios, shape ``(s,)`` as a tuple (rows of the arrays).
    accounts
        Account ids, shape ``(n,)`` (columns).
    margining
        Name of the margin model of ``maintenance_margin``.
    equity
        ``E_s``, shape ``(s, n)``, USD: haircut-adjusted equity (``lifecycle.md`` §2) at the
        stressed market, full revaluation of positions and collateral, positions that
        expired within the horizon settled into cash, collateral shocks on the USD rates.
        NaN for the accounts in ``errors``.
    maintenance_margin
        ``MM_s``, shape ``(s, n)``, USD, recomputed at the stressed market; NaN for the
        accounts in ``errors``.
    errors
        Account → reason (scenario id and message of the first failure), for accounts that
        could not be valued or margined under some scenario; every row of such an account
        is NaN and never flagged.
    """

    scenarios: tuple[StressScenario, ...]
    accounts: tuple[str, ...]
    margining: str
    equity: NDArray[np.float64]
    maintenance_margin: NDArray[np.float64]
    errors: Mapping[str, str] = field(default_factory=_no_errors)

    def __post_init__(self) -> None:
        shape = (len(self.scenarios), len(self.accounts))
        for name in ("equity", "maintenance_margin"):
            values = np.array(getattr(self, name), dtype=np.float64)
            if values.shape != shape:
                raise ValidationError(name, values.shape, f"shape {shape} (scenarios, accounts)")
            values.flags.writeable = False
            object.__setattr__(self, name, values)

    @property
    def scenario_ids(self) -> tuple[str, ...]:
        """Scenario ids, shape ``(s,)``."""
        return tuple(s.id for s in self.scenarios)

    @property
    def breach(self) -> NDArray[np.bool_]:
        """``E_s < MM_s``, shape ``(s, n)`` (False for accounts in ``errors``)."""
        result: NDArray[np.bool_] = self.equity < self.maintenance_margin
        return result

    @property
    def default(self) -> NDArray[np.bool_]:
        """``E_s < 0``, shape ``(s, n)`` (False for accounts in ``errors``)."""
        result: NDArray[np.bool_] = self.equity < 0.0
        return result

    @property
    def loss_beyond_collateral(self) -> NDArray[np.float64]:
        """``max(-E_s, 0)``, shape ``(s, n)``, USD: what a default leaves uncovered
        (0 for accounts in ``errors``)."""
        result: NDArray[np.float64] = np.maximum(np.nan_to_num(-self.equity, nan=0.0), 0.0)
        return result


def stress_accounts(
    holdings: Holdings,
    market: MarketSnapshot,
    margining: Margining,
    collateral: CollateralPolicy,
    scenarios: Sequence[StressScenario],
) -> StressResults:
    """Stressed equity and maintenance margin of every account of ``holdings`` (A.1).

    Per scenario: the stressed market (:func:`~portmargin.risk.stressed_market`); positions
    that expired within the horizon settled into cash (:func:`expiry_settled`); equity by
    :func:`~portmargin.lifecycle.account_values` with the scenario's ``collateral_shock`` on
    the USD rates; one ``margining.requirements`` call over all accounts. The book's
    instruments are resolved once per scenario for both.

    Parameters
    ----------
    holdings
        Accounts with their positions, balances and reference prices.
    market
        The market now.
    margining
        The margin model (MM in USD).
    collateral
        Collateral scope and haircuts.
    scenarios
        Stress scenarios, e.g. ``StressLibrary.scenarios``.
    """
    scen = tuple(scenarios)
    n = len(holdings.accounts)
    equity = np.full((len(scen), n), np.nan)
    mm = np.full((len(scen), n), np.nan)
    errors: dict[str, str] = {}
    for k, scenario in enumerate(scen):
        stressed = price_snapshot(
            stressed_market(market, scenario, holdings.book.instruments),
            holdings.book.instruments,
        )
        held = expiry_settled(holdings, stressed)
        priced = price_snapshot(stressed, held.book.instruments)
        values = account_values(held, priced, collateral, scenario.collateral_shock)
        req = margining.requirements(held.book, priced)
        equity[k] = values.equity
        mm[k] = req.maintenance_margin
        for account, reason in {**values.errors, **req.errors}.items():
            errors.setdefault(account, f"{scenario.id}: {reason}")
    if errors:
        bad = np.array([a in errors for a in holdings.accounts], dtype=bool)
        equity[:, bad] = np.nan
        mm[:, bad] = np.nan
    return StressResults(
        scenarios=scen,
        accounts=holdings.accounts,
        margining=margining.name,
        equity=equity,
        maintenance_margin=mm,
        errors=MappingProxyType(errors),
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CoverTwo:
    """The loss the insurance fund must absorb if the two accounts with the largest stressed
    loss beyond their collateral default ("cover-2"), and the same for one account.

    Attributes
    ----------
    scenario_ids
        Shape ``(s,)``.
    accounts
        Account ids, shape ``(n,)``.
    loss
        ``max(-E_s, 0)`` per scenario and account, shape ``(s, n)``, USD (0 for accounts
        that could not be valued; see ``errors``).
    top
        Shape ``(s, 2)``: columns of the largest and second-largest loss of each scenario
        (ties to the smaller account id), ``-1`` where the book has fewer accounts.
    cover_one_by_scenario, cover_two_by_scenario
        Largest loss and sum of the two largest, shape ``(s,)``, USD.
    errors
        Accounts left out (not valued under some scenario) → reason.
    """

    scenario_ids: tuple[str, ...]
    accounts: tuple[str, ...]
    loss: NDArray[np.float64]
    top: NDArray[np.intp]
    cover_one_by_scenario: NDArray[np.float64]
    cover_two_by_scenario: NDArray[np.float64]
    errors: Mapping[str, str] = field(default_factory=_no_errors)

    @property
    def cover_two(self) -> float:
        """Cover-2 figure: ``max`` over scenarios of the two largest losses, USD (0 if none)."""
        return float(self.cover_two_by_scenario.max()) if self.scenario_ids else 0.0

    @property
    def cover_one(self) -> float:
        """Cover-1 figure: ``max`` over scenarios of the largest loss, USD (0 if none)."""
        return float(self.cover_one_by_scenario.max()) if self.scenario_ids else 0.0

    @property
    def binding_scenario(self) -> str | None:
        """Scenario of the cover-2 figure (the first in library order on ties); None when
        no scenario leaves a loss."""
        return self._binding(self.cover_two_by_scenario)

    @property
    def binding_accounts(self) -> tuple[str, ...]:
        """Accounts (one or two) whose losses make the cover-2 figure, largest first."""
        return self._defaulters(self.binding_scenario, 2)

    @property
    def cover_one_scenario(self) -> str | None:
        """Scenario of the cover-1 figure; None when no scenario leaves a loss."""
        return self._binding(self.cover_one_by_scenario)

    @property
    def cover_one_account(self) -> str | None:
        """Account of the cover-1 figure; None when no scenario leaves a loss."""
        found = self._defaulters(self.cover_one_scenario, 1)
        return found[0] if found else None

    def _binding(self, by_scenario: NDArray[np.float64]) -> str | None:
        if not self.scenario_ids or not by_scenario.max() > 0:
            return None
        return self.scenario_ids[int(np.argmax(by_scenario))]

    def _defaulters(self, scenario: str | None, count: int) -> tuple[str, ...]:
        if scenario is None:
            return ()
        k = self.scenario_ids.index(scenario)
        cols = [int(c) for c in self.top[k, :count] if c >= 0 and self.loss[k, c] > 0]
        return tuple(self.accounts[c] for c in cols)


def cover_two(results: StressResults) -> CoverTwo:
    """Cover-2 (and cover-1) of the insurance fund from stressed account results.

    Per scenario, the stressed loss beyond collateral of each account is ``max(-E_s, 0)``
    (USD); cover-2 is the sum of the two largest, cover-1 the largest; the figures are their
    maxima over scenarios. Accounts that could not be valued count 0 and are listed in
    ``errors``. Vectorised over scenarios and accounts.
    """
    loss = results.loss_beyond_collateral
    s, n = loss.shape
    ids = np.array(results.accounts, dtype=object)
    by_id = np.argsort(ids, kind="stable").astype(np.intp)
    ranked = by_id[np.argsort(-loss[:, by_id], axis=1, kind="stable")[:, :2]]
    top = np.full((s, 2), -1, dtype=np.intp)
    top[:, : ranked.shape[1]] = ranked
    taken = np.zeros((s, 2))
    if n:
        taken = np.where(top >= 0, np.take_along_axis(loss, np.maximum(top, 0), axis=1), 0.0)
    return CoverTwo(
        scenario_ids=results.scenario_ids,
        accounts=results.accounts,
        loss=loss,
        top=top,
        cover_one_by_scenario=taken[:, 0].copy(),
        cover_two_by_scenario=taken.sum(axis=1),
        errors=results.errors,
    )
