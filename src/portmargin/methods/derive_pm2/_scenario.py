"""One PMRM_2 scenario record as the venue contract holds it: ``(s, dir, d)``.

:class:`DeriveScenario` is parameter data, the row of ``PMRM_2.sol`` ``setScenarios`` that a
pack or a venue ``Parameters`` file lists, with the contract's checks (``s, d >= 0``; a skew
direction only with ``s = 1``). The engine does not read it directly: it reads the shared
:class:`~portmargin.scenarios.ScenarioSet` that
:func:`~portmargin.methods.derive_pm2.pmrm2_scenarios` builds from the list (spot move
``s - 1``, vol shock and up state under a shared :class:`~portmargin.scenarios.VolShockLaw`
evaluated in seconds, :class:`~portmargin.scenarios.SkewShockLaw` for ``Linear`` / ``Abs``,
weight ``d``, the -100 % move admitted). What stays venue-specific, and why:

- the option forwards use the multiplier ``s`` itself (``variable·s + fixed``), not
  ``1 + (s - 1)``: below ``s = 0.5`` the move does not hold ``s`` to the last bit (the mainnet
  pack's ``0.34`` would become ``0.33999999999999997``);
- a skew scenario charges ``-|P&L|`` per expiry: a P&L rule of the method, not a market move
  (the shared set marks the scenario by its skew law; the method applies the rule);
- the dampening (the shared weight) multiplies each expiry's P&L before the expiries are
  summed and before ``-|·|``, as the contract does, rather than the account's total P&L in
  :func:`~portmargin.risk.worst_loss` (equal in value, not in the last bits);
- the static discount by sign of each shocked expiry value is a pricing rule of the venue
  (:func:`~portmargin.methods.derive_pm2._scenarios.expiry_pnl`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from portmargin.core import ValidationError, require_non_negative

__all__ = ["DeriveScenario", "DeriveVolShock"]


class DeriveVolShock(StrEnum):
    """Vol-shock direction of a scenario.

    ``UP`` / ``DOWN`` scale every vol of an expiry by the expiry's up / down multiplier (``UP``
    is floored at ``min_vol_up_shock``); ``NONE`` keeps the vols; ``LINEAR`` / ``ABS`` are the
    skew scenarios: vols are tilted by log-moneyness (linearly or by its absolute value), the
    forward is not shocked and each expiry contributes ``-|P&L|``.
    """

    UP = "Up"
    DOWN = "Down"
    NONE = "None"
    LINEAR = "Linear"
    ABS = "Abs"

    @property
    def is_skew(self) -> bool:
        """True for the skew directions ``LINEAR`` and ``ABS``."""
        return self in (DeriveVolShock.LINEAR, DeriveVolShock.ABS)

    @classmethod
    def parse(cls, text: str) -> DeriveVolShock:
        """Parse a direction name, case-insensitively (``"Up"``, ``"LINEAR"``, ``"abs"``, ...).

        Raises
        ------
        ValidationError
            If ``text`` is not one of the five direction names.
        """
        if isinstance(text, str):
            for member in cls:
                if member.value.lower() == text.strip().lower():
                    return member
        names = ", ".join(repr(m.value) for m in cls)
        raise ValidationError("vol_shock", text, f"one of {names} (any case)")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveScenario:
    """A PMRM_2 scenario ``(s, dir, d)``.

    Attributes
    ----------
    spot_shock
        Spot multiplier ``s`` (>= 0, a ``uint`` in the venue contract; 1.18 is a +18 %
        move). Forwards move as ``F_e(s) = var_e·s + fixed_e``; the perp and
        risk-cancelling collateral by ``s - 1``.
        A skew scenario (``LINEAR`` / ``ABS``) must have ``s = 1``: its option values are
        taken at the unshocked forward, so a spot move would shock the perp and collateral
        alone. Such a set-up is rejected with :class:`ValidationError`.
    vol_shock
        Vol-shock direction.
    dampening
        Dampening factor ``d`` (>= 0) multiplying the scenario's P&L (1 for the regular grid,
        small values for the tail moves).
    """

    spot_shock: float
    vol_shock: DeriveVolShock
    dampening: float = 1.0

    def __post_init__(self) -> None:
        spot = require_non_negative("spot_shock", self.spot_shock)
        damp = require_non_negative("dampening", self.dampening)
        if not isinstance(self.vol_shock, DeriveVolShock):
            raise ValidationError(
                "vol_shock", self.vol_shock, "a DeriveVolShock (Up, Down, None, Linear, Abs)"
            )
        if self.vol_shock.is_skew and spot != 1.0:
            raise ValidationError(
                "spot_shock",
                self.spot_shock,
                f"1 for a skew ({self.vol_shock.value}) scenario: skew scenarios price the "
                "options at the unshocked forward, so a spot shock would move only the perp "
                "and the collateral (invalid parameter set-up)",
            )
        object.__setattr__(self, "spot_shock", spot)
        object.__setattr__(self, "dampening", damp)

    @property
    def label(self) -> str:
        """Short human-readable name, e.g. ``"+18% Up"``, ``"-66% Up x0.0545"``, ``"Linear skew"``.

        The move is printed in percent of spot (``s - 1``) and the dampening factor only when it
        is not 1. Labels are descriptive, not unique; the position in the list identifies a
        scenario.
        """
        if self.vol_shock.is_skew:
            text = f"{self.vol_shock.value} skew"
        else:
            move = (self.spot_shock - 1.0) * 100.0
            move_text = "0%" if abs(move) < 1e-9 else f"{move:+.6g}%"
            text = f"{move_text} {self.vol_shock.value}"
        if self.dampening != 1.0:
            text += f" x{self.dampening:.6g}"
        return text
