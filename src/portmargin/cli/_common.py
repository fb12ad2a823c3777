"""Shared CLI plumbing: one-line errors on stderr, JSON output, consoles, the market option
and the daily history attached to a market."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from portmargin.core import ValidationError, name_some
from portmargin.data import demo_daily_paths, demo_market_paths
from portmargin.io import load_history, load_markets
from portmargin.io.inputs import parse_input_assignments, read_account_inputs, unused_inputs
from portmargin.market import MarketSnapshot
from portmargin.methods import NO_INPUTS, AccountInputs, InputSpec

__all__ = [
    "EXIT_DATA",
    "EXIT_FAILED",
    "HISTORY_OPTION",
    "INPUTS_FILE_OPTION",
    "INPUT_OPTION",
    "MarketOption",
    "dump_json",
    "fail",
    "load_inputs",
    "load_market",
    "stderr",
    "stdout",
    "stream_json",
    "warn_unused_inputs",
    "with_history",
]

EXIT_FAILED = 1
"""Exit code when the command ran but something failed (a check, an account)."""
EXIT_DATA = 2
"""Exit code for unusable input (bad file, bad option value)."""

_PIPE_WIDTH = 160
"""Width of tables when output goes to a pipe or file (a terminal uses its own width)."""

stdout = Console(highlight=False, width=None if sys.stdout.isatty() else _PIPE_WIDTH)
stderr = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else _PIPE_WIDTH)


def fail(message: str, code: int = EXIT_DATA) -> NoReturn:
    """Print ``error: message`` on one line of stderr and exit with ``code``."""
    stderr.print(f"error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(code)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def dump_json(payload: Any) -> None:
    """Print ``payload`` as JSON on stdout (non-finite floats become ``null``)."""
    typer.echo(json.dumps(_clean(payload), indent=2, allow_nan=False))


STREAM_CHUNK = 1_000
"""Items encoded and written to stdout at a time by :func:`stream_json`."""


def stream_json(
    head: Mapping[str, Any], key: str, items: Iterable[str], tail: Mapping[str, Any]
) -> None:
    """Print ``{**head, key: [*items], **tail}`` as JSON on stdout without building it whole.

    ``items`` are already JSON texts (one object each); they are written one per line,
    :data:`STREAM_CHUNK` at a time. In ``head`` and ``tail``, non-finite floats become
    ``null``.
    """
    out = sys.stdout

    def encode(value: Any) -> str:
        try:
            return json.dumps(value, allow_nan=False)
        except ValueError:  # a non-finite float somewhere: the slow, cleaning path
            return json.dumps(_clean(value), allow_nan=False)

    def fields(mapping: Mapping[str, Any]) -> list[str]:
        return [f"  {json.dumps(k)}: {encode(v)}" for k, v in mapping.items()]

    out.write("{\n" + "".join(f + ",\n" for f in fields(head)) + f"  {json.dumps(key)}: [")
    chunk: list[str] = []
    first = True
    for item in items:
        chunk.append(item)
        if len(chunk) >= STREAM_CHUNK:
            out.write(("\n    " if first else ",\n    ") + ",\n    ".join(chunk))
            first, chunk = False, []
    if chunk:
        out.write(("\n    " if first else ",\n    ") + ",\n    ".join(chunk))
    out.write("\n  ]" + "".join(",\n" + f for f in fields(tail)) + "\n}\n")
    out.flush()


MarketOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--market",
        help="Market data: a Deribit chain (CSV/JSON) or a market file of index, perpetual and "
        "futures marks; repeat to merge files of different underlyings (e.g. a BTC chain and "
        "an ETH file). Default: the bundled BTC chain and ETH market of 2020-05-21.",
    ),
]
"""The ``--market`` option of every command that margins positions (repeatable)."""


def load_market(
    paths: Sequence[Path] | None, allow_unlisted: bool = False, history: list[str] | None = None
) -> MarketSnapshot:
    """Load and merge the ``--market`` files (the bundled BTC chain and ETH market file when
    none is given; :func:`portmargin.io.load_markets`), print their warnings on stderr, and
    attach the daily history of ``--history`` items (:func:`with_history`); with
    ``allow_unlisted``, unlisted instruments are priced from the smile."""
    load = load_markets(list(paths) if paths else list(demo_market_paths()))
    for w in load.warnings:
        stderr.print(f"warning: {w}", markup=False, soft_wrap=True)
    snap = with_history(load.snapshot, history)
    return snap.with_unlisted_allowed() if allow_unlisted else snap


HISTORY_OPTION = Annotated[
    list[str] | None,
    typer.Option(
        "--history",
        help="Daily closes of one underlying, UNDERLYING=FILE (Yahoo CSV or Parquet; "
        "repeatable), attached to the market for history-based methods such as var. "
        "Default: the bundled BTC and ETH daily files.",
    ),
]


def with_history(snapshot: MarketSnapshot, items: list[str] | None) -> MarketSnapshot:
    """``snapshot`` carrying the daily closes of ``--history UNDERLYING=FILE`` items (the
    bundled BTC and ETH files when there are none).

    Raises
    ------
    ValidationError
        An item is not ``UNDERLYING=FILE``.
    DataFormatError
        A file cannot be read as daily closes.
    """
    if not items:
        files: dict[str, str | Path] = dict(demo_daily_paths())
    else:
        files = {}
        for item in items:
            underlying, sep, file = item.partition("=")
            if not sep or not underlying.strip() or not file.strip():
                raise ValidationError(
                    "--history", item, "UNDERLYING=FILE, e.g. BTC=btc_usd_daily.csv"
                )
            files[underlying.strip().upper()] = Path(file.strip())
    return snapshot.with_history(load_history(files).history)


INPUTS_FILE_OPTION = Annotated[
    Path | None,
    typer.Option(
        "--inputs",
        help="Per-account inputs of the method (CSV or Parquet): a column 'account', a column "
        "'group' for inputs per account and group, and one column per input (see `methods`).",
    ),
]
"""The ``--inputs FILE`` option."""

INPUT_OPTION = Annotated[
    list[str] | None,
    typer.Option(
        "--input",
        help="One per-account input, ACCOUNT:NAME=VALUE (ACCOUNT:NAME@GROUP=VALUE for inputs "
        "per account and group), e.g. desk-1:borrowing=1200 (repeatable; beats --inputs).",
    ),
]
"""The ``--input ACCOUNT:NAME=VALUE`` option (repeatable)."""


def load_inputs(
    specs: Sequence[InputSpec], path: Path | None, assignments: list[str] | None
) -> AccountInputs:
    """Per-account inputs from ``--inputs FILE`` and ``--input`` assignments (an assignment
    replaces the file's value of the same input, account and group), validated against the
    declarations ``specs``."""
    inputs = read_account_inputs(path, specs) if path is not None else NO_INPUTS
    if assignments:
        inputs = inputs.merged(parse_input_assignments(assignments, specs))
    return inputs


def warn_unused_inputs(inputs: AccountInputs, accounts: Iterable[str]) -> None:
    """Warn on stderr about accounts given inputs that are not in the positions."""
    unused = unused_inputs(inputs, accounts)
    if unused:
        stderr.print(
            f"warning: inputs given for {len(unused)} account(s) not in the positions "
            f"(not used): {name_some(unused, 10)}",
            markup=False,
            soft_wrap=True,
        )
