"""Every bundled parameter pack loads, and every key it writes is required.

A generic test over all bundled packs and all their leaf keys: deleting one key must give an
error naming that key's full path, prefixed by the pack name. The few keys a pack may omit
are listed in ``OPTIONAL`` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from portmargin.core import ValidationError
from portmargin.io.params import bundled_packs, load_params, read_pack
from portmargin.methods import get_method, method_names

PACKS = [(m, p) for m in method_names() for p in bundled_packs(m)]

OPTIONAL = {
    ("standard/paradex-cross-2026", "paradex_perps.imf.BTC"): (
        "an entry of a keyed table: an underlying without its own IMF takes default_imf"
    ),
    ("standard/paradex-cross-2026", "paradex_perps.imf.ETH"): (
        "an entry of a keyed table: an underlying without its own IMF takes default_imf"
    ),
    **{
        (pack, "history_start.ETH"): (
            "an entry of a keyed table: an underlying without a start date uses its whole history"
        )
        for pack in ("var/default", "var/conservative")
    },
}
"""(pack, key path) → why deleting that key is not an error."""

SPAN_DEFAULTED = re.compile(
    r"(schema_version|business_date|account_currency|collateral\.scope"
    r"|defaults\.(lookahead_days|price_floor_fraction|min_vol|extreme_multiplier"
    r"|extreme_cover_fraction|delta_points|delta_weights)"
    r"|cc\[\d+\]\.(reference_price|vol_scan\.(mode|term_power)|wpr_method|delta_scaling_factor"
    r"|som\.(method|rate|rate_fraction)|spot\.\w+|intra_default_rate(_fraction)?"
    r"|extreme_multiplier|extreme_cover_fraction|price_scan\.ref_multiplier"
    r"|intra_spread\[\d+\]\.rate_per_step))"
)
"""Key paths of span packs with a specs/span.md section 10 default (the packs write them out)."""


def _leaves(node: Any, path: str = "") -> Iterator[tuple[str, list[str | int]]]:
    """Key paths of every leaf key (a scalar, a list of scalars or an empty table/list)."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if (isinstance(value, dict) and value) or (
                isinstance(value, list) and value and isinstance(value[0], dict)
            ):
                for sub, steps in _leaves(value, here):
                    yield sub, [key, *steps]
            else:
                yield here, [key]
    elif isinstance(node, list):
        for i, item in enumerate(node):
            for sub, steps in _leaves(item, ""):
                yield f"{path}[{i}].{sub}", [i, *steps]


def _without(data: dict[str, Any], steps: list[str | int]) -> dict[str, Any]:
    node: Any = data
    for step in steps[:-1]:
        node = node[step]
    del node[steps[-1]]
    return data


LEAVES = [(m, p, path, steps) for m, p in PACKS for path, steps in _leaves(read_pack(p))]
OPTIONAL.update(
    {
        (p, path): "a specs/span.md section 10 default applies"
        for m, p, path, _ in LEAVES
        if m == "span" and SPAN_DEFAULTED.fullmatch(path)
    }
)


def test_every_method_has_bundled_packs_and_a_default() -> None:
    for name in method_names():
        packs = bundled_packs(name)
        assert packs, name
        assert get_method(name).default_pack in packs


@pytest.mark.parametrize(("method", "pack"), PACKS)
def test_bundled_pack_loads(method: str, pack: str) -> None:
    params = load_params(get_method(method), pack)
    assert params.version == pack.split("/", 1)[1]
    coverage = params.coverage()
    assert coverage["underlyings"]
    assert coverage["settlement"]


def test_every_pack_has_leaf_keys() -> None:
    assert {p for _, p, _, _ in LEAVES} == {p for _, p in PACKS}
    assert len(LEAVES) > 500


@pytest.mark.parametrize(
    ("method", "pack", "path", "steps"), LEAVES, ids=[f"{p}:{k}" for _, p, k, _ in LEAVES]
)
def test_removing_a_key_names_it(method: str, pack: str, path: str, steps: list[str | int]) -> None:
    m = get_method(method)
    data = _without(read_pack(pack), steps)
    if (pack, path) in OPTIONAL:
        assert m.params_from_mapping(data).version
        return
    with pytest.raises(ValidationError) as err:
        m.params_from_mapping(data)
    assert err.value.field == path
    assert "missing" in err.value.expected


def test_optional_keys_are_in_the_packs() -> None:
    known = {(p, k) for _, p, k, _ in LEAVES}
    assert set(OPTIONAL) <= known
