"""``portmargin hedge``: one suggested hedge trade per account of a positions file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from portmargin.analysis import (
    CostModel,
    HedgeOptions,
    HedgeReport,
    HedgeSuggestion,
    Measure,
    Objective,
    suggest_hedges,
)
from portmargin.cli._common import (
    EXIT_FAILED,
    HISTORY_OPTION,
    INPUT_OPTION,
    INPUTS_FILE_OPTION,
    MarketOption,
    dump_json,
    load_inputs,
    load_market,
    stderr,
    stdout,
    warn_unused_inputs,
)
from portmargin.core import ValidationError
from portmargin.instruments import Instrument, parse_instrument
from portmargin.io import read_positions
from portmargin.io.params import load_params
from portmargin.lifecycle import MethodMargining
from portmargin.methods import get_method
from portmargin.risk import Book

__all__ = ["hedge", "hedge_table", "trade_text"]


def hedge(
    positions: Annotated[Path, typer.Argument(help="Positions file: account,instrument,quantity.")],
    method: Annotated[str, typer.Option("--method", help="Method name (see `methods`).")],
    market: MarketOption = None,
    params: Annotated[
        str | None, typer.Option("--params", help="Parameter pack: file or bundled name.")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override one pack parameter, KEY=VALUE (repeatable)."),
    ] = None,
    account: Annotated[
        list[str] | None,
        typer.Option("--account", help="Only these accounts (repeatable); default: all."),
    ] = None,
    candidates: Annotated[
        str,
        typer.Option(
            "--candidates",
            help="Instruments a trade may be in, comma separated (e.g. BTC-PERPETUAL,"
            "BTC-26JUN20-8000-P), or 'auto': the perpetual and quoted futures of each "
            "underlying held and its quoted options within 15 % log-moneyness of the "
            "forward in the two nearest expiries 2 to 120 days out.",
        ),
    ] = "auto",
    budget: Annotated[
        float | None,
        typer.Option("--budget", min=0.0, help="Largest cost of the trade, USD."),
    ] = None,
    target: Annotated[
        float | None,
        typer.Option(
            "--target",
            min=0.0,
            help="Find the cheapest trade bringing margin to or under this, USD (default: "
            "the trade that reduces it most).",
        ),
    ] = None,
    max_qty: Annotated[
        float | None,
        typer.Option("--max-qty", help="Largest |quantity| of the trade, coins (> 0)."),
    ] = None,
    measure: Annotated[
        Measure, typer.Option("--measure", help="Margin to reduce: initial or maintenance.")
    ] = Measure.IM,
    legs: Annotated[
        int,
        typer.Option(
            "--legs",
            min=1,
            max=2,
            help="2: a second leg in another instrument on top of the best first one.",
        ),
    ] = 1,
    fee_rate: Annotated[
        float,
        typer.Option("--fee-rate", min=0.0, help="Fee, fraction of underlying notional."),
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    history: HISTORY_OPTION = None,
    inputs_file: INPUTS_FILE_OPTION = None,
    input_values: INPUT_OPTION = None,
) -> None:
    """Suggest one hedge trade per account of POSITIONS under METHOD.

    Every candidate trade of every account is margined in batch runs of the engine; the
    suggested trade is margined again applied to its account and those are the numbers
    shown. Accounts without an improving trade (or already under ``--target``) get none.
    Cost: option premium at the venue mark plus half the quoted bid/ask spread (1 bp of the
    mark for futures and perpetuals without a quote) plus fees. Exit code 1 if some account
    could not be margined.
    """
    m = get_method(method)
    pack = load_params(m, params, overrides or ())
    snap = load_market(market, False, history)
    inputs = load_inputs(m.account_inputs, inputs_file, input_values)
    pos = read_positions(positions)
    for w in pos.warnings:
        stderr.print(f"warning: {w}", markup=False, soft_wrap=True)
    book, file_errors = _select(pos.book, dict(pos.account_errors), account)
    warn_unused_inputs(inputs, [*pos.book.accounts, *pos.account_errors])
    objective = Objective.MIN_MARGIN if target is None else Objective.TARGET
    options = HedgeOptions(
        objective=objective,
        measure=measure,
        target_usd=target,
        budget_usd=budget,
        max_quantity=max_qty,
        legs=legs,
        costs=CostModel(fee_rate=fee_rate),
    )
    chosen = _candidates(candidates)
    started = time.perf_counter()
    report = suggest_hedges(
        MethodMargining(method=m, params=pack, inputs=inputs), book, snap, chosen, options
    )
    seconds = time.perf_counter() - started
    errors = {**file_errors, **{s.account: s.error for s in report.suggestions if s.error}}
    if as_json:
        dump_json(
            {
                **report.to_dict(),
                "seconds": seconds,
                "errors": [{"account": a, "error": e} for a, e in file_errors.items()],
            }
        )
    else:
        stdout.print(hedge_table(report))
        stdout.print(
            f"{len(book.accounts):,} account(s), {len(report.candidates)} candidate(s): "
            f"{report.rows_margined:,} trade rows margined in {report.runs} run(s), "
            f"{seconds:.2f} s"
        )
        for a, e in errors.items():
            stderr.print(f"error: account {a}: {e}", markup=False, soft_wrap=True)
    if errors:
        raise typer.Exit(EXIT_FAILED)


def _candidates(text: str) -> list[Instrument] | None:
    if text.strip().lower() == "auto":
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValidationError("--candidates", text, "'auto' or instrument names")
    return [parse_instrument(n) for n in names]


def _select(
    book: Book, errors: dict[str, str], accounts: list[str] | None
) -> tuple[Book, dict[str, str]]:
    """The book and file errors restricted to ``accounts`` (all when None)."""
    if not accounts:
        return book, errors
    wanted = set(accounts)
    unknown = sorted(wanted - set(book.accounts) - set(errors))
    if unknown:
        raise ValidationError("--account", unknown[0], "an account present in the positions file")
    mask = np.array([a in wanted for a in book.accounts], dtype=bool)
    return book.select_accounts(mask), {a: e for a, e in errors.items() if a in wanted}


def hedge_table(report: HedgeReport) -> Table:
    """The suggestions as a table: trade, cost and margin before and after, USD."""
    opts = report.options
    what = (
        "largest reduction"
        if opts.objective is Objective.MIN_MARGIN
        else f"cheapest to reach {opts.target_usd:,.0f} USD"
    )
    budget = "" if opts.budget_usd is None else f", budget {opts.budget_usd:,.0f} USD"
    table = Table(
        title=f"Hedge suggestions under {report.margining} ({what} of "
        f"{str(opts.measure).upper()}{budget})",
        title_justify="left",
    )
    columns = ("account", "trade (coins)", "cost USD", "IM before", "IM after", "MM before")
    for col in (*columns, "MM after"):
        table.add_column(col, justify="left" if col in ("account", "trade (coins)") else "right")
    for s in report.suggestions:
        if s.error is not None:
            table.add_row(s.account, "error", "", "", "", "", "")
            continue
        table.add_row(
            s.account,
            trade_text(s),
            f"{s.cost_usd:,.2f}" if s.trades else "",
            f"{s.im_before_usd:,.2f}",
            f"{s.im_after_usd:,.2f}",
            f"{s.mm_before_usd:,.2f}",
            f"{s.mm_after_usd:,.2f}",
        )
    return table


def trade_text(suggestion: HedgeSuggestion) -> str:
    """``"BTC-PERPETUAL -6.482, BTC-29MAY20-8000-P +1.2"``, or ``"no trade"``."""
    if not suggestion.trades:
        return "no trade"
    return ", ".join(f"{t.instrument} {t.quantity:+.4g}" for t in suggestion.trades)
