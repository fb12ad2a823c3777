"""Conformance checks: recompute a venue's reference case and compare with its results.

Pass criteria for Derive PMRM_2 cases (``conformance/README.md``; the venue's own suite uses
the same): IM and MM relative error <= ``rtol``; each scenario P&L absolute error <= ``atol``
when either value has magnitude below 1e-10, else relative error <= ``rtol``; ``OptionMTM``
relative and ``CollateralMTM`` absolute when the case provides them. Relative errors are taken
against the expected value; an expected 0 requires an exact 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from portmargin.core import PortmarginError
from portmargin.methods.derive_pm2 import DeriveCase, DeriveResult, compute

__all__ = ["CaseCheck", "CaseMismatch", "check_derive_case"]

TINY = 1e-10
"""Below this magnitude (USD) a scenario P&L is compared absolutely."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseMismatch:
    """One quantity outside its tolerance (values in USD unless a count).

    ``error`` is the relative or absolute error that failed, per ``criterion``
    (``"relative"``, ``"absolute"`` or ``"count"``).
    """

    quantity: str
    expected: float
    computed: float
    error: float
    criterion: str

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "quantity": self.quantity,
            "expected": self.expected,
            "computed": self.computed,
            "error": self.error,
            "criterion": self.criterion,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseCheck:
    """Outcome of checking one case.

    Attributes
    ----------
    case
        Case name.
    im, mm
        Computed net IM / MM (USD), None when the case was rejected.
    expected_im, expected_mm
        Reference values from the case.
    ok
        True when every compared quantity is within tolerance. A rejected case is never ok.
    mismatches
        Quantities outside tolerance.
    error
        Validation or market-data message when the case's inputs were rejected (for the
        venue's invalid set-ups, rejection is the expected outcome), else None.
    im_rel_error, mm_rel_error
        Relative errors of IM and MM (None when rejected).
    max_scenario_error
        Largest scenario P&L error under its criterion (None when rejected or no scenarios).
    scenarios_compared
        Number of scenario P&Ls compared.
    """

    case: str
    im: float | None
    expected_im: float
    mm: float | None
    expected_mm: float
    ok: bool
    mismatches: tuple[CaseMismatch, ...] = ()
    error: str | None = None
    im_rel_error: float | None = None
    mm_rel_error: float | None = None
    max_scenario_error: float | None = None
    scenarios_compared: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: ``case, im, expected_im, mm, expected_mm, ok`` plus the extras."""
        return {
            "case": self.case,
            "im": self.im,
            "expected_im": self.expected_im,
            "mm": self.mm,
            "expected_mm": self.expected_mm,
            "ok": self.ok,
            "error": self.error,
            "im_rel_error": self.im_rel_error,
            "mm_rel_error": self.mm_rel_error,
            "max_scenario_error": self.max_scenario_error,
            "scenarios_compared": self.scenarios_compared,
            "mismatches": [m.to_dict() for m in self.mismatches],
        }


def _rel(computed: float, expected: float) -> float:
    if expected == 0.0:
        return 0.0 if computed == 0.0 else math.inf
    return abs(computed - expected) / abs(expected)


def _compare(
    out: list[CaseMismatch], name: str, expected: float, computed: float, tol: float, relative: bool
) -> float:
    error = _rel(computed, expected) if relative else abs(computed - expected)
    if not error <= tol:
        criterion = "relative" if relative else "absolute"
        out.append(
            CaseMismatch(
                quantity=name,
                expected=expected,
                computed=computed,
                error=error,
                criterion=criterion,
            )
        )
    return error


def _rejected(case: DeriveCase, message: str) -> CaseCheck:
    return CaseCheck(
        case=case.name,
        im=None,
        expected_im=case.expected.im,
        mm=None,
        expected_mm=case.expected.mm,
        ok=False,
        error=message,
    )


def check_derive_case(case: DeriveCase, *, rtol: float = 1e-8, atol: float = 1e-8) -> CaseCheck:
    """Compute a Derive PMRM_2 case and compare it with the venue's results.

    Parameters
    ----------
    case
        A case from ``portmargin.io.derive_case.load_derive_case``.
    rtol
        Relative tolerance (IM, MM, scenario P&Ls, OptionMTM).
    atol
        Absolute tolerance in USD (tiny scenario P&Ls, CollateralMTM).

    Returns
    -------
    CaseCheck
        ``ok=False`` with ``error`` set, and nothing compared, when the case's inputs are
        rejected (at load time, or by ``compute`` for missing market data): this is how an
        invalid venue set-up such as a skew scenario with a spot shock is reported.
    """
    if case.rejection is not None:
        return _rejected(case, case.rejection)
    portfolio, market, params = case.portfolio, case.market, case.params
    if portfolio is None or market is None or params is None:  # excluded by DeriveCase
        return _rejected(case, "incomplete case")
    try:
        result: DeriveResult = compute(portfolio, market, params)
    except PortmarginError as exc:
        return _rejected(case, str(exc))

    exp = case.expected
    mismatches: list[CaseMismatch] = []
    im_err = _compare(mismatches, "IM", exp.im, result.im, rtol, True)
    mm_err = _compare(mismatches, "MM", exp.mm, result.mm, rtol, True)
    computed = result.pnl_array()
    expected = exp.scenario_pnls
    if len(expected) != computed.shape[0]:
        mismatches.append(
            CaseMismatch(
                quantity="scenario count",
                expected=float(len(expected)),
                computed=float(computed.shape[0]),
                error=float(abs(len(expected) - computed.shape[0])),
                criterion="count",
            )
        )
    worst: float | None = None
    n = min(len(expected), computed.shape[0])
    for name, e, c in zip(
        exp.scenario_names()[:n], expected[:n], computed[:n].tolist(), strict=True
    ):
        tiny = abs(e) < TINY or abs(c) < TINY
        err = _compare(mismatches, name, e, c, atol if tiny else rtol, not tiny)
        worst = err if worst is None else max(worst, err)
    if exp.option_mtm is not None:
        _compare(mismatches, "OptionMTM", exp.option_mtm, result.option_mtm, rtol, True)
    if exp.collateral_mtm is not None:
        _compare(
            mismatches, "CollateralMTM", exp.collateral_mtm, result.collateral_mtm, atol, False
        )
    return CaseCheck(
        case=case.name,
        im=result.im,
        expected_im=exp.im,
        mm=result.mm,
        expected_mm=exp.mm,
        ok=not mismatches,
        mismatches=tuple(mismatches),
        im_rel_error=im_err,
        mm_rel_error=mm_err,
        max_scenario_error=worst,
        scenarios_compared=n,
    )
