"""``portmargin serve``: the margin service (REST API) with uvicorn."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from portmargin.cli._common import stdout

__all__ = ["serve"]


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Store URL (sqlite:///FILE or postgresql+psycopg://...). Default: "
            "PORTMARGIN_DATABASE_URL, else a SQLite file in the user's data directory "
            "(with --demo: a fresh temporary SQLite file).",
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Load the bundled demo snapshot and accounts into a fresh store and print "
            "an admin API key.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Server processes (each keeps its own caches; 2 on a 2-core machine).",
        ),
    ] = 1,
) -> None:
    """Run the margin service: REST API under /v1, OpenAPI at /openapi.json."""
    # the service's packages (the "service" extra) are imported only by this command
    import uvicorn

    from portmargin.service import DEMO_ENV, ServiceSettings, create_app, load_demo
    from portmargin.store import DATABASE_URL_ENV, Store

    url = database_url
    if demo:
        if url is None:
            folder = Path(tempfile.mkdtemp(prefix="portmargin-demo-"))
            url = f"sqlite:///{folder / 'portmargin.db'}"
        with Store.open(url) as store:
            loaded = load_demo(store)
            with store.begin() as tx:
                _, token = tx.create_key(scopes=["admin"], all_accounts=True, label="demo admin")
        stdout.print(
            f"Demo store {url}: snapshot {loaded.snapshot_id}, "
            f"{len(loaded.accounts)} accounts ({', '.join(loaded.accounts)})",
            markup=False,
            soft_wrap=True,
        )
        stdout.print(f"Admin API key (shown once): {token}", markup=False, soft_wrap=True)
        stdout.print(
            f"Open http://{host}:{port}/ and log in with the key; API schema at /openapi.json",
            markup=False,
            soft_wrap=True,
        )
    if workers == 1:
        app = create_app(ServiceSettings(database_url=url, demo=demo))
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
        return
    # worker processes build the app from the environment
    if url is not None:
        os.environ[DATABASE_URL_ENV] = url
    os.environ[DEMO_ENV] = "1" if demo else "0"
    uvicorn.run(
        "portmargin.service:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
    )
