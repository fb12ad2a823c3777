"""Stress scenario libraries: bundled TOML packs (``portmargin/params/stress``) or files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from portmargin.io.params import build_pack
from portmargin.scenarios import StressLibrary

__all__ = ["STRESS_PACK", "load_stress_library"]

STRESS_PACK = "stress/2021-11"
"""Default stress library: the historical events and hypothetical scenarios of
``stress-and-dynamics.md`` A.3 and A.4."""


def load_stress_library(
    source: str | Path | None = None, overrides: Sequence[str] = ()
) -> StressLibrary:
    """Load a stress library from ``source`` (default :data:`STRESS_PACK`).

    Parameters
    ----------
    source
        Bundled pack name (``"stress/2021-11"``) or TOML file; None for the default.
    overrides
        ``KEY=VALUE`` strings applied before validation, as for
        :func:`portmargin.io.params.load_params` (e.g. ``scenarios[0].spot_shock.BTC=-0.5``);
        the version then ends with ``+set``.

    Raises
    ------
    DataFormatError
        If the pack cannot be read.
    ValidationError
        If a key is unknown or missing or a value invalid; the field is
        ``"<pack>: <full key path>"`` (``stress/2021-11: scenarios[3].spot_shock.BTC``).
    """
    return build_pack(
        source if source is not None else STRESS_PACK, overrides, StressLibrary.from_mapping
    )
