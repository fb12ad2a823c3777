"""Implied-vol smile of one expiry, interpolated in total variance over log-moneyness."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from portmargin.core import ValidationError, require_epoch_ms, require_positive

__all__ = ["VolSmile", "check_strikes", "readonly_float_array"]

FloatArray = npt.NDArray[np.float64]


def _float_array(field: str, values: npt.ArrayLike) -> FloatArray:
    """``values`` as a float64 array (no copy when it already is one); raise if not numeric."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(field, values, "an array of numbers") from None


def _require(field: str, array: FloatArray, ok: npt.NDArray[np.bool_], expected: str) -> None:
    """Raise naming the first element of ``array`` where ``ok`` is False, if any."""
    if not ok.all():
        raise ValidationError(field, float(array[~ok].flat[0]), expected)


def readonly_float_array(field: str, values: npt.ArrayLike) -> FloatArray:
    """Copy ``values`` into a read-only float64 array; raise if not numeric."""
    array = np.array(_float_array(field, values))
    array.flags.writeable = False
    return array


def check_strikes(field: str, strikes: npt.ArrayLike) -> FloatArray:
    """Return ``strikes`` as a float64 array, or raise unless every value is finite and > 0.

    The error names ``field`` and the first offending strike.
    """
    array = _float_array(field, strikes)
    _require(field, array, np.isfinite(array) & (array > 0), "finite strikes > 0 (USD)")
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
        object.__setattr__(self, "expiry_ms", require_epoch_ms("expiry_ms", self.expiry_ms))
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
        _require("vols", vols, np.isfinite(vols) & (vols >= 0), "finite vols >= 0 (fractions)")
        object.__setattr__(self, "strikes", strikes)
        object.__setattr__(self, "vols", vols)

    @property
    def log_moneyness(self) -> FloatArray:
        """``ln(strikes / forward)`` of the quoted strikes, shape ``(n,)``."""
        return np.log(self.strikes / self.forward)

    def vol(self, strikes: npt.ArrayLike) -> FloatArray:
        """Implied vol (fraction) at ``strikes`` (USD, finite, > 0); same shape as ``strikes``."""
        return self._vol(np.log(check_strikes("strikes", strikes) / self.forward))

    def vol_at_moneyness(self, log_moneyness: npt.ArrayLike) -> FloatArray:
        """Implied vol (fraction) at log-moneyness ``k = ln(K / F)``; same shape as the input.

        Parameters
        ----------
        log_moneyness
            Finite values, any shape.
        """
        k = _float_array("log_moneyness", log_moneyness)
        _require("log_moneyness", k, np.isfinite(k), "finite numbers")
        return self._vol(k)

    def _vol(self, k: FloatArray) -> FloatArray:
        """:meth:`vol_at_moneyness` of already checked (finite) log-moneyness ``k``."""
        return np.sqrt(np.interp(k, self.log_moneyness, self.vols * self.vols))
