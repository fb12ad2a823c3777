"""The venue's ``Parameters`` layout (derive-pm2.md §8) as a renaming of the pack layout.

The venue groups the scalars in blocks under its own key names (``Margin.IM_LOSS_FACTOR``)
and lists the scenarios as ``Scenarios[i].SpotShock`` / ``VolShockDirection`` /
``DampeningFactor``; the ``derive-pm2`` pack holds the same values under the attribute names
of :class:`DeriveParams`. :func:`parameters_to_pack` reads the venue layout with the shared
checks of :mod:`portmargin.core` (:func:`~portmargin.core.require_table`,
:func:`~portmargin.core.check_keys`, :func:`~portmargin.core.parse_number`) into the pack
layout, which :func:`~portmargin.core.config_from_mapping` then builds like any pack;
:func:`mapping_path` names a pack key's path in the venue layout, so every error names the
key of the file the values came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from portmargin.core import (
    ValidationError,
    check_keys,
    key_path,
    parse_number,
    require_table,
)
from portmargin.methods.derive_pm2._fields import BLOCKS, PARAM_SPECS, PARAMS_BY_ATTR
from portmargin.methods.derive_pm2._scenario import DeriveVolShock

__all__ = ["mapping_path", "parameters_to_pack"]

# Keys the venue's files carry but PMRM_2 does not use: accepted (if numbers) and ignored.
_IGNORED = {"OtherContingency": ("IM_PERP_PERCENT_NORMAL", "IM_OPTION_PERCENT_NORMAL")}
_SCENARIO_KEYS = {
    "spot_shock": "SpotShock",
    "vol_shock": "VolShockDirection",
    "dampening": "DampeningFactor",
}


def parameters_to_pack(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """The pack layout (scalars and ``scenarios``, no collaterals) of a ``Parameters`` mapping.

    Parameters
    ----------
    mapping
        ``{"Scenarios": [{"SpotShock", "VolShockDirection", "DampeningFactor"}, ...],
        "VolShock": {...}, "Margin": {...}, "BasisContingency": {...},
        "OtherContingency": {...}, "SkewShock": {...}}``. Numbers may be ints, floats or
        decimal strings; directions are matched in any case.

    Returns
    -------
    dict
        ``{attr: float}`` for every scalar of :class:`DeriveParams` and ``"scenarios"``: a
        list of ``{"spot_shock", "vol_shock", "dampening"}`` tables (direction names as
        :class:`DeriveVolShock` values). Values are parsed, not yet checked against the
        contract's intervals.

    Raises
    ------
    ValidationError
        The mapping has the wrong shape: an unknown or missing key, a value that is not a
        finite number or a direction name; ``field`` is the venue key path
        (``"Margin.IM_LOSS_FACTOR"``, ``"Scenarios[2].VolShockDirection"``).
    """
    root = require_table("", mapping)
    check_keys("", root, ("Scenarios", *BLOCKS))
    out: dict[str, Any] = {"scenarios": _scenarios(root["Scenarios"])}
    for block in BLOCKS:
        node = require_table(block, root[block])
        ignored = _IGNORED.get(block, ())
        check_keys(block, node, [s.key for s in PARAM_SPECS if s.block == block], optional=ignored)
        for key in ignored:
            if key in node:
                parse_number(key_path(block, key), node[key])
        for spec in PARAM_SPECS:
            if spec.block == block:
                out[spec.attr] = parse_number(key_path(block, spec.key), node[spec.key])
    return out


def mapping_path(field: str) -> str | None:
    """Key path in the ``Parameters`` layout of a pack key path, if it has one.

    ``"im_factor"`` → ``"Margin.IM_LOSS_FACTOR"``, ``"scenarios[3].spot_shock"`` →
    ``"Scenarios[3].SpotShock"``; None for keys outside the layout (``collaterals``).
    """
    spec = PARAMS_BY_ATTR.get(field)
    if spec is not None:
        return key_path(spec.block, spec.key)
    head, dot, key = field.partition(".")
    if head.startswith("scenarios"):
        tail = f".{_SCENARIO_KEYS.get(key, key)}" if dot else ""
        return "Scenarios" + head.removeprefix("scenarios") + tail
    return None


def _scenarios(value: object) -> list[dict[str, Any]]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError("Scenarios", value, "a list of scenario tables")
    out: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        path = f"Scenarios[{index}]"
        node = require_table(path, item)
        check_keys(path, node, tuple(_SCENARIO_KEYS.values()))
        where = key_path(path, "VolShockDirection")
        try:
            direction = DeriveVolShock.parse(node["VolShockDirection"])
        except ValidationError as exc:
            raise ValidationError(where, exc.value, exc.expected) from None
        out.append(
            {
                "spot_shock": parse_number(key_path(path, "SpotShock"), node["SpotShock"]),
                "vol_shock": direction.value,
                "dampening": parse_number(
                    key_path(path, "DampeningFactor"), node["DampeningFactor"]
                ),
            }
        )
    return out
