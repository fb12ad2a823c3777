"""Requirement models named by text, as the cascade's command line and service take them:
a registered method name, ``rates:MM/IM`` or ``ewma`` / ``ewma:K/FLOOR/CAP``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from portmargin.core import ValidationError
from portmargin.lifecycle._ewma_rates import EwmaRates
from portmargin.lifecycle._requirements import Margining, NotionalRates
from portmargin.market import MarketSnapshot

__all__ = [
    "DEFAULT_DEPTH_1PCT",
    "DEFAULT_FUND",
    "EWMA_DEFAULT",
    "is_ewma",
    "requirement_model",
]

DEFAULT_DEPTH_1PCT = 10_000_000.0
"""USD that move a price 1 % in a cascade run unless given (``lifecycle.md`` §10.3)."""
DEFAULT_FUND = 1_000_000.0
"""Insurance fund at the start of a cascade run unless given, USD (``lifecycle.md`` §10.3)."""

EWMA_DEFAULT = (3.0, 0.08, 0.40)
"""``(K, FLOOR, CAP)`` of ``ewma`` without arguments (``lifecycle.md`` §10.3, method C)."""


def is_ewma(text: str) -> bool:
    """Whether ``text`` names the EWMA rates model (which needs daily volatilities)."""
    return text.partition(":")[0].strip().lower() == "ewma"


def requirement_model(
    text: str,
    market: MarketSnapshot,
    *,
    sigmas: Callable[[], Mapping[str, float]],
    method: Callable[[str], Margining],
    field: str,
) -> Margining:
    """The requirement model ``text`` names.

    Parameters
    ----------
    text
        ``rates:MM/IM`` (flat rates on notional for every underlying of ``market``; one rate
        ``rates:X`` is both), ``ewma`` or ``ewma:K/FLOOR/CAP`` (:class:`EwmaRates` from the
        volatilities of ``sigmas``), otherwise a method name passed to ``method``.
    market
        The market at the start: its underlyings and index prices ``S_0`` (USD).
    sigmas
        Called for ``ewma`` only: underlying → daily volatility before the move (fraction).
    method
        Margining of a registered method name (raises for an unknown one).
    field
        Name of the input in errors, e.g. ``--method``.

    Raises
    ------
    ValidationError
        A rates or EWMA spec whose numbers do not parse or are out of range.
    """
    kind, _, args = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind == "rates":
        mm_text, sep, im_text = args.partition("/")
        try:
            mm, im = float(mm_text), float(im_text if sep else mm_text)
        except ValueError:
            raise ValidationError(field, text, "rates:MM/IM, e.g. rates:0.04/0.05") from None
        underlyings = sorted(market.index_prices)
        return NotionalRates(
            mm_rates=dict.fromkeys(underlyings, mm), im_rates=dict.fromkeys(underlyings, im)
        )
    if kind == "ewma":
        parts = [p for p in args.split("/") if p.strip()]
        try:
            k, floor, cap = (float(p) for p in parts) if parts else EWMA_DEFAULT
        except ValueError:
            expected = "ewma or ewma:K/FLOOR/CAP, e.g. ewma:3/0.08/0.4"
            raise ValidationError(field, text, expected) from None
        sigma0 = dict(sigmas())
        return EwmaRates(
            sigma0=sigma0,
            reference={u: market.index(u) for u in sigma0},
            multiplier=k,
            floor=floor,
            cap=cap,
        )
    return method(text.strip())
