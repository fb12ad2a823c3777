"""Build frozen parameter dataclasses from plain mappings (TOML, JSON), strictly.

A mapping must carry every field of the dataclass: a dataclass default is never a silent
fallback for a key missing from a parameter pack. The only keys a pack may omit are fields
declared with :func:`optional_key`, each with the reason it may be left out (a feature that
is optional or off, a section used by another profile). Every error names the full key path
(``currency_pair.btc_usd.price_range``, ``assets[0].scenarios[0].weight``), including the
errors raised by a dataclass's own ``__post_init__`` checks, which name fields relative to
their object and are prefixed here with the object's path.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

from portmargin.core._errors import ValidationError

__all__ = ["OPTIONAL_KEY", "config_from_mapping", "config_to_mapping", "optional_key"]

T = TypeVar("T")

OPTIONAL_KEY = "portmargin.optional"
"""Field-metadata key of :func:`optional_key`: why a mapping may omit the field."""


def optional_key(reason: str) -> dict[str, str]:
    """Field metadata letting a parameter mapping omit the field (then its default applies).

    Use as ``field(default=None, metadata=optional_key("used by profile X only"))``.

    Parameters
    ----------
    reason
        Why the key may be left out (a feature that is optional or off, a section of another
        profile); kept in the field's metadata under :data:`OPTIONAL_KEY`.
    """
    return {OPTIONAL_KEY: reason}


def config_from_mapping(cls: type[T], data: Mapping[str, Any], path: str = "") -> T:
    """Instantiate the dataclass ``cls`` from ``data``.

    Nested dataclasses, ``tuple[X, ...]`` of dataclasses or scalars, ``dict[str, X]``,
    enums, ``X | None``, ``float``, ``int``, ``bool`` and ``str`` fields are converted.
    Every field is required except those declared with :func:`optional_key`.

    Parameters
    ----------
    cls
        A dataclass type.
    data
        Plain mapping (e.g. parsed TOML).
    path
        Dotted key path of ``data`` inside the whole document, used in error messages.

    Raises
    ------
    ValidationError
        On an unknown key, a missing required key, a value of the wrong type or a value
        rejected by the dataclass's own checks; the error names the full key path (e.g.
        ``currency.btc.pnl_offset``).
    """
    if not isinstance(data, Mapping):
        raise ValidationError(path or cls.__name__, data, "a table of keys")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValidationError(
            _join(path, unknown[0]), data[unknown[0]], f"one of the keys {sorted(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            if OPTIONAL_KEY not in f.metadata:
                raise ValidationError(_join(path, name), None, "a value (required key missing)")
            continue
        kwargs[name] = _convert(hints[name], data[name], _join(path, name))
    try:
        return cls(**kwargs)
    except ValidationError as exc:
        if not path:
            raise
        raise type(exc)(_join(path, exc.field), exc.value, exc.expected) from None


def config_to_mapping(obj: Any) -> Any:
    """Inverse of :func:`config_from_mapping`: plain dicts, lists and scalars."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: config_to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, tuple | list):
        return [config_to_mapping(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): config_to_mapping(v) for k, v in obj.items()}
    return obj


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _convert(inner[0], value, path)
        return value
    if dataclasses.is_dataclass(hint):
        return config_from_mapping(hint, value, path)  # type: ignore[arg-type]
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ValidationError(path, value, "a list")
        item = args[0]
        return tuple(_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if isinstance(origin, type) and issubclass(origin, Mapping):
        if not isinstance(value, Mapping):
            raise ValidationError(path, value, "a table of keys")
        item = args[1]
        return types.MappingProxyType(
            {str(k): _convert(item, v, _join(path, str(k))) for k, v in value.items()}
        )
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(value)
        except ValueError:
            allowed = [m.value for m in hint]
            raise ValidationError(path, value, f"one of {allowed}") from None
    if hint is bool:
        if not isinstance(value, bool):
            raise ValidationError(path, value, "true or false")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError(path, value, "a number")
        try:
            number = float(value)
        except ValueError:
            raise ValidationError(path, value, "a number") from None
        if not math.isfinite(number):
            raise ValidationError(path, value, "a finite number")
        return number
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(path, value, "a whole number")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ValidationError(path, value, "a string")
        return value
    return value
