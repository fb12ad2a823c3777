"""Error responses: ``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` with a 4xx
status for every bad input, naming the field, the value and what was expected."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from portmargin.core import (
    DataFormatError,
    InstrumentNameError,
    MarketDataError,
    PortmarginError,
    ValidationError,
)
from portmargin.service._auth import ForbiddenError, UnauthorizedError
from portmargin.store import Conflict, NotFound, StoreError

__all__ = ["IdempotencyMismatchError", "error_response", "install_error_handlers"]

_log = logging.getLogger("portmargin.service")


class IdempotencyMismatchError(Exception):
    """An ``Idempotency-Key`` reused with a different request."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"Idempotency-Key {key!r} was used for a different request; use a new key for a "
            "new request, or repeat the same request to get its response again"
        )


def error_response(
    status: int, loc: list[str | int], msg: str, kind: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error response with one detail entry."""
    detail: dict[str, Any] = {"loc": loc, "msg": msg, "type": kind}
    return JSONResponse({"detail": [detail]}, status_code=status, headers=headers)


def _loc(exc: PortmarginError) -> list[str | int]:
    if isinstance(exc, ValidationError):
        return [exc.field]
    if isinstance(exc, DataFormatError):
        return [exc.source] if exc.column is None else [exc.source, exc.column]
    if isinstance(exc, InstrumentNameError):
        return ["instrument"]
    if isinstance(exc, NotFound):
        return [exc.entity]
    if isinstance(exc, Conflict):
        return [exc.entity]
    return []


async def _audited(request: Request, response: JSONResponse, reason: str) -> JSONResponse:
    """``response``, after writing the audit row of a refused state-changing request (routes
    that take a :class:`~portmargin.service._deps.WriteRequest` leave it in
    ``request.state``)."""
    write = getattr(request.state, "write", None)
    if write is not None:
        target = request.path_params.get("account_id")
        try:
            await run_in_threadpool(write.refused, target, response.status_code, reason)
        except StoreError:
            _log.exception("cannot audit a refused %s", write.action)
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Map the service's and portmargin's errors to responses on ``app``; refused
    state-changing requests are written to the audit log."""

    async def unauthorized(_: Request, exc: Exception) -> JSONResponse:
        return error_response(
            401,
            ["header", "Authorization"],
            str(exc),
            "unauthorized",
            {"WWW-Authenticate": "Bearer"},
        )

    async def forbidden(request: Request, exc: Exception) -> JSONResponse:
        response = error_response(403, ["header", "Authorization"], str(exc), "forbidden")
        return await _audited(request, response, str(exc))

    async def idempotency(request: Request, exc: Exception) -> JSONResponse:
        response = error_response(422, ["header", "Idempotency-Key"], str(exc), "idempotency")
        return await _audited(request, response, str(exc))

    async def domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PortmarginError)
        if isinstance(exc, NotFound):
            status, kind = 404, "not_found"
        elif isinstance(exc, Conflict):
            status, kind = 409, "conflict"
        elif isinstance(exc, StoreError):
            status, kind = 503, "store"
        elif isinstance(exc, ValidationError | DataFormatError | InstrumentNameError):
            status, kind = 422, "value_error"
        elif isinstance(exc, MarketDataError):
            status, kind = 422, "market_data"
        else:
            status, kind = 422, "error"
        response = error_response(status, _loc(exc), str(exc), kind)
        return await _audited(request, response, str(exc))

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return error_response(
            exc.status_code, [], str(exc.detail), "http", dict(exc.headers or {}) or None
        )

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(UnauthorizedError, unauthorized)
    app.add_exception_handler(ForbiddenError, forbidden)
    app.add_exception_handler(IdempotencyMismatchError, idempotency)
    app.add_exception_handler(PortmarginError, domain)
