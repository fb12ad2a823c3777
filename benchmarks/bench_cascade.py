"""Liquidation cascade over a synthetic population (as ``portmargin bench cascade``).

Run: ``python benchmarks/bench_cascade.py [accounts] [baseline_accounts] [method]``.
"""

from __future__ import annotations

import json
import sys

from portmargin.bench import run_cascade_bench

if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:3]]
    method = sys.argv[3] if len(sys.argv) > 3 else "ewma"
    print(json.dumps(run_cascade_bench(*sizes, method=method).to_dict(), indent=2))
