"""Positions and portfolios: signed quantities of instruments held by one account."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from portmargin.core import ValidationError, require_non_empty
from portmargin.instruments import Currency, Instrument

__all__ = ["Portfolio", "Position"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """A signed holding of one instrument.

    Attributes
    ----------
    instrument
        The instrument held.
    quantity
        Signed size, > 0 long. Options, futures, perpetuals and spot pairs: coins of the
        underlying. Currency balances: units of that currency.
    """

    instrument: Instrument
    quantity: float

    def __post_init__(self) -> None:
        q = self.quantity
        if isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q):
            raise ValidationError(
                f"quantity of {self.instrument.name}", q, "a finite number (> 0 long, < 0 short)"
            )
        object.__setattr__(self, "quantity", float(q))

    @property
    def is_balance(self) -> bool:
        """True for a currency (collateral) balance."""
        return isinstance(self.instrument, Currency)


@dataclass(frozen=True, slots=True, kw_only=True)
class Portfolio:
    """The positions of one account, at most one per instrument.

    Attributes
    ----------
    account
        Account identifier.
    positions
        Positions in first-seen order; instruments are unique.
    """

    account: str
    positions: tuple[Position, ...] = ()

    def __post_init__(self) -> None:
        require_non_empty("account", self.account)
        names = [p.instrument.name for p in self.positions]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ValidationError(
                f"positions of account {self.account!r}",
                dup,
                "each instrument at most once (use Portfolio.from_positions to sum duplicates)",
            )

    @classmethod
    def from_positions(cls, account: str, positions: Iterable[Position]) -> Portfolio:
        """Build a portfolio, summing the quantities of repeated instruments."""
        totals: dict[str, tuple[Instrument, float]] = {}
        for p in positions:
            inst, q = totals.get(p.instrument.name, (p.instrument, 0.0))
            totals[p.instrument.name] = (inst, q + p.quantity)
        merged = tuple(Position(instrument=i, quantity=q) for i, q in totals.values())
        return cls(account=account, positions=merged)

    def with_trades(self, trades: Iterable[Position]) -> Portfolio:
        """A new portfolio with ``trades`` added (quantities of the same instrument summed)."""
        return Portfolio.from_positions(self.account, (*self.positions, *trades))

    @property
    def balances(self) -> dict[str, float]:
        """Currency balances, code → amount."""
        return {p.instrument.name: p.quantity for p in self.positions if p.is_balance}

    @property
    def is_empty(self) -> bool:
        """True when the account holds nothing."""
        return not self.positions
