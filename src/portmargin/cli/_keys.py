"""``portmargin keys``: create, revoke and list the service's API keys (admin, local)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from portmargin.cli._common import dump_json, stderr, stdout

if TYPE_CHECKING:
    from portmargin.store import KeyRow, Store

__all__ = ["DATABASE_URL_OPTION", "keys_app", "open_store"]

keys_app = typer.Typer(help="Manage the service's API keys (stored hashed; tokens shown once).")

DATABASE_URL_OPTION = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Store URL (sqlite:///FILE or postgresql+psycopg://...). Default: "
        "PORTMARGIN_DATABASE_URL, else a SQLite file in the user's data directory.",
    ),
]
_SCOPE_NAMES = ("read", "trade", "admin")


def open_store(url: str | None) -> Store:
    """The store at ``url`` (None: the default), migrated to the current schema."""
    # the store's packages (the "service" extra) are imported only by the commands using it
    from portmargin.store import Store

    return Store.open(url)


def _key_dict(key: KeyRow) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "scopes": [s for s in _SCOPE_NAMES if s in key.scopes],
        "accounts": "*" if key.all_accounts else list(key.accounts),
        "label": key.label,
        "created": _iso(key.created_ms),
        "revoked": None if key.revoked_ms is None else _iso(key.revoked_ms),
    }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


@keys_app.command("create")
def create(
    scope: Annotated[
        list[str],
        typer.Option("--scope", help="read, trade or admin (repeat for several)."),
    ],
    account: Annotated[
        list[str] | None,
        typer.Option("--account", help="Account the key may see (repeat for several)."),
    ] = None,
    all_accounts: Annotated[
        bool, typer.Option("--all-accounts", help="The key may see every account.")
    ] = False,
    label: Annotated[str, typer.Option("--label", help="Free text shown in listings.")] = "",
    database_url: DATABASE_URL_OPTION = None,
) -> None:
    """Create an API key and print its token (shown this once only)."""
    with open_store(database_url) as store, store.begin() as tx:
        key, token = tx.create_key(
            scopes=scope, accounts=account or (), all_accounts=all_accounts, label=label
        )
        tx.append_audit(key_id=None, action="keys create", target=key.key_id, detail=_key_dict(key))
    stdout.print(f"key {key.key_id}: {', '.join(_key_dict(key)['scopes'])}", markup=False)
    stdout.print(token, markup=False, soft_wrap=True)
    stderr.print(
        "warning: the token above is not shown again and cannot be recovered; store it now",
        markup=False,
    )


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="Id of the key (the part after 'pm_').")],
    database_url: DATABASE_URL_OPTION = None,
) -> None:
    """Revoke an API key: its token is refused from now on."""
    with open_store(database_url) as store, store.begin() as tx:
        key = tx.revoke_key(key_id)
        tx.append_audit(key_id=None, action="keys revoke", target=key_id)
    stdout.print(f"key {key.key_id} revoked", markup=False)


@keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    database_url: DATABASE_URL_OPTION = None,
) -> None:
    """List API keys (never their secrets)."""
    with open_store(database_url) as store:
        rows = [_key_dict(k) for k in store.keys()]  # noqa: SIM118 - the API keys
    if as_json:
        dump_json(rows)
        return
    table = Table(title="API keys", title_justify="left")
    for col in ("key_id", "scopes", "accounts", "label", "created", "revoked"):
        table.add_column(col)
    for r in rows:
        accounts = r["accounts"] if isinstance(r["accounts"], str) else ", ".join(r["accounts"])
        table.add_row(
            r["key_id"],
            ",".join(r["scopes"]),
            accounts,
            r["label"],
            r["created"],
            r["revoked"] or "",
        )
    stdout.print(table)
