"""Shared CLI plumbing: one-line errors on stderr, JSON output, consoles."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

__all__ = ["EXIT_DATA", "EXIT_FAILED", "dump_json", "fail", "stderr", "stdout"]

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
