"""The PMRM_2 parameter set: scenario list, vol and skew shocks, discounts, contingencies.

Admissible values follow the venue contract's setters (``derivexyz/v2-core``, see
``_fields.CONTRACT_SOURCE``): the scalar intervals of ``PMRMLib_2.sol`` ``setVolShockParams``,
``setMarginParams``, ``setBasisContingencyParams``, ``setOtherContingencyParams`` and
``setSkewShockParameters`` (``_fields.PARAM_SPECS``), the scenario rules of ``PMRM_2.sol``
``setScenarios`` and the collateral rule of ``PMRMLib_2.sol`` ``setCollateralParameters``.
One rule is the engine's own, not the contract's: ``mm_factor <= im_factor`` (MM never above
IM).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from portmargin.core import ValidationError, config_from_mapping, require_non_empty
from portmargin.methods.derive_pm2._checks import check_bool, check_range
from portmargin.methods.derive_pm2._fields import PARAM_SPECS
from portmargin.methods.derive_pm2._mapping import mapping_path, parameters_to_pack
from portmargin.methods.derive_pm2._scenario import DeriveScenario, DeriveVolShock

__all__ = ["MAX_SCENARIOS", "DeriveCollateralParams", "DeriveParams"]

MAX_SCENARIOS = 40
"""``PMRM_2.sol`` ``setScenarios``: ``_scenarios.length > 0 && _scenarios.length <= 40``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveCollateralParams:
    """Risk settings of one collateral asset (venue policy, not market data).

    Attributes
    ----------
    name
        Asset name, matched against the portfolio's and the market's collateral names.
    is_risk_cancelling
        True if the asset moves with the manager's base asset in every scenario
        (P&L ``v·(s - 1)·d``); other collateral has zero scenario P&L.
    mm_haircut, im_haircut
        Fractions of the collateral's USD value charged as MM contingency and, on top of it,
        as IM contingency; each >= 0 (``uint``) with ``mm_haircut <= 1`` and
        ``mm_haircut + im_haircut <= 1`` (``PMRMLib_2.sol`` ``setCollateralParameters``:
        ``(IMHaircut + MMHaircut) <= 1e18 && MMHaircut <= 1e18``).
    """

    name: str
    is_risk_cancelling: bool
    mm_haircut: float
    im_haircut: float

    def __post_init__(self) -> None:
        require_non_empty("name", self.name)
        check_bool("is_risk_cancelling", self.is_risk_cancelling)
        mm = check_range("mm_haircut", self.mm_haircut, 0.0, 1.0)
        im = check_range("im_haircut", self.im_haircut, 0.0, 1.0)
        if mm + im > 1.0:
            raise ValidationError("im_haircut", self.im_haircut, "mm_haircut + im_haircut <= 1")
        object.__setattr__(self, "mm_haircut", mm)
        object.__setattr__(self, "im_haircut", im)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveParams:
    """The complete PMRM_2 parameter set (dimensionless unless stated).

    Every scalar is checked against the interval the venue's setter accepts; see
    ``DeriveParams.bounds``. ``from_mapping`` builds the set from the venue's ``Parameters``
    layout.

    Attributes
    ----------
    scenarios
        1 to 40 scenarios, in the order in which P&Ls are reported, with at most one
        ``Linear`` and one ``Abs`` skew scenario (``PMRM_2.sol`` ``setScenarios``).
    vol_range_up, vol_range_down, short_term_power, long_term_power
        Vol-shock multipliers ``up = 1 + vol_range_up·m``, ``down = max(0, 1 -
        vol_range_down·m)`` with ``m = (30 d / max(t, dte_floor))^power``; the short-term power
        applies when ``t <= 30`` days.
    dte_floor_days
        Floor of the time to expiry in the vol-shock term structure, in days (> 0).
    min_vol_up_shock
        Floor of an up-shocked vol (not applied to skew scenarios).
    im_factor, mm_factor
        Multipliers of the worst scenario loss for IM and MM, ``mm_factor <= im_factor``.
    long_base_static_discount, long_rate_mult_scale, long_rate_add_scale
        Static discount of a non-negative shocked expiry value:
        ``pos = base·exp(-T·(r·mult + add))``.
    short_base_static_discount, short_rate_mult_scale, short_rate_add_scale
        Static anti-discount of a negative shocked expiry value:
        ``neg = min(1/D, base·exp(+T·(r·mult + add)))``.
    scenario_spot_up, scenario_spot_down, basis_cont_add_factor, basis_cont_mult_factor
        Basis (forward) contingency: spot multipliers and the factor ``add + mult·T``.
    peg_loss_threshold, peg_loss_factor
        IM factor add-on ``(threshold - stable price)·factor`` below the threshold (USD).
    conf_threshold, conf_margin
        Confidence charge ``(1 - c)·conf_margin·notional`` when ``c < conf_threshold``.
    mm_perp_percent, im_perp_percent, mm_option_percent, im_option_percent
        Perp notional and naked-short option notional charges (fractions of spot notional).
    linear_base_cap, linear_c_base, abs_base_cap, abs_c_base
        Skew multiplier caps ``cap = c_base·√T + base_cap``.
    min_k_star, width_scale, vol_param_static, vol_param_scale
        Skew width ``k* = max(min_k_star, √T·width_scale·(vol_param_static +
        √T·vol_param_scale))``.
    collaterals
        Risk settings per collateral asset (unique names); a held collateral without settings
        is not enabled and makes ``compute`` raise.
    """

    scenarios: tuple[DeriveScenario, ...]
    vol_range_up: float
    vol_range_down: float
    short_term_power: float
    long_term_power: float
    dte_floor_days: float
    min_vol_up_shock: float
    im_factor: float
    mm_factor: float
    long_base_static_discount: float
    long_rate_mult_scale: float
    long_rate_add_scale: float
    short_base_static_discount: float
    short_rate_mult_scale: float
    short_rate_add_scale: float
    scenario_spot_up: float
    scenario_spot_down: float
    basis_cont_add_factor: float
    basis_cont_mult_factor: float
    peg_loss_threshold: float
    peg_loss_factor: float
    conf_threshold: float
    conf_margin: float
    mm_perp_percent: float
    im_perp_percent: float
    mm_option_percent: float
    im_option_percent: float
    linear_base_cap: float
    linear_c_base: float
    abs_base_cap: float
    abs_c_base: float
    min_k_star: float
    width_scale: float
    vol_param_static: float
    vol_param_scale: float
    collaterals: tuple[DeriveCollateralParams, ...] = field(default=())

    def __post_init__(self) -> None:
        for spec in PARAM_SPECS:
            value = check_range(
                spec.attr,
                getattr(self, spec.attr),
                spec.lo,
                spec.hi,
                lo_open=spec.lo_open,
                hi_open=spec.hi_open,
            )
            object.__setattr__(self, spec.attr, value)
        if self.mm_factor > self.im_factor:
            raise ValidationError(
                "mm_factor", self.mm_factor, f"<= im_factor ({self.im_factor:g}): MM above IM"
            )
        scenarios = _as_tuple("scenarios", self.scenarios)
        if not 0 < len(scenarios) <= MAX_SCENARIOS:
            raise ValidationError(
                "scenarios", f"{len(scenarios)} scenarios", f"1 to {MAX_SCENARIOS} scenarios"
            )
        seen_skew: set[DeriveVolShock] = set()
        for index, scenario in enumerate(scenarios):
            if not isinstance(scenario, DeriveScenario):
                raise ValidationError(f"scenarios[{index}]", scenario, "a DeriveScenario")
            if scenario.vol_shock in seen_skew:
                raise ValidationError(
                    f"scenarios[{index}].vol_shock",
                    scenario.vol_shock.value,
                    f"at most one {scenario.vol_shock.value} scenario",
                )
            if scenario.vol_shock.is_skew:
                seen_skew.add(scenario.vol_shock)
        object.__setattr__(self, "scenarios", scenarios)
        collaterals = _as_tuple("collaterals", self.collaterals)
        seen: set[str] = set()
        for index, item in enumerate(collaterals):
            if not isinstance(item, DeriveCollateralParams):
                raise ValidationError(f"collaterals[{index}]", item, "a DeriveCollateralParams")
            if item.name in seen:
                raise ValidationError(f"collaterals[{index}].name", item.name, "a unique name")
            seen.add(item.name)
        object.__setattr__(self, "collaterals", collaterals)

    @staticmethod
    def bounds() -> dict[str, tuple[float, float, bool, bool]]:
        """Admissible interval of every scalar: ``{attr: (lo, hi, lo_open, hi_open)}``."""
        return {s.attr: (s.lo, s.hi, s.lo_open, s.hi_open) for s in PARAM_SPECS}

    def collateral(self, name: str) -> DeriveCollateralParams | None:
        """Risk settings of collateral ``name``, or None if the asset is not enabled."""
        for item in self.collaterals:
            if item.name == name:
                return item
        return None

    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, Any],
        *,
        collaterals: Iterable[DeriveCollateralParams] = (),
    ) -> DeriveParams:
        """Build the parameter set from the venue's ``Parameters`` layout.

        Parameters
        ----------
        mapping
            ``{"Scenarios": [{"SpotShock", "VolShockDirection", "DampeningFactor"}, ...],
            "VolShock": {...}, "Margin": {...}, "BasisContingency": {...},
            "OtherContingency": {...}, "SkewShock": {...}}`` with the key names of
            derive-pm2.md §8. Numbers may be ints, floats or decimal strings (read with
            ``float(str)``). ``OtherContingency.IM_PERP_PERCENT_NORMAL`` and
            ``IM_OPTION_PERCENT_NORMAL`` are accepted and ignored (unused by PMRM_2).
        collaterals
            Risk settings per collateral asset (not part of the venue's ``Parameters`` block).

        The layout is read by :func:`parameters_to_pack` (shape) and the shared
        :func:`~portmargin.core.config_from_mapping` (values), like a pack.

        Raises
        ------
        ValidationError
            An unknown key, a missing key, a value that is not a number / direction name
            (all three raised by :func:`parameters_to_pack` too), a value outside its
            admissible interval or a skew scenario with a spot shock; ``field`` is the key
            path in the mapping (``"Margin.IM_LOSS_FACTOR"``, ``"Scenarios[2].SpotShock"``),
            or ``collaterals[i]...`` for a rule broken by ``collaterals``.
        """
        layout = {**parameters_to_pack(mapping), "collaterals": []}
        try:
            params = config_from_mapping(cls, layout)
            return dataclasses.replace(params, collaterals=tuple(collaterals))
        except ValidationError as exc:
            path = mapping_path(exc.field)
            if path is None:
                raise
            raise ValidationError(path, exc.value, exc.expected) from exc

    def to_mapping(self) -> dict[str, Any]:
        """The inverse of ``from_mapping`` (collateral settings excluded); plain floats/strings."""
        out: dict[str, Any] = {
            "Scenarios": [
                {
                    "SpotShock": s.spot_shock,
                    "VolShockDirection": s.vol_shock.value,
                    "DampeningFactor": s.dampening,
                }
                for s in self.scenarios
            ]
        }
        for spec in PARAM_SPECS:
            out.setdefault(spec.block, {})[spec.key] = getattr(self, spec.attr)
        return out


def _as_tuple(name: str, value: object) -> tuple[Any, ...]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(name, value, "a sequence")
    return tuple(value)
