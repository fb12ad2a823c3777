"""``portmargin chain``: reprice a venue option chain and compare with the venue's marks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from portmargin.analysis import reprice_chain, summarise_chain
from portmargin.cli._common import dump_json, stderr, stdout
from portmargin.io.deribit import load_snapshot

__all__ = ["chain"]


def chain(
    snapshot: Annotated[Path, typer.Argument(help="Deribit option chain (CSV or JSON payloads).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
    show_excluded: Annotated[
        bool, typer.Option("--excluded", help="List rows left out of the snapshot, with reasons.")
    ] = False,
) -> None:
    """Reprice every option from its own mark IV and forward (Black-76).

    Prints per instrument the model price in coin and USD, the venue mark, the difference,
    and delta, gamma, vega (USD per vol point), theta (USD per day) in the venue's conventions.
    The loader's plausibility warnings go to stderr (``warning: ...``, one line each), with
    the excluded rows (``--excluded``) or their count.
    """
    load = load_snapshot(snapshot)
    quotes = sorted(
        load.snapshot.quotes.values(),
        key=lambda q: (q.instrument.expiry_ms, q.instrument.strike, q.instrument.is_call),
    )
    rows = reprice_chain(quotes)
    for warning in load.warnings:
        stderr.print(f"warning: {warning}", markup=False, soft_wrap=True)
    if show_excluded:
        for ex in load.excluded:
            where = f"{ex.source} row {ex.row}" + (f" {ex.instrument}" if ex.instrument else "")
            stderr.print(f"excluded: {where}: {ex.reason}", markup=False, soft_wrap=True)
    elif load.excluded:
        stderr.print(
            f"note: {len(load.excluded)} row(s) excluded from the snapshot; --excluded lists "
            "them with their reasons",
            markup=False,
            soft_wrap=True,
        )
    if as_json:
        dump_json([r.to_dict() for r in rows])
        return
    table = Table(title=f"{snapshot.name}: {len(rows)} options repriced", title_justify="left")
    for col in (
        "instrument",
        "model coin",
        "model USD",
        "mark",
        "diff",
        "delta",
        "gamma",
        "vega",
        "theta",
    ):
        table.add_column(col, justify="left" if col == "instrument" else "right")
    for r in rows:
        table.add_row(
            r.instrument,
            f"{r.model_price:.8f}",
            f"{r.model_price_usd:,.2f}",
            f"{r.mark_price:.8f}",
            f"{r.difference:+.2e}",
            f"{r.delta:.5f}",
            f"{r.gamma:.6f}",
            f"{r.vega:.4f}",
            f"{r.theta:.4f}",
        )
    stdout.print(table)
    s = summarise_chain(rows)
    stdout.print(
        f"model vs mark: median |diff| {s.median_abs_error:.2e}, 95th pct {s.p95_abs_error:.2e}, "
        f"max {s.max_abs_error:.2e}; delta median |diff| {s.median_delta_error:.2e}"
    )
