"""``portmargin margin | methods | compare``: margin of positions files under registered methods.

``margin`` has a hidden option ``--timings FILE``: it writes ``{"stages": {name: seconds},
"accounts": n, "errors": n}`` as JSON, with the stages ``load`` (market data and parameters),
``read`` (file to columns), ``book`` (columns to the sparse book), ``margin`` (pricing and
aggregation) and ``write`` (results file or JSON). ``portmargin bench e2e`` reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from portmargin.analysis import Comparison, compare_methods, compute_margin, what_if
from portmargin.cli._common import (
    EXIT_FAILED,
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
from portmargin.cli._common import HISTORY_OPTION as _HISTORY
from portmargin.cli._margin_output import (
    print_batch,
    print_errors,
    print_warnings,
    report_sharded,
    stream_results_json,
    write_results,
)
from portmargin.cli._progress import Stages
from portmargin.core import PortmarginError, ValidationError
from portmargin.distributed import DaskExecutor, ShardedRun, margin_sharded
from portmargin.instruments import parse_instrument
from portmargin.io import PositionsFile, read_positions
from portmargin.io.params import bundled_packs, load_params, method_overrides
from portmargin.io.positions import positions_from_table, read_positions_table
from portmargin.io.tables import check_table_path
from portmargin.market import MarketSnapshot
from portmargin.methods import (
    AccountInputs,
    InputSpec,
    MarginMethod,
    MethodParams,
    get_method,
    method_names,
)
from portmargin.portfolio import Portfolio, Position
from portmargin.risk import Book

__all__ = ["compare", "comparison_cells", "error_notes", "margin", "methods"]

TOP_ACCOUNTS = 20
"""Rows listed by default when a run has too many to print."""

_POSITIONS = Annotated[Path, typer.Argument(help="Positions file: account,instrument,quantity.")]
_JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_ALLOW_UNLISTED = Annotated[
    bool,
    typer.Option(
        "--allow-unlisted",
        help="Price instruments the snapshot does not list from the smile (flagged in notes).",
    ),
]
_SET = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override one pack parameter, KEY=VALUE with the full key path, e.g. "
        "general.mm_factor=0.9 or assets[0].scenarios[0].weight=0.5 (repeatable).",
    ),
]


def _parse_trade(text: str) -> Position:
    name, sep, qty = text.partition("=")
    if not sep:
        raise ValidationError("--add", text, "INSTRUMENT=QUANTITY, e.g. BTC-PERPETUAL=-1.5")
    try:
        quantity = float(qty)
    except ValueError:
        raise ValidationError("--add", text, "a number after '='") from None
    return Position(instrument=parse_instrument(name.strip()), quantity=quantity)


def margin(
    positions: _POSITIONS,
    method: Annotated[str, typer.Option("--method", help="Method name (see `methods`).")],
    market: MarketOption = None,
    params: Annotated[
        str | None, typer.Option("--params", help="Parameter pack: file or bundled name.")
    ] = None,
    add: Annotated[
        list[str] | None,
        typer.Option("--add", help="What-if trade INSTRUMENT=QTY (repeatable)."),
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Only this account (with --add).")
    ] = None,
    as_json: _JSON = False,
    overrides: _SET = None,
    inputs_file: INPUTS_FILE_OPTION = None,
    input_values: INPUT_OPTION = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write one row per account and currency: .parquet, .csv, .jsonl."
        ),
    ] = None,
    detail: Annotated[
        bool,
        typer.Option(
            "--detail",
            help="With --out: also write components and per-position contributions "
            "(contributions cost about 0.1-0.3 ms per account).",
        ),
    ] = False,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Accounts listed when there are many.")
    ] = TOP_ACCOUNTS,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display.")] = False,
    timings: Annotated[Path | None, typer.Option("--timings", hidden=True)] = None,
    allow_unlisted: _ALLOW_UNLISTED = False,
    history: _HISTORY = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Shard a Parquet file over a local Dask cluster (with --out)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Shard over a running Dask cluster, e.g. tcp://host:8786."
        ),
    ] = None,
) -> None:
    """Margin of every account in POSITIONS; bad accounts are listed with their error.

    Exit code 0 only if every account was computed. With ``--add``, prints the change in IM
    and MM that the trades would cause for each account (or ``--account``). With ``--out``,
    writes the results as a table; the terminal then shows a summary. Large runs show a
    summary and the ``--top`` accounts most at risk instead of every row. With ``--workers``
    or ``--scheduler``, a Parquet file is margined shard by shard on Dask and the results
    written to ``--out`` equal those of a local run. ``--inputs`` and ``--input`` give the
    per-account inputs the method declares (``portmargin methods`` lists them).
    """
    sharded = workers is not None or scheduler is not None
    _check_outputs(out, {"--add": add, "--account": account, "--json": as_json}, detail, sharded)
    m = get_method(method)
    stages = Stages(show=not quiet)
    with stages:
        with stages.stage("load", "Loading market data and parameters"):
            pack = load_params(m, params, overrides or ())
            snap = load_market(market, allow_unlisted, history)
            inputs = load_inputs(m.account_inputs, inputs_file, input_values)
        if sharded and out is not None:
            with stages.stage("margin", "Margin on Dask, shard by shard"):
                done = _margin_on_dask(positions, out, (m, pack, snap, inputs), workers, scheduler)
            accounts_in, bad = done.accounts, done.errors
            report_sharded(done, m.name)
        else:
            pos = _read(positions, stages)
            print_warnings(pos.warnings)
            book, file_errors = _select(pos, account)
            warn_unused_inputs(inputs, [*pos.book.accounts, *pos.account_errors])
            accounts_in = len(book.accounts) + len(file_errors)
            if add:
                stages.close()
                selected = set(book.accounts)
                portfolios = [p for p in pos.portfolios if p.account in selected]
                trades = [_parse_trade(t) for t in add]
                changes = _what_if(m, (pack, inputs), portfolios, trades, snap, as_json)
                bad = {**file_errors, **changes}
            else:
                description = f"Pricing and margin of {len(book.accounts):,} accounts"
                with stages.stage("margin", description):
                    batch = compute_margin(m, book, snap, pack, inputs)
                bad = {**file_errors, **batch.errors}
                if out is not None:
                    with stages.stage("write", f"Writing {out.name}"):
                        write_results(batch, file_errors, out, detail)
                stages.close()
                if as_json:
                    with stages.stage("write", "Writing JSON"):
                        stream_results_json(batch, bad, pos.warnings)
                else:
                    print_batch(batch, accounts_in, bad, top, snap)
    if timings is not None:
        stages.write(timings, accounts=accounts_in, errors=len(bad))
    if not as_json:
        print_errors(bad)
    if bad:
        raise typer.Exit(EXIT_FAILED)


def _declared_inputs(methods: list[MarginMethod]) -> list[InputSpec]:
    """Every input some method declares, once by name.

    Raises
    ------
    ValidationError
        If two methods declare the same name differently.
    """
    specs: dict[str, InputSpec] = {}
    for m in methods:
        for spec in m.account_inputs:
            if specs.setdefault(spec.name, spec) != spec:
                raise ValidationError(
                    "account_inputs", spec.name, "one declaration per name across methods"
                )
    return list(specs.values())


def _check_outputs(out: Path | None, modes: dict[str, object], detail: bool, sharded: bool) -> None:
    """Refuse option combinations that cannot work together, naming them."""
    if sharded:
        used = [flag for flag, value in {**modes, "--detail": detail}.items() if value]
        if used or out is None:
            raise ValidationError(
                "--workers/--scheduler",
                ", ".join(used) or "no --out",
                "--out FILE (.parquet or .csv) and none of --add, --account, --json, --detail",
            )
    elif out is not None:
        check_table_path(out)
        if modes["--add"]:
            raise ValidationError("--out", str(out), "no --add (what-if changes are printed)")
    elif detail:
        raise ValidationError("--detail", True, "--out FILE as well")


def _margin_on_dask(
    positions: Path,
    out: Path,
    run: tuple[MarginMethod, MethodParams, MarketSnapshot, AccountInputs],
    workers: int | None,
    scheduler: str | None,
) -> ShardedRun:
    """Shard ``positions`` over Dask (a local cluster of ``workers`` processes, or the cluster
    at ``scheduler``) and write ``out``."""
    method, pack, snap, inputs = run
    with DaskExecutor(workers=workers, scheduler=scheduler) as executor:
        return margin_sharded(positions, out, method, pack, snap, executor, inputs)


def _read(path: Path, stages: Stages) -> PositionsFile:
    """Read a positions file in two timed stages: the columns, then the book."""
    with stages.stage("read", f"Reading {path.name}"):
        table = read_positions_table(path)
    with stages.stage("book", f"Building the book of {table.num_rows:,} rows"):
        return positions_from_table(table, str(path))


def _select(pos: PositionsFile, account: str | None) -> tuple[Book, dict[str, str]]:
    """The book and file errors, restricted to ``--account`` when given."""
    if account is None:
        return pos.book, dict(pos.account_errors)
    mask = np.array([a == account for a in pos.book.accounts], dtype=bool)
    if not mask.any() and account not in pos.account_errors:
        raise ValidationError("--account", account, "an account present in the positions file")
    errors = {a: e for a, e in pos.account_errors.items() if a == account}
    return pos.book.select_accounts(mask), errors


def _what_if(
    method: MarginMethod,
    run: tuple[MethodParams, AccountInputs],
    portfolios: list[Portfolio],
    trades: list[Position],
    snap: MarketSnapshot,
    as_json: bool,
) -> dict[str, str]:
    """Print the change each account's margin would see; return accounts that failed."""
    params, inputs = run
    rows = what_if(method, portfolios, trades, snap, params, inputs)
    if as_json:
        dump_json({"method": method.name, "what_if": [w.to_dict() for w in rows]})
        return {w.account: w.error for w in rows if w.error is not None}
    table = Table(
        title=f"What-if under {method.name}: add "
        + ", ".join(f"{t.instrument.name} {t.quantity:+g}" for t in trades),
        title_justify="left",
    )
    for col in ("account", "ccy", "IM before", "IM after", "change IM", "change MM"):
        table.add_column(col, justify="left" if col in ("account", "ccy") else "right")
    for w in rows:
        if w.error is not None:
            table.add_row(w.account, "", "", "", "error", "")
            continue
        for ccy, d_im in w.change_im.items():
            im0 = sum(r.initial_margin for r in w.before if r.currency == ccy)
            im1 = sum(r.initial_margin for r in w.after if r.currency == ccy)
            table.add_row(
                w.account,
                ccy,
                f"{im0:.8g}",
                f"{im1:.8g}",
                f"{d_im:+.8g}",
                f"{w.change_mm[ccy]:+.8g}",
            )
    stdout.print(table)
    return {w.account: w.error for w in rows if w.error is not None}


def comparison_cells(comparison: Comparison, number_format: str) -> list[str]:
    """IM per method as text, with the saving against the baseline in brackets."""
    cells = []
    for r in comparison.runs:
        if r.initial_margin_usd is None:
            cells.append("n/a")
            continue
        saving = comparison.saving(r.method)
        extra = "" if saving is None or r.method == comparison.baseline else f" ({saving:+.0%})"
        cells.append(f"{r.initial_margin_usd:{number_format}}{extra}")
    return cells


def error_notes(comparisons: list[Comparison]) -> list[str]:
    """One line per method that could not compute some accounts: count and first reason."""
    first: dict[str, tuple[int, str]] = {}
    for c in comparisons:
        for r in c.runs:
            if r.error is not None:
                count, reason = first.get(r.method, (0, r.error))
                first[r.method] = (count + 1, reason)
    return [f"{m}: n/a for {n} account(s); first reason: {why}" for m, (n, why) in first.items()]


def methods(as_json: _JSON = False) -> None:
    """List the registered methods with their parameter packs, versions, the currencies each
    pack covers (``*``: any other, through a catch-all or default entry) and the per-account
    inputs each method takes (``--inputs`` / ``--input``)."""
    rows: list[dict[str, Any]] = []
    for name in method_names():
        m = get_method(name)
        packs: list[dict[str, Any]] = []
        for pack in bundled_packs(name):
            coverage: dict[str, list[str]] = {}
            try:
                loaded = load_params(m, pack)
                version = loaded.version
                coverage = {k: list(v) for k, v in loaded.coverage().items()}
            except PortmarginError as exc:
                version = f"invalid: {exc}"
            packs.append(
                {
                    "pack": pack,
                    "version": version,
                    "default": pack == m.default_pack,
                    "coverage": coverage,
                }
            )
        rows.append(
            {
                "method": name,
                "description": m.description,
                "packs": packs,
                "inputs": [spec.to_dict() for spec in m.account_inputs],
            }
        )
    if as_json:
        dump_json(rows)
        return
    table = Table(title="Registered margin methods", title_justify="left")
    for col in ("method", "description", "parameter pack (version)", "covers"):
        table.add_column(col)
    for r in rows:
        for i, p in enumerate(r["packs"]):
            covers = "; ".join(
                f"{kind} {', '.join(codes)}" for kind, codes in p["coverage"].items() if codes
            )
            table.add_row(
                r["method"] if i == 0 else "",
                r["description"] if i == 0 else "",
                f"{p['pack']} ({p['version']}){' default' if p['default'] else ''}",
                covers,
            )
    stdout.print(table)
    _print_inputs(rows)


def _print_inputs(rows: list[dict[str, Any]]) -> None:
    """The per-account inputs of the methods that declare some."""
    table = Table(
        title="Per-account inputs (--inputs FILE columns, or --input ACCOUNT:NAME[@GROUP]=VALUE)",
        title_justify="left",
    )
    for col in ("method", "input", "value", "default", "one value per", "what it is"):
        table.add_column(col)
    for r in rows:
        for i, spec in enumerate(r["inputs"]):
            value = (
                " | ".join(spec["choices"])
                if spec["choices"]
                else f">= {spec['minimum']:g} {spec['unit']}".rstrip()
            )
            table.add_row(
                r["method"] if i == 0 else "",
                spec["name"],
                value,
                spec["default"],
                f"account and group ({spec['group']})" if spec["group"] else "account",
                spec["description"],
            )
    stdout.print(table)


def compare(
    positions: _POSITIONS,
    market: MarketOption = None,
    as_json: _JSON = False,
    overrides: _SET = None,
    allow_unlisted: _ALLOW_UNLISTED = False,
    history: _HISTORY = None,
    inputs_file: INPUTS_FILE_OPTION = None,
    input_values: INPUT_OPTION = None,
) -> None:
    """Every method side by side per account (USD at index), with the capital each portfolio
    method saves relative to standard margin. ``--set KEY`` paths start with the method name
    (``deribit-pm:general.mm_factor=0.9``); each method gets the ``--inputs`` / ``--input``
    values of the inputs it declares."""
    snap = load_market(market, allow_unlisted, history)
    runs = {}
    for name in method_names():
        m = get_method(name)
        runs[name] = (m, load_params(m, None, method_overrides(name, overrides or ())))
    specs = _declared_inputs([m for m, _ in runs.values()])
    inputs = load_inputs(specs, inputs_file, input_values)
    pos = read_positions(positions)
    warn_unused_inputs(inputs, [*pos.book.accounts, *pos.account_errors])
    rows = compare_methods(runs, pos.book, snap, inputs=inputs)
    if as_json:
        dump_json(
            {
                "accounts": [c.to_dict() for c in rows],
                "errors": [{"account": a, "error": e} for a, e in pos.account_errors.items()],
            }
        )
        return
    table = Table(title="Initial margin by method (USD at index)", title_justify="left")
    table.add_column("account")
    for name in runs:
        table.add_column(name, justify="right")
    for c in rows:
        table.add_row(c.account, *comparison_cells(c, ",.2f"))
    stdout.print(table)
    stdout.print("In brackets: capital saved relative to standard margin.")
    for line in error_notes(rows):
        stdout.print(line, markup=False, soft_wrap=True)
    for a, e in pos.account_errors.items():
        stderr.print(f"error: account {a}: {e}", markup=False, soft_wrap=True)
