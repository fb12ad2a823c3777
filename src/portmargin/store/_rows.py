"""Rows read from and written to the store: plain frozen dataclasses.

Times are integer epoch milliseconds UTC; amounts are in the row's currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CALL_STATUSES",
    "FORMATS",
    "JOB_STATES",
    "SCOPES",
    "STATUSES",
    "AccountRow",
    "AuditRow",
    "CallRow",
    "CollateralRow",
    "IdempotentRow",
    "JobRow",
    "KeyRow",
    "ParamsRow",
    "PositionRow",
    "ResultInput",
    "ResultRow",
    "SnapshotPart",
    "SnapshotRow",
    "StateInput",
    "StatusChangeRow",
    "StatusRow",
]

STATUSES: Final = ("healthy", "warning", "margin_call", "liquidation", "bankrupt")
"""Margin statuses (the account states of the margin lifecycle), from best to worst."""
CALL_STATUSES: Final = ("open", "met", "expired", "superseded")
"""Statuses of a margin call."""
SCOPES: Final = ("read", "trade", "admin")
"""API key scopes."""
FORMATS: Final = ("deribit-csv", "deribit-json", "market-file")
"""Formats of a snapshot part."""
JOB_STATES: Final = ("queued", "running", "done", "failed")
"""States of a background job."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRow:
    """An account: id, reporting currency (None: the method decides) and label."""

    account_id: str
    currency: str | None
    label: str | None
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionRow:
    """A held instrument: quantity in contracts (> 0 long, < 0 short), never 0."""

    account_id: str
    instrument: str
    quantity: float
    updated_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CollateralRow:
    """A collateral balance: ``amount`` units of ``currency`` (negative: a debt)."""

    account_id: str
    currency: str
    amount: float
    updated_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotPart:
    """One uploaded payload of a snapshot.

    Attributes
    ----------
    format
        One of :data:`FORMATS`.
    sha256
        Hex digest of the payload bytes as uploaded.
    size
        Length of the payload as uploaded, bytes.
    payload
        The bytes as uploaded (None in listings).
    """

    format: str
    sha256: str
    size: int
    payload: bytes | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotRow:
    """A market snapshot: its parts in upload order, valuation time and underlyings."""

    snapshot_id: int
    label: str
    valuation_ms: int
    underlyings: tuple[str, ...]
    created_ms: int
    parts: tuple[SnapshotPart, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamsRow:
    """The parameter pack used for a method and its overrides (key → value as text)."""

    method: str
    pack: str
    overrides: Mapping[str, str]
    updated_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultInput:
    """One margin result to record (see :meth:`Tx.record_results`).

    Amounts are non-negative margins and signed equity/excess in ``currency``;
    ``margin_ratio`` is MM / equity or None; ``status`` is one of :data:`STATUSES`;
    ``detail`` is JSON text (components tree, worst scenario, notes).
    """

    account: str
    method: str
    snapshot_id: int | None
    computed_ms: int
    currency: str
    initial_margin: float
    maintenance_margin: float
    equity: float
    excess: float
    margin_ratio: float | None
    status: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultRow:
    """A recorded margin result (fields as :class:`ResultInput`, ``detail`` JSON text)."""

    result_id: int
    account_id: str
    method: str
    snapshot_id: int | None
    computed_ms: int
    currency: str
    initial_margin: float
    maintenance_margin: float
    equity: float
    excess: float
    margin_ratio: float | None
    status: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusRow:
    """The current status of an account under a method, and since when it holds.

    The lifecycle figures (USD at the index, None when recorded without them): equity
    ``E``, ``IM`` and ``MM`` of the last assessment, whether orders are reduce-only, whether
    an expired margin call is still unmet (``called_out``) and when it was assessed.
    """

    account_id: str
    method: str
    status: str
    since_ms: int
    equity_usd: float | None = None
    initial_margin_usd: float | None = None
    maintenance_margin_usd: float | None = None
    reduce_only: bool | None = None
    called_out: bool | None = None
    assessed_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StateInput:
    """The lifecycle state of an account under a method after an assessment (see
    :meth:`Tx.record_states`); amounts USD, ``since_ms`` when the state was entered."""

    account: str
    method: str
    status: str
    since_ms: int
    assessed_ms: int
    equity_usd: float
    initial_margin_usd: float
    maintenance_margin_usd: float
    reduce_only: bool
    called_out: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRow:
    """A margin call of an account under a method (``call_id`` None before it is stored).

    ``status`` one of :data:`CALL_STATUSES`; amounts USD; ``reason`` of a met call is its
    release rule (``equity`` or ``deposit``); ``closed_ms`` when it stopped being open.
    """

    call_id: int | None
    account_id: str
    method: str
    issued_ms: int
    deadline_ms: int
    amount_usd: float
    deposits_usd: float
    status: str
    closed_ms: int | None
    reason: str | None
    snapshot_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChangeRow:
    """A change of status (``old_status`` None for the first one) and the figures behind it."""

    change_id: int
    account_id: str
    method: str
    old_status: str | None
    new_status: str
    at_ms: int
    equity: float
    initial_margin: float
    maintenance_margin: float
    snapshot_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRow:
    """An API key without its secret: scopes, the accounts it may see, and its state.

    ``accounts`` is sorted; with ``all_accounts`` the key may see every account.
    """

    key_id: str
    scopes: frozenset[str]
    accounts: tuple[str, ...]
    all_accounts: bool
    label: str
    created_ms: int
    revoked_ms: int | None

    @property
    def revoked(self) -> bool:
        """Whether the key has been revoked."""
        return self.revoked_ms is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRow:
    """An audit log entry: who (key id) did what (action on target) when, with what result."""

    audit_id: int
    at_ms: int
    key_id: str | None
    action: str
    target: str | None
    status: int | None
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotentRow:
    """A stored response to replay for a repeated idempotency key."""

    key_id: str
    idem_key: str
    request_sha256: str
    status: int
    response: str
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRow:
    """A background job and its progress (``done`` of ``total`` items)."""

    job_id: str
    kind: str
    state: str
    created_ms: int
    started_ms: int | None
    finished_ms: int | None
    total: int
    done: int
    detail: Mapping[str, Any]
