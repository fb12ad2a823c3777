"""Range, MM-versus-IM and sign rules of every method's parameters, with full key paths.

Each case overrides one value of a bundled pack: the value just inside the rule loads, the
value just outside is rejected with an error naming the full key path, prefixed by the pack.
"""

from __future__ import annotations

import pytest

from portmargin.core import ValidationError
from portmargin.io.params import load_params, read_pack
from portmargin.methods import get_method

# (pack, key path, accepted value, rejected value, fragment of the expectation)
RULES = [
    # deribit-pm: MM = mm_factor x risk-matrix margin <= IM.
    ("deribit-pm/2024-06-17", "general.mm_factor", "1.0", "1.5", "(0, 1]"),
    ("deribit-pm/2024-06-17", "general.mm_factor", "0.01", "0", "> 0"),
    ("deribit-pm/2024-06-17", "currency_pair.btc_usd.price_range", "0.99", "1.0", "(0, 1)"),
    ("deribit-pm/2024-06-17", "currency_pair.btc_usd.m_inc", "0", "-1e-9", ">= 0"),
    ("deribit-pm/2024-06-17", "currency_pair.btc_usd.extended_table_factor", "0", "-0.5", ">= 0"),
    ("deribit-pm/2024-06-17", "currency.btc.pnl_offset", "1", "1.01", "[0, 1]"),
    ("deribit-pm/2024-06-17", "currency.usd.extended_dampener", "0", "-1", ">= 0"),
    ("deribit-pm/2024-06-17", "assumptions.extended_moves", "[-0.5]", "[]", "non-empty"),
    ("deribit-pm/2024-06-17", "assumptions.mmp_margin", "0", "-0.1", ">= 0"),
    ("deribit-pm/2026-02", "currency_pair.eth_usd.price_range", "0.5", "0", "(0, 1)"),
    # okx-pm: IMR = im_factor x MMR >= MMR; tiers non-empty; multipliers >= 0.
    ("okx-pm/2025", "im_factor", "1.0", "0.99", ">= 1"),
    ("okx-pm/2025", "mr7_tier_bounds", "[1e4, 7e4, 1.7e5, 3e5, 4.7e5, 7e5]", "[]", "at least one"),
    ("okx-pm/2025", "mr7_tier_bounds[1]", "10001", "10000", "increasing"),
    ("okx-pm/2025", "mr7_tier_multipliers[2]", "0", "-4", ">= 0"),
    ("okx-pm/2025", "mr6_tiers[1].move", "0.99", "1.0", "(0, 1)"),
    ("okx-pm/2025", "mr1_tiers[0].price_moves[1]", "0.5", "0", "(0, 1)"),
    ("okx-pm/2025", "mr1_tiers[2].price_moves", "[0.1]", "[]", "at least one"),
    ("okx-pm/2025", "mr4_tiers[0].move", "0", "-0.05", ">= 0"),
    ("okx-pm/2025", "mr9_rate", "0", "-0.01", ">= 0"),
    ("okx-pm/2024", "mr1_tiers[1].underlyings[3]", '"OKB"', '""', "non-empty"),
    # paradex-pm: MM = mmf_factor x IMR <= IMR; weights and factors >= 0.
    ("paradex-pm/2026-05", "assets[0].scenarios[0].weight", "0", "-0.1", ">= 0"),
    ("paradex-pm/2026-05", "assets[1].mmf_factor", "1", "1.01", "[0, 1]"),
    ("paradex-pm/2026-05", "assets[3].scenarios[2].spot_shock", "-0.99", "-1", "> -1"),
    ("paradex-pm/2026-05", "assets[2].hedged_margin_factor", "0", "-0.01", ">= 0"),
    ("paradex-pm/2026-05", "assets[0].vol_shock_params.dte_floor_days", "0.01", "0", "> 0"),
    (
        "paradex-pm/2026-05",
        "assets[0].scenarios",
        "[{spot_shock=0, vol_shock=0, weight=1}]",
        "[]",
        "at least one",
    ),
    ("paradex-pm/2026-05", "taker_fee", "0", "-1e-4", ">= 0"),
    # standard: every MM rate <= its IM rate.
    ("standard/deribit-sm-2024", "option_fractions.mm_fraction", "0.1", "0.11", "MM must not"),
    (
        "standard/deribit-sm-2024",
        "option_fractions.im_min_fraction",
        "0.15",
        "0.16",
        "im_max_fraction",
    ),
    ("standard/deribit-sm-2024", "futures_rates.default.mm_base", "0.02", "0.021", "MM must not"),
    (
        "standard/deribit-sm-2024",
        "futures_rates.instruments.SOL_USDC-PERPETUAL.mm_step",
        "0.000005",
        "0.000006",
        "MM must not",
    ),
    ("standard/deribit-sm-2024", "futures_rates.inverse.BTC.im_base", "0.01", "-0.01", ">= 0"),
    (
        "standard/paradex-cross-2026",
        "paradex_options[1].mmr.short_itm",
        "0.225",
        "0.23",
        "MM must not",
    ),
    (
        "standard/paradex-cross-2026",
        "paradex_options[0].imr.premium_multiplier",
        "0.5",
        "0.4",
        "MM must not",
    ),
    ("standard/paradex-cross-2026", "paradex_perps.mmf_factor", "1", "1.2", "<= 1"),
    ("standard/paradex-cross-2026", "paradex_perps.imf.BTC", "0", "-0.02", ">= 0"),
    (
        "standard/paradex-cross-2026",
        "paradex_options[0].underlyings",
        '["BTC"]',
        "[]",
        "at least one",
    ),
    # derive-pm2: mm_factor <= im_factor (the contract bounds are tested in
    # tests/methods/derive_pm2/test_derive_pm2_params_contract.py).
    ("derive-pm2/mainnet", "im_factor", "0.8", "0.5", "MM above IM"),
    ("derive-pm2/mainnet", "collaterals[2].im_haircut", "0.844", "0.845", "<= 1"),
]
"""Override path, value inside, value outside."""


def _method(pack: str) -> str:
    return pack.split("/", 1)[0]


@pytest.mark.parametrize(
    ("pack", "path", "inside", "outside", "fragment"),
    RULES,
    ids=[f"{r[0]}:{r[1]}" for r in RULES],
)
def test_value_inside_loads_and_outside_names_the_path(
    pack: str, path: str, inside: str, outside: str, fragment: str
) -> None:
    method = get_method(_method(pack))
    assert load_params(method, pack, [f"{path}={inside}"]).version.endswith("+set")
    with pytest.raises(ValidationError) as err:
        load_params(method, pack, [f"{path}={outside}"])
    field = err.value.field
    assert field.startswith(f"{pack}: ")
    assert fragment in err.value.expected
    # The error names the full path of the offending value (for a sum, its second term).
    expected = {
        "derive-pm2/mainnet:im_factor": "mm_factor",
        "derive-pm2/mainnet:collaterals[2].im_haircut": "collaterals[2].im_haircut",
        "standard/paradex-cross-2026:paradex_options[1].mmr.short_itm": (
            "paradex_options[1].mmr.short_itm"
        ),
        "standard/paradex-cross-2026:paradex_options[0].imr.premium_multiplier": (
            "paradex_options[0].mmr.premium_multiplier"
        ),
        "okx-pm/2025:mr1_tiers[2].price_moves": "mr1_tiers[2].price_moves",
    }.get(f"{pack}:{path}", path)
    assert field == f"{pack}: {expected}"


def test_empty_mr7_bounds_are_reported_under_their_own_key() -> None:
    with pytest.raises(ValidationError) as err:
        load_params(get_method("okx-pm"), "okx-pm/2025", ["mr7_tier_bounds=[]"])
    assert err.value.field == "okx-pm/2025: mr7_tier_bounds"
    assert "mr7_tier_multipliers" not in err.value.field


def test_profile_specific_keys_are_required_by_their_profile() -> None:
    standard = get_method("standard")
    for pack, key in (
        ("standard/deribit-sm-2024", "option_fractions"),
        ("standard/paradex-cross-2026", "taker_fee_rate"),
    ):
        data = read_pack(pack)
        del data[key]
        with pytest.raises(ValidationError, match="required key missing") as err:
            standard.params_from_mapping(data)
        assert err.value.field == key
