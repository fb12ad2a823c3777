"""Routes of market snapshots, methods and parameters in use, and API keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from portmargin.core import ValidationError
from portmargin.io.params import bundled_packs, load_params
from portmargin.methods import get_method, method_names
from portmargin.service._deps import CallerDep, ServicesDep, WriteDep, WriteRequest
from portmargin.service._market import ParsedMarket, parse_market
from portmargin.service._schemas import KeyIn, KeyOut, ParamsIn, SnapshotOut, SnapshotUpload
from portmargin.store import KeyRow, NotFound, SnapshotRow, Tx

__all__ = ["router"]

router = APIRouter(prefix="/v1")

SnapshotId = Annotated[int, PathParam(ge=1, le=2**62)]


def _snapshot_json(row: SnapshotRow, parsed: ParsedMarket | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "snapshot_id": row.snapshot_id,
        "label": row.label,
        "valuation_ms": row.valuation_ms,
        "underlyings": list(row.underlyings),
        "created_ms": row.created_ms,
        "parts": [{"format": p.format, "sha256": p.sha256, "size": p.size} for p in row.parts],
    }
    if parsed is not None:
        out["excluded_rows"] = parsed.excluded
        out["warnings"] = [*parsed.warnings, *parsed.excluded_reasons]
    return out


def _store_snapshot(
    write: WriteRequest, label: str, parts: Sequence[tuple[str, bytes]]
) -> Response:
    """Parse ``parts`` (refusing what does not parse), then store them (admin)."""
    write.caller.require("admin")
    parsed = parse_market(parts)
    snapshot = parsed.snapshot
    stored: list[int] = []

    def change(tx: Tx) -> dict[str, Any]:
        row = tx.add_snapshot(
            label=label,
            parts=parts,
            valuation_ms=snapshot.valuation_ms,
            underlyings=snapshot.underlyings,
        )
        stored.append(row.snapshot_id)
        return _snapshot_json(row, parsed)

    response = write.perform(None, change, status=201)
    if stored:
        write.services.desk.keep_parsed(stored[0], parsed)
    return response


@router.post("/snapshots", status_code=201, response_model=SnapshotOut, tags=["snapshots"])
def upload_snapshot(body: SnapshotUpload, write: WriteDep) -> Response:
    """Upload a snapshot of one or more files as text (admin). Files are parsed before
    they are stored; one that does not parse is refused with the reason."""
    parts = [(p.format, p.content.encode("utf-8")) for p in body.parts]
    return _store_snapshot(write, body.label, parts)


_RAW_BODY = {
    "requestBody": {
        "content": {
            media: {"schema": {"type": "string"}}
            for media in ("text/csv", "application/json", "application/octet-stream")
        },
        "required": True,
    }
}


@router.post(
    "/snapshots/upload",
    status_code=201,
    response_model=SnapshotOut,
    openapi_extra=_RAW_BODY,
    tags=["snapshots"],
)
async def upload_snapshot_file(
    request: Request,
    write: WriteDep,
    format: Annotated[
        Literal["deribit-csv", "deribit-json", "market-file"],
        Query(description="Format of the file in the body."),
    ],
    label: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Upload one file as the request body (a Deribit chain CSV, a Deribit JSON-RPC payload
    or a market file) (admin)."""
    payload = await request.body()
    response: Response = await run_in_threadpool(_store_snapshot, write, label, [(format, payload)])
    return response


@router.get("/snapshots", response_model=list[SnapshotOut], tags=["snapshots"])
def list_snapshots(
    services: ServicesDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 50,
) -> list[dict[str, Any]]:
    """Stored snapshots, newest first."""
    caller.require("read")
    return [_snapshot_json(r) for r in services.store.snapshots(limit)]


@router.get("/snapshots/latest", response_model=SnapshotOut, tags=["snapshots"])
def latest_snapshot(services: ServicesDep, caller: CallerDep) -> Any:
    """The latest snapshot (the one account routes margin on)."""
    caller.require("read")
    row = services.store.latest_snapshot()
    if row is None:
        raise NotFound("snapshot", "latest")
    return _snapshot_json(row)


@router.get("/snapshots/{snapshot_id}", response_model=SnapshotOut, tags=["snapshots"])
def get_snapshot(snapshot_id: SnapshotId, services: ServicesDep, caller: CallerDep) -> Any:
    """One snapshot."""
    caller.require("read")
    row = services.store.snapshot(snapshot_id)
    if row is None:
        raise NotFound("snapshot", str(snapshot_id))
    return _snapshot_json(row)


@router.get("/methods", tags=["methods"])
def list_methods(services: ServicesDep, caller: CallerDep) -> list[dict[str, Any]]:
    """Registered methods, their bundled packs and the parameters in use."""
    caller.require("read")
    in_use = services.desk.in_use()
    out = []
    for name in method_names():
        m = get_method(name)
        pack, overrides = in_use.get(name, (m.default_pack, ()))
        out.append(
            {
                "method": name,
                "description": m.description,
                "default": name == services.desk.default_method,
                "packs": list(bundled_packs(name)),
                "default_pack": m.default_pack,
                "in_use": {"pack": pack, "overrides": list(overrides)},
                "inputs": [spec.to_dict() for spec in m.account_inputs],
            }
        )
    return out


@router.put("/params/{method}", tags=["methods"])
def set_params(
    method: Annotated[str, PathParam(min_length=1, max_length=64)],
    body: ParamsIn,
    write: WriteDep,
) -> Response:
    """Set the pack and overrides a method uses from now on (admin); they are loaded (and
    refused if invalid) before they are stored."""
    write.caller.require("admin")
    m = get_method(method)
    overrides = tuple(f"{k}={v}" for k, v in body.overrides.items())
    if body.pack not in bundled_packs(m.name):
        raise ValidationError(
            "pack", body.pack, f"a bundled pack of {m.name}: {bundled_packs(m.name)}"
        )
    version = load_params(m, body.pack, overrides).version

    def change(tx: Tx) -> dict[str, Any]:
        tx.set_params(m.name, body.pack, dict(body.overrides))
        return {
            "method": m.name,
            "pack": body.pack,
            "overrides": body.overrides,
            "version": version,
        }

    response = write.perform(m.name, change)
    write.services.desk.forget_params()
    return response


def _key_json(row: KeyRow, token: str | None = None) -> dict[str, Any]:
    return {
        "key_id": row.key_id,
        "scopes": sorted(row.scopes),
        "accounts": list(row.accounts),
        "all_accounts": row.all_accounts,
        "label": row.label,
        "created_ms": row.created_ms,
        "revoked_ms": row.revoked_ms,
        "token": token,
    }


@router.get("/keys", response_model=list[KeyOut], tags=["keys"])
def list_keys(services: ServicesDep, caller: CallerDep) -> list[dict[str, Any]]:
    """Every API key, without secrets (admin)."""
    caller.require("admin")
    return [_key_json(k) for k in services.store.keys()]  # noqa: SIM118 (not a dict)


@router.post("/keys", status_code=201, response_model=KeyOut, tags=["keys"])
def create_key(body: KeyIn, write: WriteDep) -> Response:
    """Create an API key (admin); its token is in this response only."""
    write.caller.require("admin")

    def change(tx: Tx) -> dict[str, Any]:
        row, token = tx.create_key(
            scopes=body.scopes,
            accounts=body.accounts,
            all_accounts=body.all_accounts,
            label=body.label,
        )
        return _key_json(row, token)

    return write.perform(None, change, status=201)


@router.delete("/keys/{key_id}", response_model=KeyOut, tags=["keys"])
def revoke_key(
    key_id: Annotated[str, PathParam(min_length=1, max_length=64)], write: WriteDep
) -> Response:
    """Revoke an API key (admin): refused from the next request on."""
    write.caller.require("admin")

    def change(tx: Tx) -> dict[str, Any]:
        tx.revoke_key(key_id)
        return {"key_id": key_id, "revoked": True}

    response = write.perform(key_id, change)
    write.services.keys.forget(key_id)
    return response
