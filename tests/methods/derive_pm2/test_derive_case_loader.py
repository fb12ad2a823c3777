"""Reading conformance case files and checking cases (``portmargin check derive-pm2`` path)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from derive_pm2_support import synthetic_case

from portmargin.analysis.conformance import CaseCheck, check_derive_case
from portmargin.core import DataFormatError
from portmargin.io.derive_case import load_derive_case
from portmargin.methods.derive_pm2 import DeriveCase, DeriveExpected, compute


def _write(tmp_path: Path, data: Any, name: str = "test_0_synthetic.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_synthetic_case_loads(tmp_path: Path) -> None:
    case = load_derive_case(_write(tmp_path, synthetic_case()))
    assert case.name == "test_0_synthetic"
    assert case.rejection is None
    assert case.portfolio is not None
    assert case.market is not None
    assert case.params is not None
    assert case.portfolio.perp_value == 10.0
    assert case.portfolio.cash == -500.0
    assert case.market.spot_price == 3000.5
    assert case.portfolio.options.size == 2
    assert case.market.expiries[0].vols.tolist() == [0.6, 0.62]
    assert case.params.collaterals[0].is_risk_cancelling
    assert len(case.expected.scenario_pnls) == len(case.params.scenarios) == 33
    assert case.expected.option_mtm == 0.0
    assert case.expected.collateral_mtm is None
    result = compute(case.portfolio, case.market, case.params)
    assert result.collateral_mtm == pytest.approx(1.5 * 3000.5)
    assert result.expiries[0].naked_shorts == 1.0  # strikes do not net across each other


@pytest.mark.parametrize(
    ("edit", "column"),
    [
        (lambda d: d["Scenario"].pop("SpotPrice"), "Scenario.SpotPrice"),
        (lambda d: d["Scenario"]["Options"][1].update(Strike="abc"), "Scenario.Options[1].Strike"),
        (lambda d: d["Scenario"]["Options"][0].update(Strikk=1), "Scenario.Options[0].Strikk"),
        (lambda d: d["Scenario"]["Options"][0].update(IsCall=2), "Scenario.Options[0].IsCall"),
        (lambda d: d["Scenario"].update(Cash="NaN"), "Scenario.Cash"),
        (lambda d: d["Scenario"].update(Options={}), "Scenario.Options"),
        (lambda d: d["Scenario"]["Collaterals"][0].pop("Price"), "Scenario.Collaterals[0].Price"),
        (
            lambda d: d["Scenario"]["OptionFeeds"][0].update(Rate=None),
            "Scenario.OptionFeeds[0].Rate",
        ),
        (lambda d: d["Parameters"]["Margin"].update(FOO=1), "Parameters.Margin.FOO"),
        (lambda d: d["Parameters"]["VolShock"].pop("DTE_FLOOR"), "Parameters.VolShock.DTE_FLOOR"),
        (
            lambda d: d["Parameters"]["Scenarios"][0].update(VolShockDirection="Left"),
            "Parameters.Scenarios[0].VolShockDirection",
        ),
        (lambda d: d["Result"].pop("IM"), "Result.IM"),
        (lambda d: d["Result"]["skew_losses"].append(["X"]), "Result.skew_losses[2]"),
        (lambda d: d.update(Extra={}), "Extra"),
        (
            lambda d: d["Scenario"]["Options"][1].update(Strike=3000.0, MarkVol=0.7),
            "Scenario.Options[1].MarkVol",
        ),
    ],
)
def test_malformed_file_names_file_and_key_path(tmp_path: Path, edit: Any, column: str) -> None:
    data = synthetic_case()
    edit(data)
    path = _write(tmp_path, data)
    with pytest.raises(DataFormatError) as info:
        load_derive_case(path)
    assert info.value.column == column
    assert str(path) in str(info.value)


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "{not json")
    with pytest.raises(DataFormatError, match="not valid JSON") as info:
        load_derive_case(path)
    assert str(path) in str(info.value)
    with pytest.raises(DataFormatError, match="cannot read"):
        load_derive_case(tmp_path / "absent.json")
    with pytest.raises(DataFormatError, match="JSON object"):
        load_derive_case(_write(tmp_path, [1, 2]))


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda d: d["Scenario"]["Options"][1].update(Strike=-5.0), "Scenario.Options[1].Strike"),
        (lambda d: d["Scenario"].update(SpotConfidence=1.2), "Scenario.SpotConfidence"),
        (lambda d: d["Scenario"]["Options"][0].update(MarkVol=-0.1), "Scenario.Options[0].MarkVol"),
        (
            lambda d: d["Scenario"]["Collaterals"][0].update(MMHaircut=0.7, IMHaircut=0.7),
            "Scenario.Collaterals[0].IMHaircut",
        ),
        (
            lambda d: d["Scenario"]["OptionFeeds"].append(d["Scenario"]["OptionFeeds"][0]),
            "Scenario.OptionFeeds[1].FeedExpiry",
        ),
        (lambda d: d["Parameters"]["Margin"].update(IM_LOSS_FACTOR=0.1), "Parameters.Margin"),
        (
            lambda d: d["Parameters"]["Scenarios"][-1].update(SpotShock="1.2"),
            "Parameters.Scenarios[32].SpotShock",
        ),
    ],
)
def test_rule_violations_are_rejected_cases(tmp_path: Path, edit: Any, where: str) -> None:
    data = synthetic_case()
    edit(data)
    case = load_derive_case(_write(tmp_path, data))
    assert case.rejection is not None
    assert where in case.rejection
    check = check_derive_case(case)
    assert not check.ok
    assert check.error == case.rejection
    assert check.im is None
    assert check.mismatches == ()


def test_missing_feed_is_reported_by_the_check(tmp_path: Path) -> None:
    data = synthetic_case()
    data["Scenario"]["Options"][0]["Expiry"] = 999
    case = load_derive_case(_write(tmp_path, data))
    assert case.rejection is None
    check = check_derive_case(case)
    assert not check.ok
    assert check.error is not None
    assert "no market feed" in check.error


def _self_consistent(case: DeriveCase) -> DeriveCase:
    """The same case with its expected results replaced by freshly computed ones."""
    assert case.portfolio is not None
    assert case.market is not None
    assert case.params is not None
    result = compute(case.portfolio, case.market, case.params)
    pnl = result.pnl_array().tolist()
    expected = DeriveExpected(
        im=result.im,
        mm=result.mm,
        reg_losses=tuple(pnl[:23]),
        tail_losses=tuple(pnl[23:-2]),
        skew_losses=tuple(pnl[-2:]),
        option_mtm=result.option_mtm,
        collateral_mtm=result.collateral_mtm,
    )
    return dataclasses.replace(case, expected=expected)


def test_check_detects_each_kind_of_mismatch(tmp_path: Path) -> None:
    case = _self_consistent(load_derive_case(_write(tmp_path, synthetic_case())))
    assert check_derive_case(case).ok
    exp = case.expected
    reg = list(exp.reg_losses)
    reg[3] *= 1 + 1e-6
    bad = dataclasses.replace(
        exp,
        im=exp.im * (1 + 1e-7),
        reg_losses=tuple(reg),
        collateral_mtm=(exp.collateral_mtm or 0.0) + 1e-6,
    )
    check = check_derive_case(dataclasses.replace(case, expected=bad))
    assert not check.ok
    assert check.error is None
    assert [m.quantity for m in check.mismatches] == ["IM", "reg_losses[3]", "CollateralMTM"]
    assert check.mismatches[0].criterion == "relative"
    assert check.mismatches[2].criterion == "absolute"
    short = dataclasses.replace(exp, skew_losses=exp.skew_losses[:1])
    check = check_derive_case(dataclasses.replace(case, expected=short))
    assert [m.quantity for m in check.mismatches] == ["scenario count"]
    loose = check_derive_case(dataclasses.replace(case, expected=bad), rtol=1e-5, atol=1e-5)
    assert loose.ok


def test_tiny_pnls_are_compared_absolutely(tmp_path: Path) -> None:
    data = synthetic_case()
    data["Scenario"].update(NumPerps=0, Collaterals=[], Options=[], OptionFeeds=[])
    case = _self_consistent(load_derive_case(_write(tmp_path, data)))
    assert set(case.expected.scenario_pnls) == {0.0}
    reg = list(case.expected.reg_losses)
    reg[0] = 5e-9  # computed 0: absolute error 5e-9 passes although the relative one is 1
    reg[1] = 2e-8  # absolute error 2e-8 fails
    edited = dataclasses.replace(case.expected, reg_losses=tuple(reg))
    check = check_derive_case(dataclasses.replace(case, expected=edited))
    assert [(m.quantity, m.criterion) for m in check.mismatches] == [("reg_losses[1]", "absolute")]


def test_to_dict_is_plain_json(tmp_path: Path) -> None:
    case = load_derive_case(_write(tmp_path, synthetic_case()))
    check = check_derive_case(case)
    assert isinstance(check, CaseCheck)
    payload = check.to_dict()
    assert list(payload)[:6] == ["case", "im", "expected_im", "mm", "expected_mm", "ok"]
    assert payload["case"] == "test_0_synthetic"
    assert payload["ok"] is False
    json.dumps(payload)
