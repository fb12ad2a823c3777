"""``portmargin margin | methods | compare``: margin of positions files under registered methods."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from portmargin.analysis import Comparison, compare_methods, compute_margin, what_if
from portmargin.cli._common import EXIT_FAILED, dump_json, stderr, stdout
from portmargin.core import PortmarginError, ValidationError
from portmargin.instruments import parse_instrument
from portmargin.io import load_snapshot, read_positions
from portmargin.io.params import bundled_packs, load_params
from portmargin.market import MarketSnapshot
from portmargin.methods import MarginMethod, MethodParams, get_method, method_names
from portmargin.portfolio import Portfolio, Position
from portmargin.results import MarginResult

__all__ = ["compare", "comparison_cells", "error_notes", "margin", "methods"]

_POSITIONS = Annotated[Path, typer.Argument(help="Positions file: account,instrument,quantity.")]
_MARKET = Annotated[Path, typer.Option("--market", help="Market snapshot (Deribit CSV/JSON).")]
_JSON = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _flat_components(result: MarginResult) -> list[dict[str, Any]]:
    return [
        {"name": c.name, "amount": c.amount, "depth": depth, "source": c.source}
        for depth, c in result.component_rows()
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
    market: _MARKET,
    method: Annotated[str, typer.Option("--method", help="Method name (see `methods`).")],
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
    allow_unlisted: Annotated[
        bool,
        typer.Option("--allow-unlisted", help="Price instruments the snapshot does not list."),
    ] = False,
) -> None:
    """Margin of every account in POSITIONS; bad accounts are listed with their error.

    Exit code 0 only if every account was computed. With ``--add``, prints the change in IM
    and MM that the trades would cause for each account (or ``--account``).
    """
    m = get_method(method)
    pack = load_params(m, params)
    snap = load_snapshot(market).snapshot
    if allow_unlisted:
        snap = snap.with_unlisted_allowed()
    pos = read_positions(positions)
    for w in pos.warnings:
        stderr.print(f"warning: {w}", markup=False, soft_wrap=True)
    portfolios = [p for p in pos.portfolios if account is None or p.account == account]
    if account is not None and not portfolios and account not in pos.account_errors:
        raise ValidationError("--account", account, "an account present in the positions file")
    file_errors = {a: e for a, e in pos.account_errors.items() if account is None or a == account}
    if add:
        failed = _what_if(m, pack, portfolios, [_parse_trade(t) for t in add], snap, as_json)
        bad = {**file_errors, **failed}
    else:
        batch = compute_margin(m, portfolios, snap, pack)
        bad = {**file_errors, **batch.errors}
        results = batch.results()
        if as_json:
            accounts: list[dict[str, Any]] = [
                {
                    "account": r.account,
                    "status": "ok",
                    "method": r.method,
                    "currency": r.currency,
                    "group": r.group,
                    "initial_margin": r.initial_margin,
                    "maintenance_margin": r.maintenance_margin,
                    "worst_scenario": r.worst_scenario,
                    "components": _flat_components(r),
                    "contributions": [c.to_dict() for c in r.contributions],
                    "params_version": r.params_version,
                }
                for r in results
            ]
            accounts += [
                {"account": a, "status": "error", "method": m.name, "error": e}
                for a, e in bad.items()
            ]
            dump_json(
                {
                    "method": m.name,
                    "params_version": batch.params_version,
                    "accounts": accounts,
                    "errors": [{"account": a, "error": e} for a, e in bad.items()],
                    "warnings": list(pos.warnings),
                    "notes": list(batch.notes),
                }
            )
        else:
            _print_results(results, m.name)
    if not as_json:
        for a, e in bad.items():
            stderr.print(f"error: account {a}: {e}", markup=False, soft_wrap=True)
    if bad:
        raise typer.Exit(EXIT_FAILED)


def _print_results(results: list[MarginResult], method: str) -> None:
    table = Table(title=f"Margin under {method}", title_justify="left")
    for col in (
        "account",
        "ccy",
        "initial margin",
        "maintenance margin",
        "worst scenario",
        "components",
    ):
        table.add_column(col, justify="right" if "margin" in col else "left")
    for r in results:
        comps = ", ".join(f"{c.name} {c.amount:.6g}" for c in r.components)
        table.add_row(
            r.account,
            f"{r.currency} ({r.group})" if r.group else r.currency,
            f"{r.initial_margin:.8g}",
            f"{r.maintenance_margin:.8g}",
            r.worst_scenario or "",
            comps,
        )
    stdout.print(table)


def _what_if(
    method: MarginMethod,
    params: MethodParams,
    portfolios: list[Portfolio],
    trades: list[Position],
    snap: MarketSnapshot,
    as_json: bool,
) -> dict[str, str]:
    """Print the change each account's margin would see; return accounts that failed."""
    rows = what_if(method, portfolios, trades, snap, params)
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
    """List the registered methods with their parameter packs and versions."""
    rows: list[dict[str, Any]] = []
    for name in method_names():
        m = get_method(name)
        packs: list[dict[str, Any]] = []
        for pack in bundled_packs(name):
            try:
                version = load_params(m, pack).version
            except PortmarginError as exc:
                version = f"invalid: {exc}"
            packs.append({"pack": pack, "version": version, "default": pack == m.default_pack})
        rows.append({"method": name, "description": m.description, "packs": packs})
    if as_json:
        dump_json(rows)
        return
    table = Table(title="Registered margin methods", title_justify="left")
    for col in ("method", "description", "parameter packs (version)"):
        table.add_column(col)
    for r in rows:
        listing = "\n".join(
            f"{p['pack']} ({p['version']}){' default' if p['default'] else ''}" for p in r["packs"]
        )
        table.add_row(r["method"], r["description"], listing)
    stdout.print(table)


def compare(
    positions: _POSITIONS,
    market: _MARKET,
    as_json: _JSON = False,
    allow_unlisted: Annotated[
        bool,
        typer.Option("--allow-unlisted", help="Price instruments the snapshot does not list."),
    ] = False,
) -> None:
    """Every method side by side per account (USD at index), with the capital each portfolio
    method saves relative to standard margin."""
    snap = load_snapshot(market).snapshot
    if allow_unlisted:
        snap = snap.with_unlisted_allowed()
    pos = read_positions(positions)
    runs = {}
    for name in method_names():
        m = get_method(name)
        runs[name] = (m, load_params(m))
    rows = compare_methods(runs, pos.portfolios, snap)
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
