"""Routes that compute: the stateless calculator, account margin and history, what-if,
recompute jobs.

Account margin and what-if, the routes a trading front end calls most, run on the event loop:
a few milliseconds of computation under the GIL, plus store reads that never wait for a lock,
cost less there than passed between thread-pool threads (which, several at once in one
process, mostly wait for each other). The write that records a margin in the history is done
there too (SQLite): the write lock is tried without waiting, and while another writer holds
it the loop serves other requests between tries; only after :data:`LOOP_WAIT_SECONDS` (e.g.
a recompute recording its results), or on PostgreSQL, does it go to the thread pool, so the
event loop never waits for a lock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from portmargin.lifecycle import Assessment
from portmargin.service._deps import CallerDep, ServicesDep, WriteDep
from portmargin.service._lifecycle import AccountState, monitor, record_step, stored_state
from portmargin.service._outcomes import AccountMargin
from portmargin.service._results import result_json
from portmargin.service._routes_accounts import AccountPath
from portmargin.service._schemas import JobOut, MarginRequest, RecomputeRequest, WhatIfRequest
from portmargin.store import Busy, JobRow, NotFound, ResultInput, ResultRow, Store, Tx

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["margin"])

MethodQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, description="Default: the service's method.")
]


def _visible(store: Store, account_id: str) -> None:
    if store.account(account_id) is None:
        raise NotFound("account", account_id)


@router.post("/margin")
def margin(body: MarginRequest, services: ServicesDep, caller: CallerDep) -> dict[str, Any]:
    """Margin of posted positions on a snapshot under a method (nothing is stored)."""
    caller.require("read")
    result = services.desk.margin(
        [(p.instrument, p.quantity) for p in body.positions],
        snapshot_id=body.snapshot_id,
        method=body.method,
        params=(body.params, body.overrides),
    )
    return result.to_json()


LOOP_WAIT_SECONDS = 1.0
"""How long account margin tries the SQLite write lock from the event loop before waiting for
it in a worker thread."""
LOOP_PAUSES_SECONDS = (0.0005, 0.004)
"""First and longest pause between two tries of the write lock from the event loop (each
pause doubles the one before)."""


def _record(tx: Tx, result: AccountMargin) -> None:
    """Append the result's rows to the history (statuses come from the lifecycle)."""
    tx.record_results(
        [
            ResultInput(
                account=result.account,
                method=result.method,
                snapshot_id=result.snapshot_id,
                computed_ms=result.computed_ms,
                currency=row["currency"],
                initial_margin=row["initial_margin"],
                maintenance_margin=row["maintenance_margin"],
                equity=row["equity"] if row["equity"] is not None else 0.0,
                excess=row["excess"] if row["excess"] is not None else -row["initial_margin"],
                margin_ratio=row["margin_ratio"],
                status=row["status"],
                detail=json.dumps(
                    {
                        "components": row["components"],
                        "worst_scenario": row["worst_scenario"],
                        "group": row["group"],
                        "params_version": row["params_version"],
                        "notes": row["notes"],
                    }
                ),
            )
            for row in (result_json(r) for r in result.results)
        ],
        update_status=False,
    )


def _recorded(
    store: Store, result: AccountMargin, assessment: Assessment, *, wait: bool = True
) -> AccountState | None:
    """Record ``result`` and move the account's lifecycle state on; the state afterwards."""
    # a record of what a read computed (history, the account's state and calls moved on), not
    # a write the client asked for: on SQLite its commit is not flushed to disk on its own
    # (see Store.begin); it survives a killed process
    with store.begin(durable=False, wait=wait) as tx:
        _record(tx, result)
        step = monitor(tx, result.method, assessment, result.computed_ms)
        record_step(tx, result.method, step, assessment, result.snapshot_id)
        return stored_state(tx, result.account, result.method)


async def _record_on_the_loop(
    store: Store, result: AccountMargin, assessment: Assessment
) -> AccountState | None:
    """:func:`_recorded` on the event loop, the SQLite write lock tried again after short
    pauses while another process holds it (the loop serves other requests meanwhile); on
    PostgreSQL, or after :data:`LOOP_WAIT_SECONDS`, in a worker thread that waits.

    A transaction on the loop thread holds the lock for the ~2 ms its statements take; in a
    worker thread it would also wait for the interpreter lock after each statement, while
    the loop computes margins, and hold the database's write lock many times longer.
    """
    if store.dialect == "sqlite":
        deadline = time.monotonic() + LOOP_WAIT_SECONDS
        pause, longest = LOOP_PAUSES_SECONDS
        while time.monotonic() < deadline:
            try:
                return _recorded(store, result, assessment, wait=False)
            except Busy:
                await asyncio.sleep(pause)
                pause = min(2 * pause, longest)
    return await run_in_threadpool(_recorded, store, result, assessment)


@router.get("/accounts/{account_id}/margin")
async def account_margin(
    account_id: AccountPath,
    services: ServicesDep,
    caller: CallerDep,
    method: MethodQuery = None,
) -> dict[str, Any]:
    """Margin of a stored account (positions and collateral) on the latest snapshot; the
    result is recorded in the account's history and its lifecycle state moved on (margin
    calls issued, raised or closed); ``state`` is the account's state afterwards."""
    caller.check_account(account_id)
    caller.require("read")
    result, assessment = services.desk.account_margin(account_id, method)
    state = await _record_on_the_loop(services.store, result, assessment)
    return dataclasses.replace(result, lifecycle=state or result.lifecycle).to_json()


@router.post("/accounts/{account_id}/whatif")
async def what_if(
    account_id: AccountPath, body: WhatIfRequest, services: ServicesDep, caller: CallerDep
) -> dict[str, Any]:
    """IM and MM of a stored account before and after hypothetical trades (nothing is
    stored; a read key may ask)."""
    caller.check_account(account_id)
    caller.require("read")
    change = services.desk.what_if(
        account_id, [(t.instrument, t.quantity) for t in body.trades], body.method
    )
    return change.to_json()


def _history_json(row: ResultRow) -> dict[str, Any]:
    return {
        "result_id": row.result_id,
        "method": row.method,
        "snapshot_id": row.snapshot_id,
        "computed_ms": row.computed_ms,
        "currency": row.currency,
        "initial_margin": row.initial_margin,
        "maintenance_margin": row.maintenance_margin,
        "equity": row.equity,
        "excess": row.excess,
        "margin_ratio": row.margin_ratio,
        "status": row.status,
        "detail": json.loads(row.detail),
    }


@router.get("/accounts/{account_id}/history")
def history(
    account_id: AccountPath,
    services: ServicesDep,
    caller: CallerDep,
    method: MethodQuery = None,
    limit: Annotated[int, Query(ge=1, le=5_000)] = 500,
    before_ms: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> dict[str, Any]:
    """Recorded margin of an account, newest first (``before_ms``: page backwards)."""
    caller.check_account(account_id)
    caller.require("read")
    _visible(services.store, account_id)
    rows = services.store.history(account_id, method=method, limit=limit, before_ms=before_ms)
    status = [
        {
            "method": s.method,
            "status": s.status,
            "since_ms": s.since_ms,
            "equity_usd": s.equity_usd,
            "initial_margin_usd": s.initial_margin_usd,
            "maintenance_margin_usd": s.maintenance_margin_usd,
            "reduce_only": s.reduce_only,
        }
        for s in services.store.status(account_id)
    ]
    return {
        "account_id": account_id,
        "status": status,
        "results": [_history_json(r) for r in rows],
    }


def _job_json(row: JobRow) -> dict[str, Any]:
    return {
        "job_id": row.job_id,
        "kind": row.kind,
        "state": row.state,
        "created_ms": row.created_ms,
        "started_ms": row.started_ms,
        "finished_ms": row.finished_ms,
        "total": row.total,
        "done": row.done,
        "detail": dict(row.detail),
    }


@router.post("/recompute", status_code=202, response_model=JobOut)
def recompute(body: RecomputeRequest, write: WriteDep) -> Response:
    """Recompute every stored account on the latest snapshot in the background (admin):
    results and status changes are recorded; follow the job at ``/v1/jobs/{job_id}``."""
    write.caller.require("admin")
    services = write.services
    methods = list(dict.fromkeys(body.methods)) or [services.desk.default_method]
    services.desk.market()  # refuse at once when there is no snapshot
    created: list[str] = []

    def change(tx: Tx) -> dict[str, Any]:
        row = services.jobs.create_recompute(tx, methods)
        created.append(row.job_id)
        return _job_json(row)

    response = write.perform(None, change, status=202)
    if created:
        services.jobs.start(created[0], methods)
    return response


@router.get("/jobs/{job_id}", response_model=JobOut)
def job(
    job_id: Annotated[str, PathParam(min_length=1, max_length=64)],
    services: ServicesDep,
    caller: CallerDep,
) -> Any:
    """A background job and its progress (admin)."""
    caller.require("admin")
    row = services.store.job(job_id)
    if row is None:
        raise NotFound("job", job_id)
    return _job_json(row)
