"""Options of one base asset grouped by expiry: the arrays the PMRM_2 scenario engine prices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from portmargin.core import SECONDS_PER_YEAR
from portmargin.methods.derive_pm2._checks import BoolArray, FloatArray

__all__ = ["FORWARD_SPLIT_SECONDS", "Chain", "IntArray", "expiry_terms", "forward_split"]

IntArray = npt.NDArray[np.intp]

FORWARD_SPLIT_SECONDS = 1800.0
"""Below this time to expiry (s) the forward is split into a fixed and a spot-driven part."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Chain:
    """Column arrays of options and their expiries (USD, years, fractions).

    Per option ``(n_o,)``: ``expiry_index`` (into the expiry arrays), ``strike`` (USD),
    ``is_call``, ``vol`` (fraction). Per expiry ``(n_e,)``, sorted by time to expiry:
    ``seconds``, ``tau`` (years), ``rate`` (floored at 0), ``discount`` (``exp(-rate·tau)``),
    ``fixed`` and ``variable`` (forward portions, USD: ``F(s) = variable·s + fixed``).
    """

    expiry_index: IntArray
    strike: FloatArray
    is_call: BoolArray
    vol: FloatArray
    seconds: FloatArray
    tau: FloatArray
    rate: FloatArray
    discount: FloatArray
    fixed: FloatArray
    variable: FloatArray


def expiry_terms(
    seconds: FloatArray, rate: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(tau, floored rate, discount)`` per expiry, shapes ``(n_e,)``.

    ``tau = seconds / 31 536 000`` (years), the annual continuously compounded ``rate`` is
    floored at 0, ``discount = exp(-rate·tau)``.
    """
    tau = seconds / SECONDS_PER_YEAR
    floored = np.maximum(rate, 0.0)
    return tau, floored, np.exp(-floored * tau)


def forward_split(forward: FloatArray, seconds: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The venue's ``(fixed, variable)`` forward portions, USD, elementwise.

    ``fixed = F·(1800 - t)/1800`` and ``variable = F·t/1800`` for ``t < 1800`` s; otherwise
    ``fixed = 0`` and ``variable = F``. An expired expiry (``t = 0``) is fully fixed.
    """
    short = seconds < FORWARD_SPLIT_SECONDS
    fixed = np.where(
        short, forward * (FORWARD_SPLIT_SECONDS - seconds) / FORWARD_SPLIT_SECONDS, 0.0
    )
    variable = np.where(short, forward * seconds / FORWARD_SPLIT_SECONDS, forward)
    return fixed, variable
