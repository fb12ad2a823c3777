"""``portmargin status``: equity, IM, MM, ratios and state of every account of a positions
file, optionally at a moved market and under the three margin modes side by side."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from portmargin.cli._common import EXIT_FAILED, MarketOption, dump_json, load_market, stdout
from portmargin.cli._lifecycle_common import (
    LIFECYCLE_OPTION,
    LIFECYCLE_SET_OPTION,
    METHOD_OPTION,
    MOVE_OPTION,
    PARAMS_OPTION,
    POSITIONS_ARGUMENT,
    SET_OPTION,
    load_lifecycle_run,
    parse_moves,
)
from portmargin.cli._margin_output import print_errors
from portmargin.io.params import load_params
from portmargin.lifecycle import STATES, Assessment, MethodMargining, assess, compare_modes
from portmargin.methods import get_method
from portmargin.risk import moved_market

__all__ = ["status"]

TOP_ACCOUNTS = 20
"""Accounts listed by default (the most at risk first)."""


def status(
    positions: POSITIONS_ARGUMENT,
    method: METHOD_OPTION,
    market: MarketOption = None,
    params: PARAMS_OPTION = None,
    overrides: SET_OPTION = None,
    lifecycle: LIFECYCLE_OPTION = None,
    lifecycle_overrides: LIFECYCLE_SET_OPTION = None,
    move: MOVE_OPTION = None,
    modes: Annotated[
        bool,
        typer.Option(
            "--modes",
            help="Also assess the accounts cross margined (--cross-method, per position) and "
            "with every position isolated (its own IM as collateral), side by side.",
        ),
    ] = False,
    cross_method: Annotated[
        str, typer.Option("--cross-method", help="Per-position method of the cross mode.")
    ] = "standard",
    top: Annotated[
        int, typer.Option("--top", min=1, help="Accounts listed, most at risk first.")
    ] = TOP_ACCOUNTS,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (every account).")] = False,
) -> None:
    """Equity (haircut-adjusted), IM, MM, margin ratio and state of every account.

    States follow the lifecycle pack: healthy (E >= IM), warning, margin call
    (E < call_level x MM), liquidation (E < MM), bankrupt (E <= 0 with positions). With
    ``--move``, the accounts are assessed at the moved market (every price of the underlying
    scaled, sticky-strike vols). Exit code 1 if some account could not be assessed.
    """
    run = load_lifecycle_run(
        positions,
        load_market(market),
        method,
        (params, overrides),
        (lifecycle, lifecycle_overrides),
    )
    moves = parse_moves(move)
    snap = moved_market(run.market, moves)
    result = assess(run.holdings, snap, run.margining, run.params)
    extra: dict[str, Assessment] = {}
    if modes:
        cross = get_method(cross_method)
        comparison = compare_modes(
            run.holdings,
            snap,
            MethodMargining(method=cross, params=load_params(cross)),
            run.margining,
            run.params,
        )
        extra = {"cross": comparison.cross}
        isolated_im = comparison.isolated_im
    bad = {**run.file_errors, **result.errors}
    if modes:
        bad.update({a: r for a, r in comparison.isolated_errors.items() if a not in bad})
    if as_json:
        rows = _rows(result)
        if modes:
            for k, row in enumerate(rows):
                row["cross_initial_margin"] = _num(extra["cross"].initial_margin[k])
                row["cross_state"] = _state(int(extra["cross"].state[k]))
                row["isolated_initial_margin"] = _num(isolated_im[k])
        dump_json(
            {
                "method": run.margining.name,
                "lifecycle_version": run.params.version,
                "moves": moves,
                "counts": _counts(result),
                "accounts": rows,
                "errors": bad,
            }
        )
    else:
        _print(result, extra, isolated_im if modes else None, top, (run.params.version, len(bad)))
        print_errors(bad)
    if bad:
        raise typer.Exit(EXIT_FAILED)


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _state(code: int) -> str | None:
    return STATES[code].value if code >= 0 else None


def _rows(result: Assessment) -> list[dict[str, Any]]:
    ratio = result.margin_ratio
    return [
        {
            "account": a,
            "state": _state(int(result.state[k])),
            "equity": _num(result.equity[k]),
            "initial_margin": _num(result.initial_margin[k]),
            "maintenance_margin": _num(result.maintenance_margin[k]),
            "margin_ratio": None if np.isnan(ratio[k]) else float(ratio[k]),
            "excess": _num(result.excess[k]),
        }
        for k, a in enumerate(result.accounts)
        if result.state[k] >= 0
    ]


def _counts(result: Assessment) -> dict[str, int]:
    codes = result.state[result.state >= 0]
    return {s.value: int(np.count_nonzero(codes == k)) for k, s in enumerate(STATES)}


def _print(
    result: Assessment,
    extra: dict[str, Assessment],
    isolated_im: np.ndarray | None,
    top: int,
    version_and_errors: tuple[str, int],
) -> None:
    version, errors = version_and_errors
    counts = _counts(result)
    parts = [f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n]
    stdout.print(
        f"{int(np.count_nonzero(result.state >= 0)) + errors:,} accounts under "
        f"{result.margining} (lifecycle {version}): " + ", ".join([*parts, f"{errors} errors"])
    )
    ok = np.flatnonzero(result.state >= 0)
    # most at risk first: worst state, then highest margin ratio, then account id
    ratio = np.nan_to_num(result.margin_ratio[ok], posinf=np.finfo(float).max)
    order = ok[np.lexsort((np.array(result.accounts, dtype=object)[ok], -ratio, -result.state[ok]))]
    table = Table(title_justify="left")
    for col in ("account", "state", "equity", "IM", "MM", "MM/E", "excess"):
        table.add_column(col, justify="left" if col in ("account", "state") else "right")
    if isolated_im is not None:
        table.add_column("IM cross", justify="right")
        table.add_column("IM isolated", justify="right")
    for k in order[:top].tolist():
        cells = [
            result.accounts[k],
            STATES[int(result.state[k])].value.replace("_", " "),
            f"{result.equity[k]:,.2f}",
            f"{result.initial_margin[k]:,.2f}",
            f"{result.maintenance_margin[k]:,.2f}",
            "inf" if np.isinf(result.margin_ratio[k]) else f"{result.margin_ratio[k]:.4f}",
            f"{result.excess[k]:,.2f}",
        ]
        if isolated_im is not None:
            cells += [f"{extra['cross'].initial_margin[k]:,.2f}", f"{isolated_im[k]:,.2f}"]
        table.add_row(*cells)
    stdout.print(table)
    if len(order) > top:
        stdout.print(f"({len(order) - top:,} more accounts; --top N or --json for all)")
