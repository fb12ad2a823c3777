"""Stress pack loader and scenario validation: strict keys, key paths in errors, overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from portmargin.core import DataFormatError, ValidationError
from portmargin.io.params import bundled_packs
from portmargin.io.stress import STRESS_PACK, load_stress_library
from portmargin.scenarios import (
    ScenarioKind,
    StressLibrary,
    StressScenario,
    term_vol_multiplier,
)

LIBRARY = load_stress_library()


def _hypothetical(**changes: Any) -> StressScenario:
    fields: dict[str, Any] = {
        "id": "X",
        "label": "x",
        "kind": "hypothetical",
        "horizon_days": 1,
        "spot_shock": {"BTC": -0.1},
        "source": "test",
    }
    return StressScenario(**{**fields, **changes})


def test_default_pack_is_bundled() -> None:
    assert STRESS_PACK in bundled_packs("stress")
    assert LIBRARY.version == "2021-11"
    assert len(LIBRARY.scenarios) == 19


def test_hypothetical_scenarios_of_a4() -> None:
    hyp = {s.id: s for s in LIBRARY.scenarios if s.kind is ScenarioKind.HYPOTHETICAL}
    table = {
        "HYP-EXCHANGE-COLLAPSE": (2, -0.25, -0.30, 1.5, 1.5),
        "HYP-STABLECOIN-DEPEG": (2, -0.10, -0.12, 1.3, 1.3),
        "HYP-SHORT-SQUEEZE": (2, 0.30, 0.40, 1.4, 1.4),
        "HYP-DECOUPLING": (2, 0.10, -0.20, 1.1, 1.3),
        "HYP-VOL-CRUSH": (1, 0.0, 0.0, 0.6, 0.6),
        "HYP-BASIS-COLLAPSE": (1, 0.0, 0.0, 1.0, 1.0),
    }
    assert set(hyp) == set(table)
    for sid, (h, btc, eth, m_btc, m_eth) in table.items():
        s = hyp[sid]
        assert (s.horizon_days, s.spot_shock["BTC"], s.spot_shock["ETH"]) == (h, btc, eth)
        assert (s.vol_multiplier["BTC"], s.vol_multiplier["ETH"]) == (m_btc, m_eth)
        assert s.vol_term_power == 0.0  # flat multiplier
        assert "hypothetical" in s.source
        assert s.start is None
        assert s.end is None
    assert dict(hyp["HYP-STABLECOIN-DEPEG"].collateral_shock) == {"USDT": -0.08}
    assert dict(hyp["HYP-BASIS-COLLAPSE"].basis_shock) == {"BTC": -0.03, "ETH": -0.03}


def test_every_scenario_has_a_source_and_unique_id() -> None:
    assert len(set(LIBRARY.ids)) == len(LIBRARY.ids)
    assert all(s.source for s in LIBRARY.scenarios)


@pytest.mark.parametrize(
    ("override", "field", "expected"),
    [
        ("scenarios[2].spot_shock.BTC=-1.5", "stress/2021-11: scenarios[2].spot_shock.BTC", "> -1"),
        ("scenarios[0].vol_multiplier.ETH=-0.1", "scenarios[0].vol_multiplier.ETH", ">= 0"),
        ("scenarios[1].kind=forecast", "scenarios[1].kind", "historical"),
        ("scenarios[1].horizon_days=-1", "scenarios[1].horizon_days", ">= 0"),
        ("scenarios[3].vol_mult_cap=0.1", "scenarios[3].vol_mult_cap", ">= 0.2"),
        ("scenarios[4].surprise=1", "scenarios[4].surprise", "one of the keys"),
        ('scenarios[5].end="2020-03-01"', "scenarios[5].end", "after start"),
        ('scenarios[13].start="2020-03-01"', "scenarios[13].start", "no window"),
        ("scenarios[6].start=yesterday", "scenarios[6].start", "YYYY-MM-DD"),
        ("scenarios[7].id=HIST-2018-W05", "scenarios[7].id", "not used before"),
    ],
)
def test_errors_name_the_key_path(override: str, field: str, expected: str) -> None:
    with pytest.raises(ValidationError) as info:
        load_stress_library(overrides=[override])
    assert info.value.field.endswith(field)
    assert info.value.field.startswith("stress/2021-11: ")
    assert expected in info.value.expected


def test_missing_required_key(tmp_path: Path) -> None:
    path = tmp_path / "lib.toml"
    path.write_text(
        'version = "t"\n[[scenarios]]\nid = "A"\nlabel = "a"\nkind = "hypothetical"\n'
        'spot_shock = { BTC = -0.1 }\nsource = "x"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as info:
        load_stress_library(path)
    assert info.value.field == f"{path}: scenarios[0].horizon_days"


def test_historical_needs_a_window() -> None:
    with pytest.raises(ValidationError, match="window date"):
        _hypothetical(kind="historical")


def test_unreadable_pack() -> None:
    with pytest.raises(DataFormatError):
        load_stress_library("stress/1999-01")


def test_override_changes_value_and_version() -> None:
    lib = load_stress_library(overrides=["scenarios[0].spot_shock.BTC=-0.6"])
    assert lib.scenarios[0].spot_shock["BTC"] == -0.6
    assert lib.version == "2021-11+set"


def test_select_keeps_the_order_given() -> None:
    picked = LIBRARY.select(["HYP-VOL-CRUSH", "HIST-2020-03-12-1D"])
    assert picked.ids == ("HYP-VOL-CRUSH", "HIST-2020-03-12-1D")
    assert LIBRARY.select([]) is LIBRARY
    with pytest.raises(ValidationError, match="one of"):
        LIBRARY.select(["NOPE"])
    with pytest.raises(ValidationError, match="not used before"):
        LIBRARY.select(["HYP-VOL-CRUSH", "HYP-VOL-CRUSH"])


def test_library_needs_scenarios() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        StressLibrary(version="v", scenarios=())


def test_term_law_a1() -> None:
    # M(DTE) = min(1 + (M - 1)(30 / max(DTE, 1))^p, cap), floor 0.2
    dte = np.array([0.25, 1.0, 7.0, 30.0, 90.0, 365.0])
    got = term_vol_multiplier(1.5, dte, 0.3, 3.0)
    expected = np.minimum(1 + 0.5 * (30 / np.maximum(dte, 1)) ** 0.3, 3.0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)
    assert got[3] == pytest.approx(1.5)
    np.testing.assert_allclose(term_vol_multiplier(2.5, dte, 0.3, 3.0)[:2], [3.0, 3.0])
    # a vol crush on short expiries stops at the floor 0.2
    assert term_vol_multiplier(0.6, 1.0, 0.3, 3.0) == pytest.approx(0.2)
    np.testing.assert_allclose(term_vol_multiplier(0.6, dte, 0.0, 3.0), 0.6)
    scen = _hypothetical(vol_multiplier={"BTC": 1.5})
    np.testing.assert_allclose(scen.vol_multipliers("BTC", dte), got)
    np.testing.assert_allclose(scen.vol_multipliers("ETH", dte), 1.0)
