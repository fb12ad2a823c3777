"""``portmargin report``: the user's margin report, an HTML index and one page per account."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from portmargin.analysis import compute_margin
from portmargin.cli._common import (
    EXIT_FAILED,
    HISTORY_OPTION,
    MarketOption,
    load_market,
    stderr,
    stdout,
)
from portmargin.io import read_positions
from portmargin.io.params import load_params
from portmargin.io.report import DEFAULT_PAGES, AccountReport, write_account_report
from portmargin.methods import get_method

__all__ = ["report"]


def report(
    positions: Annotated[Path, typer.Argument(help="Positions file: account,instrument,quantity.")],
    method: Annotated[str, typer.Option("--method", help="Method name (see `methods`).")],
    market: MarketOption = None,
    params: Annotated[
        str | None, typer.Option("--params", help="Parameter pack: file or bundled name.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("portmargin-report"),
    pages: Annotated[
        int,
        typer.Option(
            "--pages", min=0, help="Accounts given a page of their own, the most at risk first."
        ),
    ] = DEFAULT_PAGES,
    history: HISTORY_OPTION = None,
) -> None:
    """Offline HTML margin report of every account in POSITIONS; prints the index path.

    The index lists every account (most at risk first) and those that could not be computed
    with their reason; each of the first ``--pages`` accounts gets a page with IM, MM,
    components, positions and heatmaps of its P&L on the method's scenario grid. Exit code 0
    only if every account was computed (the report is written either way).
    """
    m = get_method(method)
    pack = load_params(m, params)
    snap = load_market(market, history=history)
    pos = read_positions(positions)
    for w in pos.warnings:
        stderr.print(f"warning: {w}", markup=False, soft_wrap=True)
    batch = compute_margin(m, pos.portfolios, snap, pack)
    index = write_account_report(
        AccountReport(
            batch=batch,
            portfolios=tuple(pos.portfolios),
            market=snap,
            params=pack,
            file_errors=pos.account_errors,
            warnings=tuple(pos.warnings),
        ),
        out,
        pages,
    )
    stdout.print(str(index), markup=False, soft_wrap=True)
    bad = {**pos.account_errors, **batch.errors}
    for a, e in bad.items():
        stderr.print(f"error: account {a}: {e}", markup=False, soft_wrap=True)
    if bad:
        raise typer.Exit(EXIT_FAILED)
