"""Margin results: per-account typed results and the columnar batch methods return."""

from portmargin.results._batch import Explainer, MarginBatch
from portmargin.results._result import Contribution, MarginComponent, MarginResult

__all__ = ["Contribution", "Explainer", "MarginBatch", "MarginComponent", "MarginResult"]
