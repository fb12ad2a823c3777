"""What ``portmargin margin`` prints and writes: results files, streamed JSON, terminal tables."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from rich.table import Table

from portmargin.analysis import to_usd
from portmargin.cli._common import stderr, stdout, stream_json
from portmargin.core import PortmarginError
from portmargin.distributed import ShardedRun
from portmargin.io.report import VAR_GROUP_PARTS
from portmargin.io.tables import detail_path, write_table
from portmargin.market import MarketSnapshot
from portmargin.results import MarginBatch, MarginResult

__all__ = [
    "print_batch",
    "print_errors",
    "print_group_shares",
    "print_results",
    "print_warnings",
    "report_sharded",
    "stream_results_json",
    "write_results",
]

FULL_TABLE_ROWS = 50
"""Runs with at most this many result rows print every row."""
MAX_ERROR_LINES = 20
"""Failed accounts named on stderr; the rest are counted."""
MAX_WARNING_LINES = 20
"""Reader warnings printed by a sharded run (the rest counted)."""
NUMBER_COLUMNS = ("initial margin", "maintenance margin", "equity", "excess")
"""Right-aligned columns of the results table."""


def write_results(batch: MarginBatch, file_errors: dict[str, str], out: Path, detail: bool) -> None:
    """Write the results table to ``out`` (and with ``detail`` the detail table beside it)."""
    write_table(batch.to_arrow(file_errors), out)
    if detail:
        write_table(batch.detail_arrow(contributions=True), detail_path(out))


def _number(x: float) -> str:
    """A float as JSON (``repr``, as :mod:`json` writes it; ``null`` when not finite)."""
    return repr(x) if math.isfinite(x) else "null"


def _figure_value(value: object) -> str:
    """A per-row figure as JSON: numbers as :func:`_number`, labels as strings."""
    if value is None or isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return _number(float(value))
    return json.dumps(str(value))


def _figure_texts(batch: MarginBatch) -> list[str]:
    """Per row, the ``MarginBatch.figures`` as JSON members: ``"a.b"`` nests as
    ``"a": {"b": ...}``, a name without a dot is a member of its own (``", "``-prefixed)."""
    groups: dict[str, list[tuple[str, list[object]]]] = {}
    for name, values in batch.figures.items():
        head, dot, key = name.partition(".")
        groups.setdefault(head if dot else name, []).append((key if dot else "", values.tolist()))
    texts = [""] * len(batch)
    for head, members in groups.items():
        for i in range(len(batch)):
            if len(members) == 1 and members[0][0] == "":
                body = _figure_value(members[0][1][i])
            else:
                body = (
                    "{"
                    + ", ".join(f"{json.dumps(k)}: {_figure_value(v[i])}" for k, v in members)
                    + "}"
                )
            texts[i] += f", {json.dumps(head)}: {body}"
    return texts


def _contribution_figures(figures: Mapping[str, float]) -> str:
    if not figures:
        return ""
    body = ", ".join(f"{json.dumps(k)}: {_number(v)}" for k, v in figures.items())
    return f', "figures": {{{body}}}'


def _json_rows(batch: MarginBatch, bad: dict[str, str]) -> Iterator[str]:
    """Per-account JSON objects, encoded from the batch arrays with templates for the parts
    every row repeats (component names and sources); contributions come from ``explain``;
    ``figures`` (if any) follow ``margin_ratio``."""
    enc = json.dumps
    extra = _figure_texts(batch)
    parts = [
        (
            f'{{"name": {enc(n.rpartition("/")[2])}, "amount": ',
            f', "depth": {depth}, "source": {enc(batch.sources.get(n, ""))}}}',
            batch.components[n].tolist(),
        )
        for n, depth in batch.component_order()
    ]
    names: dict[str, str] = {}
    method, version = enc(batch.method), enc(batch.params_version)
    worst = [None] * len(batch) if batch.worst_scenario is None else batch.worst_scenario.tolist()
    group = [None] * len(batch) if batch.group is None else batch.group.tolist()
    missing = [math.nan] * len(batch)
    funds = (batch.equity, batch.excess, batch.margin_ratio)
    equity, excess, ratio = (missing if f is None else f.tolist() for f in funds)
    columns = zip(
        batch.account.tolist(),
        batch.currency.tolist(),
        batch.initial_margin.tolist(),
        batch.maintenance_margin.tolist(),
        worst,
        group,
        equity,
        excess,
        ratio,
        strict=True,
    )
    for i, (acc, ccy, im, mm, ws, grp, eq, ex, mr) in enumerate(columns):
        components = ", ".join(f"{head}{_number(values[i])}{tail}" for head, tail, values in parts)
        contributions = ", ".join(
            f'{{"instrument": {names.setdefault(c.instrument, enc(c.instrument))}, '
            f'"quantity": {_number(c.quantity)}, "pnl": {_number(c.pnl)}'
            f"{_contribution_figures(c.figures)}}}"
            for c in (() if batch.explain is None else batch.explain(i))
        )
        yield (
            f'{{"account": {enc(str(acc))}, "status": "ok", "method": {method}, '
            f'"currency": {enc(str(ccy))}, "group": {enc("" if grp is None else str(grp))}, '
            f'"initial_margin": {_number(im)}, "maintenance_margin": {_number(mm)}, '
            f'"worst_scenario": {enc(None if ws is None else str(ws))}, '
            f'"equity": {_number(eq)}, "excess": {_number(ex)}, "margin_ratio": {_number(mr)}'
            f"{extra[i]}, "
            f'"components": [{components}], "contributions": [{contributions}], '
            f'"params_version": {version}}}'
        )
    for a, e in bad.items():
        yield enc({"account": a, "status": "error", "method": batch.method, "error": e})


def stream_results_json(batch: MarginBatch, bad: dict[str, str], warnings: tuple[str, ...]) -> None:
    """The ``--json`` document, written to stdout account by account."""
    stream_json(
        {"method": batch.method, "params_version": batch.params_version},
        "accounts",
        _json_rows(batch, bad),
        {
            "errors": [{"account": a, "error": e} for a, e in bad.items()],
            "warnings": list(warnings),
            "notes": list(batch.notes),
        },
    )


def print_batch(
    batch: MarginBatch, accounts_in: int, bad: dict[str, str], top: int, snap: MarketSnapshot
) -> None:
    """Every row when there are few; otherwise a summary and the ``top`` rows most at risk:
    lowest excess in USD at the index (largest IM when the batch carries no equity)."""
    if len(batch) <= FULL_TABLE_ROWS:
        print_results([batch.result(i) for i in range(len(batch))], batch.method)
        print_group_shares(batch)
        return
    computed = len(set(batch.account.tolist()))
    stdout.print(
        f"Margin under {batch.method}: {accounts_in:,} accounts in, {computed:,} computed, "
        f"{len(bad):,} with errors, {len(batch):,} rows"
    )
    table = Table(title="Totals per currency", title_justify="left")
    for col in ("ccy", "rows", "initial margin", "maintenance margin"):
        table.add_column(col, justify="left" if col == "ccy" else "right")
    currencies, index = np.unique(batch.currency.astype(str), return_inverse=True)
    rows = np.bincount(index, minlength=len(currencies))
    im = np.bincount(index, weights=batch.initial_margin, minlength=len(currencies))
    mm = np.bincount(index, weights=batch.maintenance_margin, minlength=len(currencies))
    for k, ccy in enumerate(currencies.tolist()):
        table.add_row(ccy, f"{rows[k]:,}", f"{im[k]:,.8g}", f"{mm[k]:,.8g}")
    stdout.print(table)
    rate = np.array([_usd_rate(c, snap) for c in currencies.tolist()])[index]
    if batch.excess is None:
        risk, what = -batch.initial_margin * rate, "largest initial margins"
    else:
        risk, what = batch.excess * rate, "lowest excess over initial margin"
    worst = np.argsort(np.nan_to_num(risk, nan=np.inf), kind="stable")[:top]
    print_results(
        [batch.result(int(i)) for i in worst],
        batch.method,
        title=f"{len(worst)} {what} (ranked in USD at the index)",
    )


def _usd_rate(currency: str, snap: MarketSnapshot) -> float:
    """USD per unit of ``currency`` at the index, NaN when the snapshot has no index for it."""
    try:
        return to_usd(1.0, currency, snap)
    except PortmarginError:
        return math.nan


def print_group_shares(batch: MarginBatch) -> None:
    """Per account and underlying, the diversification figures of a method that attributes
    its benefit to groups (components ``core_margin/benefit/UNDERLYING``, as ``var``): the
    group's own measure, its Euler share of the portfolio measure, its benefit share, the
    offset granted on it and its add-on. Underlyings an account does not hold are skipped;
    nothing is printed for other methods."""
    prefix = "core_margin/benefit/"
    groups = [n[len(prefix) :] for n in batch.components if n.startswith(prefix)]
    if not groups:
        return
    table = Table(
        title="Diversification benefit by underlying (group measure and Euler shares)",
        title_justify="left",
    )
    table.add_column("account")
    table.add_column("underlying")
    for heading, _ in VAR_GROUP_PARTS:
        table.add_column(heading, justify="right")
    c = batch.components
    for i in range(len(batch)):
        for u in groups:
            values = [c.get(f"{name}/{u}") for _, name in VAR_GROUP_PARTS]
            amounts = [0.0 if v is None else float(v[i]) for v in values]
            if any(amounts):
                table.add_row(
                    str(batch.account[i]), u, *(f"{a:,.2f}" for a in amounts), end_section=False
                )
    stdout.print(table)


def print_errors(bad: dict[str, str]) -> None:
    """Name the first failed accounts on stderr with their reason and count the rest."""
    for a, e in list(bad.items())[:MAX_ERROR_LINES]:
        stderr.print(f"error: account {a}: {e}", markup=False, soft_wrap=True)
    if len(bad) > MAX_ERROR_LINES:
        stderr.print(
            f"error: {len(bad) - MAX_ERROR_LINES:,} more accounts failed "
            "(all are listed by --out or --json)",
            markup=False,
            soft_wrap=True,
        )


def print_results(results: list[MarginResult], method: str, title: str | None = None) -> None:
    """One table row per result: requirements, equity, excess, worst scenario, components."""
    table = Table(title=title or f"Margin under {method}", title_justify="left")
    for col in (
        "account",
        "ccy",
        "initial margin",
        "maintenance margin",
        "equity",
        "excess",
        "worst scenario",
        "components",
    ):
        table.add_column(col, justify="right" if col in NUMBER_COLUMNS else "left")
    for r in results:
        comps = ", ".join(f"{c.name} {c.amount:.6g}" for c in r.components)
        table.add_row(
            r.account,
            f"{r.currency} ({r.group})" if r.group else r.currency,
            f"{r.initial_margin:.8g}",
            f"{r.maintenance_margin:.8g}",
            "" if r.equity is None else f"{r.equity:.8g}",
            "" if r.excess is None else f"{r.excess:.8g}",
            r.worst_scenario or "",
            comps,
        )
    stdout.print(table)


def print_warnings(warnings: tuple[str, ...]) -> None:
    """One ``warning: ...`` line on stderr each."""
    for w in warnings:
        stderr.print(f"warning: {w}", markup=False, soft_wrap=True)


def report_sharded(done: ShardedRun, method: str) -> None:
    """Print a sharded run's warnings and summary."""
    print_warnings(done.warnings[:MAX_WARNING_LINES])
    if len(done.warnings) > MAX_WARNING_LINES:
        print_warnings((f"{len(done.warnings) - MAX_WARNING_LINES} more warning lines",))
    errors = done.errors
    stdout.print(
        f"Margin under {method}: {done.accounts:,} accounts in, "
        f"{done.accounts - len(errors):,} computed, {len(errors):,} with errors; "
        f"{len(done.shards)} shard(s) on {done.workers} worker(s) in {done.seconds:.2f} s; "
        f"results in {done.out}",
        soft_wrap=True,
    )
    if len(done.shards) < done.workers:
        stdout.print(
            f"note: {done.cuts_allowed} place(s) to cut the file without splitting an account; "
            "a file grouped by account (its rows next to each other) spreads over more workers",
            soft_wrap=True,
        )


MAX_ERROR_LINES = 20
"""Failed accounts named on stderr; the rest are counted."""
