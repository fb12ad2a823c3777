"""Routes of margin calls (``/v1/calls``, ``/v1/accounts/{id}/calls``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from portmargin.service._deps import CallerDep, ServicesDep
from portmargin.service._lifecycle import call_json
from portmargin.service._routes_accounts import AccountPath
from portmargin.store import NotFound

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["calls"])

CallStatusQuery = Annotated[
    Literal["open", "met", "expired", "superseded"] | None,
    Query(description="Only calls in this status; default: all."),
]
MethodQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, description="Only calls under this method.")
]
LimitQuery = Annotated[int, Query(ge=1, le=10_000)]


@router.get("/accounts/{account_id}/calls")
def account_calls(
    account_id: AccountPath,
    services: ServicesDep,
    caller: CallerDep,
    status: CallStatusQuery = None,
    method: MethodQuery = None,
    limit: LimitQuery = 1_000,
) -> dict[str, Any]:
    """Margin calls of an account, open and past, newest first (amounts USD, times epoch ms)."""
    caller.check_account(account_id)
    caller.require("read")
    if services.store.account(account_id) is None:
        raise NotFound("account", account_id)
    rows = services.store.calls([account_id], method=method, status=status, limit=limit)
    return {"account_id": account_id, "calls": [call_json(r) for r in rows]}


@router.get("/calls")
def calls(
    services: ServicesDep,
    caller: CallerDep,
    status: CallStatusQuery = None,
    method: MethodQuery = None,
    limit: LimitQuery = 1_000,
) -> dict[str, Any]:
    """Margin calls of the accounts the key sees, newest first (``status=open``: the calls
    to chase)."""
    caller.require("read")
    ids = None if caller.all_accounts else caller.key.accounts
    rows = services.store.calls(ids, method=method, status=status, limit=limit)
    return {"calls": [call_json(r) for r in rows]}
