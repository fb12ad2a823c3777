"""``portmargin liqprice``: liquidation prices of every account of a positions file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
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
    METHOD_OPTION,
    PARAMS_OPTION,
    POSITIONS_ARGUMENT,
    SET_OPTION,
    load_lifecycle_run,
)
from portmargin.cli._margin_output import print_errors
from portmargin.core import ValidationError
from portmargin.io.tables import check_table_path, write_table
from portmargin.lifecycle import LiquidationPrices, LiquidationSide, liquidation_prices

__all__ = ["liqprice", "liqprice_rows"]

_SHOWN = 50
"""Rows printed in the terminal table (nearest to liquidation first)."""


def liqprice(
    positions: POSITIONS_ARGUMENT,
    market: MarketOption = None,
    method: METHOD_OPTION = "standard",
    params: PARAMS_OPTION = None,
    overrides: SET_OPTION = None,
    lifecycle_params: LIFECYCLE_OPTION = None,
    lifecycle_overrides: LIFECYCLE_SET_OPTION = None,
    underlying: Annotated[
        list[str] | None,
        typer.Option("--underlying", help="Move only this underlying (repeatable: together)."),
    ] = None,
    move_all: Annotated[
        bool,
        typer.Option("--all", help="Move every underlying held, uniformly (the default)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write one row per account: .parquet, .csv or .jsonl."),
    ] = None,
    history: HISTORY_OPTION = None,
) -> None:
    """Price of the underlying(s) at which each account's equity falls to its maintenance
    margin, below and above the market (``lifecycle.md`` §8), with the distance in percent
    and in standard deviations of daily moves (EWMA of the daily history). Every account of
    POSITIONS goes through one batch; exit code 0 only if every account was solved. In
    segregated collateral scope (``--lifecycle-set collateral.scope=segregated``) each
    settlement currency of an account is solved on its own, in that currency."""
    if underlying and move_all:
        raise ValidationError("--underlying", underlying, "either --underlying or --all")
    if out is not None:
        check_table_path(out)
    run = load_lifecycle_run(
        positions,
        load_market(market, False, history),
        method,
        (params, overrides),
        (lifecycle_params, lifecycle_overrides),
    )
    direction = {u.strip().upper(): 1.0 for u in underlying} if underlying else None
    result = liquidation_prices(run.holdings, run.market, run.margining, run.params, direction)
    errors = {**run.file_errors, **result.errors}
    if out is not None:
        write_table(liqprice_table(result, run.file_errors), out)
    if as_json:
        dump_json(
            {
                **_header(result),
                "accounts": liqprice_rows(result),
                "errors": [{"account": a, "error": e} for a, e in errors.items()],
            }
        )
    else:
        _print(result, len(run.holdings.accounts) + len(run.file_errors))
        print_errors(errors)
    if errors:
        raise typer.Exit(EXIT_FAILED)


def _header(result: LiquidationPrices) -> dict[str, Any]:
    u = result.underlyings
    return {
        "margining": result.margining,
        "scope": result.scope.value,
        "lifecycle_params": result.params_version,
        "direction": dict(zip(u, result.direction.tolist(), strict=True)),
        "current_prices": dict(zip(u, result.current_prices.tolist(), strict=True)),
        "volatility": {
            "daily_sigma": dict(zip(u, result.volatility.sigma.tolist(), strict=True)),
            "as_of": result.volatility.as_of,
            "source": result.volatility.source,
        },
        "grid_calls": result.grid_calls,
    }


def _side(side: LiquidationSide, i: int, underlyings: tuple[str, ...]) -> dict[str, Any]:
    return {
        "reachable": bool(side.reachable[i]),
        "x": float(side.x[i]),
        "prices": dict(zip(underlyings, side.prices[i].tolist(), strict=True)),
        "equity": float(side.equity[i]),
        "maintenance_margin": float(side.maintenance_margin[i]),
        "distance_pct": float(side.distance_pct[i]),
        "distance_sigma": dict(zip(underlyings, side.distance_sigma[i].tolist(), strict=True)),
    }


def liqprice_rows(result: LiquidationPrices) -> list[dict[str, Any]]:
    """One JSON-ready dict per solved row (rows in ``result.errors`` left out)."""
    rows = []
    for i, label in enumerate(result.labels):
        if label in result.errors:
            continue
        rows.append(
            {
                "account": result.accounts[i],
                "currency": result.currency[i],
                "equity": float(result.equity[i]),
                "maintenance_margin": float(result.maintenance_margin[i]),
                "liquidatable": bool(result.liquidatable[i]),
                "down": _side(result.down, i, result.underlyings),
                "up": _side(result.up, i, result.underlyings),
            }
        )
    return rows


def liqprice_table(result: LiquidationPrices, file_errors: dict[str, str]) -> pa.Table:
    """One row per result row and per bad account of the file: figures, then ``error``."""
    labels = list(result.labels)
    errors = [result.errors.get(a) for a in labels]
    extra = [a for a in file_errors if a not in result.errors]
    columns: dict[str, list[Any]] = {
        "account": [*result.accounts, *extra],
        "currency": [*result.currency, *[""] * len(extra)],
    }
    pad = [None] * len(extra)

    def numbers(values: np.ndarray[Any, Any]) -> list[Any]:
        return [None if not np.isfinite(v) else float(v) for v in values.tolist()] + pad

    columns["equity"] = numbers(result.equity)
    columns["maintenance_margin"] = numbers(result.maintenance_margin)
    columns["liquidatable"] = [*result.liquidatable.tolist(), *pad]
    for name, side in (("down", result.down), ("up", result.up)):
        columns[f"{name}_reachable"] = [*side.reachable.tolist(), *pad]
        columns[f"{name}_x"] = numbers(side.x)
        for k, u in enumerate(result.underlyings):
            columns[f"{name}_price_{u}"] = numbers(side.prices[:, k])
            columns[f"{name}_sigma_{u}"] = numbers(side.distance_sigma[:, k])
        columns[f"{name}_distance_pct"] = numbers(side.distance_pct)
        columns[f"{name}_equity"] = numbers(side.equity)
        columns[f"{name}_maintenance_margin"] = numbers(side.maintenance_margin)
    columns["error"] = [*errors, *(file_errors[a] for a in extra)]
    return pa.table(columns)


def _where(side: LiquidationSide, i: int, liquidatable: bool) -> tuple[str, str, str]:
    if liquidatable:
        return "now", "0.00%", ""
    if not side.reachable[i]:
        return "not reachable", "", ""
    price = " / ".join(f"{p:,.2f}" for p in side.prices[i].tolist())
    sigma = " / ".join(f"{s:+.2f}" if np.isfinite(s) else "n/a" for s in side.distance_sigma[i])
    return price, f"{side.distance_pct[i]:+.2f}%", sigma


def _print(result: LiquidationPrices, accounts_in: int) -> None:
    u = " / ".join(result.underlyings)
    now = " / ".join(f"{p:,.2f}" for p in result.current_prices.tolist())
    ok = [i for i, a in enumerate(result.labels) if a not in result.errors]
    nearest = np.fmin(np.abs(result.down.distance_pct), np.abs(result.up.distance_pct))
    ok.sort(key=lambda i: (np.inf if np.isnan(nearest[i]) else nearest[i], result.labels[i]))
    table = Table(
        title=f"Liquidation prices of {u} (now {now}) under {result.margining}, "
        f"{result.scope.value} collateral",
        title_justify="left",
    )
    for col in ("account", "ccy", "E", "MM", "down at", "move", "daily sd", "up at", "move ", "sd"):
        table.add_column(col, justify="left" if col in ("account", "ccy") else "right")
    for i in ok[:_SHOWN]:
        liq = bool(result.liquidatable[i])
        table.add_row(
            result.accounts[i],
            result.currency[i],
            f"{result.equity[i]:,.2f}",
            f"{result.maintenance_margin[i]:,.2f}",
            *_where(result.down, i, liq),
            *_where(result.up, i, liq),
        )
    stdout.print(table)
    if len(ok) > _SHOWN:
        stdout.print(f"{len(ok) - _SHOWN:,} more rows (all are in --json or --out)")
    stdout.print(
        f"{accounts_in:,} accounts in: {len(ok):,} rows solved, "
        f"{int(result.liquidatable.sum()):,} liquidatable now; "
        f"daily sd: {result.volatility.source}",
        markup=False,
        soft_wrap=True,
    )
