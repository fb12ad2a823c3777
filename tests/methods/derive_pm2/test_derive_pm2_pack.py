"""The ``derive-pm2`` pack is read by the shared config mechanism: key paths in every error."""

from __future__ import annotations

from typing import Any

import pytest

from portmargin.core import ValidationError
from portmargin.io.params import apply_overrides, read_pack
from portmargin.methods.derive_pm2 import DerivePM2Params, DeriveVolShock


def _pack() -> dict[str, Any]:
    return read_pack("derive-pm2/mainnet")


@pytest.mark.parametrize(
    ("path", "edit"),
    [
        ("vol_range_sideways", lambda d: d.update(vol_range_sideways=0.1)),
        ("scenarios[1].weight", lambda d: d["scenarios"][1].update(weight=1.0)),
        ("collaterals[0].price", lambda d: d["collaterals"][0].update(price=1.0)),
    ],
)
def test_an_unknown_key_is_named_by_its_path(path: str, edit: Any) -> None:
    data = _pack()
    edit(data)
    with pytest.raises(ValidationError) as err:
        DerivePM2Params.from_mapping(data)
    assert err.value.field == path


@pytest.mark.parametrize(
    ("path", "edit"),
    [
        ("im_factor", lambda d: d.pop("im_factor")),
        ("version", lambda d: d.pop("version")),
        ("scenarios", lambda d: d.pop("scenarios")),
        ("scenarios[0].dampening", lambda d: d["scenarios"][0].pop("dampening")),
        ("collaterals[1].base", lambda d: d["collaterals"][1].pop("base")),
        ("collaterals[1].mm_haircut", lambda d: d["collaterals"][1].pop("mm_haircut")),
    ],
)
def test_a_missing_key_is_named_by_its_path(path: str, edit: Any) -> None:
    data = _pack()
    edit(data)
    with pytest.raises(ValidationError, match="required key missing") as err:
        DerivePM2Params.from_mapping(data)
    assert err.value.field == path


def test_set_overrides_reach_the_parameters() -> None:
    data = apply_overrides(
        _pack(), ["im_factor=1.5", "scenarios[0].vol_shock=Down", "collaterals[0].im_haircut=0"]
    )
    params = DerivePM2Params.from_mapping(data)
    assert params.margin.im_factor == 1.5
    assert params.margin.scenarios[0].vol_shock is DeriveVolShock.DOWN
    assert params.margin.collaterals[0].im_haircut == 0.0
    assert params.version.startswith("mainnet")


def test_a_pack_round_trips() -> None:
    params = DerivePM2Params.from_mapping(_pack())
    assert DerivePM2Params.from_mapping(params.to_mapping()) == params
