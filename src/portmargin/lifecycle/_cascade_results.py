"""Cascade inputs and results: parameters, rounds, totals and per-account outcomes
(``lifecycle.md`` §9 metrics)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError, require_non_negative
from portmargin.lifecycle._collateral import CollateralPolicy
from portmargin.lifecycle._params import LifecycleParams

__all__ = [
    "FATES",
    "AccountFate",
    "CascadeOutcomes",
    "CascadeParams",
    "CascadeResult",
    "CascadeRound",
    "frozen_prices",
]


def frozen_prices(mapping: Mapping[str, float]) -> Mapping[str, float]:
    """A read-only copy with float values."""
    return MappingProxyType({k: float(v) for k, v in mapping.items()})


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeParams:
    """Inputs of one cascade run besides the population, margining and market model.

    Attributes
    ----------
    shock
        Underlying → initial relative move (``-0.1`` = 10 % down): ``S_1 = S_0 (1 + x)``.
    fund_usd
        Insurance fund at the start, ``F_0``, USD, >= 0.
    collateral
        Collateral scope and haircuts used for equity (``LifecycleParams.collateral``).
    penalty
        Liquidation penalty, fraction of the notional traded at the round's price ``S_r``
        (default 0.005); collected up to the account's positive equity after the trades.
    fund_share
        Share of collected penalties paid to the fund (default 1).
    max_rounds
        Rounds executed at most (default 100), >= 1.
    adl_offbook
        If True, bankrupt accounts the fund cannot cover are closed against counterparties
        at the bankruptcy price (``lifecycle.md`` §7) and their flow is left out of ``Q_r``.
    """

    shock: Mapping[str, float]
    fund_usd: float
    collateral: CollateralPolicy
    penalty: float = 0.005
    fund_share: float = 1.0
    max_rounds: int = 100
    adl_offbook: bool = False

    def __post_init__(self) -> None:
        for u, x in self.shock.items():
            if isinstance(x, bool) or not isinstance(x, int | float) or not -1.0 < x < np.inf:
                raise ValidationError(f"shock[{u!r}]", x, "a finite relative move > -1")
        object.__setattr__(self, "shock", frozen_prices(self.shock))
        object.__setattr__(self, "fund_usd", require_non_negative("fund_usd", self.fund_usd))
        for name in ("penalty", "fund_share"):
            value = getattr(self, name)
            if not 0.0 <= require_non_negative(name, value) <= 1.0:
                raise ValidationError(name, value, "a fraction in [0, 1]")
            object.__setattr__(self, name, float(value))
        rounds = self.max_rounds
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ValidationError("max_rounds", rounds, "an integer >= 1")
        if not isinstance(self.adl_offbook, bool):
            raise ValidationError("adl_offbook", self.adl_offbook, "True or False")

    @classmethod
    def from_lifecycle(
        cls,
        params: LifecycleParams,
        *,
        shock: Mapping[str, float],
        fund_usd: float,
        penalty: float | None = None,
        max_rounds: int = 100,
        adl_offbook: bool = False,
    ) -> CascadeParams:
        """Collateral, penalty and fund share from a lifecycle pack (``penalty`` overrides
        the pack's)."""
        liq = params.liquidation
        return cls(
            shock=shock,
            fund_usd=fund_usd,
            collateral=params.collateral,
            penalty=liq.penalty if penalty is None else penalty,
            fund_share=liq.fund_share,
            max_rounds=max_rounds,
            adl_offbook=adl_offbook,
        )


class AccountFate(StrEnum):
    """How an account leaves a cascade."""

    SURVIVED = "survived"
    """Never liquidated."""
    REDUCED = "reduced"
    """Partially liquidated, still holding positions."""
    CLOSED = "closed"
    """Every position closed, equity left >= 0."""
    BANKRUPT = "bankrupt"
    """Closed with ``E <= 0`` at the round's price or a deficit after the trades, or closed
    off-book at the bankruptcy price."""
    ERROR = "error"
    """Set aside: the market could not value or margin it, or it holds what the cascade
    does not trade."""


FATES: tuple[AccountFate, ...] = tuple(AccountFate)
"""Fates by code (index of :attr:`CascadeOutcomes.fate`)."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CascadeOutcomes:
    """Per-account results, rows in sorted account-id order.

    Attributes
    ----------
    accounts
        Account ids, sorted, shape ``(n,)``.
    fate
        Codes into :data:`FATES`, int8.
    first_round
        Round of the first liquidation, 0 if never.
    equity_at_liquidation
        ``E`` at the round's price when the account was (last) liquidated, USD; NaN if never.
    equity_end
        Equity after the closing trades and the penalty, USD, for closed and bankrupt
        accounts (< 0: a deficit; 0 off-book); NaN otherwise.
    deficit
        Deficit met by the fund or mutualised, USD, >= 0.
    penalty
        Penalties collected from the account, USD.
    offbook
        True for bankrupt accounts closed against counterparties at the bankruptcy price.
    errors
        Account → reason, for the accounts set aside.
    """

    accounts: tuple[str, ...]
    fate: NDArray[np.int8]
    first_round: NDArray[np.int64]
    equity_at_liquidation: NDArray[np.float64]
    equity_end: NDArray[np.float64]
    deficit: NDArray[np.float64]
    penalty: NDArray[np.float64]
    offbook: NDArray[np.bool_]
    errors: Mapping[str, str]

    def count(self, fate: AccountFate) -> int:
        """Number of accounts with ``fate``."""
        return int(np.count_nonzero(self.fate == FATES.index(fate)))


@dataclass(frozen=True, slots=True, kw_only=True)
class CascadeRound:
    """One round ``r`` of a cascade (prices USD per coin, amounts USD).

    Attributes
    ----------
    number
        ``r`` (1 = the round at the shocked price ``S_1``).
    price
        Underlying → ``S_r``.
    liquidated
        Accounts liquidated in the round (sorted ids).
    flow_usd
        Underlying → net liquidation flow ``Q_r`` traded in the market (sells - buys; the
        notional of linear contracts at ``S_r``, the USD face of inverse ones).
    impact
        Underlying → ``I_r`` (signed; < 0 for net buys).
    execution_price
        Underlying → the round's average execution price ``S_r (1 - share I_r)``.
    next_price
        Underlying → ``S_{r+1}`` (after resilience).
    bankrupt
        Accounts of ``liquidated`` that went bankrupt.
    offbook
        Bankrupt accounts closed against counterparties at the bankruptcy price.
    penalty_income
        Penalties paid into the fund.
    deficits
        Deficits of accounts closed in the market.
    mutualised_loss
        Shortfall beyond the fund plus give-ups of off-book closes.
    fund_end
        Fund after the round, >= 0.
    """

    number: int
    price: Mapping[str, float]
    liquidated: tuple[str, ...]
    flow_usd: Mapping[str, float]
    impact: Mapping[str, float]
    execution_price: Mapping[str, float]
    next_price: Mapping[str, float]
    bankrupt: tuple[str, ...]
    offbook: tuple[str, ...]
    penalty_income: float
    deficits: float
    mutualised_loss: float
    fund_end: float

    @property
    def liquidated_notional(self) -> float:
        """``sum_u |Q_r,u|``, USD (``Q_r`` for one underlying sold)."""
        return float(sum(abs(q) for q in self.flow_usd.values()))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "round": self.number,
            "price": dict(self.price),
            "liquidated": list(self.liquidated),
            "flow_usd": dict(self.flow_usd),
            "liquidated_notional": self.liquidated_notional,
            "impact": dict(self.impact),
            "execution_price": dict(self.execution_price),
            "next_price": dict(self.next_price),
            "bankrupt": list(self.bankrupt),
            "offbook": list(self.offbook),
            "penalty_income": self.penalty_income,
            "deficits": self.deficits,
            "mutualised_loss": self.mutualised_loss,
            "fund_end": self.fund_end,
        }


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CascadeResult:
    """A cascade run: rounds, totals and per-account outcomes (``lifecycle.md`` §9 metrics).

    Attributes
    ----------
    margining
        Name of the requirement model.
    mode
        Liquidation mode (``"full"`` or the liquidator's label).
    initial_price, shocked_price, final_price
        Underlying → ``S_0``, ``S_1`` and the price after the last round, USD per coin.
    rounds
        Rounds with liquidations, in order.
    truncated
        True if ``max_rounds`` stopped the run with accounts still below maintenance.
    fund_start, fund_end, fund_min
        Insurance fund, USD.
    outcomes
        Per-account results.
    """

    margining: str
    mode: str
    initial_price: Mapping[str, float]
    shocked_price: Mapping[str, float]
    final_price: Mapping[str, float]
    rounds: tuple[CascadeRound, ...]
    truncated: bool
    fund_start: float
    fund_end: float
    fund_min: float
    outcomes: CascadeOutcomes

    @property
    def n_rounds(self) -> int:
        """Rounds with liquidations."""
        return len(self.rounds)

    @property
    def liquidated_notional(self) -> float:
        """``sum_r sum_u |Q_r,u|``, USD."""
        return float(sum(r.liquidated_notional for r in self.rounds))

    @property
    def final_move(self) -> Mapping[str, float]:
        """Underlying → total move ``final / S_0 - 1`` (shock and impact)."""
        return {u: self.final_price[u] / s - 1.0 for u, s in self.initial_price.items()}

    @property
    def accounts_liquidated(self) -> int:
        """Accounts liquidated at least once."""
        return int(np.count_nonzero(self.outcomes.first_round > 0))

    @property
    def accounts_bankrupt(self) -> int:
        """Accounts that went bankrupt (off-book closes included)."""
        return self.outcomes.count(AccountFate.BANKRUPT)

    @property
    def drawdown(self) -> float:
        """``F_0 - min fund``, USD."""
        return self.fund_start - self.fund_min

    @property
    def mutualised_loss(self) -> float:
        """Total shortfall beyond the fund (reported as ADL), USD."""
        return float(sum(r.mutualised_loss for r in self.rounds))

    @property
    def penalty_income(self) -> float:
        """Total penalties paid into the fund, USD."""
        return float(sum(r.penalty_income for r in self.rounds))

    @property
    def deficits(self) -> float:
        """Total deficits of accounts closed in the market, USD."""
        return float(sum(r.deficits for r in self.rounds))

    def summary(self) -> dict[str, Any]:
        """The §9 metrics as a plain dict."""
        return {
            "margining": self.margining,
            "mode": self.mode,
            "rounds": self.n_rounds,
            "truncated": self.truncated,
            "liquidated_notional": self.liquidated_notional,
            "initial_price": dict(self.initial_price),
            "shocked_price": dict(self.shocked_price),
            "final_price": dict(self.final_price),
            "final_move": dict(self.final_move),
            "accounts": len(self.outcomes.accounts),
            "accounts_liquidated": self.accounts_liquidated,
            "accounts_bankrupt": self.accounts_bankrupt,
            "accounts_set_aside": self.outcomes.count(AccountFate.ERROR),
            "deficits": self.deficits,
            "fund_start": self.fund_start,
            "fund_end": self.fund_end,
            "fund_min": self.fund_min,
            "fund_drawdown": self.drawdown,
            "mutualised_loss": self.mutualised_loss,
            "penalty_income": self.penalty_income,
        }

    def to_dict(self) -> dict[str, Any]:
        """Summary, rounds and set-aside accounts for JSON output."""
        return {
            **self.summary(),
            "round_details": [r.to_dict() for r in self.rounds],
            "errors": dict(self.outcomes.errors),
        }
