"""``portmargin liquidate``: assess every account of a positions file (optionally at a moved
market), liquidate those below maintenance margin step by step, resolve bankruptcies through
the insurance fund and loss mutualisation."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from portmargin.cli._common import (
    EXIT_FAILED,
    MarketOption,
    dump_json,
    fail,
    load_market,
    stdout,
)
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
from portmargin.core import ValidationError
from portmargin.lifecycle import (
    STATES,
    FixedSlippage,
    ImpactSlippage,
    LinearImpact,
    LiquidationRun,
    Slippage,
    liquidate,
)
from portmargin.risk import moved_market

__all__ = ["liquidate_command"]

MAX_STEP_LINES = 40
"""Steps printed in the table (all of them with --json or --out)."""


def _pairs(option: str, items: list[str] | None) -> dict[str, float]:
    pairs: dict[str, float] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not sep or not key.strip() or value != value:
            raise ValidationError(option, item, "KEY=NUMBER, e.g. BTC=0.002")
        pairs[key.strip()] = value
    return pairs


def _slippage(fixed: list[str] | None, default: float, depth: list[str] | None) -> Slippage:
    if depth:
        if fixed:
            fail("--slippage and --depth exclude each other (fixed or linear impact)")
        depths = _pairs("--depth", depth)
        return ImpactSlippage(
            impact={k.upper(): LinearImpact(depth_1pct_usd=v) for k, v in depths.items()}
        )
    return FixedSlippage(rates_by_key=_pairs("--slippage", fixed), default=default)


def liquidate_command(
    positions: POSITIONS_ARGUMENT,
    method: METHOD_OPTION,
    market: MarketOption = None,
    params: PARAMS_OPTION = None,
    overrides: SET_OPTION = None,
    lifecycle: LIFECYCLE_OPTION = None,
    lifecycle_overrides: LIFECYCLE_SET_OPTION = None,
    move: MOVE_OPTION = None,
    slippage: Annotated[
        list[str] | None,
        typer.Option(
            "--slippage",
            help="Fixed slippage of an instrument or underlying, KEY=FRACTION, e.g. BTC=0.002 "
            "(repeatable; the instrument's name is looked up first).",
        ),
    ] = None,
    slippage_default: Annotated[
        float,
        typer.Option("--slippage-default", min=0.0, max=0.99, help="Slippage of the others."),
    ] = 0.0,
    depth: Annotated[
        list[str] | None,
        typer.Option(
            "--depth",
            help="Linear impact instead: USD notional moving the underlying 1 %%, "
            "UNDERLYING=USD (repeatable).",
        ),
    ] = None,
    fund: Annotated[
        float, typer.Option("--fund", min=0.0, help="Insurance fund at the start, USD.")
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (every step).")] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write every step: .csv (steps) or .json (the full run)."),
    ] = None,
) -> None:
    """Liquidate every account below maintenance margin, step by step (lifecycle.md §6, §7).

    Each step sells (or buys back) one slice of the position that releases the most MM per
    USD of slippage and penalty, all accounts in one batch per step, until E >= liq_target x
    MM; accounts with E <= 0 are bankrupt: the insurance fund pays, beyond it the loss is
    auto-deleveraged against profitable opposite positions or socialised (lifecycle pack).
    Accounts in = accounts reported + errors. Exit code 1 if some account failed.
    """
    if out is not None and out.suffix.lower() not in (".csv", ".json"):
        fail(f"--out {out}: use a .csv or .json file")
    run = load_lifecycle_run(
        positions,
        load_market(market),
        method,
        (params, overrides),
        (lifecycle, lifecycle_overrides),
    )
    moves = parse_moves(move)
    snap = moved_market(run.market, moves)
    result = liquidate(
        run.holdings,
        snap,
        run.margining,
        run.params,
        slippage=_slippage(slippage, slippage_default, depth),
        fund_usd=fund,
    )
    bad = {**run.file_errors, **result.errors}
    payload = _payload(result, moves, bad)
    if out is not None:
        _write(out, payload)
    if as_json:
        dump_json(payload)
    else:
        _print(result, len(bad))
        print_errors(bad)
    if bad:
        raise typer.Exit(EXIT_FAILED)


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _payload(run: LiquidationRun, moves: dict[str, float], bad: dict[str, str]) -> dict[str, Any]:
    a = run.assessment
    liquidated = {s.account: s for s in run.accounts}
    accounts = []
    for k, name in enumerate(a.accounts):
        code = int(a.state[k])
        if code < 0 or name in bad:
            continue
        row: dict[str, Any] = {
            "account": name,
            "state": STATES[code].value,
            "equity": _num(a.equity[k]),
            "maintenance_margin": _num(a.maintenance_margin[k]),
        }
        summary = liquidated.get(name)
        if summary is not None:
            row.update(
                {
                    "outcome": summary.outcome.value,
                    "steps": summary.steps,
                    "equity_after": summary.equity_after,
                    "maintenance_after": summary.maintenance_after,
                    "slippage_usd": summary.slippage_usd,
                    "penalty_usd": summary.penalty_usd,
                }
            )
        accounts.append(row)
    return {
        "margining": a.margining,
        "moves": moves,
        "accounts": accounts,
        "steps": [asdict(s) for s in run.steps],
        "bankruptcies": [asdict(e) for e in run.bankruptcies],
        "fund": {
            "opening_usd": run.fund.opening_usd,
            "closing_usd": run.fund.balance_usd,
            "flows": [{**asdict(f), "kind": f.kind.value} for f in run.fund.flows],
        },
        "mutualised_loss_usd": run.mutualised_loss_usd,
        "errors": bad,
    }


def _write(path: Path, payload: dict[str, Any]) -> None:
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(payload, indent=2, default=str))
        return
    steps = payload["steps"]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        fields = list(steps[0]) if steps else ["account", "step", "instrument"]
        writer.writerow(fields)
        for step in steps:
            writer.writerow([step[f] for f in fields])


def _print(run: LiquidationRun, errors: int) -> None:
    a = run.assessment
    ok = int(np.count_nonzero(a.state >= 0))
    counts: dict[str, int] = {}
    for s in run.accounts:
        counts[s.outcome.value] = counts.get(s.outcome.value, 0) + 1
    outcome = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none liquidated"
    stdout.print(
        f"{ok + errors:,} accounts under {a.margining}: {len(run.accounts):,} liquidated "
        f"({outcome}), {len(run.steps):,} steps, {errors} errors"
    )
    if run.accounts:
        table = Table(title="Liquidated accounts", title_justify="left")
        for col in (
            "account",
            "outcome",
            "steps",
            "E before",
            "MM before",
            "E after",
            "MM after",
            "penalties",
        ):
            table.add_column(col, justify="left" if col in ("account", "outcome") else "right")
        for s in run.accounts:
            table.add_row(
                s.account,
                s.outcome.value,
                str(s.steps),
                f"{s.equity_before:,.2f}",
                f"{s.maintenance_before:,.2f}",
                f"{s.equity_after:,.2f}",
                f"{s.maintenance_after:,.2f}",
                f"{s.penalty_usd:,.2f}",
            )
        stdout.print(table)
    if run.steps:
        table = Table(title="Steps", title_justify="left")
        for col in (
            "account",
            "step",
            "instrument",
            "side",
            "quantity",
            "price",
            "notional",
            "cost",
            "E after",
            "MM after",
        ):
            table.add_column(
                col, justify="left" if col in ("account", "instrument", "side") else "right"
            )
        for t in run.steps[:MAX_STEP_LINES]:
            table.add_row(
                t.account,
                str(t.step),
                t.instrument,
                t.side,
                f"{t.quantity:,.6f}",
                f"{t.price:,.8g}",
                f"{t.notional_usd:,.2f}",
                f"{t.cost_usd:,.2f}",
                f"{t.equity_after:,.2f}",
                f"{t.maintenance_after:,.2f}",
            )
        stdout.print(table)
        if len(run.steps) > MAX_STEP_LINES:
            stdout.print(
                f"({len(run.steps) - MAX_STEP_LINES:,} more steps; --json or --out for all)"
            )
    for e in run.bankruptcies:
        stdout.print(
            f"bankrupt {e.account}: E {e.equity_usd:,.2f}, X_est {e.estimated_deficit_usd:,.2f}, "
            f"{e.resolution}, fund paid {e.fund_paid_usd:,.2f}, mutualised "
            f"{e.mutualised_loss_usd:,.2f}"
            + (f", unrecovered {e.unrecovered_usd:,.2f}" if e.unrecovered_usd else "")
        )
    ledger = run.fund
    stdout.print(
        f"insurance fund: {ledger.opening_usd:,.2f} + penalties {ledger.inflow_usd:,.2f} - "
        f"deficits {ledger.outflow_usd:,.2f} = {ledger.balance_usd:,.2f} USD "
        f"({len(ledger.flows):,} flows); mutualised loss {run.mutualised_loss_usd:,.2f} USD"
    )
