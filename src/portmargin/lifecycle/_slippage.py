"""Execution-price models of the liquidation engine (``lifecycle.md`` §6, §9): the fraction
``s`` a slice trades away from the mark (sells at ``mark (1 - s)``, buys at ``mark (1 + s)``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError
from portmargin.lifecycle._impact import PriceImpact

__all__ = ["MAX_SLIPPAGE", "FixedSlippage", "ImpactSlippage", "Slippage"]

MAX_SLIPPAGE = 0.99
"""Impact slippage is capped at this fraction of the mark (a price stays > 0)."""


class Slippage(Protocol):
    """Anything that gives the slippage fraction of liquidation slices."""

    def rates(
        self,
        names: Sequence[str],
        underlyings: Sequence[str],
        notional_usd: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """Slippage ``s`` in ``[0, 1)`` of each slice, shape ``(k,)``.

        Parameters
        ----------
        names, underlyings
            Instrument name and underlying coin of each slice, length ``k``.
        notional_usd
            USD notional of each slice, >= 0, shape ``(k,)``.
        """
        ...


def _fraction(name: str, value: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < high:
        raise ValidationError(name, value, f"a fraction in [0, {high:g})")
    return float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedSlippage:
    """A fixed fraction per instrument (e.g. its half-spread), whatever the slice size.

    Attributes
    ----------
    rates_by_key
        Instrument name or underlying coin → slippage fraction in ``[0, 1)``; an instrument's
        own name is looked up first, then its underlying.
    default
        Fraction for instruments matched by neither, in ``[0, 1)`` (default 0).
    """

    rates_by_key: Mapping[str, float]
    default: float = 0.0

    def __post_init__(self) -> None:
        for key, value in self.rates_by_key.items():
            _fraction(f"rates_by_key[{key!r}]", value, 1.0)
        object.__setattr__(
            self,
            "rates_by_key",
            MappingProxyType({k: float(v) for k, v in self.rates_by_key.items()}),
        )
        object.__setattr__(self, "default", _fraction("default", self.default, 1.0))

    def rates(
        self,
        names: Sequence[str],
        underlyings: Sequence[str],
        notional_usd: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """Fraction of each slice (see :class:`Slippage`)."""
        table = self.rates_by_key
        return np.array(
            [
                table.get(n, table.get(u, self.default))
                for n, u in zip(names, underlyings, strict=True)
            ],
            dtype=np.float64,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ImpactSlippage:
    """Slippage from the price impact of each slice on its own (§9 models): a slice of
    notional ``Q`` moves the price by ``I(Q)`` and trades on average ``execution_share I``
    from the mark (linear ``I/2``, square root ``2I/3``), ``s = min(execution_share |I|,
    0.99)``.

    Attributes
    ----------
    impact
        Underlying → :class:`~portmargin.lifecycle.PriceImpact` model (e.g.
        :class:`~portmargin.lifecycle.LinearImpact`).
    """

    impact: Mapping[str, PriceImpact]

    def __post_init__(self) -> None:
        for u, model in self.impact.items():
            if not (hasattr(model, "impact") and hasattr(model, "execution_share")):
                raise ValidationError(f"impact[{u!r}]", model, "a PriceImpact model")
        object.__setattr__(self, "impact", MappingProxyType(dict(self.impact)))

    def rates(
        self,
        names: Sequence[str],
        underlyings: Sequence[str],
        notional_usd: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """Fraction of each slice (see :class:`Slippage`)."""
        missing = sorted({u for u in underlyings if u not in self.impact})
        if missing:
            raise ValidationError("impact", sorted(self.impact), f"a model for {missing}")
        notional = np.asarray(notional_usd, dtype=np.float64)
        share = np.array(
            [
                self.impact[u].execution_share * abs(self.impact[u].impact(float(q)))
                for u, q in zip(underlyings, notional.tolist(), strict=True)
            ],
            dtype=np.float64,
        )
        result: NDArray[np.float64] = np.minimum(share, MAX_SLIPPAGE)
        return result
