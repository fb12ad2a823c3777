"""Every Derive PMRM_2 conformance case, through the same path as ``portmargin check``."""

from __future__ import annotations

from pathlib import Path

from portmargin.analysis.conformance import check_derive_case
from portmargin.io.derive_case import load_derive_case

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
