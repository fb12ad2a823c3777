"""Currencies each parameter pack covers (``coverage()``, shown by ``portmargin methods``)."""

from __future__ import annotations

import pytest

from portmargin.io.params import load_params
from portmargin.methods import get_method

EXPECTED = {
    "deribit-pm/2024-06-17": {"underlyings": ("BTC",), "settlement": ("BTC", "USD")},
    "deribit-pm/2026-02": {"underlyings": ("ETH",), "settlement": ("ETH", "USD")},
    "paradex-pm/2026-03": {"underlyings": ("BTC",), "settlement": ("USDC",)},
    "paradex-pm/2026-05": {"underlyings": ("BTC", "CL", "ETH", "HYPE"), "settlement": ("USDC",)},
    "standard/deribit-sm-2024": {"underlyings": ("BTC", "SOL", "*"), "settlement": ("*",)},
    "standard/paradex-cross-2026": {
        "underlyings": ("BTC", "CL", "ETH", "HYPE", "*"),
        "settlement": ("*",),
    },
    "derive-pm2/conformance-defaults": {
        "underlyings": ("*",),
        "settlement": ("USDC",),
        "collateral": (),
    },
}


@pytest.mark.parametrize(("pack", "expected"), EXPECTED.items())
def test_coverage_of_bundled_packs(pack: str, expected: dict[str, tuple[str, ...]]) -> None:
    params = load_params(get_method(pack.split("/")[0]), pack)
    assert params.coverage() == expected


def test_derive_mainnet_lists_its_collateral() -> None:
    params = load_params(get_method("derive-pm2"), "derive-pm2/mainnet")
    coverage = params.coverage()
    assert coverage["settlement"] == ("USDC",)
    assert {"ETH", "WEETH", "WBTC"} <= set(coverage["collateral"])


def test_okx_coverage_needs_every_tier_table() -> None:
    okx = get_method("okx-pm")
    full = load_params(okx, "okx-pm/2025").coverage()
    assert full["underlyings"][-1] == "*"
    assert {"BTC", "ETH", "SOL", "LTC"} <= set(full["underlyings"])
    # Without MR4's catch-all tier, only the coins MR4 lists are covered.
    listed_only = load_params(okx, "okx-pm/2025", ["mr4_tiers[2].underlyings=['ADA']"]).coverage()
    assert "*" not in listed_only["underlyings"]
    assert "BTC" in listed_only["underlyings"]
    assert "OKB" not in listed_only["underlyings"]
