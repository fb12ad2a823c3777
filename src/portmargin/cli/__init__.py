"""Command-line interface: ``portmargin chain | demo | margin | methods | compare | report |
status | stress | cascade | liquidate | liqprice | hedge | check | bench | serve | keys | import``.

Errors are reported as one line on stderr (``error: ...``) with a non-zero exit code:
2 for unusable input, 1 for a run in which something failed.
"""

from __future__ import annotations

import sys

import typer

from portmargin.cli._bench import bench_app
from portmargin.cli._cascade import cascade
from portmargin.cli._chain import chain
from portmargin.cli._check import check_app
from portmargin.cli._common import EXIT_DATA, stderr
from portmargin.cli._demo import demo
from portmargin.cli._hedge import hedge
from portmargin.cli._import import import_positions
from portmargin.cli._keys import keys_app
from portmargin.cli._liqprice import liqprice
from portmargin.cli._liquidate import liquidate_command
from portmargin.cli._margin import compare, margin, methods
from portmargin.cli._report import report
from portmargin.cli._serve import serve
from portmargin.cli._status import status
from portmargin.cli._stress import stress
from portmargin.core import PortmarginError

__all__ = ["app", "main"]

app = typer.Typer(
    name="portmargin",
    help="Portfolio margin for crypto derivatives.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("chain")(chain)
app.command("demo")(demo)
app.command("margin")(margin)
app.command("methods")(methods)
app.command("compare")(compare)
app.command("liqprice")(liqprice)
app.command("cascade")(cascade)
app.command("hedge")(hedge)
app.command("report")(report)
app.command("serve")(serve)
app.command("status")(status)
app.command("stress")(stress)
app.command("liquidate")(liquidate_command)
app.add_typer(bench_app, name="bench")
app.add_typer(check_app, name="check")
app.add_typer(keys_app, name="keys")
app.command("import")(import_positions)


def main() -> None:
    """Console entry point: run the app, turning portmargin errors into one-line messages."""
    try:
        app()
    except PortmarginError as exc:
        stderr.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(EXIT_DATA)
