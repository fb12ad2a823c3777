"""A replayed ``private/pme/simulate`` result: typed inputs plus the printed expected outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from portmargin.core import ValidationError, require_non_empty
from portmargin.market import MarketSnapshot
from portmargin.methods.deribit_pm._params import DeribitPMParams, MarginInputs

__all__ = ["ExpectedLiteral", "PmeCase"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedLiteral:
    """One expected value exactly as printed in the file.

    Attributes
    ----------
    path
        JSON path, e.g. ``initial_risk_vectors.BTC-PERPETUAL.standard[0]``.
    text
        The literal: a JSON number's characters (``1.8212e-05``) or a string's value.
    exact
        True for values compared exactly (``worst_case_bucket`` fields), False for amounts
        compared to their printed precision.
    """

    path: str
    text: str
    exact: bool = False


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PmeCase:
    """Inputs and expected outputs of one ``private/pme/simulate`` result.

    Attributes
    ----------
    name
        Case name (file stem).
    params
        Pack built from ``model_params`` (version ``"pme-simulate:<name>"``).
    market
        Market at ``model_params.general.timestamp``: index per pair, futures marks as quotes
        and forwards, option smiles from ticker ``mark_iv`` at ticker ``underlying_price``.
    positions
        Instrument → signed size in base currency.
    inputs
        Lower-case settlement currency → venue inputs from ``margins.<ccy>``.
    expected
        Every expected number or string, in file order.
    insufficient
        Instrument → what its ticker lacks; a case with entries cannot be recomputed.
    """

    name: str
    params: DeribitPMParams
    market: MarketSnapshot
    positions: Mapping[str, float]
    inputs: Mapping[str, MarginInputs]
    expected: tuple[ExpectedLiteral, ...]
    insufficient: Mapping[str, str] = field(default_factory=_empty)

    def __post_init__(self) -> None:
        require_non_empty("name", self.name)
        if not all(isinstance(e, ExpectedLiteral) for e in self.expected):
            raise ValidationError("expected", self.expected, "a tuple of ExpectedLiteral")
        for name in ("positions", "inputs", "insufficient"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
