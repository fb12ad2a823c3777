"""Execution-price models of the liquidation engine (``lifecycle.md`` §6, §9): the fraction
``s`` a slice trades away from the mark (sells at ``mark (1 - s)``, buys at ``mark (1 + s)``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from portmargin.core import ValidationError

__all__ = ["MAX_SLIPPAGE", "FixedSlippage", "LinearImpact", "Slippage", "SqrtImpact"]

MAX_SLIPPAGE = 0.99
"""Impact models are capped at this fraction of the mark (a price stays > 0)."""


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


def _positive_map(name: str, values: Mapping[str, float]) -> Mapping[str, float]:
    for key, value in values.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ValidationError(f"{name}[{key!r}]", value, "a finite number > 0")
    return MappingProxyType({k: float(v) for k, v in values.items()})


def _lookup(
    values: Mapping[str, float], underlyings: Sequence[str], field_name: str
) -> NDArray[np.float64]:
    missing = sorted({u for u in underlyings if u not in values})
    if missing:
        raise ValidationError(field_name, sorted(values), f"a value for {missing}")
    return np.array([values[u] for u in underlyings], dtype=np.float64)


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
class LinearImpact:
    """Linear impact (§9): a slice of notional ``Q`` moves the price by ``I = 0.01 Q / D_1pct``
    and trades on average at ``I / 2`` from the mark, ``s = min(0.005 Q / D_1pct, 0.99)``.

    Attributes
    ----------
    depth_1pct_usd
        Underlying → USD notional that moves its price by 1 %, > 0.
    """

    depth_1pct_usd: Mapping[str, float]

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "depth_1pct_usd", _positive_map("depth_1pct_usd", self.depth_1pct_usd)
        )

    def rates(
        self,
        names: Sequence[str],
        underlyings: Sequence[str],
        notional_usd: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """Fraction of each slice (see :class:`Slippage`)."""
        depth = _lookup(self.depth_1pct_usd, underlyings, "depth_1pct_usd")
        result: NDArray[np.float64] = np.minimum(
            0.005 * np.asarray(notional_usd, dtype=np.float64) / depth, MAX_SLIPPAGE
        )
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class SqrtImpact:
    """Square-root impact (§9): ``I = Y sigma_d sqrt(Q / V)``, average execution ``2 I / 3``
    from the mark, ``s = min(2 I / 3, 0.99)``.

    Attributes
    ----------
    daily_vol
        Underlying → daily volatility ``sigma_d`` (fraction), > 0.
    daily_volume_usd
        Underlying → daily depth ``V``, USD, > 0.
    coefficient
        ``Y``, > 0 (default 1).
    """

    daily_vol: Mapping[str, float]
    daily_volume_usd: Mapping[str, float]
    coefficient: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "daily_vol", _positive_map("daily_vol", self.daily_vol))
        object.__setattr__(
            self, "daily_volume_usd", _positive_map("daily_volume_usd", self.daily_volume_usd)
        )
        _positive_map("coefficient", {"Y": self.coefficient})

    def rates(
        self,
        names: Sequence[str],
        underlyings: Sequence[str],
        notional_usd: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """Fraction of each slice (see :class:`Slippage`)."""
        vol = _lookup(self.daily_vol, underlyings, "daily_vol")
        volume = _lookup(self.daily_volume_usd, underlyings, "daily_volume_usd")
        impact = (
            self.coefficient * vol * np.sqrt(np.asarray(notional_usd, dtype=np.float64) / volume)
        )
        result: NDArray[np.float64] = np.minimum(2.0 * impact / 3.0, MAX_SLIPPAGE)
        return result
