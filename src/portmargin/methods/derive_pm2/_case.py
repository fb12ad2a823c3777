"""A Derive PMRM_2 conformance case: typed inputs plus the venue's expected results."""

from __future__ import annotations

from dataclasses import dataclass

from portmargin.core import ValidationError, require_finite, require_non_empty
from portmargin.methods.derive_pm2._inputs import DeriveMarket, DerivePortfolio
from portmargin.methods.derive_pm2._params import DeriveParams

__all__ = ["DeriveCase", "DeriveExpected"]


def _floats(name: str, values: object) -> tuple[float, ...]:
    if not isinstance(values, tuple | list):
        raise ValidationError(name, values, "a sequence of numbers")
    return tuple(require_finite(f"{name}[{i}]", v) for i, v in enumerate(values))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveExpected:
    """Reference results of a case (USD).

    Attributes
    ----------
    im, mm
        Expected net IM and MM.
    reg_losses, tail_losses, skew_losses
        Expected scenario P&Ls (> 0 a gain) of the regular, tail and skew groups; together,
        in this order, they map positionally onto ``DeriveParams.scenarios``.
    option_mtm, collateral_mtm
        Optional expected ``Σ MtM_e`` and ``Σ v_j``.
    """

    im: float
    mm: float
    reg_losses: tuple[float, ...] = ()
    tail_losses: tuple[float, ...] = ()
    skew_losses: tuple[float, ...] = ()
    option_mtm: float | None = None
    collateral_mtm: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "im", require_finite("im", self.im))
        object.__setattr__(self, "mm", require_finite("mm", self.mm))
        for name in ("reg_losses", "tail_losses", "skew_losses"):
            object.__setattr__(self, name, _floats(name, getattr(self, name)))
        for name in ("option_mtm", "collateral_mtm"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, require_finite(name, value))

    @property
    def scenario_pnls(self) -> tuple[float, ...]:
        """``reg_losses + tail_losses + skew_losses`` (positional scenario order)."""
        return self.reg_losses + self.tail_losses + self.skew_losses

    def scenario_names(self) -> tuple[str, ...]:
        """Names of the expected P&Ls: ``"reg_losses[0]"``, ..., ``"skew_losses[1]"``."""
        return tuple(
            f"{group}[{i}]"
            for group, values in (
                ("reg_losses", self.reg_losses),
                ("tail_losses", self.tail_losses),
                ("skew_losses", self.skew_losses),
            )
            for i in range(len(values))
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveCase:
    """One conformance case.

    A case whose inputs or parameter set violate a rule of the method (a value out of range, a
    skew scenario with a spot shock, ...) is still a case: ``rejection`` holds the reason and
    ``portfolio`` / ``market`` / ``params`` may be None. Otherwise ``rejection`` is None and
    all three are set.

    Attributes
    ----------
    name
        Case name (the file stem, e.g. ``"test_12_risk_cancelling_naked_short_call"``).
    source
        Where the case was read from (a path), for messages.
    expected
        The venue's reference results.
    portfolio, market, params
        Typed inputs.
    rejection
        Validation message when the inputs were rejected, else None.
    """

    name: str
    source: str
    expected: DeriveExpected
    portfolio: DerivePortfolio | None = None
    market: DeriveMarket | None = None
    params: DeriveParams | None = None
    rejection: str | None = None

    def __post_init__(self) -> None:
        require_non_empty("name", self.name)
        if not isinstance(self.expected, DeriveExpected):
            raise ValidationError("expected", self.expected, "a DeriveExpected")
        complete = (
            isinstance(self.portfolio, DerivePortfolio)
            and isinstance(self.market, DeriveMarket)
            and isinstance(self.params, DeriveParams)
        )
        if self.rejection is None and not complete:
            raise ValidationError(
                "rejection", None, "a reason when portfolio, market or params is missing"
            )
        if self.rejection is not None:
            require_non_empty("rejection", self.rejection)
