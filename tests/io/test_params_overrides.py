"""``--set KEY=VALUE`` overrides of a parameter pack (``load_params(..., overrides)``)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portmargin.core import ValidationError
from portmargin.io.params import (
    OVERRIDE_SUFFIX,
    apply_overrides,
    bundled_packs,
    load_params,
    method_overrides,
    read_pack,
)
from portmargin.methods import get_method, method_names
from portmargin.methods.deribit_pm import DeribitPMParams
from portmargin.methods.okx_pm import OkxParams
from portmargin.methods.paradex_pm import ParadexParams, VolUpFloor

DERIBIT = get_method("deribit-pm")
PARADEX = get_method("paradex-pm")
OKX = get_method("okx-pm")


def test_override_changes_one_value_and_marks_the_version() -> None:
    base = load_params(DERIBIT)
    changed = load_params(DERIBIT, None, ["currency_pair.btc_usd.price_range=0.2"])
    assert isinstance(base, DeribitPMParams)
    assert isinstance(changed, DeribitPMParams)
    assert changed.currency_pair["btc_usd"].price_range == 0.2
    assert base.currency_pair["btc_usd"].price_range == 0.16
    assert changed.version == "2024-06-17+set" == base.version + OVERRIDE_SUFFIX
    assert changed.general == base.general


def test_list_items_by_index_and_repeated_overrides() -> None:
    params = load_params(
        PARADEX,
        "paradex-pm/2026-05",
        ["assets[0].scenarios[0].weight=0.5", "assets[3].scenarios[23].spot_shock = 4.5"],
    )
    assert isinstance(params, ParadexParams)
    assert params.assets[0].scenarios[0].weight == 0.5
    assert params.assets[3].scenarios[23].spot_shock == 4.5
    assert params.assets[1].scenarios[0].weight == 1.0


def test_values_are_toml_else_plain_strings() -> None:
    params = load_params(
        PARADEX,
        None,
        ["vol_up_floor=shock", "funding_rates = {BTC = 1e-4}", "funding_rates.ETH=-2e-4"],
    )
    assert isinstance(params, ParadexParams)
    assert params.vol_up_floor is VolUpFloor.SHOCK
    assert dict(params.funding_rates) == {"BTC": 1e-4, "ETH": -2e-4}
    okx = load_params(OKX, None, ["mr7_tier_bounds=[1e4, 2e4]", "mr7_tier_multipliers=[1, 2, 3]"])
    assert isinstance(okx, OkxParams)
    assert okx.mr7_tier_bounds == (1e4, 2e4)
    assert okx.mr1_tiers[0].price_moves == (0.04, 0.08, 0.12)
    inner = load_params(OKX, None, ["mr1_tiers[0].price_moves[2]=0.13"])
    assert isinstance(inner, OkxParams)
    assert inner.mr1_tiers[0].price_moves == (0.04, 0.08, 0.13)


def test_the_pack_itself_is_not_changed() -> None:
    data = read_pack("deribit-pm/2024-06-17")
    out = apply_overrides(data, ["general.mm_factor=0.5"])
    assert out["general"]["mm_factor"] == 0.5
    assert data["general"]["mm_factor"] == 0.8
    assert data["version"] == "2024-06-17"
    assert apply_overrides(data, []) == data


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("curency_pair.btc_usd.price_range=0.2", "curency_pair"),
        ("currency_pair.eth_usd.price_range=0.2", "currency_pair.eth_usd"),
        ("general.mm_factor.x=1", "general.mm_factor.x"),
        ("general[0].mm_factor=1", "general[0]"),
    ],
)
def test_unknown_key_path_is_named(override: str, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        load_params(DERIBIT, None, [override])
    assert err.value.field == f"deribit-pm/2024-06-17: {field}"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("general.mm_factr=0.5", "general.mm_factr"),
        ("assumptions.extra=1", "assumptions.extra"),
    ],
)
def test_unknown_last_key_is_rejected_by_the_loader(override: str, field: str) -> None:
    with pytest.raises(ValidationError, match="one of the keys") as err:
        load_params(DERIBIT, None, [override])
    assert err.value.field == f"deribit-pm/2024-06-17: {field}"


def test_list_index_out_of_range_is_named() -> None:
    with pytest.raises(ValidationError, match="24 items") as err:
        load_params(PARADEX, None, ["assets[0].scenarios[24].weight=1"])
    assert err.value.field == "paradex-pm/2026-05: assets[0].scenarios[24]"


@pytest.mark.parametrize("override", ["general.mm_factor", "=1", "general..mm_factor=1"])
def test_malformed_override_is_rejected(override: str) -> None:
    with pytest.raises(ValidationError):
        load_params(DERIBIT, None, [override])


def test_wrong_type_after_override_names_the_path() -> None:
    with pytest.raises(ValidationError, match="a number") as err:
        load_params(DERIBIT, None, ["currency.btc.pnl_offset=abc"])
    assert err.value.field == "deribit-pm/2024-06-17: currency.btc.pnl_offset"


def test_method_overrides_select_by_method_prefix() -> None:
    given = ["deribit-pm:general.mm_factor=0.5", "okx-pm:im_factor=1.5"]
    assert method_overrides("deribit-pm", given) == ("general.mm_factor=0.5",)
    assert method_overrides("okx-pm", given) == ("im_factor=1.5",)
    assert method_overrides("standard", given) == ()
    with pytest.raises(ValidationError, match="METHOD:KEY=VALUE"):
        method_overrides("standard", ["general.mm_factor=0.5"])
    with pytest.raises(ValidationError, match="METHOD:KEY=VALUE"):
        method_overrides("standard", ["no-such:general.mm_factor=0.5"])


def _scalar_leaves() -> list[tuple[str, str, str]]:
    """(pack, key path, TOML text of its current value) of every scalar leaf of every pack."""
    out: list[tuple[str, str, str]] = []

    def walk(pack: str, node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(pack, value, f"{path}.{key}" if path else key)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(pack, value, f"{path}[{i}]")
        elif isinstance(node, bool):
            out.append((pack, path, "true" if node else "false"))
        elif isinstance(node, int | float):
            out.append((pack, path, repr(node)))
        elif isinstance(node, str):
            out.append((pack, path, json.dumps(node)))

    for method in method_names():
        for pack in bundled_packs(method):
            walk(pack, read_pack(pack), "")
    return out


SCALARS = _scalar_leaves()


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SCALARS))
def test_setting_a_value_to_itself_changes_only_the_version(leaf: tuple[str, str, str]) -> None:
    pack, path, text = leaf
    method = get_method(pack.split("/")[0])
    if path == "version":
        return
    same = load_params(method, pack, [f"{path}={text}"])
    base = load_params(method, pack)
    assert same.version == base.version + OVERRIDE_SUFFIX
    assert dataclasses.replace(same, version=base.version) == base
