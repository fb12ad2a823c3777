"""Parameter packs: bundled TOML files under ``portmargin/params`` or user files."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

from portmargin.core import DataFormatError, ValidationError
from portmargin.methods import MarginMethod, MethodParams

__all__ = ["bundled_packs", "load_params", "read_pack"]


def _packs_root() -> Path:
    return Path(str(files("portmargin").joinpath("params")))


def bundled_packs(method: str) -> tuple[str, ...]:
    """Names (``"<method>/<version>"``) of the packs bundled for ``method``, sorted."""
    folder = _packs_root() / method
    if not folder.is_dir():
        return ()
    return tuple(f"{method}/{p.stem}" for p in sorted(folder.glob("*.toml")))


def read_pack(source: str | Path) -> dict[str, Any]:
    """Parse a pack: a bundled name (``"deribit-pm/2024-06-17"``) or a TOML file path.

    Raises
    ------
    DataFormatError
        If the file is missing or not valid TOML (the message quotes the parser's position).
    """
    path = Path(source)
    if not path.suffix and not path.exists():
        path = _packs_root() / f"{source}.toml"
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise DataFormatError(str(source), f"cannot read parameter pack: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataFormatError(str(source), f"is not valid TOML: {exc}") from None


def load_params(method: MarginMethod, source: str | Path | None = None) -> MethodParams:
    """Load ``method``'s parameters from ``source`` (default: the method's bundled pack).

    Raises
    ------
    DataFormatError
        If the pack cannot be read.
    ValidationError
        If a key is unknown or a value invalid; the message names the key path and the file.
    """
    name = source if source is not None else method.default_pack
    data = read_pack(name)
    try:
        return method.params_from_mapping(data)
    except ValidationError as exc:
        raise ValidationError(f"{name}: {exc.field}", exc.value, exc.expected) from None
