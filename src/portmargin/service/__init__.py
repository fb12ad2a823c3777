"""The margin service: a REST API (FastAPI) over the store and the margin engine.

``create_app(ServiceSettings(...))`` builds the application; ``portmargin serve`` runs it
with uvicorn. Routes live under ``/v1``; the OpenAPI schema is at ``/openapi.json``.
"""

from portmargin.service._app import DEMO_ENV, app_from_environment, create_app
from portmargin.service._demo import DemoLoad, load_demo
from portmargin.service._desk import Desk
from portmargin.service._outcomes import AccountMargin, WhatIfMargin
from portmargin.service._settings import ServiceSettings

__all__ = [
    "DEMO_ENV",
    "AccountMargin",
    "DemoLoad",
    "Desk",
    "ServiceSettings",
    "WhatIfMargin",
    "app_from_environment",
    "create_app",
    "load_demo",
]
