"""Routes of the lifecycle figures of stored accounts (``/v1/accounts/{id}/liqprice``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from portmargin.service._auth import Caller
from portmargin.service._deps import CallerDep, ServicesDep
from portmargin.service._routes_accounts import AccountPath
from portmargin.store import NotFound, Store

__all__ = ["router", "visible_accounts"]

router = APIRouter(prefix="/v1", tags=["lifecycle"])

MethodQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64, description="Margin method; default: the service's."),
]
UnderlyingQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9]+$",
        description="Move this underlying alone; default: every held underlying together.",
    ),
]


def visible_accounts(store: Store, caller: Caller) -> list[str]:
    """Ids of the existing accounts the key sees."""
    ids = None if caller.all_accounts else caller.key.accounts
    return [a.account_id for a in store.accounts(ids)]


@router.get("/accounts/{account_id}/liqprice")
def account_liqprice(
    account_id: AccountPath,
    services: ServicesDep,
    caller: CallerDep,
    method: MethodQuery = None,
    underlying: UnderlyingQuery = None,
) -> dict[str, Any]:
    """Liquidation prices of an account on the latest snapshot (``lifecycle.md`` §8): the
    nearest prices below and above at which haircut-adjusted equity falls to MM, with the
    distance in percent and in daily standard deviations, ``E`` and ``MM`` now (USD).

    Solved in one batch over the accounts the key sees and kept until the snapshot,
    parameters or positions change."""
    caller.check_account(account_id)
    caller.require("read")
    if services.store.account(account_id) is None:
        raise NotFound("account", account_id)
    visible = visible_accounts(services.store, caller)
    result = services.liquidation.accounts(
        services.store, services.desk, visible, method, underlying
    )
    return result[account_id].to_json()
