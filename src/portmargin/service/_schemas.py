"""Request and response bodies of the REST API (pydantic), with the limits of each field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ACCOUNT_ID",
    "INSTRUMENT",
    "NO_NUL",
    "AccountIn",
    "AccountOut",
    "AccountPatch",
    "BulkPositions",
    "BulkRow",
    "CollateralIn",
    "CollateralOut",
    "JobOut",
    "KeyIn",
    "KeyOut",
    "MarginRequest",
    "ParamsIn",
    "PositionIn",
    "PositionsIn",
    "PositionsOut",
    "RecomputeRequest",
    "SnapshotOut",
    "SnapshotPartIn",
    "SnapshotUpload",
    "WhatIfRequest",
]

MAX_QUANTITY = 1e12
"""Largest |quantity| or |amount| accepted (see ``portmargin.methods.RunOptions``)."""
MAX_POSITIONS = 5_000
"""Positions of one account in one request."""
MAX_BULK_ROWS = 200_000
"""Rows of one bulk positions request."""

ACCOUNT_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
"""Account ids: 1 to 128 letters, digits and ``. _ : @ -``, not starting with a symbol."""
INSTRUMENT = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""Instrument names and currency codes as the venue writes them (``BTC-26JUN20-9000-C``)."""
CURRENCY = r"^[A-Z0-9]{2,12}$"

AccountId = Annotated[str, Field(pattern=ACCOUNT_ID, examples=["desk-1"])]
Instrument = Annotated[str, Field(pattern=INSTRUMENT, examples=["BTC-26JUN20-9000-C"])]
Currency = Annotated[str, Field(pattern=CURRENCY, examples=["BTC", "USDC"])]
Quantity = Annotated[
    float,
    Field(
        ge=-MAX_QUANTITY,
        le=MAX_QUANTITY,
        allow_inf_nan=False,
        description="Signed size: coins of the underlying (> 0 long); currency units for a "
        "currency code.",
    ),
]
NO_NUL = r"^[^\x00]*$"
"""Free text: anything but NUL (which PostgreSQL text cannot hold)."""

Label = Annotated[str, Field(max_length=200, pattern=NO_NUL)]
MethodName = Annotated[str, Field(min_length=1, max_length=64, examples=["deribit-pm"])]
PackName = Annotated[str, Field(min_length=1, max_length=128, examples=["deribit-pm/2024-06-17"])]
Override = Annotated[
    str,
    Field(min_length=3, max_length=300, pattern=NO_NUL, examples=["general.mm_factor=0.9"]),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountIn(_Body):
    """A new account."""

    account_id: AccountId
    currency: Currency | None = None
    label: Label | None = None


class AccountPatch(_Body):
    """New currency and/or label of an account (fields left out are kept)."""

    currency: Currency | None = None
    label: Label | None = None


class AccountOut(BaseModel):
    """An account (``state``: its lifecycle state, only when one account is read)."""

    account_id: str
    currency: str | None
    label: str | None
    created_ms: int
    updated_ms: int
    state: dict[str, Any] | None = None


class PositionIn(_Body):
    """One holding: an instrument (or currency code) and a signed quantity; 0 removes it."""

    instrument: Instrument
    quantity: Quantity


class PositionsIn(_Body):
    """Positions of one account."""

    positions: list[PositionIn] = Field(max_length=MAX_POSITIONS)


class PositionsOut(BaseModel):
    """Positions of one account, by instrument name."""

    account_id: str
    positions: list[dict[str, Any]]


class BulkRow(_Body):
    """One row of the positions file format."""

    account: AccountId
    instrument: Instrument
    quantity: Quantity


class BulkPositions(_Body):
    """Positions of many accounts (the positions file as JSON rows)."""

    rows: list[BulkRow] = Field(min_length=1, max_length=MAX_BULK_ROWS)
    replace: bool = Field(
        False, description="Each account named holds exactly its rows afterwards."
    )
    create_accounts: bool = Field(False, description="Create missing accounts (admin only).")


class CollateralIn(_Body):
    """Collateral balances: currency → amount (units of the currency, < 0 a debt)."""

    balances: dict[Currency, Quantity] = Field(max_length=100)
    replace: bool = Field(True, description="The account holds exactly these balances.")


class CollateralOut(BaseModel):
    """Collateral balances of one account."""

    account_id: str
    balances: dict[str, float]


class SnapshotPartIn(_Body):
    """One file of a snapshot, as text."""

    format: Literal["deribit-csv", "deribit-json", "market-file"]
    content: str = Field(min_length=1, description="The file's content (UTF-8 text).")


class SnapshotUpload(_Body):
    """A market snapshot of one or more files (e.g. a BTC chain and an ETH market file)."""

    label: Label = ""
    parts: list[SnapshotPartIn] = Field(min_length=1, max_length=8)


class SnapshotOut(BaseModel):
    """A stored snapshot."""

    snapshot_id: int
    label: str
    valuation_ms: int
    underlyings: list[str]
    created_ms: int
    parts: list[dict[str, Any]]
    excluded_rows: int | None = None
    warnings: list[str] | None = None


class MarginRequest(_Body):
    """Margin of posted positions (nothing is stored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    positions: list[PositionIn] = Field(min_length=1, max_length=MAX_POSITIONS)
    snapshot_id: int | None = Field(None, ge=1, description="Default: the latest snapshot.")
    method: MethodName | None = Field(None, description="Default: the service's method.")
    params: PackName | None = Field(
        None, description="A bundled pack of the method; default: the pack in use."
    )
    overrides: list[Override] = Field(
        default_factory=list,
        max_length=50,
        alias="set",
        description="KEY=VALUE overrides of the pack, as `--set` on the command line.",
    )


class WhatIfRequest(_Body):
    """Hypothetical trades added to a stored account."""

    trades: list[PositionIn] = Field(min_length=1, max_length=1_000)
    method: MethodName | None = None


class RecomputeRequest(_Body):
    """A recompute of every stored account."""

    methods: list[MethodName] = Field(default_factory=list, max_length=10)


class ParamsIn(_Body):
    """The parameters a method uses from now on."""

    pack: PackName
    overrides: dict[
        Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)],
        Annotated[str, Field(max_length=200, pattern=NO_NUL)],
    ] = Field(default_factory=dict, max_length=50)


class KeyIn(_Body):
    """A new API key."""

    scopes: list[Literal["read", "trade", "admin"]] = Field(min_length=1, max_length=3)
    accounts: list[AccountId] = Field(default_factory=list, max_length=10_000)
    all_accounts: bool = False
    label: Label = ""


class KeyOut(BaseModel):
    """An API key (the token only when it is created)."""

    key_id: str
    scopes: list[str]
    accounts: list[str]
    all_accounts: bool
    label: str
    created_ms: int
    revoked_ms: int | None
    token: str | None = None


class JobOut(BaseModel):
    """A background job and its progress."""

    job_id: str
    kind: str
    state: str
    created_ms: int
    started_ms: int | None
    finished_ms: int | None
    total: int
    done: int
    detail: dict[str, Any]
