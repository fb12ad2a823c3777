"""File in → results out, as a separate process (as ``portmargin bench e2e``).

Run: ``python benchmarks/bench_e2e.py [accounts] [parquet|csv]``.
"""

from __future__ import annotations

import json
import sys

from portmargin.bench import run_e2e_bench

if __name__ == "__main__":
    accounts = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    fmt = sys.argv[2] if len(sys.argv) > 2 else "parquet"
    print(json.dumps(run_e2e_bench(accounts, fmt).to_dict(), indent=2))
