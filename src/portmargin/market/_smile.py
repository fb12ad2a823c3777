"""Implied-vol smile of one expiry, interpolated in total variance over log-moneyness."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from portmargin.core import ValidationError, require_positive

__all__ = ["VolSmile", "check_epoch_ms", "check_strikes", "readonly_float_array"]

FloatArray = npt.NDArray[np.float64]


def check_epoch_ms(field: str, value: object) -> int:
    """Return ``value`` if it is an int epoch-millisecond timestamp > 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValidationError(field, value, "Unix epoch milliseconds as an int > 0")
    return int(value)


def readonly_float_array(field: str, values: npt.ArrayLike) -> FloatArray:
    """Copy ``values`` into a read-only float64 array; raise if not numeric."""
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(field, values, "an array of numbers") from None
    array.flags.writeable = False
    return array


def check_strikes(field: str, strikes: npt.ArrayLike) -> FloatArray:
    """Return ``strikes`` as a float64 array, or raise unless every value is finite and > 0."""
    array = np.asarray(strikes, dtype=np.float64)
    if not np.all(np.isfinite(array) & (array > 0)):
        raise ValidationError(field, strikes, "finite strikes > 0 (USD)")
    return array


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class VolSmile:
    """Implied vols of one expiry of one underlying, quoted at strikes.

    Between quoted strikes the total variance ``w = sigma**2 * T`` is linear in log-moneyness
    ``k = ln(K / F)``; since ``T`` is the same for every strike of the smile this is linear
    interpolation of ``sigma**2`` in ``k``. Beyond the lowest and highest strike the vol is
    flat (the wing vol is kept). Instances compare by identity.

    Attributes
    ----------
    expiry_ms
        Expiry, Unix epoch milliseconds UTC.
    forward
        Forward of the expiry (USD per coin) that defines the moneyness of the strikes; > 0.
    strikes
        Quoted strikes (USD), shape ``(n,)``, ``n >= 1``, strictly increasing, > 0; read-only.
    vols
        Implied vols as fractions (0.85, not 85), shape ``(n,)``, finite and >= 0; read-only.
    """

    expiry_ms: int
    forward: float
    strikes: FloatArray
    vols: FloatArray

    def __post_init__(self) -> None:
        object.__setattr__(self, "expiry_ms", check_epoch_ms("expiry_ms", self.expiry_ms))
        object.__setattr__(self, "forward", require_positive("forward", self.forward))
        strikes = readonly_float_array("strikes", self.strikes)
        vols = readonly_float_array("vols", self.vols)
        if strikes.ndim != 1 or strikes.size == 0:
            raise ValidationError("strikes", self.strikes, "a non-empty 1-D array")
        check_strikes("strikes", strikes)
        if np.any(np.diff(strikes) <= 0):
            raise ValidationError("strikes", self.strikes, "strictly increasing (sorted, unique)")
        if vols.shape != strikes.shape:
            raise ValidationError("vols", self.vols, f"shape {strikes.shape} like strikes")
        if not np.all(np.isfinite(vols) & (vols >= 0)):
            raise ValidationError("vols", self.vols, "finite vols >= 0 (fractions)")
        object.__setattr__(self, "strikes", strikes)
        object.__setattr__(self, "vols", vols)

    @property
    def log_moneyness(self) -> FloatArray:
        """``ln(strikes / forward)`` of the quoted strikes, shape ``(n,)``."""
        return np.log(self.strikes / self.forward)

    def vol(self, strikes: npt.ArrayLike) -> FloatArray:
        """Implied vol (fraction) at ``strikes`` (USD, finite, > 0); same shape as ``strikes``."""
        array = check_strikes("strikes", strikes)
        return self.vol_at_moneyness(np.log(array / self.forward))

    def vol_at_moneyness(self, log_moneyness: npt.ArrayLike) -> FloatArray:
        """Implied vol (fraction) at log-moneyness ``k = ln(K / F)``; same shape as the input.

        Parameters
        ----------
        log_moneyness
            Finite values, any shape.
        """
        k = np.asarray(log_moneyness, dtype=np.float64)
        if not np.all(np.isfinite(k)):
            raise ValidationError("log_moneyness", log_moneyness, "finite numbers")
        variance = np.interp(k, self.log_moneyness, self.vols * self.vols)
        return np.sqrt(variance)
