"""Benchmarks run by ``portmargin bench``: each measures portmargin and a baseline in one run."""

from portmargin.bench._incremental import IncrementalBench, run_incremental_bench
from portmargin.bench._margin import MarginBench, run_margin_bench, synthetic_book
from portmargin.bench._pricing import PricingBench, run_pricing_bench

__all__ = [
    "IncrementalBench",
    "MarginBench",
    "PricingBench",
    "run_incremental_bench",
    "run_margin_bench",
    "run_pricing_bench",
    "synthetic_book",
]
