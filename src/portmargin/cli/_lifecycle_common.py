"""Options and loading shared by the lifecycle commands (``status`` and the commands that
simulate what follows a margin number)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from portmargin.cli._margin_output import print_warnings
from portmargin.core import ValidationError
from portmargin.io import read_positions
from portmargin.io.params import load_lifecycle_params, load_params
from portmargin.lifecycle import Holdings, LifecycleParams, MethodMargining
from portmargin.market import MarketSnapshot
from portmargin.methods import get_method

__all__ = [
    "LIFECYCLE_OPTION",
    "LIFECYCLE_SET_OPTION",
    "METHOD_OPTION",
    "MOVE_OPTION",
    "PARAMS_OPTION",
    "POSITIONS_ARGUMENT",
    "SET_OPTION",
    "LifecycleRun",
    "load_lifecycle_run",
    "parse_moves",
]

POSITIONS_ARGUMENT = Annotated[
    Path, typer.Argument(help="Positions file: account,instrument,quantity (CSV or Parquet).")
]
METHOD_OPTION = Annotated[
    str, typer.Option("--method", help="Margin method of the accounts (see `methods`).")
]
PARAMS_OPTION = Annotated[
    str | None, typer.Option("--params", help="Parameter pack of the method: file or bundled name.")
]
SET_OPTION = Annotated[
    list[str] | None,
    typer.Option(
        "--set", help="Override one parameter of the method's pack, KEY=VALUE (repeatable)."
    ),
]
LIFECYCLE_OPTION = Annotated[
    str | None,
    typer.Option(
        "--lifecycle-params",
        help="Lifecycle pack (states, calls, liquidation, haircuts); default lifecycle/2021-11.",
    ),
]
LIFECYCLE_SET_OPTION = Annotated[
    list[str] | None,
    typer.Option(
        "--lifecycle-set",
        help="Override one lifecycle parameter, KEY=VALUE, e.g. states.call_level=1.2 "
        "(repeatable).",
    ),
]
MOVE_OPTION = Annotated[
    list[str] | None,
    typer.Option(
        "--move",
        help="Move every price of an underlying, UNDERLYING=FRACTION, e.g. BTC=-0.2 (repeatable).",
    ),
]


def parse_moves(items: list[str] | None) -> dict[str, float]:
    """``["BTC=-0.2", "ETH=0.1"]`` → ``{"BTC": -0.2, "ETH": 0.1}``.

    Raises
    ------
    ValidationError
        If an item is not ``UNDERLYING=FRACTION`` or names an underlying twice.
    """
    moves: dict[str, float] = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        underlying = name.strip().upper()
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not sep or not underlying or value != value:
            raise ValidationError("--move", item, "UNDERLYING=FRACTION, e.g. BTC=-0.2")
        if underlying in moves:
            raise ValidationError("--move", item, f"one move per underlying ({underlying} twice)")
        moves[underlying] = value
    return moves


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LifecycleRun:
    """What a lifecycle command works on.

    Attributes
    ----------
    holdings
        The accounts of the positions file that read cleanly, P&L settled at the market.
    file_errors
        Accounts of the file that could not be read, with the reason.
    market
        The market snapshot.
    margining
        The accounts' margin method with its parameters.
    params
        Lifecycle parameters.
    """

    holdings: Holdings
    file_errors: dict[str, str]
    market: MarketSnapshot
    margining: MethodMargining
    params: LifecycleParams


def load_lifecycle_run(
    positions: Path,
    snap: MarketSnapshot,
    method: str,
    method_pack: tuple[str | None, list[str] | None],
    lifecycle: tuple[str | None, list[str] | None],
) -> LifecycleRun:
    """Read the positions file, the method and the lifecycle pack, for the market ``snap``
    (see :func:`portmargin.cli._common.load_market`).

    ``method_pack`` is ``(--params, --set)``, ``lifecycle`` is ``(--lifecycle-params,
    --lifecycle-set)``. File warnings go to stderr. Futures and perpetuals are settled at the
    market's marks (positions files carry no entry prices).
    """
    m = get_method(method)
    pack = load_params(m, method_pack[0], method_pack[1] or ())
    params = load_lifecycle_params(lifecycle[0], lifecycle[1] or ())
    pos = read_positions(positions)
    print_warnings(pos.warnings)
    return LifecycleRun(
        holdings=Holdings.settled(pos.book, snap),
        file_errors=dict(pos.account_errors),
        market=snap,
        margining=MethodMargining(method=m, params=pack),
        params=params,
    )
