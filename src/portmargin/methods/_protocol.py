"""The protocol every margin methodology implements, and the registry of methods by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast, runtime_checkable

from portmargin.core import ValidationError
from portmargin.market import MarketSnapshot
from portmargin.methods._inputs import AccountInputs, InputSpec, check_inputs
from portmargin.results import MarginBatch
from portmargin.risk import Book

__all__ = [
    "MarginMethod",
    "MethodParams",
    "compute_with_inputs",
    "get_method",
    "method_names",
    "register",
]


@runtime_checkable
class MethodParams(Protocol):
    """What every parameter type offers: a version string recorded in results and the
    currencies the pack covers."""

    @property
    def version(self) -> str:
        """Version of the parameter pack (e.g. ``"2024-06-17"``)."""
        ...

    def coverage(self) -> dict[str, tuple[str, ...]]:
        """Currencies the pack covers, by kind (``"underlyings"``, ``"settlement"``, ...),
        upper-case codes; ``"*"`` means any other code (a catch-all or default entry)."""
        ...


class MarginMethod(Protocol):
    """A margin methodology.

    Attributes
    ----------
    name
        Registry name (``"deribit-pm"``).
    description
        One line for listings.
    default_pack
        Name of the bundled parameter pack used when none is given
        (``"deribit-pm/2024-06-17"`` → ``params/deribit-pm/2024-06-17.toml``).
    account_inputs
        Per-account inputs the method takes besides positions and market (empty for most).
        A method that declares some accepts them in ``compute`` as the keyword ``inputs``
        (:class:`~portmargin.methods.AccountInputs`, validated against these declarations);
        an account without a value gets the input's default.
    """

    name: str
    description: str
    default_pack: str
    account_inputs: tuple[InputSpec, ...]

    def params_from_mapping(self, data: Mapping[str, Any]) -> MethodParams:
        """Parameters from a plain mapping (a parsed TOML pack); unknown keys are an error."""
        ...

    def compute(self, book: Book, market: MarketSnapshot, params: Any) -> MarginBatch:
        """Margin of every account of ``book``.

        Accounts that cannot be computed (instruments missing from the market, unsupported
        products) are reported in ``MarginBatch.errors``; the others are computed.
        """
        ...


class _TakesInputs(Protocol):
    def compute(
        self, book: Book, market: MarketSnapshot, params: Any, *, inputs: AccountInputs
    ) -> MarginBatch: ...


def compute_with_inputs(
    method: MarginMethod,
    book: Book,
    market: MarketSnapshot,
    params: Any,
    inputs: AccountInputs,
) -> MarginBatch:
    """``method.compute``, given ``inputs`` when the method declares per-account inputs.

    Raises
    ------
    ValidationError
        If ``inputs`` holds an input the method does not declare.
    """
    check_inputs(method.name, method.account_inputs, inputs)
    if not method.account_inputs:
        return method.compute(book, market, params)
    return cast(_TakesInputs, method).compute(book, market, params, inputs=inputs)


_REGISTRY: dict[str, MarginMethod] = {}


def register(method: MarginMethod) -> MarginMethod:
    """Add ``method`` to the registry under ``method.name`` (names are unique)."""
    if method.name in _REGISTRY and _REGISTRY[method.name] is not method:
        raise ValidationError("name", method.name, "a method name not registered yet")
    _REGISTRY[method.name] = method
    return method


def get_method(name: str) -> MarginMethod:
    """The registered method called ``name``.

    Raises
    ------
    ValidationError
        If no such method is registered; the message lists the registered names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValidationError("method", name, f"one of {sorted(_REGISTRY)}") from None


def method_names() -> tuple[str, ...]:
    """Registered method names, in registration order."""
    return tuple(_REGISTRY)
