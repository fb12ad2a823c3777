"""``portmargin stress``: every account of a positions file under a stress library, with the
breaches, defaults and the insurance fund's cover-2 figure."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from portmargin.cli._common import (
    EXIT_FAILED,
    HISTORY_OPTION,
    MarketOption,
    dump_json,
    load_market,
    stdout,
)
from portmargin.cli._lifecycle_common import (
    LIFECYCLE_OPTION,
    LIFECYCLE_SET_OPTION,
    PARAMS_OPTION,
    POSITIONS_ARGUMENT,
    SET_OPTION,
    load_lifecycle_run,
)
from portmargin.cli._margin_output import print_errors
from portmargin.core import name_some
from portmargin.io.stress import load_stress_library
from portmargin.lifecycle import CoverTwo, StressResults, cover_two, stress_accounts
from portmargin.scenarios import ScenarioKind, StressLibrary

__all__ = ["stress"]

_HYPOTHETICAL_NOTE = (
    "hypothetical: a judgement parameter set (stress-and-dynamics.md A.4), not a measurement"
)


def stress(
    positions: POSITIONS_ARGUMENT,
    market: MarketOption = None,
    method: Annotated[
        str, typer.Option("--method", help="Method of the stressed MM (see `methods`).")
    ] = "standard",
    params: PARAMS_OPTION = None,
    overrides: SET_OPTION = None,
    library: Annotated[
        str | None,
        typer.Option(
            "--library", help="Stress library: file or bundled name (default stress/2021-11)."
        ),
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", help="Only this scenario id (repeatable; default all)."),
    ] = None,
    lifecycle: LIFECYCLE_OPTION = None,
    lifecycle_overrides: LIFECYCLE_SET_OPTION = None,
    allow_unlisted: Annotated[
        bool,
        typer.Option("--allow-unlisted", help="Price instruments the snapshot does not list."),
    ] = False,
    history: HISTORY_OPTION = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Stressed equity E_s and maintenance margin MM_s of every account under each scenario
    (full revaluation, haircuts on the stressed balances): breaches (E_s < MM_s), defaults
    (E_s < 0) and the cover-2 figure, the largest over scenarios of the two largest losses
    beyond collateral max(-E_s, 0). The whole file goes through the batch engine, one margin
    run per scenario; futures and perpetuals are taken as settled at the current marks.
    Exit code 1 if some account could not be computed."""
    lib = load_stress_library(library).select(scenario or ())
    snap = load_market(market, allow_unlisted, history)
    run = load_lifecycle_run(
        positions, snap, method, (params, overrides), (lifecycle, lifecycle_overrides)
    )
    results = stress_accounts(
        run.holdings, snap, run.margining, run.params.collateral, lib.scenarios
    )
    cover = cover_two(results)
    bad = {**run.file_errors, **results.errors}
    if as_json:
        dump_json(_payload(lib, results, cover, bad))
    else:
        _print(lib, results, cover)
        print_errors(bad)
    if bad:
        raise typer.Exit(EXIT_FAILED)


def _rows(results: StressResults, cover: CoverTwo) -> list[dict[str, Any]]:
    breach, default = results.breach, results.default
    ids = np.array(results.accounts, dtype=object)
    rows = []
    for k, s in enumerate(results.scenarios):
        top = [
            {"account": results.accounts[c], "loss_usd": float(cover.loss[k, c])}
            for c in cover.top[k].tolist()
            if c >= 0 and cover.loss[k, c] > 0
        ]
        rows.append(
            {
                "id": s.id,
                "label": s.label,
                "kind": s.kind.value,
                "horizon_days": s.horizon_days,
                "breaches": int(breach[k].sum()),
                "defaults": int(default[k].sum()),
                "breached_accounts": ids[breach[k]].tolist(),
                "defaulted_accounts": ids[default[k]].tolist(),
                "cover_one_usd": float(cover.cover_one_by_scenario[k]),
                "cover_two_usd": float(cover.cover_two_by_scenario[k]),
                "largest_losses": top,
            }
        )
    return rows


def _payload(
    lib: StressLibrary, results: StressResults, cover: CoverTwo, bad: dict[str, str]
) -> dict[str, Any]:
    return {
        "library": lib.version,
        "margining": results.margining,
        "accounts": len(results.accounts) - len(results.errors),
        "scenarios": _rows(results, cover),
        "cover_two": {
            "usd": cover.cover_two,
            "scenario": cover.binding_scenario,
            "accounts": list(cover.binding_accounts),
        },
        "cover_one": {
            "usd": cover.cover_one,
            "scenario": cover.cover_one_scenario,
            "account": cover.cover_one_account,
        },
        "errors": [{"account": a, "error": e} for a, e in bad.items()],
    }


def _print(lib: StressLibrary, results: StressResults, cover: CoverTwo) -> None:
    computed = len(results.accounts) - len(results.errors)
    table = Table(
        title=f"Stress library {lib.version}: {computed:,} accounts, "
        f"MM under {results.margining} (USD)",
        title_justify="left",
    )
    for col in ("scenario", "kind", "horizon d", "breaches", "defaults", "cover-1", "cover-2"):
        table.add_column(col, justify="left" if col in ("scenario", "kind") else "right")
    table.add_column("largest losses beyond collateral")
    for row in _rows(results, cover):
        table.add_row(
            row["id"],
            row["kind"],
            f"{row['horizon_days']:g}",
            f"{row['breaches']:,}",
            f"{row['defaults']:,}",
            f"{row['cover_one_usd']:,.2f}",
            f"{row['cover_two_usd']:,.2f}",
            ", ".join(f"{t['account']} {t['loss_usd']:,.2f}" for t in row["largest_losses"]),
        )
    stdout.print(table)
    if cover.binding_scenario is None:
        stdout.print("Cover-2: 0.00 USD (no scenario leaves a loss beyond collateral)")
    else:
        stdout.print(
            f"Cover-2: {cover.cover_two:,.2f} USD under {cover.binding_scenario} "
            f"(accounts {name_some(list(cover.binding_accounts), 2)}); "
            f"cover-1: {cover.cover_one:,.2f} USD under {cover.cover_one_scenario} "
            f"(account {cover.cover_one_account})",
            markup=False,
            soft_wrap=True,
        )
    if any(s.kind is ScenarioKind.HYPOTHETICAL for s in results.scenarios):
        stdout.print(_HYPOTHETICAL_NOTE, markup=False, soft_wrap=True)
