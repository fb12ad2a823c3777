"""Insurance-fund ledger: every inflow and outflow of a liquidation run (``lifecycle.md`` §7)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from portmargin.core import ValidationError, require_non_empty

__all__ = ["FundBook", "FundFlow", "FundFlowKind", "FundLedger"]

_TOLERANCE = 1e-9
"""Relative tolerance of the balance reconciliation (floating-point sums)."""


class FundFlowKind(StrEnum):
    """What moved money into or out of the fund."""

    PENALTY = "penalty"
    """Inflow: the fund's share of a collected liquidation penalty."""
    DEFICIT = "deficit"
    """Outflow: a bankrupt account's deficit paid by the fund."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FundFlow:
    """One movement of the insurance fund, USD.

    Attributes
    ----------
    kind
        :class:`FundFlowKind`.
    account
        The account the flow came from or went to.
    amount_usd
        Signed, USD: > 0 inflow (penalties), < 0 outflow (deficits), never 0.
    balance_after_usd
        Fund balance once the flow is booked, USD, >= 0.
    """

    kind: FundFlowKind
    account: str
    amount_usd: float
    balance_after_usd: float

    def __post_init__(self) -> None:
        if not isinstance(self.kind, FundFlowKind):
            raise ValidationError("kind", self.kind, "a FundFlowKind")
        require_non_empty("account", self.account)
        sign = 1.0 if self.kind is FundFlowKind.PENALTY else -1.0
        if not (math.isfinite(self.amount_usd) and sign * self.amount_usd > 0):
            expected = "a USD amount > 0" if sign > 0 else "a USD amount < 0"
            raise ValidationError(
                f"amount_usd of a {self.kind.value} flow", self.amount_usd, expected
            )
        if not (math.isfinite(self.balance_after_usd) and self.balance_after_usd >= 0):
            raise ValidationError("balance_after_usd", self.balance_after_usd, "a USD amount >= 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class FundLedger:
    """The fund's opening balance and its flows, in booking order.

    The running balance ``opening + sum(flows so far)`` is each flow's ``balance_after_usd``
    and never goes below 0 (checked on construction).

    Attributes
    ----------
    opening_usd
        Balance before the first flow, USD, >= 0.
    flows
        :class:`FundFlow` records in booking order.
    """

    opening_usd: float
    flows: tuple[FundFlow, ...] = ()

    def __post_init__(self) -> None:
        if not (math.isfinite(self.opening_usd) and self.opening_usd >= 0):
            raise ValidationError("opening_usd", self.opening_usd, "a finite USD amount >= 0")
        balance = float(self.opening_usd)
        for k, flow in enumerate(self.flows):
            balance += flow.amount_usd
            scale = max(1.0, abs(balance), abs(flow.amount_usd))
            if abs(balance - flow.balance_after_usd) > _TOLERANCE * scale:
                raise ValidationError(
                    f"flows[{k}].balance_after_usd", flow.balance_after_usd, f"{balance:.2f}"
                )

    @property
    def balance_usd(self) -> float:
        """Closing balance, USD (the last flow's balance, else the opening balance)."""
        return self.flows[-1].balance_after_usd if self.flows else float(self.opening_usd)

    @property
    def inflow_usd(self) -> float:
        """Sum of penalty inflows, USD."""
        return math.fsum(f.amount_usd for f in self.flows if f.amount_usd > 0)

    @property
    def outflow_usd(self) -> float:
        """Sum of deficit outflows as a positive amount, USD."""
        return -math.fsum(f.amount_usd for f in self.flows if f.amount_usd < 0)


class FundBook:
    """The fund while a run books flows into it (build the :class:`FundLedger` at the end).

    Parameters
    ----------
    opening_usd
        Balance before the run, USD, >= 0.
    """

    __slots__ = ("_balance", "_flows", "_opening")

    def __init__(self, opening_usd: float) -> None:
        FundLedger(opening_usd=opening_usd)
        self._opening = float(opening_usd)
        self._balance = float(opening_usd)
        self._flows: list[FundFlow] = []

    @property
    def balance_usd(self) -> float:
        """Current balance, USD."""
        return self._balance

    def penalty(self, account: str, amount_usd: float) -> None:
        """Book a penalty inflow (nothing for an amount <= 0)."""
        if amount_usd > 0:
            self._balance += float(amount_usd)
            self._flows.append(
                FundFlow(
                    kind=FundFlowKind.PENALTY,
                    account=account,
                    amount_usd=float(amount_usd),
                    balance_after_usd=self._balance,
                )
            )

    def deficit(self, account: str, deficit_usd: float) -> float:
        """Pay what the fund can of a deficit, ``min(deficit, balance)``; return it, USD."""
        paid = min(max(float(deficit_usd), 0.0), self._balance)
        if paid > 0:
            self._balance = max(self._balance - paid, 0.0)
            self._flows.append(
                FundFlow(
                    kind=FundFlowKind.DEFICIT,
                    account=account,
                    amount_usd=-paid,
                    balance_after_usd=self._balance,
                )
            )
        return paid

    def ledger(self) -> FundLedger:
        """The flows booked so far as a :class:`FundLedger`."""
        return FundLedger(opening_usd=self._opening, flows=tuple(self._flows))
