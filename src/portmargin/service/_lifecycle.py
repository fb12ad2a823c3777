"""The margin lifecycle of stored accounts: their state (healthy to bankrupt) and margin calls.

Every margin run of stored accounts is also assessed by :func:`portmargin.lifecycle.assess`
with the default lifecycle pack: equity ``E`` is the haircut-adjusted USD value of the
balances (futures settled at the snapshot's marks), ``IM`` and ``MM`` the method's rows summed
in USD. The monitor (:func:`portmargin.lifecycle.advance`) then moves each account on from the
state stored for it, issuing, raising and closing margin calls; the new states and calls are
recorded in the store. Cash movements are not tracked by the store, so calls are released by
equity (the pack's default), never by deposits.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from portmargin.io.params import load_lifecycle_params
from portmargin.lifecycle import (
    STATES,
    Assessment,
    CallEvent,
    CallEventKind,
    Holdings,
    LifecycleParams,
    MonitorState,
    MonitorStep,
    Requirements,
    advance,
    assess,
    batch_requirements,
)
from portmargin.market import MarketSnapshot
from portmargin.results import MarginBatch
from portmargin.risk import Book
from portmargin.store import CallRow, StateInput, StatusRow, Store, Tx

__all__ = [
    "AccountState",
    "assess_batch",
    "call_json",
    "lifecycle_params",
    "monitor",
    "open_calls_by_account",
    "previous_state",
    "record_step",
    "stored_state",
    "table_state",
]


@lru_cache(maxsize=1)
def lifecycle_params() -> LifecycleParams:
    """The bundled default lifecycle pack."""
    return load_lifecycle_params()


@dataclass(frozen=True, slots=True)
class _Computed:
    """Requirements already computed, as a :class:`~portmargin.lifecycle.Margining`."""

    name: str
    result: Requirements

    def requirements(self, book: Book, market: MarketSnapshot) -> Requirements:
        """The stored requirements (``book`` is the one they were computed on)."""
        return self.result


def assess_batch(batch: MarginBatch, book: Book, market: MarketSnapshot) -> Assessment:
    """Equity, IM, MM (USD) and table state of every account of ``book`` from a batch run on it
    (the method is not run again)."""
    margining = _Computed(name=batch.method, result=batch_requirements(batch, book, market))
    return assess(Holdings.settled(book, market), market, margining, lifecycle_params())


def previous_state(store: Store | Tx, method: str, accounts: Collection[str]) -> MonitorState:
    """The stored state and open call of ``accounts`` under ``method`` (read in the
    transaction that records the next step, so that concurrent runs do not both issue)."""
    rows = store.states(method, accounts)
    calls = {c.account_id: c for c in store.calls(accounts, method=method, status="open")}
    code = {s.value: k for k, s in enumerate(STATES)}
    ids = tuple(r.account_id for r in rows)
    open_calls = [calls.get(a) for a in ids]
    assessed = [r.assessed_ms for r in rows if r.assessed_ms is not None]
    return MonitorState(
        accounts=ids,
        at_ms=max(assessed) if assessed else None,
        state=np.array([code[r.status] for r in rows], dtype=np.int8),
        since_ms=np.array([r.since_ms for r in rows], dtype=np.int64),
        called_out=np.array([bool(r.called_out) for r in rows], dtype=bool),
        call_amount=np.array([np.nan if c is None else c.amount_usd for c in open_calls]),
        call_issued_ms=np.array([-1 if c is None else c.issued_ms for c in open_calls]),
        call_deadline_ms=np.array([-1 if c is None else c.deadline_ms for c in open_calls]),
        call_deposits=np.array([0.0 if c is None else c.deposits_usd for c in open_calls]),
    )


def monitor(tx: Tx, method: str, assessment: Assessment, at_ms: int) -> MonitorStep:
    """Move the assessed accounts on from their stored state at ``at_ms``, read under the
    store's lifecycle lock (:meth:`Tx.lock_states`) in the transaction that records them."""
    tx.lock_states()
    previous = previous_state(tx, method, assessment.accounts)
    if previous.at_ms is not None and at_ms < previous.at_ms:
        at_ms = previous.at_ms  # a clock step back: evaluate at the last time instead
    return advance(previous, assessment, at_ms, lifecycle_params())


def record_step(
    tx: Tx, method: str, step: MonitorStep, assessment: Assessment, snapshot_id: int | None
) -> int:
    """Record the states of the assessed accounts and the calls the step touched; returns the
    status changes appended."""
    s = step.state
    ok = np.flatnonzero(assessment.state >= 0)
    reduce_only = s.reduce_only
    at = s.at_ms if s.at_ms is not None else 0
    e = assessment.equity.tolist()
    im = assessment.initial_margin.tolist()
    mm = assessment.maintenance_margin.tolist()
    states = [
        StateInput(
            account=s.accounts[k],
            method=method,
            status=STATES[int(s.state[k])].value,
            since_ms=int(s.since_ms[k]),
            assessed_ms=at,
            equity_usd=e[k],
            initial_margin_usd=im[k],
            maintenance_margin_usd=mm[k],
            reduce_only=bool(reduce_only[k]),
            called_out=bool(s.called_out[k]),
        )
        for k in ok.tolist()
    ]
    reasons = {
        ev.call.id: ev.reason
        for ev in step.events
        if isinstance(ev, CallEvent) and ev.kind is CallEventKind.MET
    }
    calls = [
        CallRow(
            call_id=None,
            account_id=c.account,
            method=method,
            issued_ms=c.issued_at_ms,
            deadline_ms=c.deadline_ms,
            amount_usd=c.amount_usd,
            deposits_usd=c.deposits_usd,
            status=c.status.value,
            closed_ms=c.closed_at_ms,
            reason=reasons.get(c.id),
            snapshot_id=snapshot_id,
        )
        for c in step.calls
    ]
    return tx.record_states(states, calls, snapshot_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountState:
    """The lifecycle view of one account: state, USD figures and ratios, open call.

    ``margin_ratio`` is ``MM / E`` and ``im_ratio`` ``IM / E`` (None where ``E <= 0``).
    """

    state: str
    since_ms: int | None
    equity_usd: float
    initial_margin_usd: float
    maintenance_margin_usd: float
    reduce_only: bool
    open_call: CallRow | None

    @property
    def margin_ratio(self) -> float | None:
        """``MM / E``."""
        return _ratio(self.maintenance_margin_usd, self.equity_usd)

    @property
    def im_ratio(self) -> float | None:
        """``IM / E``."""
        return _ratio(self.initial_margin_usd, self.equity_usd)

    @classmethod
    def of(cls, row: StatusRow, open_call: CallRow | None) -> AccountState | None:
        """From a stored status with its figures (None when recorded without them)."""
        if row.equity_usd is None or row.initial_margin_usd is None:
            return None
        return cls(
            state=row.status,
            since_ms=row.since_ms,
            equity_usd=row.equity_usd,
            initial_margin_usd=row.initial_margin_usd,
            maintenance_margin_usd=row.maintenance_margin_usd or 0.0,
            reduce_only=bool(row.reduce_only),
            open_call=open_call,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON object: the fields, the ratios and the open call (:func:`call_json`)."""
        return {
            "state": self.state,
            "since_ms": self.since_ms,
            "equity_usd": self.equity_usd,
            "initial_margin_usd": self.initial_margin_usd,
            "maintenance_margin_usd": self.maintenance_margin_usd,
            "excess_usd": self.equity_usd - self.initial_margin_usd,
            "margin_ratio": self.margin_ratio,
            "im_ratio": self.im_ratio,
            "reduce_only": self.reduce_only,
            "open_call": None if self.open_call is None else call_json(self.open_call),
        }


def table_state(assessment: Assessment, k: int = 0) -> AccountState | None:
    """The state of account ``k`` by the table alone (no history: posted positions), None
    when the assessment could not value it."""
    code = int(assessment.state[k])
    if code < 0:
        return None
    return AccountState(
        state=STATES[code].value,
        since_ms=None,
        equity_usd=float(assessment.equity[k]),
        initial_margin_usd=float(assessment.initial_margin[k]),
        maintenance_margin_usd=float(assessment.maintenance_margin[k]),
        reduce_only=code > 0,
        open_call=None,
    )


def _ratio(amount: float, equity: float) -> float | None:
    return amount / equity if equity > 0 and math.isfinite(amount) else None


def call_json(row: CallRow) -> dict[str, Any]:
    """One margin call as JSON (times epoch ms UTC, amounts USD)."""
    return {
        "call_id": row.call_id,
        "account_id": row.account_id,
        "method": row.method,
        "status": row.status,
        "issued_ms": row.issued_ms,
        "deadline_ms": row.deadline_ms,
        "amount_usd": row.amount_usd,
        "deposits_usd": row.deposits_usd,
        "closed_ms": row.closed_ms,
        "reason": row.reason,
        "snapshot_id": row.snapshot_id,
    }


def stored_state(store: Store | Tx, account_id: str, method: str) -> AccountState | None:
    """The recorded lifecycle state of an account under ``method`` with its open call."""
    rows = store.states(method, [account_id])
    if not rows:
        return None
    calls = store.calls([account_id], method=method, status="open", limit=1)
    return AccountState.of(rows[0], calls[0] if calls else None)


def open_calls_by_account(
    store: Store, accounts: Sequence[str] | None, method: str
) -> dict[str, CallRow]:
    """The open call of each account (of these, or all) under ``method``."""
    rows = store.calls(accounts, method=method, status="open", limit=1_000_000)
    return {r.account_id: r for r in rows}
