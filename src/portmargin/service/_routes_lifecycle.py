"""Routes of the lifecycle figures of stored accounts (``/v1/accounts/{id}/liqprice``) and
of liquidation cascades (``/v1/cascade``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from portmargin.lifecycle import DEFAULT_DEPTH_1PCT, DEFAULT_FUND, PopulationKind
from portmargin.service._auth import Caller
from portmargin.service._cascade import (
    METHODS_MAX,
    CascadeRequestSpec,
    run_stored_cascade,
)
from portmargin.service._deps import CallerDep, ServicesDep
from portmargin.service._routes_accounts import AccountPath
from portmargin.store import NotFound, Store

__all__ = ["CascadeRequest", "router", "visible_accounts"]

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

    Kept until the snapshot, the parameters or the account's positions change."""
    caller.check_account(account_id)
    caller.require("read")
    if services.store.account(account_id) is None:
        raise NotFound("account", account_id)
    result = services.liquidation.accounts(
        services.store, services.desk, [account_id], method, underlying
    )
    return result[account_id].to_json()


class CascadeRequest(BaseModel):
    """A liquidation cascade of the stored accounts on the latest snapshot (nothing is
    stored): linear price impact, full close-out (``lifecycle.md`` §9)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    shock: dict[Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,16}$")], float] = Field(
        min_length=1,
        max_length=20,
        description='Underlying → initial relative move, e.g. {"BTC": -0.1}.',
    )
    methods: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=lambda: ["ewma"],
        min_length=1,
        max_length=METHODS_MAX,
        description="Registered method names, 'rates:MM/IM' or 'ewma' / 'ewma:K/FLOOR/CAP'.",
    )
    depth_1pct_usd: float = Field(DEFAULT_DEPTH_1PCT, gt=0, description="USD moving a price 1 %.")
    fund_usd: float = Field(DEFAULT_FUND, ge=0, description="Insurance fund at the start, USD.")
    population: Literal["max-leverage", "as-is"] = "max-leverage"
    sigma_daily: float | None = Field(
        None, gt=0, description="Daily volatility for ewma; default: EWMA of the history."
    )


@router.post("/cascade")
def cascade(body: CascadeRequest, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    """Liquidation cascade of every stored account after the shock, per method side by side:
    the §9 metrics and rounds of each run; accounts holding options are set aside and listed
    (admin). Nothing is stored."""
    caller.require("admin")
    spec = CascadeRequestSpec(
        shock=body.shock,
        methods=body.methods,
        depth_1pct_usd=body.depth_1pct_usd,
        fund_usd=body.fund_usd,
        population=PopulationKind(body.population),
        sigma_daily=body.sigma_daily,
    )
    return run_stored_cascade(services.store, services.desk, spec).to_json()
