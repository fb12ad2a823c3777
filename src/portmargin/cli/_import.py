"""``portmargin import``: load a positions file (CSV or Parquet) into the store.

Rows whose instrument is a plain currency code (``BTC``, ``USDC``, ...) are collateral
balances; every other row is a position. Accounts with a bad row are reported (file row,
column, reason) and skipped; the clean accounts are imported, missing ones created.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import typer

from portmargin.cli._common import EXIT_FAILED, stderr, stdout
from portmargin.cli._keys import DATABASE_URL_OPTION, open_store
from portmargin.instruments import Currency, parse_instrument
from portmargin.io.positions import PositionsFile, positions_from_table, read_positions_table

if TYPE_CHECKING:
    from portmargin.store import Tx

__all__ = ["import_positions"]


def import_positions(
    positions_file: Annotated[Path, typer.Argument(help="Positions CSV or Parquet file.")],
    database_url: DATABASE_URL_OPTION = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Each imported account then holds exactly the file's positions and balances "
            "(default: the file's rows are set, a net quantity of 0 deletes, others are kept).",
        ),
    ] = False,
) -> None:
    """Import positions and collateral balances (account,instrument,quantity) into the store."""
    raw = read_positions_table(positions_file)
    pos = positions_from_table(raw, str(positions_file))
    for warning in pos.warnings:
        stderr.print(f"warning: {warning}", markup=False, soft_wrap=True)
    for account, error in pos.account_errors.items():
        stderr.print(f"skipped account {account}: {error}", markup=False, soft_wrap=True)
    positions, balances = _rows(pos)
    if not replace:
        positions += _zero_rows(raw, pos, {(a, i) for a, i, _ in positions}, balances)
    accounts = list(pos.book.accounts)
    with open_store(database_url) as store:
        existing = {a.account_id for a in store.accounts(accounts)}
        with store.begin() as tx:
            if replace:
                tx.clear_positions(existing)
            tx.upsert_positions(positions, create_accounts=True)
            named = {a for a, _, _ in positions}
            for account in accounts:  # accounts with balances only, or only zero rows
                if account not in existing and account not in named:
                    tx.create_account(account)
            _set_collateral(tx, accounts, balances, replace=replace)
            tx.append_audit(
                key_id=None,
                action="import",
                target=str(positions_file),
                detail={"accounts": len(accounts), "skipped": len(pos.account_errors)},
            )
    n_positions = sum(1 for _, _, q in positions if q != 0.0)
    n_balances = sum(len(b) for b in balances.values())
    stdout.print(
        f"imported {len(accounts):,} accounts ({len(accounts) - len(existing):,} created), "
        f"{n_positions:,} positions, {n_balances:,} collateral balances; "
        f"{len(pos.account_errors):,} accounts skipped",
        markup=False,
    )
    if pos.account_errors:
        raise typer.Exit(EXIT_FAILED)


def _rows(pos: PositionsFile) -> tuple[list[tuple[str, str, float]], dict[str, dict[str, float]]]:
    """Position rows and collateral balances per account of the file's clean accounts."""
    book = pos.book
    q = book.quantities
    account_of = np.repeat(np.arange(len(book.accounts)), np.diff(q.indptr)).tolist()
    columns = q.indices.tolist()
    amounts = q.data.tolist()
    names = [i.name for i in book.instruments]
    is_balance = [isinstance(i, Currency) for i in book.instruments]
    positions: list[tuple[str, str, float]] = []
    balances: dict[str, dict[str, float]] = {}
    for a, c, v in zip(account_of, columns, amounts, strict=True):
        account = book.accounts[a]
        if is_balance[c]:
            balances.setdefault(account, {})[names[c]] = v
        else:
            positions.append((account, names[c], v))
    return positions, balances


def _zero_rows(
    raw: pa.Table,
    pos: PositionsFile,
    held: set[tuple[str, str]],
    balances: dict[str, dict[str, float]],
) -> list[tuple[str, str, float]]:
    """Rows of clean accounts whose quantities net to 0: deletions of those positions.

    Currency codes netting to 0 are recorded as 0 balances in ``balances`` (deletions too).
    """
    pairs = (
        pa.table(
            {
                "account": pc.utf8_trim_whitespace(pc.cast(raw.column("account"), pa.string())),
                "instrument": pc.utf8_trim_whitespace(
                    pc.cast(raw.column("instrument"), pa.string())
                ),
            }
        )
        .group_by(["account", "instrument"])
        .aggregate([])
    )
    clean = set(pos.book.accounts)
    canonical = {}
    zeros: list[tuple[str, str, float]] = []
    for account, name in zip(
        pairs.column("account").to_pylist(), pairs.column("instrument").to_pylist(), strict=True
    ):
        if account not in clean:
            continue
        if name not in canonical:
            canonical[name] = parse_instrument(name)
        inst = canonical[name]
        if isinstance(inst, Currency):
            balances.setdefault(account, {}).setdefault(inst.name, 0.0)
        elif (account, inst.name) not in held:
            zeros.append((account, inst.name, 0.0))
    return zeros


def _set_collateral(
    tx: Tx, accounts: list[str], balances: dict[str, dict[str, float]], *, replace: bool
) -> None:
    for account in accounts if replace else list(balances):
        tx.set_collateral(account, balances.get(account, {}), replace=replace)
