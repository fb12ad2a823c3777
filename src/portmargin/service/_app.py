"""The FastAPI application of the margin service."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from portmargin.service._auth import KeyCache
from portmargin.service._dashboard import add_dashboard
from portmargin.service._deps import Services, ServicesDep
from portmargin.service._desk import Desk
from portmargin.service._errors import install_error_handlers
from portmargin.service._jobs import Jobs
from portmargin.service._limits import BodyLimit
from portmargin.service._routes_accounts import router as accounts_router
from portmargin.service._routes_calls import router as calls_router
from portmargin.service._routes_lifecycle import router as lifecycle_router
from portmargin.service._routes_margin import router as margin_router
from portmargin.service._routes_market import router as market_router
from portmargin.service._settings import ServiceSettings
from portmargin.store import Store

__all__ = ["DEMO_ENV", "app_from_environment", "create_app"]

DEMO_ENV = "PORTMARGIN_SERVICE_DEMO"
"""Environment variable: ``1`` when the store holds the demo data (see
:func:`app_from_environment`)."""

JOBS_SHUTDOWN_SECONDS = 30.0
"""How long shutdown waits for running background jobs."""


def create_app(settings: ServiceSettings) -> FastAPI:
    """The margin service: REST API under ``/v1``, ``/health``, ``/ready``, OpenAPI at
    ``/openapi.json``.

    The store (``settings.database_url``) is opened (and migrated) here and closed when the
    application shuts down.
    """
    store = Store.open(settings.database_url)
    desk = Desk(store, settings.default_method)
    services = Services(
        settings=settings,
        store=store,
        desk=desk,
        keys=KeyCache(store, settings.key_cache_seconds),
        jobs=Jobs(store, desk),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            services.jobs.join(JOBS_SHUTDOWN_SECONDS)
            store.close()

    app = FastAPI(
        title="portmargin",
        version="1",
        summary="Portfolio margin for crypto derivatives as a service.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load their scripts from a CDN
        redoc_url=None,
    )
    app.state.services = services
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    app.include_router(accounts_router)
    app.include_router(market_router)
    app.include_router(margin_router)
    app.include_router(calls_router)
    app.include_router(lifecycle_router)
    add_dashboard(app)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str | int]:
        """The process answers (``pid``: which server process, when there are several)."""
        return {"status": "ok", "pid": os.getpid()}

    @app.get("/ready", tags=["health"], responses={503: {"description": "Not ready"}})
    def ready(services: ServicesDep) -> Any:
        """The store answers and a snapshot is there to margin on."""
        latest = services.store.snapshots(1)
        if not latest:
            return JSONResponse(
                {"ready": False, "reason": "no market snapshot uploaded"}, status_code=503
            )
        return {
            "ready": True,
            "snapshot_id": latest[0].snapshot_id,
            "store": services.store.dialect,
            "demo": services.settings.demo,
        }

    return app


def app_from_environment() -> FastAPI:
    """The service on the store of ``PORTMARGIN_DATABASE_URL`` (else the default store), with
    ``demo`` from :data:`DEMO_ENV`: the factory each worker process of
    ``portmargin serve --workers N`` calls."""
    return create_app(ServiceSettings(demo=os.environ.get(DEMO_ENV) == "1"))
