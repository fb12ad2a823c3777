"""Reading the venue's ``Parameters`` layout into ``DeriveParams`` keyword arguments."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from portmargin.core import ValidationError
from portmargin.methods.derive_pm2._fields import BLOCKS, PARAM_SPECS, PARAMS_BY_ATTR
from portmargin.methods.derive_pm2._scenario import DeriveScenario, DeriveVolShock

__all__ = ["DeriveParamsFormatError", "mapping_path", "params_kwargs"]


class DeriveParamsFormatError(ValidationError):
    """A parameter mapping has the wrong shape: unknown or missing key, or a non-number.

    A subclass of :class:`~portmargin.core.ValidationError`; ``field`` is the key path inside
    the mapping (e.g. ``"Margin.IM_LOSS_FACTOR"`` or ``"Scenarios[3].SpotShock"``).
    """


_IGNORED = {"OtherContingency": ("IM_PERP_PERCENT_NORMAL", "IM_OPTION_PERCENT_NORMAL")}
_SCENARIO_KEYS = {
    "spot_shock": "SpotShock",
    "vol_shock": "VolShockDirection",
    "dampening": "DampeningFactor",
}


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def params_kwargs(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """``DeriveParams`` keyword arguments (collaterals excluded) from a ``Parameters`` mapping.

    Raises
    ------
    DeriveParamsFormatError
        Unknown or missing key, or a value that is not a finite number / direction name.
    ValidationError
        A scenario outside its domain (e.g. a skew scenario with a spot shock).
    """
    root = _as_mapping("", mapping)
    _reject_unknown("", root, ("Scenarios", *BLOCKS))
    kwargs: dict[str, Any] = {"scenarios": _scenarios_from(root.get("Scenarios", _MISSING))}
    for block in BLOCKS:
        node = _as_mapping(block, root.get(block, _MISSING))
        known = [s.key for s in PARAM_SPECS if s.block == block]
        _reject_unknown(block, node, (*known, *_IGNORED.get(block, ())))
        for key in _IGNORED.get(block, ()):
            if key in node:
                _number(f"{block}.{key}", node[key])
        for spec in PARAM_SPECS:
            if spec.block == block:
                kwargs[spec.attr] = _number(f"{block}.{spec.key}", node.get(spec.key, _MISSING))
    return kwargs


def mapping_path(field: str) -> str | None:
    """Key path in the ``Parameters`` layout of a ``DeriveParams`` field, if it has one."""
    spec = PARAMS_BY_ATTR.get(field)
    if spec is not None:
        return f"{spec.block}.{spec.key}"
    head, dot, key = field.partition(".")
    if head.startswith("scenarios"):
        tail = f".{_SCENARIO_KEYS.get(key, key)}" if dot else ""
        return "Scenarios" + head.removeprefix("scenarios") + tail
    return None


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _as_mapping(path: str, value: object) -> Mapping[str, Any]:
    if value is _MISSING:
        raise DeriveParamsFormatError(path, value, "a mapping (required key is missing)")
    if not isinstance(value, Mapping):
        raise DeriveParamsFormatError(path or "<root>", value, "a mapping")
    return value


def _reject_unknown(prefix: str, node: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in node:
        if key not in known:
            where = f"block {prefix!r}" if prefix else "the top level"
            raise DeriveParamsFormatError(
                _path(prefix, str(key)),
                node[key],
                f"no such key: {key!r} is not a known key of {where} (known: {', '.join(known)})",
            )


def _number(path: str, value: object) -> float:
    if value is _MISSING:
        raise DeriveParamsFormatError(path, value, "a number (required key is missing)")
    if isinstance(value, bool):
        raise DeriveParamsFormatError(path, value, "a finite number or a decimal string")
    number = math.nan
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
    if math.isfinite(number):
        return number
    raise DeriveParamsFormatError(path, value, "a finite number or a decimal string")


def _scenarios_from(value: object) -> tuple[DeriveScenario, ...]:
    if value is _MISSING:
        raise DeriveParamsFormatError("Scenarios", value, "a list (required key is missing)")
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise DeriveParamsFormatError("Scenarios", value, "a list of scenario mappings")
    out: list[DeriveScenario] = []
    for index, item in enumerate(value):
        prefix = f"Scenarios[{index}]"
        node = _as_mapping(prefix, item)
        _reject_unknown(prefix, node, tuple(_SCENARIO_KEYS.values()))
        direction = node.get("VolShockDirection", _MISSING)
        if direction is _MISSING:
            raise DeriveParamsFormatError(
                f"{prefix}.VolShockDirection", direction, "a direction (required key missing)"
            )
        try:
            vol_shock = DeriveVolShock.parse(direction)
        except ValidationError as exc:
            raise DeriveParamsFormatError(
                f"{prefix}.VolShockDirection", direction, exc.expected
            ) from exc
        try:
            out.append(
                DeriveScenario(
                    spot_shock=_number(f"{prefix}.SpotShock", node.get("SpotShock", _MISSING)),
                    vol_shock=vol_shock,
                    dampening=_number(
                        f"{prefix}.DampeningFactor", node.get("DampeningFactor", _MISSING)
                    ),
                )
            )
        except DeriveParamsFormatError:
            raise
        except ValidationError as exc:
            key = _SCENARIO_KEYS.get(exc.field, exc.field)
            raise ValidationError(f"{prefix}.{key}", exc.value, exc.expected) from exc
    return tuple(out)
