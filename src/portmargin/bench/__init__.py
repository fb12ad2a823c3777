"""Benchmarks run by ``portmargin bench``: each measures portmargin and a baseline in one run."""

from portmargin.bench._pricing import PricingBench, run_pricing_bench

__all__ = ["PricingBench", "run_pricing_bench"]
