"""Margin results: per-account typed results and the columnar batch methods return."""

from portmargin.results._batch import Explainer, GroupRows, MarginBatch
from portmargin.results._result import Contribution, MarginComponent, MarginResult

__all__ = [
    "Contribution",
    "Explainer",
    "GroupRows",
    "MarginBatch",
    "MarginComponent",
    "MarginResult",
]
