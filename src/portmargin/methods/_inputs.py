"""Per-account inputs a method declares: values that come from neither the positions nor the
market, such as margin parts the venue computes itself (open orders, MMP) or an account's
borrowing.

A method lists its inputs as :class:`InputSpec` entries in ``account_inputs``; a caller passes
values as :class:`AccountInputs`, built and validated against those declarations. An account
an input does not name gets the input's default.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import numpy as np

from portmargin.core import ValidationError, require_non_empty

__all__ = [
    "NO_INPUTS",
    "AccountInputs",
    "InputKey",
    "InputSpec",
    "InputValue",
    "check_inputs",
]

InputValue = float | str
"""A number (float) for a numeric input, the chosen text for an input with choices."""

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_BOOLS = (bool, np.bool_)


class InputKey(StrEnum):
    """What one value of an input belongs to.

    ``ACCOUNT``: one value per account. ``ACCOUNT_GROUP``: one value per account and group
    (the method's aggregation unit, e.g. Deribit's ``"btc_btc"``; the spec says which).
    """

    ACCOUNT = "account"
    ACCOUNT_GROUP = "account+group"


@dataclass(frozen=True, slots=True, kw_only=True)
class InputSpec:
    """Declaration of one per-account input of a method.

    Attributes
    ----------
    name
        Identifier, lower case with underscores (``"borrowing"``).
    description
        What the value is, for listings and ``--help``.
    default
        What an account gets when no value is given, as text (``"0"``, ``"the pack's
        assumptions.open_orders_margin"``).
    unit
        Unit of a numeric value (``"USD"``, ``"settlement currency of the group"``); empty for
        an input with choices.
    per
        What one value belongs to (:class:`InputKey`).
    group
        With ``per = ACCOUNT_GROUP``: what the group key is and how it is written.
    choices
        Accepted text values; empty for a numeric input (a finite number ``>= minimum``).
    minimum
        Smallest accepted number (numeric inputs).
    """

    name: str
    description: str
    default: str
    unit: str = ""
    per: InputKey = InputKey.ACCOUNT
    group: str = ""
    choices: tuple[str, ...] = ()
    minimum: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValidationError("name", self.name, "lower case letters, digits and '_'")
        require_non_empty("description", self.description)
        require_non_empty("default", self.default)
        object.__setattr__(self, "per", InputKey(self.per))
        if (self.per is InputKey.ACCOUNT_GROUP) != bool(self.group):
            raise ValidationError(
                "group", self.group, "a description exactly when per = 'account+group'"
            )
        if not math.isfinite(self.minimum):
            raise ValidationError("minimum", self.minimum, "a finite number")
        if self.choices and not all(isinstance(c, str) and c for c in self.choices):
            raise ValidationError("choices", self.choices, "non-empty strings")

    @property
    def expected(self) -> str:
        """What a valid value looks like, for error messages."""
        if self.choices:
            return "one of " + ", ".join(map(repr, self.choices))
        unit = f" ({self.unit})" if self.unit else ""
        return f"a finite number >= {self.minimum:g}{unit}"

    def parse(self, where: str, raw: object) -> InputValue:
        """``raw`` (a number, or text as read from a file or the command line) as this input's
        value.

        Raises
        ------
        ValidationError
            Naming ``where`` (e.g. ``"borrowing['a']"``) and the value, if it is not valid.
        """
        if self.choices:
            text = raw.strip() if isinstance(raw, str) else raw
            if text not in self.choices:
                raise ValidationError(where, raw, self.expected)
            return str(text)
        value = _number(raw)
        if not (math.isfinite(value) and value >= self.minimum):
            raise ValidationError(where, raw, self.expected)
        return value

    def to_dict(self) -> dict[str, Any]:
        """The declaration as JSON-ready data."""
        return {
            "name": self.name,
            "description": self.description,
            "default": self.default,
            "unit": self.unit,
            "per": str(self.per),
            "group": self.group,
            "choices": list(self.choices),
            "minimum": None if self.choices else self.minimum,
        }


def _number(raw: object) -> float:
    """``raw`` as a float; NaN when it is neither a real number (bools excluded) nor text
    holding one."""
    if isinstance(raw, _BOOLS):
        return math.nan
    if isinstance(raw, numbers.Real):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw.strip())
        except ValueError:
            return math.nan
    return math.nan


Key = tuple[str, str]
"""``(account, group)``; the group is ``""`` for an input given per account."""


def _where(name: str, key: Key) -> str:
    account, group = key
    return f"{name}[{account!r}, {group!r}]" if group else f"{name}[{account!r}]"


@dataclass(frozen=True, slots=True)
class AccountInputs:
    """Validated values of per-account inputs.

    Build with :meth:`build` or :meth:`of`, which check every name, key and value against the
    method's declarations.

    Attributes
    ----------
    values
        Input name → ``(account, group)`` → value; the group is ``""`` for inputs given per
        account.
    """

    values: Mapping[str, Mapping[Key, InputValue]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def build(
        cls,
        specs: Iterable[InputSpec],
        records: Iterable[tuple[str, str, str, object]],
    ) -> AccountInputs:
        """Inputs from ``(account, group, name, raw value)`` records (group ``""`` for inputs
        given per account).

        Raises
        ------
        ValidationError
            For a name the declarations do not have (the message lists those they have), a
            group given to an input per account or missing for one per account and group,
            an empty account, a value that is not valid, or a value given twice.
        """
        declared = {s.name: s for s in specs}
        values: dict[str, dict[Key, InputValue]] = {}
        for account, group, name, raw in records:
            spec = declared.get(name)
            if spec is None:
                expected = f"one of {sorted(declared)}" if declared else "no input (none declared)"
                raise ValidationError("input", name, expected)
            if not isinstance(account, str) or not account:
                raise ValidationError(f"{name}: account", account, "a non-empty account id")
            key = (account, group)
            if spec.per is InputKey.ACCOUNT_GROUP and not group:
                raise ValidationError(_where(name, key), raw, f"a group as well: {spec.group}")
            if spec.per is InputKey.ACCOUNT and group:
                raise ValidationError(_where(name, key), raw, "no group (one value per account)")
            mine = values.setdefault(name, {})
            if key in mine:
                raise ValidationError(_where(name, key), raw, "one value (given twice)")
            mine[key] = spec.parse(_where(name, key), raw)
        return cls(MappingProxyType({n: MappingProxyType(v) for n, v in values.items()}))

    @classmethod
    def of(cls, specs: Iterable[InputSpec], **by_name: Mapping[Any, object]) -> AccountInputs:
        """Inputs from keyword mappings: ``account → value`` for inputs per account,
        ``(account, group) → value`` for inputs per account and group, e.g.
        ``AccountInputs.of(OkxPM.account_inputs, borrowing={"a": 1_000.0})``."""
        return cls.build(
            specs,
            (
                (*(key if isinstance(key, tuple) else (key, "")), name, value)
                for name, mapping in by_name.items()
                for key, value in mapping.items()
            ),
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the inputs given."""
        return tuple(self.values)

    def get(self, name: str) -> Mapping[Key, InputValue]:
        """Values of input ``name`` (empty when it is not given)."""
        return self.values.get(name, MappingProxyType({}))

    def per_account(self, name: str) -> dict[str, InputValue]:
        """Values of an input given per account, by account."""
        return {account: value for (account, _), value in self.get(name).items()}

    def accounts(self) -> frozenset[str]:
        """Every account some input names."""
        return frozenset(a for v in self.values.values() for a, _ in v)

    def restrict(self, names: Iterable[str]) -> AccountInputs:
        """Only the inputs called ``names`` (those given)."""
        keep = set(names)
        return AccountInputs(MappingProxyType({n: v for n, v in self.values.items() if n in keep}))

    def select(self, accounts: Iterable[str]) -> AccountInputs:
        """Only the values of ``accounts``."""
        keep = set(accounts)
        values = {
            n: MappingProxyType({k: x for k, x in v.items() if k[0] in keep})
            for n, v in self.values.items()
        }
        return AccountInputs(MappingProxyType({n: v for n, v in values.items() if v}))

    def with_copies(self, copies: Mapping[str, str]) -> AccountInputs:
        """These inputs, plus the values of each account ``a`` of ``copies`` given again to
        account ``copies[a]``."""
        values = {
            n: MappingProxyType(
                {**v, **{(copies[k[0]], k[1]): x for k, x in v.items() if k[0] in copies}}
            )
            for n, v in self.values.items()
        }
        return AccountInputs(MappingProxyType(values))

    def merged(self, other: AccountInputs) -> AccountInputs:
        """These inputs with each value ``other`` gives (same input, account and group)
        taking the place of this one's."""
        values = {n: dict(v) for n, v in self.values.items()}
        for n, v in other.values.items():
            values.setdefault(n, {}).update(v)
        return AccountInputs(MappingProxyType({n: MappingProxyType(v) for n, v in values.items()}))

    def replace_accounts(self, other: AccountInputs) -> AccountInputs:
        """These inputs with every value of the accounts ``other`` names replaced by
        ``other``'s (an input ``other`` does not give them falls back to its default)."""
        gone = other.accounts()
        values: dict[str, dict[Key, InputValue]] = {
            n: {k: x for k, x in v.items() if k[0] not in gone} for n, v in self.values.items()
        }
        for n, v in other.values.items():
            values.setdefault(n, {}).update(v)
        return AccountInputs(
            MappingProxyType({n: MappingProxyType(v) for n, v in values.items() if v})
        )

    def __bool__(self) -> bool:
        return any(self.values.values())

    def __len__(self) -> int:
        """Number of values."""
        return sum(len(v) for v in self.values.values())


NO_INPUTS = AccountInputs()
"""No per-account input: every account gets the defaults."""


def check_inputs(method_name: str, specs: Iterable[InputSpec], inputs: AccountInputs) -> None:
    """Refuse inputs a method does not declare.

    Raises
    ------
    ValidationError
        Naming the first undeclared input and listing the declared ones.
    """
    declared = {s.name for s in specs}
    for name in inputs.names:
        if name not in declared:
            expected = (
                f"an input {method_name} declares: {sorted(declared)}"
                if declared
                else f"no input ({method_name} declares none)"
            )
            raise ValidationError("input", name, expected)
