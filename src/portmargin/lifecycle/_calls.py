"""Margin calls (``lifecycle.md`` §5): the call record and the rounding of call amounts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError, require_non_empty

__all__ = ["CallStatus", "MarginCall", "call_amounts", "call_id"]

_ROUNDING_DECIMALS = 6
"""Shortfalls within 1e-6 of a multiple of the rounding step count as that multiple, so a
shortfall of 5,200 computed as 5,200.000000001 is not called as 5,201."""


class CallStatus(StrEnum):
    """Life of a margin call: ``OPEN`` until met, expired or superseded by liquidation."""

    OPEN = "open"
    MET = "met"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


def call_id(account: str, issued_at_ms: int) -> str:
    """The id of the call issued to ``account`` at ``issued_at_ms``: ``"<account>@<ms>"``.

    An account has at most one open call, so the issue time names it.
    """
    return f"{account}@{issued_at_ms}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginCall:
    """A margin call as it stands after an evaluation.

    Attributes
    ----------
    id
        :func:`call_id` of account and issue time.
    account
        The account called.
    issued_at_ms, deadline_ms
        Issue time and deadline, epoch ms UTC (deadline = issue + ``call_deadline``).
    amount_usd
        Amount called, USD, > 0; raised while open, never lowered.
    status
        :class:`CallStatus`.
    deposits_usd
        Net deposits (deposits minus withdrawals) since the issue, USD.
    closed_at_ms
        When the call left ``OPEN`` (evaluation time), None while open.
    """

    id: str
    account: str
    issued_at_ms: int
    deadline_ms: int
    amount_usd: float
    status: CallStatus
    deposits_usd: float = 0.0
    closed_at_ms: int | None = None

    def __post_init__(self) -> None:
        require_non_empty("account", self.account)
        if self.id != call_id(self.account, self.issued_at_ms):
            raise ValidationError("id", self.id, call_id(self.account, self.issued_at_ms))
        if self.deadline_ms < self.issued_at_ms:
            raise ValidationError("deadline_ms", self.deadline_ms, "a time at or after issue")
        if not (math.isfinite(self.amount_usd) and self.amount_usd > 0):
            raise ValidationError("amount_usd", self.amount_usd, "a finite USD amount > 0")
        if not math.isfinite(self.deposits_usd):
            raise ValidationError("deposits_usd", self.deposits_usd, "a finite USD amount")
        object.__setattr__(self, "status", CallStatus(self.status))
        is_open = self.status is CallStatus.OPEN
        if is_open != (self.closed_at_ms is None):
            raise ValidationError(
                "closed_at_ms", self.closed_at_ms, "None exactly while the call is open"
            )
        if self.closed_at_ms is not None and self.closed_at_ms < self.issued_at_ms:
            raise ValidationError("closed_at_ms", self.closed_at_ms, "a time at or after issue")


def call_amounts(
    shortfall: NDArray[np.float64], rounding_usd: float, floor_usd: float = 0.0
) -> NDArray[np.float64]:
    """``max(ceil_to(shortfall, rounding_usd), floor_usd)`` element-wise, USD.

    ``shortfall`` is ``IM - E`` (USD, shape ``(n,)``); ``ceil_to`` rounds up to a multiple of
    ``rounding_usd`` (shortfalls within 1e-6 steps of a multiple count as on it). With
    ``floor_usd = min_call`` this is the amount of a new call; with ``floor_usd`` the current
    amount it is the amount after a raise (never lowered).
    """
    steps = np.round(np.asarray(shortfall, dtype=np.float64) / rounding_usd, _ROUNDING_DECIMALS)
    result: NDArray[np.float64] = np.maximum(np.ceil(steps) * rounding_usd, floor_usd)
    return result
