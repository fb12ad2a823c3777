"""Every Derive PMRM_2 conformance case, through the same path as ``portmargin check``."""

from __future__ import annotations

from pathlib import Path

from portmargin.analysis.conformance import check_derive_case
from portmargin.io.derive_case import load_derive_case
from portmargin.methods.derive_pm2 import compute

INVALID_SET_UP = {"test_67_misc_skew_scenario_with_spot_move"}
"""Cases the venue's own suite skips as invalid parameter set-ups: portmargin rejects them."""


def test_conformance_case(derive_case_file: Path) -> None:
    case = load_derive_case(derive_case_file)
    check = check_derive_case(case)
    if case.name in INVALID_SET_UP:
        # Expected outcome: rejected with a validation error naming the offending scenario.
        assert not check.ok
        assert check.error is not None
        assert "Parameters.Scenarios[30].SpotShock" in check.error
        assert "skew" in check.error
        assert check.im is None
        assert check.mm is None
        return
    assert check.error is None, check.error
    assert check.ok, [m.to_dict() for m in check.mismatches]
    assert check.scenarios_compared == len(case.expected.scenario_pnls)
    assert check.scenarios_compared in (30, 31)
    assert check.im_rel_error is not None
    assert check.im_rel_error <= 1e-12
    assert check.mm_rel_error is not None
    assert check.mm_rel_error <= 1e-12


def test_positions_explain_the_worst_loss(derive_case_file: Path) -> None:
    """The shared result's per-position P&L adds up to the worst scenario P&L (or the basis
    contingency) of every valid venue case."""
    case = load_derive_case(derive_case_file)
    if case.rejection is not None:
        return
    assert case.portfolio is not None
    assert case.market is not None
    assert case.params is not None
    result = compute(case.portfolio, case.market, case.params)
    worst = result.worst_scenario_index
    expected = result.basis_contingency if worst is None else float(result.pnl_array()[worst])
    explained = sum(c.pnl for c in result.margin.contributions)
    scale = 1.0 + sum(abs(c.pnl) for c in result.margin.contributions)
    assert abs(explained - expected) <= 1e-12 * scale
    assert result.margin.worst_scenario == result.worst_scenario
