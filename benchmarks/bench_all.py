#!/usr/bin/env python3
"""The whole benchmark, exactly as `pyvrrp lab bench` runs it (same options), for developers in a checkout:

    sudo python3 benchmarks/bench_all.py --reps 5 --json bench.json --png bench.png

See docs/performance.md for the latest table and how it was produced.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvrrp import cli  # noqa: E402

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "lab", "bench", *sys.argv[1:]]
    cli.main()
