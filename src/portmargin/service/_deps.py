"""What every route gets: the store, the desk, the key cache and the caller of a request."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from portmargin.service._auth import Caller, KeyCache
from portmargin.service._desk import Desk
from portmargin.service._errors import IdempotencyMismatchError
from portmargin.service._jobs import Jobs
from portmargin.service._liqprice import LiquidationCache
from portmargin.service._settings import ServiceSettings
from portmargin.store import Store, Tx

__all__ = ["CallerDep", "Services", "ServicesDep", "WriteDep", "WriteRequest"]

_BEARER = HTTPBearer(auto_error=False, description="An API key: `Bearer pm_...`.")


@dataclass(frozen=True, slots=True)
class Services:
    """The long-lived parts of the service, shared by every request."""

    settings: ServiceSettings
    store: Store
    desk: Desk
    keys: KeyCache
    jobs: Jobs
    liquidation: LiquidationCache = field(default_factory=LiquidationCache)


async def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


async def _caller(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Caller:
    """The verified key: a recently verified one on the event loop (one indexed read), a new
    one in the thread pool (argon2id takes tens of milliseconds)."""
    header = None if credentials is None else f"{credentials.scheme} {credentials.credentials}"
    known = services.keys.cached(header)
    if known is not None:
        return known
    caller: Caller = await run_in_threadpool(services.keys.caller, header)
    return caller


CallerDep = Annotated[Caller, Depends(_caller)]


async def _digest(request: Request) -> str:
    """sha256 of the request: method, path, query and body."""
    h = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        h.update(part.encode())
        h.update(b"\x00")
    h.update(await request.body())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """A state-changing request: who, what, and its idempotency key.

    Attributes
    ----------
    services, caller
        The service and the verified key.
    action
        Method and route, e.g. ``PUT /v1/accounts/{account_id}/positions`` (audit log).
    digest
        sha256 of the request (method, path, query, body).
    idem_key
        The ``Idempotency-Key`` header, if sent.
    """

    services: Services
    caller: Caller
    action: str
    digest: str
    idem_key: str | None

    def perform(
        self, target: str | None, change: Callable[[Tx], Any], status: int = 200
    ) -> Response:
        """Apply ``change`` in one transaction with its audit row (and the stored response
        for the idempotency key); replay the stored response of a repeated key.

        ``change`` returns the JSON body of the response.

        Raises
        ------
        IdempotencyMismatchError
            The key was used before for a different request.
        """
        store, key_id = self.services.store, self.caller.key_id
        if self.idem_key is not None:
            prior = store.idempotent(key_id, self.idem_key)
            if prior is not None:
                if prior.request_sha256 != self.digest:
                    raise IdempotencyMismatchError(self.idem_key)
                return _json(prior.response, prior.status, replayed=True)
        with store.begin() as tx:
            body = json.dumps(change(tx), allow_nan=False)
            tx.append_audit(
                key_id=key_id,
                action=self.action,
                target=target,
                status=status,
                detail={"request_sha256": self.digest, "idempotency_key": self.idem_key},
            )
            if self.idem_key is not None:
                tx.save_idempotent(key_id, self.idem_key, self.digest, status, body)
        return _json(body, status, replayed=False)

    def refused(self, target: str | None, status: int, reason: str) -> None:
        """Write the audit row of a state-changing request that was refused."""
        with self.services.store.begin() as tx:
            tx.append_audit(
                key_id=self.caller.key_id,
                action=self.action,
                target=target,
                status=status,
                detail={"request_sha256": self.digest, "refused": reason},
            )


def _json(body: str, status: int, *, replayed: bool) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _write(
    request: Request,
    services: ServicesDep,
    caller: CallerDep,
    digest: Annotated[str, Depends(_digest)],
    idem_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="Repeat a state-changing request safely: the same key and body get "
            "the first response again.",
        ),
    ] = None,
) -> WriteRequest:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    write = WriteRequest(
        services=services,
        caller=caller,
        action=f"{request.method} {path}",
        digest=digest,
        idem_key=idem_key,
    )
    request.state.write = write  # refusals are audited by the error handlers
    return write


WriteDep = Annotated[WriteRequest, Depends(_write)]
