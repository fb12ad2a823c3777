"""Routes of accounts, positions and collateral (``/v1/accounts``, ``/v1/positions``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Body, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError as PydanticError
from starlette.concurrency import run_in_threadpool

from portmargin.core import ValidationError
from portmargin.instruments import parse_instrument
from portmargin.io.positions import COLUMNS, read_positions_table
from portmargin.service._deps import CallerDep, ServicesDep, WriteDep
from portmargin.service._lifecycle import stored_state
from portmargin.service._schemas import (
    ACCOUNT_ID,
    INSTRUMENT,
    NO_NUL,
    AccountIn,
    AccountOut,
    AccountPatch,
    BulkPositions,
    BulkRow,
    CollateralIn,
    CollateralOut,
    PositionIn,
    PositionsIn,
    PositionsOut,
)
from portmargin.store import AccountRow, NotFound, Store, Tx

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["accounts"])

AccountPath = Annotated[str, PathParam(pattern=ACCOUNT_ID, description="Account id.")]
CSV_MEDIA = "text/csv"


def _account_json(row: AccountRow) -> dict[str, Any]:
    return {
        "account_id": row.account_id,
        "currency": row.currency,
        "label": row.label,
        "created_ms": row.created_ms,
        "updated_ms": row.updated_ms,
    }


def _existing(store: Store, account_id: str) -> AccountRow:
    row = store.account(account_id)
    if row is None:
        raise NotFound("account", account_id)
    return row


def canonical(name: str, field: str) -> str:
    """The venue's canonical form of an instrument name or currency code.

    Raises
    ------
    ValidationError
        ``name`` is not an instrument name or currency code (``field`` names it).
    """
    try:
        return parse_instrument(name).name
    except ValueError as exc:
        raise ValidationError(field, name, str(exc)) from None


def _positions_json(store: Store, account_id: str) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "positions": [
            {"instrument": p.instrument, "quantity": p.quantity, "updated_ms": p.updated_ms}
            for p in store.positions(account_id)
        ],
    }


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(
    services: ServicesDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
    after: Annotated[str | None, Query(max_length=128, pattern=NO_NUL)] = None,
) -> list[dict[str, Any]]:
    """Accounts the key may see, sorted by id (``after``: the last id of the previous page)."""
    caller.require("read")
    ids = None if caller.all_accounts else caller.key.accounts
    rows = services.store.accounts(ids, limit=limit, after=after)
    return [_account_json(r) for r in rows]


@router.post("/accounts", status_code=201, response_model=AccountOut)
def create_account(body: AccountIn, write: WriteDep) -> Response:
    """Create an account (admin)."""
    write.caller.require("admin")

    def change(tx: Tx) -> dict[str, Any]:
        row = tx.create_account(body.account_id, currency=body.currency, label=body.label)
        return _account_json(row)

    return write.perform(body.account_id, change, status=201)


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: AccountPath, services: ServicesDep, caller: CallerDep) -> Any:
    """One account, with its recorded lifecycle state under the service's method (``state``:
    null before its first margin run)."""
    caller.check_account(account_id)
    caller.require("read")
    out = _account_json(_existing(services.store, account_id))
    method = services.desk.params()[0].name
    state = stored_state(services.store, account_id, method)
    return {**out, "state": None if state is None else state.to_json()}


@router.patch("/accounts/{account_id}", response_model=AccountOut)
def update_account(account_id: AccountPath, body: AccountPatch, write: WriteDep) -> Response:
    """Change an account's currency or label (admin)."""
    write.caller.check_account(account_id)
    write.caller.require("admin")
    fields = body.model_dump(exclude_unset=True)
    return write.perform(
        account_id, lambda tx: _account_json(tx.update_account(account_id, **fields))
    )


@router.delete("/accounts/{account_id}", status_code=200)
def delete_account(account_id: AccountPath, write: WriteDep) -> Response:
    """Delete an account with its positions, collateral and history (admin)."""
    write.caller.check_account(account_id)
    write.caller.require("admin")

    def change(tx: Tx) -> dict[str, Any]:
        tx.delete_account(account_id)
        return {"account_id": account_id, "deleted": True}

    return write.perform(account_id, change)


@router.get("/accounts/{account_id}/positions", response_model=PositionsOut)
def get_positions(account_id: AccountPath, services: ServicesDep, caller: CallerDep) -> Any:
    """Positions of an account, by instrument name."""
    caller.check_account(account_id)
    caller.require("read")
    _existing(services.store, account_id)
    return _positions_json(services.store, account_id)


def _upsert(
    write: WriteDep, account_id: str, positions: list[PositionIn], replace: bool
) -> Response:
    write.caller.check_account(account_id)
    write.caller.require("trade")
    rows = [
        (account_id, canonical(p.instrument, f"positions[{i}].instrument"), p.quantity)
        for i, p in enumerate(positions)
    ]

    def change(tx: Tx) -> dict[str, Any]:
        if tx.account(account_id) is None:  # also when no position is given
            raise NotFound("account", account_id)
        if replace:
            tx.clear_positions([account_id])
        tx.upsert_positions(rows)
        return {"account_id": account_id, "rows": len(rows), "replace": replace}

    return write.perform(account_id, change)


@router.put("/accounts/{account_id}/positions")
def replace_positions(account_id: AccountPath, body: PositionsIn, write: WriteDep) -> Response:
    """The account holds exactly these positions afterwards (trade)."""
    return _upsert(write, account_id, body.positions, replace=True)


@router.patch("/accounts/{account_id}/positions")
def patch_positions(account_id: AccountPath, body: PositionsIn, write: WriteDep) -> Response:
    """Set the quantity of each instrument given (0 removes it); others are kept (trade)."""
    return _upsert(write, account_id, body.positions, replace=False)


@router.post("/accounts/{account_id}/positions")
def post_positions(account_id: AccountPath, body: PositionsIn, write: WriteDep) -> Response:
    """Same as PATCH: upsert the positions given (trade)."""
    return _upsert(write, account_id, body.positions, replace=False)


@router.delete("/accounts/{account_id}/positions/{instrument}")
def delete_position(
    account_id: AccountPath,
    instrument: Annotated[str, PathParam(pattern=INSTRUMENT)],
    write: WriteDep,
) -> Response:
    """Remove one position (trade)."""
    write.caller.check_account(account_id)
    write.caller.require("trade")
    name = canonical(instrument, "instrument")
    store = write.services.store

    def change(tx: Tx) -> dict[str, Any]:
        if not any(p.instrument == name for p in store.positions(account_id)):
            _existing(store, account_id)
            raise NotFound(f"position of account {account_id!r} in", name)
        tx.upsert_positions([(account_id, name, 0.0)])
        return {"account_id": account_id, "instrument": name, "deleted": True}

    return write.perform(account_id, change)


_CSV_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/BulkPositions"}},
            CSV_MEDIA: {
                "schema": {"type": "string"},
                "example": "account,instrument,quantity\ndesk-1,BTC-PERPETUAL,-2\n",
            },
        },
        "required": True,
    }
}


@router.post("/positions", openapi_extra=_CSV_BODY)
async def bulk_positions(
    request: Request,
    write: WriteDep,
    replace: Annotated[
        bool, Query(description="With a CSV body: as BulkPositions.replace")
    ] = False,
    create_accounts: Annotated[
        bool, Query(description="With a CSV body: as BulkPositions.create_accounts")
    ] = False,
) -> Response:
    """Upsert positions of many accounts: JSON rows (``BulkPositions``) or the positions CSV
    format (``Content-Type: text/csv``, columns ``account,instrument,quantity``). A trade key
    writes only its accounts (any other is reported not found); creating accounts needs admin.
    """
    raw = await request.body()
    if request.headers.get("content-type", "").split(";")[0].strip() == CSV_MEDIA:
        rows = await run_in_threadpool(_csv_rows, raw)
    else:
        try:
            body = BulkPositions.model_validate_json(raw)
        except PydanticError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            ) from None
        replace, create_accounts = body.replace, body.create_accounts
        rows = [(r.account, r.instrument, r.quantity) for r in body.rows]
    return await _bulk(write, rows, replace, create_accounts)


async def _bulk(
    write: WriteDep, rows: list[tuple[str, str, float]], replace: bool, create: bool
) -> Response:
    caller = write.caller
    caller.require("admin" if create else "trade")
    names: dict[str, str] = {}
    out = []
    for i, (account, name, quantity) in enumerate(rows):
        caller.check_account(account)
        if name not in names:
            names[name] = canonical(name, f"rows[{i}].instrument")
        out.append((account, names[name], quantity))
    accounts = sorted({a for a, _, _ in out})

    def change(tx: Tx) -> dict[str, Any]:
        n = tx.upsert_positions(out, replace=replace, create_accounts=create)
        return {"rows": n, "accounts": len(accounts), "replace": replace}

    target = accounts[0] if len(accounts) == 1 else f"{len(accounts)} accounts"
    response: Response = await run_in_threadpool(write.perform, target, change)
    return response


def _csv_rows(raw: bytes) -> list[tuple[str, str, float]]:
    """Rows of a positions CSV body, read as :mod:`portmargin.io.positions` reads files and
    checked as JSON rows are (:class:`BulkRow`).

    Raises
    ------
    DataFormatError
        The body is not a positions CSV file.
    ValidationError
        A row's account, instrument or quantity is not valid (the field names the row).
    """
    with tempfile.TemporaryDirectory(prefix="portmargin-positions-") as folder:
        path = Path(folder) / "positions.csv"
        path.write_bytes(raw)
        table = read_positions_table(path)
    columns = [table.column(c).cast(pa.string()).to_pylist() for c in COLUMNS]
    rows = []
    for i, (account, name, quantity) in enumerate(zip(*columns, strict=True)):
        try:
            row = BulkRow.model_validate(
                {"account": account, "instrument": name, "quantity": quantity}, strict=False
            )
        except PydanticError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise ValidationError(
                f"row {i + 1}: {field}", first.get("input"), first["msg"]
            ) from None
        rows.append((row.account, row.instrument, row.quantity))
    return rows


@router.get("/accounts/{account_id}/collateral", response_model=CollateralOut)
def get_collateral(account_id: AccountPath, services: ServicesDep, caller: CallerDep) -> Any:
    """Collateral balances of an account."""
    caller.check_account(account_id)
    caller.require("read")
    _existing(services.store, account_id)
    balances = {c.currency: c.amount for c in services.store.collateral(account_id)}
    return {"account_id": account_id, "balances": balances}


@router.put("/accounts/{account_id}/collateral", response_model=CollateralOut)
def put_collateral(
    account_id: AccountPath, body: Annotated[CollateralIn, Body()], write: WriteDep
) -> Response:
    """Set collateral balances (with ``replace``, exactly these) (trade)."""
    write.caller.check_account(account_id)
    write.caller.require("trade")
    balances = {canonical(c, f"balances.{c}"): v for c, v in body.balances.items()}
    store = write.services.store

    def change(tx: Tx) -> dict[str, Any]:
        tx.set_collateral(account_id, balances, replace=body.replace)
        current = (
            dict(balances)
            if body.replace
            else {c.currency: c.amount for c in store.collateral(account_id)} | balances
        )
        return {"account_id": account_id, "balances": {k: v for k, v in current.items() if v}}

    return write.perform(account_id, change)
