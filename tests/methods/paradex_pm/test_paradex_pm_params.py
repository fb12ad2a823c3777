"""paradex-pm parameter packs: published tables, vol law, strict loading."""

from __future__ import annotations

import numpy as np
import pytest

from portmargin.core import ValidationError
from portmargin.io.params import bundled_packs, load_params, read_pack
from portmargin.methods.paradex_pm import ParadexParams, ParadexPM, VolUpFloor, scenario_set
from portmargin.methods.paradex_pm import vol_law as make_law
from portmargin.scenarios import UpFloor

METHOD = ParadexPM()
TAIL_MOVES = [-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0]


def _pack(name: str) -> ParadexParams:
    params = load_params(METHOD, name)
    assert isinstance(params, ParadexParams)
    return params


def test_bundled_packs() -> None:
    """Default pack 2026-05 and the dated March 2026 pack are bundled."""
    assert METHOD.default_pack == "paradex-pm/2026-05"
    assert set(bundled_packs("paradex-pm")) == {"paradex-pm/2026-05", "paradex-pm/2026-03"}
    assert [a.base_asset for a in _pack("paradex-pm/2026-05").assets] == [
        "BTC",
        "ETH",
        "HYPE",
        "CL",
    ]


@pytest.mark.parametrize("asset", ["BTC", "ETH"])
def test_btc_eth_table(asset: str) -> None:
    """DOC table 2.1: 16 standard scenarios at weight 1, tails at 18, 36, 24, 12, 6, 4, 3, 2.4 %."""
    a = _pack("paradex-pm/2026-05").asset(asset)
    rows = [(r.spot_shock, r.vol_shock, r.weight) for r in a.scenarios]
    assert len(rows) == 24
    assert rows[0] == (0.16, 0.4, 1.0)
    assert rows[15] == (-0.16, 0.4, 1.0)
    assert rows[2] == (0.12, -0.22, 1.0)
    assert rows[8] == (0.0, -0.22, 1.0)
    assert all(w == 1.0 for _, _, w in rows[:16])
    assert [r[0] for r in rows[16:]] == TAIL_MOVES
    assert [r[2] for r in rows[16:]] == [0.18, 0.36, 0.24, 0.12, 0.06, 0.04, 0.03, 0.024]
    assert all(r[1] == 0.4 for r in rows[16:])
    assert (a.unhedged_margin_factor, a.hedged_margin_factor, a.mmf_factor) == (0.02, 0.01, 0.5)
    assert a.vol_shock_params.min_vol_shock_up == 0.4
    assert a.funding_provision_hour == 8.0


@pytest.mark.parametrize("asset", ["HYPE", "CL"])
def test_hype_cl_table(asset: str) -> None:
    """DOC: spot +-28 (vol up only), +-21, +-14, +-7, 0 at +64 / -35.2 %; tails at
    30, 50, 40, 20, 10, 7, 5, 4 %; factors 3 % / 1.5 %; vol floor 60 %."""
    a = _pack("paradex-pm/2026-05").asset(asset)
    rows = [(r.spot_shock, r.vol_shock, r.weight) for r in a.scenarios]
    assert len(rows) == 24
    assert rows[0] == (0.28, 0.64, 1.0)
    assert rows[15] == (-0.28, 0.64, 1.0)
    assert sorted({r[1] for r in rows[:16]}) == [-0.352, 0.64]
    assert [r[0] for r in rows[16:]] == TAIL_MOVES
    assert [r[2] for r in rows[16:]] == [0.30, 0.50, 0.40, 0.20, 0.10, 0.07, 0.05, 0.04]
    assert (a.unhedged_margin_factor, a.hedged_margin_factor) == (0.03, 0.015)
    assert a.vol_shock_params.min_vol_shock_up == 0.6


def test_march_pack_tail_weights() -> None:
    """March 2026: BTC tails 24, 48, 32, 16, 8, 5.33, 4, 3.2 %; no funding provision."""
    a = _pack("paradex-pm/2026-03").asset("BTC")
    assert [r.weight for r in a.scenarios[16:]] == [
        0.24,
        0.48,
        0.32,
        0.16,
        0.08,
        0.0533,
        0.04,
        0.032,
    ]
    assert a.funding_provision_hour == 0.0


def test_vol_law_and_labels() -> None:
    """Powers 0.30 below 30 days and 0.13 from 30 days on, DTE floor 1 day; level floor."""
    params = _pack("paradex-pm/2026-05")
    a = params.asset("BTC")
    law = make_law(a, VolUpFloor.LEVEL)
    assert (law.short_term_power, law.long_term_power) == (0.30, 0.13)
    assert (law.boundary_days, law.dte_floor_days, law.short_inclusive) == (30.0, 1.0, False)
    assert law.min_vol_up == 0.4
    # "shock" does not floor the IV level: the engine floors the shock term instead
    # (was `min_vol_up == 0.0` while the shock floor was applied outside the law).
    shock = make_law(a, VolUpFloor.SHOCK)
    assert (shock.up_floor, shock.min_vol_up) == (UpFloor.SHOCK, 0.4)
    assert law.up_floor is UpFloor.LEVEL
    up = shock.shocked_vols(np.array([0.2]), np.array([90.0]), np.array([0.4, -0.22]))[0]
    assert up[0] == pytest.approx(0.2 * 1.4, rel=1e-15)
    assert up[1] == pytest.approx(0.2 * (1 - 0.22 * (1 / 3) ** 0.13), rel=1e-15)
    scen = scenario_set(a, params.vol_up_floor)
    assert scen.labels[16] == "BTC #17 spot -66% vol +40% w 18%"
    assert scen.column("weight")[23] == 0.024


def test_unknown_key_rejected_with_path() -> None:
    """A misspelt key is an error naming its path."""
    data = read_pack("paradex-pm/2026-05")
    data["assets"][0]["mmf_factr"] = 0.5
    with pytest.raises(ValidationError, match=r"assets\[0\]\.mmf_factr"):
        METHOD.params_from_mapping(data)


def test_invalid_values_rejected() -> None:
    """Duplicate base assets and an unknown vol-floor mode are rejected."""
    data = read_pack("paradex-pm/2026-05")
    data["assets"][1]["base_asset"] = "BTC"
    with pytest.raises(ValidationError, match="unique base_asset"):
        METHOD.params_from_mapping(data)
    data = read_pack("paradex-pm/2026-05")
    data["vol_up_floor"] = "both"
    with pytest.raises(ValidationError, match="vol_up_floor"):
        METHOD.params_from_mapping(data)
