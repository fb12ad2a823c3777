"""Account states over time and their margin calls (``lifecycle.md`` §4 transitions, §5).

One evaluation takes the state every account was left in, a new :class:`Assessment` at time
``t`` and the cash moved since the last evaluation, and returns the new states, the calls
that changed and the events, in array operations over all accounts. Rules, per account:

1. Net cash (deposits minus withdrawals) is added to the deposits of an open call.
2. An open call is raised to ``ceil_to(IM - E, rounding)`` if that is more (never lowered).
3. It is MET on its release condition: ``"equity"`` ``E >= IM``; ``"deposit"`` deposits
   since issue ``>=`` amount.
4. Otherwise it EXPIRES once ``t >= deadline`` (the deadline passed before this evaluation,
   so it is not raised first). An account whose call expired is *called out* until ``E >= IM``;
   with ``on_expiry = "liquidate"`` a called-out account is in LIQUIDATION.
5. The state is the table's (the assessment's code), except: an account in LIQUIDATION or
   BANKRUPT leaves them only once ``E >= liq_target MM`` (hysteresis; until then LIQUIDATION).
6. An open call of an account now in LIQUIDATION or BANKRUPT is SUPERSEDED.
7. An account entering MARGIN_CALL (from another state) without an open call is issued one of
   ``max(ceil_to(IM - E, rounding), min_call)``, deadline ``t + deadline_seconds``.

Accounts the assessment could not value (its ``errors``) keep their state and call unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.lifecycle._calls import CallStatus, MarginCall, call_amounts, call_id
from portmargin.lifecycle._params import CallRelease, LifecycleParams, OnCallExpiry
from portmargin.lifecycle._states import STATES, AccountState, Assessment

__all__ = [
    "CallEvent",
    "CallEventKind",
    "CashFlows",
    "MonitorState",
    "MonitorStep",
    "StateChange",
    "advance",
]

_CALL = STATES.index(AccountState.MARGIN_CALL)
_LIQUIDATION = STATES.index(AccountState.LIQUIDATION)


def _frozen(values: object, dtype: type[np.generic], n: int, name: str) -> NDArray[Any]:
    array = np.array(values, dtype=dtype)
    if array.shape != (n,):
        raise ValidationError(name, array.shape, f"shape ({n},) like accounts")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MonitorState:
    """The state every account was left in, and its open margin call, as columns.

    Attributes
    ----------
    accounts
        Account ids, shape ``(n,)``, distinct.
    at_ms
        Time of the evaluation that left this state, epoch ms UTC (None: none yet).
    state
        Codes into :data:`STATES`, int8; -1 for an account never assessed.
    since_ms
        Since when each account is in its state, epoch ms (-1 when never assessed).
    called_out
        True while a call of the account expired and ``E < IM`` since (rule 4).
    call_amount
        Amount of the open call, USD; NaN when the account has none.
    call_issued_ms, call_deadline_ms
        Issue time and deadline of the open call, epoch ms (-1 without one).
    call_deposits
        Net deposits since the open call was issued, USD (0 without one).
    """

    accounts: tuple[str, ...]
    at_ms: int | None
    state: NDArray[np.int8]
    since_ms: NDArray[np.int64]
    called_out: NDArray[np.bool_]
    call_amount: NDArray[np.float64]
    call_issued_ms: NDArray[np.int64]
    call_deadline_ms: NDArray[np.int64]
    call_deposits: NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.accounts)
        if len(set(self.accounts)) != n:
            raise ValidationError("accounts", len(self.accounts), "distinct account ids")
        columns: tuple[tuple[str, type[np.generic]], ...] = (
            ("state", np.int8),
            ("since_ms", np.int64),
            ("called_out", np.bool_),
            ("call_amount", np.float64),
            ("call_issued_ms", np.int64),
            ("call_deadline_ms", np.int64),
            ("call_deposits", np.float64),
        )
        for name, dtype in columns:
            object.__setattr__(self, name, _frozen(getattr(self, name), dtype, n, name))
        if np.any((self.state < -1) | (self.state >= len(STATES))):
            raise ValidationError("state", self.state.tolist(), f"codes -1 to {len(STATES) - 1}")
        has_call = ~np.isnan(self.call_amount)
        if np.any(has_call & ~(self.call_amount > 0)) or np.any(np.isinf(self.call_amount)):
            raise ValidationError("call_amount", self.call_amount.tolist(), "USD > 0 or NaN")
        if np.any(has_call & (self.call_deadline_ms < self.call_issued_ms)):
            raise ValidationError("call_deadline_ms", self.call_deadline_ms.tolist(), ">= issue")
        if not np.all(np.isfinite(self.call_deposits)):
            raise ValidationError("call_deposits", self.call_deposits.tolist(), "finite USD")

    @classmethod
    def empty(cls) -> MonitorState:
        """No account assessed yet."""
        return cls.initial(())

    @classmethod
    def initial(cls, accounts: tuple[str, ...] | list[str]) -> MonitorState:
        """``accounts`` never assessed, without calls."""
        n = len(accounts)
        return cls(
            accounts=tuple(accounts),
            at_ms=None,
            state=np.full(n, -1, dtype=np.int8),
            since_ms=np.full(n, -1, dtype=np.int64),
            called_out=np.zeros(n, dtype=bool),
            call_amount=np.full(n, np.nan),
            call_issued_ms=np.full(n, -1, dtype=np.int64),
            call_deadline_ms=np.full(n, -1, dtype=np.int64),
            call_deposits=np.zeros(n),
        )

    @property
    def reduce_only(self) -> NDArray[np.bool_]:
        """True where orders may only reduce risk: any state but HEALTHY, or called out."""
        result: NDArray[np.bool_] = (self.state > 0) | self.called_out
        return result

    def state_of(self, account: str) -> AccountState | None:
        """State of one account (None: never assessed)."""
        code = int(self.state[self.accounts.index(account)])
        return None if code < 0 else STATES[code]

    def open_call(self, account: str) -> MarginCall | None:
        """The open call of one account, or None."""
        k = self.accounts.index(account)
        return None if np.isnan(self.call_amount[k]) else self._call(k)

    def open_calls(self) -> list[MarginCall]:
        """Every open call, in account order (Python objects for those accounts only)."""
        return [self._call(int(k)) for k in np.flatnonzero(~np.isnan(self.call_amount))]

    def _call(self, k: int) -> MarginCall:
        issued = int(self.call_issued_ms[k])
        return MarginCall(
            id=call_id(self.accounts[k], issued),
            account=self.accounts[k],
            issued_at_ms=issued,
            deadline_ms=int(self.call_deadline_ms[k]),
            amount_usd=float(self.call_amount[k]),
            status=CallStatus.OPEN,
            deposits_usd=float(self.call_deposits[k]),
        )

    def aligned(self, accounts: tuple[str, ...]) -> MonitorState:
        """This state for ``accounts`` in that order (accounts not in it: never assessed).

        Matched by sorted search, without a Python loop over accounts.
        """
        n = len(accounts)
        fresh = MonitorState.initial(accounts)
        if n == 0 or not self.accounts:
            return MonitorState(**{**_fields(fresh), "at_ms": self.at_ms})
        mine = np.array(self.accounts, dtype=object)
        order = np.argsort(mine, kind="stable")
        wanted = np.array(accounts, dtype=object)
        pos = np.clip(np.searchsorted(mine[order], wanted), 0, len(order) - 1)
        src = order[pos]
        found = mine[src] == wanted
        out: dict[str, Any] = {"accounts": tuple(accounts), "at_ms": self.at_ms}
        for name in _COLUMNS:
            mine_col = getattr(self, name)
            out[name] = np.where(found, mine_col[src], getattr(fresh, name))
        return MonitorState(**out)

    def merged(self, newer: MonitorState) -> MonitorState:
        """This state with the accounts of ``newer`` replaced (or added) by ``newer``'s."""
        keep = ~np.isin(
            np.array(self.accounts, dtype=object), np.array(newer.accounts, dtype=object)
        )
        out: dict[str, Any] = {
            "accounts": tuple(np.array(self.accounts, dtype=object)[keep]) + newer.accounts,
            "at_ms": newer.at_ms if newer.at_ms is not None else self.at_ms,
        }
        for name in _COLUMNS:
            out[name] = np.concatenate([getattr(self, name)[keep], getattr(newer, name)])
        return MonitorState(**out)


_COLUMNS = (
    "state",
    "since_ms",
    "called_out",
    "call_amount",
    "call_issued_ms",
    "call_deadline_ms",
    "call_deposits",
)


def _fields(state: MonitorState) -> dict[str, Any]:
    return {"accounts": state.accounts, "at_ms": state.at_ms} | {
        name: getattr(state, name) for name in _COLUMNS
    }


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CashFlows:
    """Cash moved into accounts since the last evaluation.

    Attributes
    ----------
    accounts
        Account id of each movement, shape ``(m,)`` (repeats allowed, they add up).
    amount_usd
        USD value, > 0 a deposit, < 0 a withdrawal, shape ``(m,)``, finite.
    """

    accounts: tuple[str, ...]
    amount_usd: NDArray[np.float64]

    def __post_init__(self) -> None:
        amount = _frozen(self.amount_usd, np.float64, len(self.accounts), "amount_usd")
        if not np.all(np.isfinite(amount)):
            raise ValidationError("amount_usd", amount.tolist(), "finite USD amounts")
        object.__setattr__(self, "amount_usd", amount)

    @classmethod
    def of(cls, amounts: Mapping[str, float]) -> CashFlows:
        """From account → net USD amount."""
        return cls(
            accounts=tuple(amounts), amount_usd=np.array(list(amounts.values()), dtype=float)
        )

    def per_account(self, accounts: tuple[str, ...]) -> NDArray[np.float64]:
        """Net USD amount of each of ``accounts`` (0 for accounts without movement)."""
        out = np.zeros(len(accounts))
        if not self.accounts or not accounts:
            return out
        ids = np.array(accounts, dtype=object)
        order = np.argsort(ids, kind="stable")
        mine = np.array(self.accounts, dtype=object)
        pos = np.clip(np.searchsorted(ids[order], mine), 0, len(order) - 1)
        hit = ids[order][pos] == mine
        np.add.at(out, order[pos][hit], self.amount_usd[hit])
        return out


class CallEventKind(StrEnum):
    """What happened to a call."""

    ISSUED = "issued"
    RAISED = "raised"
    MET = "met"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChange:
    """An account moved from one state to another (``old`` None: its first state).

    ``equity``, ``initial_margin``, ``maintenance_margin`` are the assessment's, USD.
    """

    account: str
    at_ms: int
    old: AccountState | None
    new: AccountState
    equity: float
    initial_margin: float
    maintenance_margin: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    """A call was issued, raised, met, expired or superseded.

    ``call`` is the call after the event; ``previous_amount_usd`` the amount before a raise
    (None for other kinds); ``reason`` of a MET call is the release rule (``equity`` or
    ``deposit``).
    """

    kind: CallEventKind
    at_ms: int
    call: MarginCall
    previous_amount_usd: float | None = None
    reason: str | None = None


def _no_errors() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MonitorStep:
    """The outcome of one evaluation.

    Attributes
    ----------
    state
        The new state of the assessed accounts (in the assessment's order).
    calls
        Every call issued, raised or closed in this evaluation, as it stands after it, in
        account order (an account can have a closed call and a newly issued one).
    events
        :class:`StateChange` and :class:`CallEvent` in account order; per account: raise,
        close (met/expired/superseded), state change, issue.
    errors
        Accounts left unchanged because the assessment could not value them → reason.
    """

    state: MonitorState
    calls: tuple[MarginCall, ...]
    events: tuple[StateChange | CallEvent, ...]
    errors: Mapping[str, str] = field(default_factory=_no_errors)


def advance(
    previous: MonitorState,
    assessment: Assessment,
    at_ms: int,
    params: LifecycleParams,
    cash: CashFlows | None = None,
) -> MonitorStep:
    """Evaluate every account of ``assessment`` at ``at_ms`` (rules of the module docstring).

    Parameters
    ----------
    previous
        The state the accounts were left in (accounts it lacks were never assessed; accounts
        it has beyond the assessment's are not part of the result).
    assessment
        ``E``, ``IM``, ``MM`` (USD) and state codes at ``at_ms``
        (:func:`~portmargin.lifecycle.assess`).
    at_ms
        Evaluation time, epoch ms UTC, not before ``previous.at_ms``.
    params
        ``params.states`` (``liq_target``) and ``params.calls``.
    cash
        Net cash per account since the last evaluation (USD); None: none.

    Raises
    ------
    ValidationError
        ``at_ms`` before the previous evaluation.
    """
    if previous.at_ms is not None and at_ms < previous.at_ms:
        raise ValidationError("at_ms", at_ms, f"a time at or after {previous.at_ms}")
    accounts = assessment.accounts
    prev = previous.aligned(accounts)
    rules = params.calls
    e, im, mm = assessment.equity, assessment.initial_margin, assessment.maintenance_margin
    ok = assessment.state >= 0
    had = ok & ~np.isnan(prev.call_amount)

    flows = np.zeros(len(accounts)) if cash is None else cash.per_account(accounts)
    deposits = np.where(had, prev.call_deposits + flows, prev.call_deposits)
    with np.errstate(invalid="ignore"):
        raised_amount = np.where(
            had, call_amounts(np.where(ok, im - e, 0.0), rules.rounding_usd, 0.0), 0.0
        )
    raised_amount = np.where(had, np.maximum(prev.call_amount, raised_amount), prev.call_amount)
    if rules.release is CallRelease.EQUITY:
        met = had & (e >= im)
    else:
        met = had & (deposits >= raised_amount)
    expired = had & ~met & (at_ms >= prev.call_deadline_ms)

    state = np.where(ok, assessment.state, prev.state).astype(np.int8)
    below_im = ok & (e < im)
    called_out = np.where(ok, (prev.called_out | expired) & below_im, prev.called_out)
    with np.errstate(invalid="ignore"):
        held = ok & (prev.state >= _LIQUIDATION) & (state < _LIQUIDATION)
        held &= e < params.states.liq_target * mm
    state[held] = _LIQUIDATION
    if rules.on_expiry is OnCallExpiry.LIQUIDATE:
        state[called_out & (state < _LIQUIDATION)] = _LIQUIDATION
    superseded = had & ~met & ~expired & (state >= _LIQUIDATION)
    still_open = had & ~met & ~expired & ~superseded
    raised = still_open & (raised_amount > prev.call_amount)
    if rules.release is CallRelease.DEPOSIT:
        raised |= met & (raised_amount > prev.call_amount)
    issue = ok & (state == _CALL) & (prev.state != _CALL) & ~still_open
    with np.errstate(invalid="ignore"):
        new_amount = call_amounts(
            np.where(issue, im - e, 0.0), rules.rounding_usd, rules.min_call_usd
        )
    deadline = at_ms + round(rules.deadline_seconds * 1000.0)

    carry = still_open | (~ok & ~np.isnan(prev.call_amount))  # open afterwards, not issued now
    changed = ok & (state != prev.state)
    new = MonitorState(
        accounts=accounts,
        at_ms=at_ms,
        state=state,
        since_ms=np.where(changed, at_ms, prev.since_ms),
        called_out=called_out,
        call_amount=np.where(issue, new_amount, np.where(carry, raised_amount, np.nan)),
        call_issued_ms=np.where(issue, at_ms, np.where(carry, prev.call_issued_ms, -1)),
        call_deadline_ms=np.where(issue, deadline, np.where(carry, prev.call_deadline_ms, -1)),
        call_deposits=np.where(issue, 0.0, np.where(carry, deposits, 0.0)),
    )
    touched = np.flatnonzero(changed | raised | (had & ~still_open) | issue)
    calls: list[MarginCall] = []
    events: list[StateChange | CallEvent] = []
    release = rules.release.value
    for k in touched.tolist():
        account = accounts[k]
        if had[k]:
            amount = (
                float(raised_amount[k]) if (still_open[k] or met[k]) else float(prev.call_amount[k])
            )
            kind = (
                None
                if still_open[k]
                else CallEventKind.MET
                if met[k]
                else CallEventKind.EXPIRED
                if expired[k]
                else CallEventKind.SUPERSEDED
            )
            issued = int(prev.call_issued_ms[k])
            call = MarginCall(
                id=call_id(account, issued),
                account=account,
                issued_at_ms=issued,
                deadline_ms=int(prev.call_deadline_ms[k]),
                amount_usd=amount,
                status=CallStatus.OPEN if kind is None else CallStatus(kind.value),
                deposits_usd=float(deposits[k]),
                closed_at_ms=None if kind is None else at_ms,
            )
            if raised[k]:
                events.append(
                    CallEvent(
                        kind=CallEventKind.RAISED,
                        at_ms=at_ms,
                        call=call,
                        previous_amount_usd=float(prev.call_amount[k]),
                    )
                )
            if kind is not None:
                reason = release if kind is CallEventKind.MET else None
                events.append(CallEvent(kind=kind, at_ms=at_ms, call=call, reason=reason))
            if raised[k] or kind is not None:
                calls.append(call)
        if changed[k]:
            old = int(prev.state[k])
            events.append(
                StateChange(
                    account=account,
                    at_ms=at_ms,
                    old=None if old < 0 else STATES[old],
                    new=STATES[int(state[k])],
                    equity=float(e[k]),
                    initial_margin=float(im[k]),
                    maintenance_margin=float(mm[k]),
                )
            )
        if issue[k]:
            call = MarginCall(
                id=call_id(account, at_ms),
                account=account,
                issued_at_ms=at_ms,
                deadline_ms=deadline,
                amount_usd=float(new_amount[k]),
                status=CallStatus.OPEN,
            )
            calls.append(call)
            events.append(CallEvent(kind=CallEventKind.ISSUED, at_ms=at_ms, call=call))
    return MonitorStep(
        state=new,
        calls=tuple(calls),
        events=tuple(events),
        errors=MappingProxyType(dict(assessment.errors)),
    )
