"""okx-pm parameter pack: published tiers, assumption defaults, strict loading."""

from __future__ import annotations

import pytest

from portmargin.core import ValidationError
from portmargin.io.params import bundled_packs, load_params, read_pack
from portmargin.methods.okx_pm import OkxParams, OkxPM, unit_grid

METHOD = OkxPM()


def _params() -> OkxParams:
    loaded = load_params(METHOD)
    assert isinstance(loaded, OkxParams)
    return loaded


def test_pack_tiers_and_defaults() -> None:
    """DOC tiers since 2025-01-06 and the section-6 assumption defaults."""
    p = _params()
    assert bundled_packs("okx-pm") == ("okx-pm/2024", "okx-pm/2025")
    assert p.mr1_moves("BTC") == (0.04, 0.08, 0.12)
    assert p.mr1_moves("DOT") == (0.06, 0.12, 0.18)
    assert p.mr1_moves("SOL") == (0.08, 0.16, 0.25)
    assert (p.mr4_annual_move("ETH"), p.mr4_annual_move("SOL"), p.mr4_annual_move("DOT")) == (
        0.05,
        0.15,
        0.30,
    )
    assert (p.mr6_move("BTC"), p.mr6_move("SOL"), p.mr6_move("DOT")) == (0.24, 0.36, 0.50)
    assert p.im_factor == 1.3
    assert (p.mr4_min_move, p.mr5_rate_shift, p.mr9_rate, p.mr2_horizon_days) == (
        0.005,
        0.01,
        0.01,
        1.0,
    )


def test_btc_grid_is_21_states_plus_mr6_and_mr2() -> None:
    """7 price moves x 3 IV states for BTC, then MR6 -/+ 24 % and the MR2 column."""
    grid = unit_grid("BTC", _params())
    assert grid.n_mr1 == 21
    assert grid.labels[0] == "BTC MR1 -12% IV down"
    assert grid.labels[21:] == ("BTC MR6 -24%", "BTC MR6 +24%", "BTC MR2 1d theta")


def test_unknown_key_and_bad_tiers_rejected() -> None:
    """A misspelt key names its path; MR7 multipliers must be one more than the bounds."""
    data = read_pack("okx-pm/2025")
    data["mr4_tiers"][0]["moov"] = 0.05
    with pytest.raises(ValidationError, match=r"mr4_tiers\[0\]\.moov"):
        METHOD.params_from_mapping(data)
    data = read_pack("okx-pm/2025")
    data["mr7_tier_multipliers"] = [1.0, 2.0]
    with pytest.raises(ValidationError, match="mr7_tier_multipliers"):
        METHOD.params_from_mapping(data)
