"""Frozen parameter dataclasses from plain mappings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import pytest

from portmargin.core import (
    OPTIONAL_KEY,
    ValidationError,
    config_from_mapping,
    config_to_mapping,
    optional_key,
)


class Mode(StrEnum):
    A = "a"
    B = "b"


@dataclass(frozen=True, slots=True, kw_only=True)
class Leaf:
    rate: float
    steps: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Root:
    version: str
    mode: Mode = Mode.A
    leaves: tuple[Leaf, ...] = ()
    by_name: Mapping[str, Leaf] = field(default_factory=dict)
    cap: float | None = None


DATA = {
    "version": "v1",
    "mode": "b",
    "leaves": [{"rate": 0.1, "steps": 1}, {"rate": "0.25", "steps": 3}],
    "by_name": {"btc": {"rate": 1, "steps": 1}},
    "cap": None,
}


def test_round_trip() -> None:
    root = config_from_mapping(Root, DATA)
    assert root.mode is Mode.B
    assert root.leaves == (Leaf(rate=0.1), Leaf(rate=0.25, steps=3))
    assert root.by_name["btc"] == Leaf(rate=1.0)
    assert config_from_mapping(Root, config_to_mapping(root)) == root


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"extra": 1}, "extra"),
        ({"leaves": [{"rate": 0.1, "rte": 2}]}, "leaves[0].rte"),
        ({"by_name": {"btc": {"rate": "x"}}}, "by_name.btc.rate"),
        ({"mode": "c"}, "mode"),
        ({"leaves": [{"rate": float("nan")}]}, "leaves[0].rate"),
        ({"leaves": [{"rate": 1, "steps": 1.5}]}, "leaves[0].steps"),
        ({"version": 3}, "version"),
    ],
)
def test_errors_name_the_key_path(patch: dict[str, object], path: str) -> None:
    with pytest.raises(ValidationError) as err:
        config_from_mapping(Root, {**DATA, **patch})
    assert err.value.field == path


def test_missing_required_key() -> None:
    with pytest.raises(ValidationError, match="required key missing"):
        config_from_mapping(Root, {"mode": "a"})


def test_a_dataclass_default_is_no_fallback_for_a_missing_key() -> None:
    data = {**DATA, "leaves": [{"rate": 0.1}]}
    with pytest.raises(ValidationError, match="required key missing") as err:
        config_from_mapping(Root, data)
    assert err.value.field == "leaves[0].steps"
    without_mode = {k: v for k, v in DATA.items() if k != "mode"}
    with pytest.raises(ValidationError) as err:
        config_from_mapping(Root, without_mode)
    assert err.value.field == "mode"


@dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    """A leaf whose own check names a field relative to itself."""

    low: float
    high: float
    note: str | None = field(default=None, metadata=optional_key("informational"))

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValidationError("low", self.low, f"<= high ({self.high})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Holder:
    version: str
    table: Mapping[str, Checked]
    rows: tuple[Checked, ...]


def test_optional_key_may_be_omitted() -> None:
    holder = config_from_mapping(
        Holder, {"version": "v", "table": {"a": {"low": 0, "high": 1}}, "rows": []}
    )
    assert holder.table["a"].note is None
    assert "informational" in Checked.__dataclass_fields__["note"].metadata[OPTIONAL_KEY]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"table": {"btc_usd": {"low": 2, "high": 1}}, "rows": []}, "table.btc_usd.low"),
        ({"table": {}, "rows": [{"low": 0, "high": 1}, {"low": 5, "high": 1}]}, "rows[1].low"),
    ],
)
def test_own_checks_of_nested_objects_name_the_full_path(
    data: dict[str, object], path: str
) -> None:
    with pytest.raises(ValidationError) as err:
        config_from_mapping(Holder, {"version": "v", **data})
    assert err.value.field == path
