"""SanityRules: documented defaults and validation."""

from __future__ import annotations

import pytest

from portmargin.core import ValidationError
from portmargin.market import SanityRules


def test_defaults() -> None:
    rules = SanityRules()
    assert (rules.min_vol, rules.max_vol) == (0.01, 10.0)
    assert (rules.min_median_vol, rules.max_median_vol) == (0.02, 10.0)
    assert (rules.max_basis, rules.max_index_spread, rules.max_forward_spread) == (0.5, 0.1, 0.1)
    assert (rules.min_price_usd, rules.max_price_usd) == (1e-8, 1e9)
    assert rules.earliest_ms == 1_230_940_800_000  # 2009-01-03
    assert rules.latest_ms == 4_102_444_800_000  # 2100-01-01
    assert (rules.reprice_abs_tolerance, rules.reprice_rel_tolerance) == (1e-3, 0.05)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"min_vol": 0.0}, "min_vol"),
        ({"max_vol": float("inf")}, "max_vol"),
        ({"max_basis": float("nan")}, "max_basis"),
        ({"min_vol": 2.0, "max_vol": 1.0}, "min_vol"),
        ({"min_price_usd": 1e10}, "min_price_usd"),
        ({"earliest_ms": 0}, "earliest_ms"),
        ({"latest_ms": 1_000_000_000_000}, "earliest_ms"),
        ({"reprice_rel_tolerance": -0.1}, "reprice_rel_tolerance"),
    ],
)
def test_invalid_rules_name_the_field(changes: dict[str, float], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SanityRules(**changes)  # type: ignore[arg-type]
    assert caught.value.field == field
