"""Records of a liquidation run: executed steps, per-account summaries, the run
(``lifecycle.md`` §6, §7)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from portmargin.lifecycle._fund import FundLedger
from portmargin.lifecycle._holdings import Holdings
from portmargin.lifecycle._states import Assessment
from portmargin.lifecycle._waterfall import BankruptcyEvent

__all__ = ["AccountLiquidation", "LiquidationOutcome", "LiquidationRun", "LiquidationStep"]


class LiquidationOutcome(StrEnum):
    """How the liquidation of one account ended."""

    RESTORED = "restored"
    """``E >= liq_target MM`` reached (or nothing left open with ``E > 0``)."""
    UNRESTORED = "unrestored"
    """Nothing left that can be traded (only instruments without a usable mark), ``E > 0``
    but below ``liq_target MM``: the account stays in liquidation, there is no deficit."""
    BANKRUPT = "bankrupt"
    """``E <= 0`` before or during liquidation: resolved by the default waterfall (§7)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LiquidationStep:
    """One executed slice (a pro-rata step has one record per instrument, same ``step``).

    Attributes
    ----------
    account
        Account id.
    step
        Step number within the account's liquidation, from 1.
    instrument
        Instrument name.
    side
        ``"sell"`` (reducing a long) or ``"buy"`` (reducing a short).
    quantity
        Units traded, > 0 (coins; inverse futures and perpetuals in coins at the holdings'
        reference price).
    price
        Execution price, settlement currency per unit.
    notional_usd
        USD notional of the slice.
    slippage_usd
        Equity lost against the mark, USD.
    penalty_usd
        Penalty collected (capped at the equity left after the trade), USD.
    fund_usd
        The insurance fund's share of it, USD.
    equity_before, maintenance_before, equity_after, maintenance_after
        The account's ``E`` and ``MM`` before and after the step, USD.
    """

    account: str
    step: int
    instrument: str
    side: str
    quantity: float
    price: float
    notional_usd: float
    slippage_usd: float
    penalty_usd: float
    fund_usd: float
    equity_before: float
    maintenance_before: float
    equity_after: float
    maintenance_after: float

    @property
    def cost_usd(self) -> float:
        """Slippage plus collected penalty, USD."""
        return self.slippage_usd + self.penalty_usd


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountLiquidation:
    """Summary of one liquidated account, USD.

    Attributes
    ----------
    account
        Account id.
    outcome
        :class:`LiquidationOutcome`.
    equity_before, maintenance_before
        ``E``, ``MM`` when the run started.
    equity_after, maintenance_after
        ``E``, ``MM`` when partial liquidation stopped (before the waterfall of a bankrupt
        account).
    steps
        Number of steps executed.
    slippage_usd, penalty_usd
        Totals over the steps.
    """

    account: str
    outcome: LiquidationOutcome
    equity_before: float
    maintenance_before: float
    equity_after: float
    maintenance_after: float
    steps: int
    slippage_usd: float
    penalty_usd: float


def _no_errors() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LiquidationRun:
    """Result of liquidating every account of an assessment in LIQUIDATION or BANKRUPT state.

    Attributes
    ----------
    assessment
        The assessment at the start (every account of the holdings).
    accounts
        One :class:`AccountLiquidation` per liquidated account, in holdings order.
    steps
        Every executed slice, by account (holdings order) then step.
    bankruptcies
        One :class:`~portmargin.lifecycle.BankruptcyEvent` per bankrupt account, by id.
    fund
        Insurance-fund ledger of the run.
    holdings
        Every account's holdings after the run (balances include realised P&L, penalties,
        deficits paid and mutualised charges).
    errors
        Account → reason, for accounts that could not be assessed or liquidated.
    """

    assessment: Assessment
    accounts: tuple[AccountLiquidation, ...]
    steps: tuple[LiquidationStep, ...]
    bankruptcies: tuple[BankruptcyEvent, ...]
    fund: FundLedger
    holdings: Holdings
    errors: Mapping[str, str] = field(default_factory=_no_errors)

    @property
    def mutualised_loss_usd(self) -> float:
        """Loss moved to other accounts (ADL give-ups and socialised haircuts), USD."""
        return float(sum(e.mutualised_loss_usd for e in self.bankruptcies))
