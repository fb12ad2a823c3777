"""Build frozen parameter dataclasses from plain mappings (TOML, JSON), strictly.

A mapping must carry every field of the dataclass: a dataclass default is never a silent
fallback for a key missing from a parameter pack. The only keys a pack may omit are fields
declared with :func:`optional_key`, each with the reason it may be left out (a feature that
is optional or off, a section used by another profile). Every error names the full key path
(``currency_pair.btc_usd.price_range``, ``assets[0].scenarios[0].weight``), including the
errors raised by a dataclass's own ``__post_init__`` checks, which name fields relative to
their object and are prefixed here with the object's path.

The building blocks are public so that a layout which is not a dataclass tree (a venue's own
parameter file, read key by key) is checked the same way: :func:`require_table`,
:func:`check_keys` (unknown and missing keys), :func:`parse_number` (ints, floats and
decimal strings) and :func:`key_path`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

from portmargin.core._errors import ValidationError

__all__ = [
    "OPTIONAL_KEY",
    "check_keys",
    "config_from_mapping",
    "config_to_mapping",
    "key_path",
    "optional_key",
    "parse_number",
    "require_table",
]

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
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    table = require_table(path or cls.__name__, data)
    check_keys(path, table, (), optional=fields)
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():  # in field order: a missing key or a bad value, first
        if name in table:
            kwargs[name] = _convert(hints[name], table[name], key_path(path, name))
        elif OPTIONAL_KEY not in f.metadata:
            raise _missing(path, name)
    try:
        return cls(**kwargs)
    except ValidationError as exc:
        if not path:
            raise
        raise type(exc)(key_path(path, exc.field), exc.value, exc.expected) from None


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


def key_path(path: str, key: str) -> str:
    """The dotted path of ``key`` inside the table at ``path`` (``""``: the document root)."""
    return f"{path}.{key}" if path else key


def require_table(path: str, value: object) -> Mapping[str, Any]:
    """Return ``value`` if it is a mapping (a table of keys), else raise.

    Raises
    ------
    ValidationError
        Naming ``path`` (``"<root>"`` for the document itself).
    """
    if not isinstance(value, Mapping):
        raise ValidationError(path or "<root>", value, "a table of keys")
    return value


def check_keys(
    path: str,
    table: Mapping[str, Any],
    required: Iterable[str],
    *,
    optional: Iterable[str] = (),
) -> None:
    """Reject an unknown key or a missing required key of the table at ``path``.

    Parameters
    ----------
    path
        Key path of ``table`` in the document (``""`` for the root).
    table
        The table read.
    required, optional
        Keys that must be present and keys that may be left out; any other key is unknown.

    Raises
    ------
    ValidationError
        ``field`` is the key path of the first unknown key (in sorted order, expected: one of
        the known keys), else of the first missing required key (in ``required`` order).
    """
    required = list(required)
    known = [*required, *optional]
    unknown = sorted((k for k in table if k not in known), key=str)
    if unknown:
        raise ValidationError(
            key_path(path, str(unknown[0])), table[unknown[0]], f"one of the keys {sorted(known)}"
        )
    for key in required:
        if key not in table:
            raise _missing(path, key)


def _missing(path: str, key: str) -> ValidationError:
    return ValidationError(key_path(path, key), None, "a value (required key missing)")


def parse_number(path: str, value: object) -> float:
    """A finite float from a parameter value: an int, a float or a decimal string.

    Decimal strings (``"0.800000000000000044"``) are read with ``float(str)``, so a value
    written with more digits than a float holds is rounded once, as a number literal would be.

    Raises
    ------
    ValidationError
        Naming ``path`` when ``value`` is a bool, another type, not a number or not finite.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(path, value, "a number")
    try:
        number = float(value)
    except ValueError:
        raise ValidationError(path, value, "a number") from None
    if not math.isfinite(number):
        raise ValidationError(path, value, "a finite number")
    return number


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
            {str(k): _convert(item, v, key_path(path, str(k))) for k, v in value.items()}
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
        return parse_number(path, value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(path, value, "a whole number")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ValidationError(path, value, "a string")
        return value
    return value
