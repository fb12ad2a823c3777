"""Parameter packs: bundled TOML files under ``portmargin/params`` or user files."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from portmargin.core import DataFormatError, ValidationError
from portmargin.lifecycle import LifecycleParams
from portmargin.methods import MarginMethod, MethodParams, method_names

__all__ = [
    "LIFECYCLE_PACK",
    "OVERRIDE_SUFFIX",
    "apply_overrides",
    "build_pack",
    "bundled_packs",
    "load_lifecycle_params",
    "load_params",
    "method_overrides",
    "read_pack",
]

T = TypeVar("T")

OVERRIDE_SUFFIX = "+set"
"""Appended to the version of a pack changed by overrides (``"2024-06-17+set"``)."""

_STEP = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


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


def _parse_path(path: str) -> list[str | int]:
    """``"assets[0].scenarios[1].weight"`` → ``["assets", 0, "scenarios", 1, "weight"]``."""
    steps: list[str | int] = []
    for part in path.split("."):
        match = _STEP.fullmatch(part.strip())
        if match is None:
            raise ValidationError(
                "--set", path, "a key path like general.mm_factor or assets[0].scenarios[0].weight"
            )
        steps.append(match.group(1))
        steps.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return steps


def _parse_value(text: str) -> Any:
    """A TOML value (``0.8``, ``true``, ``[1, 2]``, ``"x"``), else ``text`` as a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """``data`` with each ``KEY=VALUE`` of ``overrides`` applied, in order (a new mapping).

    ``KEY`` is the full dotted key path, list items by index
    (``currency_pair.btc_usd.price_range``, ``assets[0].scenarios[0].weight``): every table
    and list item on the way must be in the pack; the last key may be new (an entry of a
    keyed table such as ``funding_rates.BTC``, or an optional key), and the method's loader
    then rejects it, naming its path, if the pack type has no such key. ``VALUE`` is read as a
    TOML value, or taken as a plain string when it is not one (``vol_up_floor=level``). When
    anything is overridden, ``version`` gets the suffix :data:`OVERRIDE_SUFFIX`.

    Raises
    ------
    ValidationError
        If an override has no ``=`` or its path leaves the pack's tables and lists; ``field``
        is the key path up to the first step that is not in the pack.
    """
    out: dict[str, Any] = _deep_copy(data)
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationError("--set", item, "KEY=VALUE, e.g. general.mm_factor=0.9")
        steps = _parse_path(key)
        node: Any = out
        for depth, step in enumerate(steps):
            last = depth == len(steps) - 1
            where = _format_path(steps[: depth + 1])
            if isinstance(step, int):
                if not isinstance(node, list) or not 0 <= step < len(node):
                    size = len(node) if isinstance(node, list) else 0
                    raise ValidationError(
                        where, key, f"an index of a list of the pack ({size} items)"
                    )
            elif not isinstance(node, dict) or (step not in node and not last):
                known = sorted(node) if isinstance(node, dict) else []
                raise ValidationError(where, key, f"a key present in the pack (one of {known})")
            if last:
                node[step] = _parse_value(text)
            else:
                node = node[step]
    if overrides and isinstance(out.get("version"), str):
        out["version"] += OVERRIDE_SUFFIX
    return out


def method_overrides(method: str, overrides: Sequence[str]) -> tuple[str, ...]:
    """The ``KEY=VALUE`` overrides of ``method`` among ``METHOD:KEY=VALUE`` strings.

    Used where several methods run at once (``compare``): each override names its method,
    e.g. ``deribit-pm:general.mm_factor=0.9``; the prefix is removed.

    Raises
    ------
    ValidationError
        If an override has no ``METHOD:`` prefix or names a method that is not registered.
    """
    selected: list[str] = []
    names = method_names()
    for item in overrides:
        prefix, sep, rest = item.partition(":")
        if not sep or prefix.strip() not in names:
            raise ValidationError(
                "--set", item, f"METHOD:KEY=VALUE with METHOD one of {list(names)}"
            )
        if prefix.strip() == method:
            selected.append(rest)
    return tuple(selected)


def _deep_copy(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _deep_copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_deep_copy(v) for v in node]
    return node


def _format_path(steps: Sequence[str | int]) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def load_params(
    method: MarginMethod, source: str | Path | None = None, overrides: Sequence[str] = ()
) -> MethodParams:
    """Load ``method``'s parameters from ``source`` (default: the method's bundled pack).

    Parameters
    ----------
    method
        The margin method whose parameter type is built.
    source
        Bundled pack name (``"deribit-pm/2024-06-17"``) or TOML file; None for
        ``method.default_pack``.
    overrides
        ``KEY=VALUE`` strings applied to the pack before it is validated (see
        :func:`apply_overrides`); the version then ends with :data:`OVERRIDE_SUFFIX`.

    Raises
    ------
    DataFormatError
        If the pack cannot be read.
    ValidationError
        If a key is unknown or missing, a value invalid, or an override names a key path the
        pack does not have; the field is ``"<pack>: <full key path>"``.
    """
    name = source if source is not None else method.default_pack
    return build_pack(name, overrides, method.params_from_mapping)


LIFECYCLE_PACK = "lifecycle/2021-11"
"""Default lifecycle pack (states, calls, liquidation, haircuts)."""


def load_lifecycle_params(
    source: str | Path | None = None, overrides: Sequence[str] = ()
) -> LifecycleParams:
    """Load lifecycle parameters from ``source`` (default :data:`LIFECYCLE_PACK`).

    ``overrides`` are ``KEY=VALUE`` strings as for :func:`load_params` (e.g.
    ``states.call_level=1.2``, ``collateral.haircuts.BTC.brackets[0].haircut=0.1``).

    Raises
    ------
    DataFormatError
        If the pack cannot be read.
    ValidationError
        If a key is unknown or missing or a value invalid; the field is
        ``"<pack>: <full key path>"``.
    """
    return build_pack(
        source if source is not None else LIFECYCLE_PACK, overrides, LifecycleParams.from_mapping
    )


def build_pack(
    name: str | Path, overrides: Sequence[str], build: Callable[[dict[str, Any]], T]
) -> T:
    """Read the pack ``name``, apply ``overrides`` and ``build`` the parameter object.

    Raises
    ------
    DataFormatError
        If the pack cannot be read.
    ValidationError
        From ``build`` or the overrides, with the field prefixed by the pack:
        ``"<pack>: <full key path>"``.
    """
    try:
        return build(apply_overrides(read_pack(name), overrides))
    except ValidationError as exc:
        raise ValidationError(f"{name}: {exc.field}", exc.value, exc.expected) from None
