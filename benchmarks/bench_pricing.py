"""Black-76 throughput: numpy kernel vs a QuantLib loop (as ``portmargin bench pricing``).

Run: ``python benchmarks/bench_pricing.py [evaluations] [baseline_evaluations]``.
"""

from __future__ import annotations

import json
import sys

from portmargin.bench import run_pricing_bench

if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:3]]
    print(json.dumps(run_pricing_bench(*sizes).to_dict(), indent=2))
