"""Black-76 throughput: the vectorised numpy kernel against a per-option QuantLib loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from portmargin.core import PortmarginError
from portmargin.pricing import black76

__all__ = ["PricingBench", "run_pricing_bench"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PricingBench:
    """Measured Black-76 throughput.

    Attributes
    ----------
    evaluations
        Options priced per kernel call.
    seconds
        Best wall time of one kernel call over the repeats, s.
    evals_per_second
        ``evaluations / seconds``.
    baseline_evaluations, baseline_seconds, baseline_evals_per_second
        The same for a Python loop calling QuantLib's ``blackFormula`` once per option.
    speedup
        ``evals_per_second / baseline_evals_per_second``.
    threads
        Threads the kernel may use (numpy's elementwise ufuncs run on one core).
    """

    evaluations: int
    seconds: float
    evals_per_second: float
    baseline_evaluations: int
    baseline_seconds: float
    baseline_evals_per_second: float
    speedup: float
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run_pricing_bench(
    evaluations: int = 1_000_000, baseline_evaluations: int = 20_000, repeats: int = 5
) -> PricingBench:
    """Measure Black-76 evaluations per second, numpy kernel vs a QuantLib per-option loop.

    Inputs are a fixed-seed random grid: forward 1e4..1e5 USD, strike 0.5..1.5 × forward,
    tau 1 day..2 years, sigma 0.2..1.5, half calls.

    Raises
    ------
    PortmarginError
        If QuantLib (the baseline, extra ``bench``) is not installed, or sizes are not > 0.
    """
    if evaluations <= 0 or baseline_evaluations <= 0 or repeats <= 0:
        raise PortmarginError("benchmark sizes and repeats must be > 0")
    try:
        import QuantLib as ql
    except ImportError:
        raise PortmarginError(
            "the pricing benchmark's baseline needs QuantLib: pip install 'portmargin[bench]'"
        ) from None
    rng = np.random.default_rng(20200521)
    forward = rng.uniform(1e4, 1e5, evaluations)
    strike = forward * rng.uniform(0.5, 1.5, evaluations)
    tau = rng.uniform(1 / 365, 2.0, evaluations)
    sigma = rng.uniform(0.2, 1.5, evaluations)
    is_call = rng.random(evaluations) < 0.5
    black76.price(forward[:10], strike[:10], tau[:10], sigma[:10], is_call[:10])
    seconds = _best_time(lambda: black76.price(forward, strike, tau, sigma, is_call), repeats)

    m = min(baseline_evaluations, evaluations)
    args = [
        (
            ql.Option.Call if c else ql.Option.Put,
            float(k),
            float(f),
            float(s * np.sqrt(t)),
        )
        for f, k, t, s, c in zip(
            forward[:m], strike[:m], tau[:m], sigma[:m], is_call[:m], strict=True
        )
    ]

    def baseline() -> None:
        for option_type, k, f, std in args:
            ql.blackFormula(option_type, k, f, std, 1.0)

    baseline_seconds = _best_time(baseline, max(1, repeats // 2))
    rate = evaluations / seconds
    baseline_rate = m / baseline_seconds
    return PricingBench(
        evaluations=evaluations,
        seconds=seconds,
        evals_per_second=rate,
        baseline_evaluations=m,
        baseline_seconds=baseline_seconds,
        baseline_evals_per_second=baseline_rate,
        speedup=rate / baseline_rate,
    )
