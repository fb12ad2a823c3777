"""The ``derive-pm2`` parameter pack: ``DeriveParams`` in snake_case plus enabled collateral.

Pack layout (TOML)::

    version = "mainnet"
    vol_range_up = 0.5            # every scalar field of DeriveParams, by attribute name
    ...
    scenarios = [{ spot_shock = 1.18, vol_shock = "Up", dampening = 1.0 }, ...]

    [[collaterals]]               # one table per enabled collateral (``collaterals = []``: none)
    base = "ETH"                  # the manager (base asset) whose row it backs
    name = "WEETH"                # the currency code of the balance in a Book
    is_risk_cancelling = true
    mm_haircut = 0.156
    im_haircut = 0.014            # charged on top of mm_haircut

Every key is required. Apart from ``version`` and each collateral's ``base``, the pack is read
by the shared :func:`portmargin.core.config_from_mapping` into :class:`DeriveParams` (unknown
and missing keys rejected; ``DeriveParams`` checks the venue contract's setter bounds, see
:mod:`portmargin.methods.derive_pm2._params`); errors name the key path of the pack
(``im_factor``, ``scenarios[3].spot_shock``, ``collaterals[0].mm_haircut``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from portmargin.core import (
    ValidationError,
    config_from_mapping,
    config_to_mapping,
    require_non_empty,
)
from portmargin.methods.derive_pm2._params import DeriveParams

__all__ = ["CASH_ASSET", "DerivePM2Params"]

CASH_ASSET = "USDC"
"""The cash asset: a balance of it is the account's cash ``C``, never collateral."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DerivePM2Params:
    """Parameters of the ``derive-pm2`` batch method.

    Attributes
    ----------
    version
        Pack version recorded in results (``"mainnet"``).
    margin
        The PMRM_2 parameter set; ``margin.collaterals`` lists every enabled collateral asset
        (names unique across base assets).
    collateral_base
        Enabled collateral name → the base asset (manager) it backs, e.g. ``{"WEETH": "ETH"}``;
        same names as ``margin.collaterals``.
    """

    version: str
    margin: DeriveParams
    collateral_base: Mapping[str, str]

    def __post_init__(self) -> None:
        require_non_empty("version", self.version)
        if not isinstance(self.margin, DeriveParams):
            raise ValidationError("margin", self.margin, "a DeriveParams")
        bases = dict(self.collateral_base)
        names = [c.name for c in self.margin.collaterals]
        if sorted(bases) != sorted(names):
            raise ValidationError(
                "collateral_base", bases, f"a base asset for each of {names} and nothing else"
            )
        for index, name in enumerate(names):
            if name == CASH_ASSET:
                raise ValidationError(
                    f"collaterals[{index}].name", name, f"not the cash asset {CASH_ASSET}"
                )
            require_non_empty(f"collaterals[{index}].base", bases[name])
        object.__setattr__(self, "collateral_base", MappingProxyType(bases))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DerivePM2Params:
        """Parameters from a parsed pack (layout in the module docstring).

        Raises
        ------
        ValidationError
            An unknown or missing key, a value of the wrong type or outside its admissible
            interval; ``field`` is the key path in the pack (``"scenarios[2].vol_shock"``).
        """
        if not isinstance(data, Mapping):
            raise ValidationError("<root>", data, "a table of keys")
        for key in ("version", "collaterals"):
            if key not in data:
                raise ValidationError(key, None, "a value (required key missing)")
        version = require_non_empty("version", data["version"])
        rows, bases = _collaterals(data["collaterals"])
        scalars = {k: v for k, v in data.items() if k not in ("version", "collaterals")}
        margin = config_from_mapping(DeriveParams, {**scalars, "collaterals": rows})
        return cls(
            version=version,
            margin=margin,
            collateral_base=dict(zip((c.name for c in margin.collaterals), bases, strict=True)),
        )

    def coverage(self) -> dict[str, tuple[str, ...]]:
        """Currencies the pack covers: ``underlyings`` ``"*"`` (the scenario set applies to
        every manager's base asset), ``settlement`` the cash asset ``USDC``, and
        ``collateral`` the enabled collateral assets (sorted)."""
        return {
            "underlyings": ("*",),
            "settlement": (CASH_ASSET,),
            "collateral": tuple(sorted(self.collateral_base)),
        }

    def to_mapping(self) -> dict[str, Any]:
        """The pack form (inverse of :meth:`from_mapping`): plain strings, floats, lists."""
        margin = config_to_mapping(self.margin)
        for row in margin["collaterals"]:
            row["base"] = self.collateral_base[row["name"]]
        return {"version": self.version, **margin}


def _collaterals(rows: object) -> tuple[list[Mapping[str, Any]], list[str]]:
    """The ``collaterals`` tables without their ``base`` key, and the bases in row order."""
    if not isinstance(rows, list | tuple):
        raise ValidationError("collaterals", rows, "a list of collateral tables")
    settings: list[Mapping[str, Any]] = []
    bases: list[str] = []
    for index, row in enumerate(rows):
        path = f"collaterals[{index}]"
        if not isinstance(row, Mapping):
            raise ValidationError(path, row, "a table of keys")
        if "base" not in row:
            raise ValidationError(f"{path}.base", None, "a value (required key missing)")
        bases.append(require_non_empty(f"{path}.base", row["base"]))
        settings.append({k: v for k, v in row.items() if k != "base"})
    return settings, bases
