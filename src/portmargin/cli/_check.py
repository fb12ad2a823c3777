"""``portmargin check``: recompute venue reference cases and report every mismatch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from portmargin.analysis.conformance import check_derive_case
from portmargin.analysis.deribit_check import check_deribit_pme
from portmargin.cli._common import EXIT_FAILED, dump_json, stdout
from portmargin.core import PortmarginError
from portmargin.io.deribit_pme import load_pme_simulate
from portmargin.io.derive_case import load_derive_case

__all__ = ["check_app"]

check_app = typer.Typer(help="Check the engine against venue reference cases.")

_CASES = Annotated[list[Path], typer.Argument(help="Case files.", exists=False)]
_JSON = Annotated[bool, typer.Option("--json", help="Print a JSON list.")]


def _report(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        dump_json(rows)
    else:
        table = Table(title=title, title_justify="left")
        for col in ("case", "IM", "expected IM", "MM", "expected MM", "result"):
            table.add_column(col, justify="left" if col in ("case", "result") else "right")
        for r in rows:
            verdict = "ok" if r["ok"] else (r.get("error") or _first_mismatch(r))
            table.add_row(
                r["case"],
                _num(r.get("im")),
                _num(r.get("expected_im")),
                _num(r.get("mm")),
                _num(r.get("expected_mm")),
                verdict,
            )
        stdout.print(table)
        passed = sum(1 for r in rows if r["ok"])
        stdout.print(f"{passed} passed, {len(rows) - passed} failed")
    if not all(r["ok"] for r in rows):
        raise typer.Exit(EXIT_FAILED)


def _num(value: object) -> str:
    return f"{value:.10g}" if isinstance(value, float) else ("" if value is None else str(value))


def _first_mismatch(row: dict[str, Any]) -> str:
    mismatches = row.get("mismatches") or []
    if not mismatches:
        return "failed"
    m = mismatches[0]
    name = m.get("quantity") or m.get("path")
    return f"{len(mismatches)} mismatch(es), first {name}"


@check_app.command("derive-pm2")
def derive_pm2(cases: _CASES, as_json: _JSON = False) -> None:
    """Evaluate Derive PMRM_2 conformance vectors (each file carries its own parameters).

    Passes when IM, MM and every scenario P&L agree to 1e-8 relative. A case the method
    rejects as invalid is reported with its reason and counts as failed.
    """
    rows = []
    for path in cases:
        try:
            rows.append(check_derive_case(load_derive_case(path)).to_dict())
        except PortmarginError as exc:
            rows.append({"case": path.stem, "ok": False, "error": str(exc)})
    _report(rows, as_json, "Derive PMRM_2 conformance")


@check_app.command("deribit-pm")
def deribit_pm(cases: _CASES, as_json: _JSON = False) -> None:
    """Recompute Deribit ``private/pme/simulate`` results and report every mismatch.

    Each file is the ``result`` object (or the whole JSON-RPC reply): model params, index
    prices, tickers, positions, expected risk vectors and margins. Every printed number is
    compared to its printed precision.
    """
    rows = []
    for path in cases:
        try:
            row = check_deribit_pme(load_pme_simulate(path)).to_dict()
            for key in ("expected_im", "expected_mm"):
                if isinstance(row.get(key), str):
                    row[f"{key}_literal"] = row[key]
                    row[key] = float(row[key])
            rows.append(row)
        except PortmarginError as exc:
            rows.append({"case": path.stem, "ok": False, "error": str(exc)})
    _report(rows, as_json, "Deribit portfolio margin self-check")
