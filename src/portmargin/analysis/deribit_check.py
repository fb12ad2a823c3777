"""Self-check of a Deribit ``private/pme/simulate`` result (``specs/deribit-pm.md`` §12.3).

Every expected literal is compared with the recomputed value at the same JSON path:

- printed ``0`` → ``|computed| <= 1e-15``;
- fewer than 15 significant digits → within half a unit of the last printed decimal place;
- 15 or more significant digits → relative error <= 1e-12;
- ``worst_case_bucket`` fields (integers and strings) → exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from portmargin.core import PortmarginError
from portmargin.methods.deribit_pm import ExpectedLiteral, PmeCase, simulate_pme

__all__ = ["PmeCheck", "PmeMismatch", "check_deribit_pme", "printed_tolerance"]

ZERO_ATOL = 1e-15
FULL_RTOL = 1e-12
FULL_DIGITS = 15

Computed = float | int | str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PmeMismatch:
    """One expected value not reproduced.

    Attributes
    ----------
    path
        JSON path of the value.
    expected
        The literal as printed.
    computed
        Recomputed value (None when the engine produced nothing at that path).
    criterion
        ``"zero"``, ``"absolute"``, ``"relative"``, ``"exact"`` or ``"missing"``.
    tolerance
        Allowed error under ``criterion`` (0 for exact and missing).
    """

    path: str
    expected: str
    computed: Computed
    criterion: str
    tolerance: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "path": self.path,
            "expected": self.expected,
            "computed": self.computed,
            "criterion": self.criterion,
            "tolerance": self.tolerance,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PmeCheck:
    """Outcome of checking one result file (amounts in the margin currency).

    Attributes
    ----------
    case
        Case name.
    currency
        Lower-case currency of ``margins`` checked for IM / MM (``"btc"``), None if absent.
    im, mm
        Recomputed initial / maintenance margin (None if not computed).
    expected_im, expected_mm
        Printed literals from the file (None if absent).
    ok
        True when every expected value was reproduced and nothing failed.
    mismatches
        Values not reproduced.
    compared
        Number of expected values compared.
    error
        Why nothing could be computed (insufficient market data, missing parameters), else
        None.
    """

    case: str
    currency: str | None
    im: float | None
    expected_im: str | None
    mm: float | None
    expected_mm: str | None
    ok: bool
    mismatches: tuple[PmeMismatch, ...]
    compared: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "case": self.case,
            "currency": self.currency,
            "im": self.im,
            "expected_im": self.expected_im,
            "mm": self.mm,
            "expected_mm": self.expected_mm,
            "ok": self.ok,
            "compared": self.compared,
            "error": self.error,
            "mismatches": [m.to_dict() for m in self.mismatches],
        }


def printed_tolerance(text: str) -> tuple[str, float]:
    """Criterion and tolerance of a printed number.

    Returns
    -------
    tuple
        ``("zero", 1e-15)``, ``("absolute", half a unit of the last printed place)`` or
        ``("relative", 1e-12)``.
    """
    value = Decimal(text)
    if value == 0:
        return "zero", ZERO_ATOL
    _, digits, exponent = value.as_tuple()
    if len(digits) >= FULL_DIGITS:
        return "relative", FULL_RTOL
    assert isinstance(exponent, int)
    return "absolute", 0.5 * 10.0**exponent


def _flatten(node: Any, path: str, out: dict[str, Computed]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _flatten(v, f"{path}.{k}" if path else str(k), out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _flatten(v, f"{path}[{i}]", out)
    else:
        out[path] = node


def _compare(e: ExpectedLiteral, computed: Computed) -> PmeMismatch | None:
    def mismatch(criterion: str, tolerance: float = 0.0, value: Computed = computed) -> PmeMismatch:
        return PmeMismatch(
            path=e.path,
            expected=e.text,
            computed=value,
            criterion=criterion,
            tolerance=tolerance,
        )

    if computed is None:
        return mismatch("missing")
    if e.exact:
        return None if str(computed) == e.text else mismatch("exact")
    try:
        criterion, tol = printed_tolerance(e.text)
        expected = float(e.text)
    except InvalidOperation:
        return mismatch("exact")
    if isinstance(computed, str):
        return mismatch(criterion, tol)
    x = float(computed)
    if criterion == "zero":
        good = abs(x) <= tol
    elif criterion == "relative":
        good = abs(x - expected) <= tol * abs(expected)
    else:
        good = abs(x - expected) <= tol
    return None if good else mismatch(criterion, tol, x)


def _literal(case: PmeCase, path: str) -> str | None:
    return next((e.text for e in case.expected if e.path == path), None)


def check_deribit_pme(case: PmeCase) -> PmeCheck:
    """Recompute a loaded ``private/pme/simulate`` result and compare every expected value.

    The recomputation is :func:`~portmargin.methods.deribit_pm.simulate_pme`, i.e. the batch
    path of ``DeribitPM.compute`` with one account.
    """
    currency = next(iter(case.inputs), None)
    base = f"margins.{currency}"
    expected_im = _literal(case, f"{base}.initial_margin")
    expected_mm = _literal(case, f"{base}.maintenance_margin")

    def failed(reason: str) -> PmeCheck:
        return PmeCheck(
            case=case.name,
            currency=currency,
            im=None,
            expected_im=expected_im,
            mm=None,
            expected_mm=expected_mm,
            ok=False,
            mismatches=(),
            compared=0,
            error=reason,
        )

    if case.insufficient:
        detail = "; ".join(f"{k}: {v}" for k, v in case.insufficient.items())
        return failed(f"insufficient market data: {detail}")
    try:
        sim = simulate_pme(case.positions, case.market, case.params, case.inputs)
    except PortmarginError as exc:
        return failed(str(exc))
    computed: dict[str, Computed] = {}
    _flatten(sim.to_dict(), "", computed)
    mismatches = tuple(
        m for e in case.expected if (m := _compare(e, computed.get(e.path))) is not None
    )
    margins = sim.margins.get(currency) if currency is not None else None
    return PmeCheck(
        case=case.name,
        currency=currency,
        im=None if margins is None else margins.initial_margin,
        expected_im=expected_im,
        mm=None if margins is None else margins.maintenance_margin,
        expected_mm=expected_mm,
        ok=not mismatches,
        mismatches=mismatches,
        compared=len(case.expected),
    )
