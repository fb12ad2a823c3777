"""Running ``portmargin`` as a real process in tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from portmargin.data import demo_chain_path

CHAIN = str(demo_chain_path())
"""The bundled Deribit chain, as a ``--market`` argument."""


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m portmargin ARGS`` with captured text output (never raises on exit codes)."""
    return subprocess.run(
        [sys.executable, "-m", "portmargin", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )
