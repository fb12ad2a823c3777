"""A plain install gives a working CLI: its packages are core dependencies, not extras."""

from __future__ import annotations

import re
from importlib.metadata import requires


def test_cli_and_file_packages_are_core_dependencies() -> None:
    core = {
        re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0].lower()
        for r in requires("portmargin") or []
        if "extra ==" not in r
    }
    assert {"numpy", "scipy", "typer", "rich", "pyarrow"} <= core


def test_dask_is_an_extra_included_in_all() -> None:
    extras = [r for r in requires("portmargin") or [] if "extra ==" in r]
    assert any(r.startswith("dask") and 'extra == "distributed"' in r for r in extras)
    assert any("distributed" in r and 'extra == "all"' in r for r in extras)
