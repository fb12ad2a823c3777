"""What the desk returns for one account: its margin, or its margin before and after trades."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portmargin.results import MarginResult
from portmargin.service._lifecycle import AccountState
from portmargin.service._results import result_json, status_of, worst_status

__all__ = ["AccountMargin", "WhatIfMargin"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountMargin:
    """Margin of one account under one method on one snapshot.

    Attributes
    ----------
    account
        Account id (``"posted"`` for posted positions).
    method, params_version
        Method and the version of the parameters used.
    snapshot_id
        Snapshot the margin is computed on.
    computed_ms
        When, epoch milliseconds UTC.
    results
        One row per currency or book the method reports.
    notes
        Notes of the run.
    lifecycle
        The account's lifecycle state (USD equity with haircuts, IM, MM, ratios, open call);
        None when it could not be assessed.
    """

    account: str
    method: str
    params_version: str
    snapshot_id: int
    computed_ms: int
    results: tuple[MarginResult, ...]
    notes: tuple[str, ...]
    lifecycle: AccountState | None = None

    @property
    def status(self) -> str:
        """The lifecycle state; without one, the worst status of the rows."""
        if self.lifecycle is not None:
            return self.lifecycle.state
        return worst_status(
            [status_of(r.equity, r.initial_margin, r.maintenance_margin) for r in self.results]
        )

    def to_json(self) -> dict[str, Any]:
        """JSON object: the fields, the status, the lifecycle ``state`` object
        (:meth:`AccountState.to_json`, null when not assessed) and each row
        (:func:`result_json`)."""
        return {
            "account": self.account,
            "method": self.method,
            "params_version": self.params_version,
            "snapshot_id": self.snapshot_id,
            "computed_ms": self.computed_ms,
            "status": self.status,
            "state": None if self.lifecycle is None else self.lifecycle.to_json(),
            "results": [result_json(r) for r in self.results],
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class WhatIfMargin:
    """Margin of one account before and after hypothetical trades.

    Attributes
    ----------
    before, after
        Margin without and with the trades.
    change_im, change_mm
        Currency → IM (MM) after minus before; > 0 means the trades need more margin.
    """

    before: AccountMargin
    after: AccountMargin
    change_im: Mapping[str, float]
    change_mm: Mapping[str, float]

    def to_json(self) -> dict[str, Any]:
        """JSON object with ``before``, ``after`` and the changes."""
        return {
            "before": self.before.to_json(),
            "after": self.after.to_json(),
            "change_im": dict(self.change_im),
            "change_mm": dict(self.change_mm),
        }
