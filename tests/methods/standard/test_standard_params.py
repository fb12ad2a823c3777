"""Parameter packs of the standard method: loading, validation, unsupported options."""

from __future__ import annotations

from typing import Any

import pytest

from portmargin.core import ValidationError
from portmargin.io.params import bundled_packs, load_params, read_pack
from portmargin.market import MarketSnapshot
from portmargin.methods.standard import Profile, StandardMargin, StandardParams
from portmargin.risk import Book

METHOD = StandardMargin()


def test_bundled_packs() -> None:
    assert bundled_packs("standard") == (
        "standard/deribit-sm-2024",
        "standard/paradex-cross-2026",
    )
    default = load_params(METHOD)
    assert isinstance(default, StandardParams)
    assert default.profile is Profile.DERIBIT_SM
    assert default.version == "deribit-sm-2024"
    paradex = load_params(METHOD, "standard/paradex-cross-2026")
    assert isinstance(paradex, StandardParams)
    assert paradex.profile is Profile.PARADEX_CROSS


def test_futures_rate_lookup_order() -> None:
    params = load_params(METHOD)
    assert isinstance(params, StandardParams)
    assert params.futures_rates is not None
    rates = params.futures_rates
    assert rates.lookup("SOL_USDC-PERPETUAL", "SOL", False).im_base == 0.04
    assert rates.lookup("BTC-26JUN20", "BTC", True) is rates.inverse["BTC"]
    assert rates.lookup("ETH-PERPETUAL", "ETH", True) is rates.default


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"unknown_knob": 1}, "unknown_knob"),
        ({"option_fractions": {"im_max": 0.2}}, "option_fractions.im_max"),
        (
            {"futures_rates": {"instruments": {}, "inverse": {}, "default": {"im_base": 0.02}}},
            "futures_rates.default.mm_base",
        ),
    ],
)
def test_bad_key_is_named(patch: dict[str, Any], key: str) -> None:
    data = read_pack("standard/deribit-sm-2024") | patch
    with pytest.raises(ValidationError) as info:
        METHOD.params_from_mapping(data)
    assert info.value.field == key


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sm_pair_short_straddle", True),
        ("include_open_orders", True),
        ("sm_underlying", "spot"),
        ("taker_fee_rate", -0.1),
    ],
)
def test_unsupported_values_rejected(key: str, value: object) -> None:
    data = read_pack("standard/deribit-sm-2024") | {key: value}
    with pytest.raises(ValidationError, match=key):
        METHOD.params_from_mapping(data)


def test_profile_needs_its_tables() -> None:
    data = read_pack("standard/paradex-cross-2026") | {"profile": "deribit-sm"}
    with pytest.raises(ValidationError, match="futures_rates"):
        METHOD.params_from_mapping(data)


def test_compute_rejects_foreign_params() -> None:
    book = Book.from_portfolios([])
    market = MarketSnapshot(valuation_ms=1_700_000_000_000, index_prices={"BTC": 1.0})
    with pytest.raises(ValidationError, match="StandardParams"):
        METHOD.compute(book, market, object())
