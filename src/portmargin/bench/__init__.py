"""Benchmarks run by ``portmargin bench``: each measures portmargin and a baseline in one run."""

from portmargin.bench._cascade import CascadeBench, run_cascade_bench
from portmargin.bench._e2e import E2EBench, E2ERun, run_e2e_bench, write_synthetic_venue
from portmargin.bench._incremental import IncrementalBench, run_incremental_bench
from portmargin.bench._liqprice import LiqPriceBench, demo_like_holdings, run_liqprice_bench
from portmargin.bench._margin import MarginBench, run_margin_bench, synthetic_book
from portmargin.bench._mc import McBench, mc_bench_book, run_mc_bench
from portmargin.bench._pricing import PricingBench, run_pricing_bench
from portmargin.bench._recompute import RecomputeBench, run_recompute_bench
from portmargin.bench._service import RouteFigures, ServiceBench, run_service_bench
from portmargin.bench._var import VarBench, run_var_bench

__all__ = [
    "CascadeBench",
    "E2EBench",
    "E2ERun",
    "IncrementalBench",
    "LiqPriceBench",
    "MarginBench",
    "McBench",
    "PricingBench",
    "RecomputeBench",
    "RouteFigures",
    "ServiceBench",
    "VarBench",
    "demo_like_holdings",
    "mc_bench_book",
    "run_cascade_bench",
    "run_e2e_bench",
    "run_incremental_bench",
    "run_liqprice_bench",
    "run_margin_bench",
    "run_mc_bench",
    "run_pricing_bench",
    "run_recompute_bench",
    "run_service_bench",
    "run_var_bench",
    "synthetic_book",
    "write_synthetic_venue",
]
