#!/usr/bin/env python3
"""One failover measurement (measurements 1-4 and 6 of `pyvrrp lab bench`) for one daemon and one profile,
printed as JSON: handy when tuning the timer code.

    sudo python3 benchmarks/bench_failover.py pyvrrp v3_50ms --reps 10
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvrrp.lab.bench import PROFILES, BenchFailed, failover_run  # noqa: E402
from pyvrrp.lab.story import (  # noqa: E402
    Interrupted,
    LabError,
    Screen,
    lab_prefix,
    lab_workdir,
    preflight,
    signals_raise,
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("daemon", choices=("pyvrrp", "keepalived"))
    ap.add_argument("profile", choices=sorted(PROFILES))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--prefix", default=None)
    a = ap.parse_args()
    preflight_ok = False
    prefix = ""
    try:
        prefix = lab_prefix(a.prefix)
        preflight(prefix, ("tcpdump",) + (("keepalived",) if a.daemon == "keepalived" else ()))
        preflight_ok = True
        with signals_raise():
            res = failover_run(
                a.daemon, a.profile, a.reps, prefix, lab_workdir(prefix) / "failover", Screen()
            )
    except (LabError, BenchFailed) as e:
        print(f"bench_failover: {e}", file=sys.stderr)
        return getattr(e, "code", 1)
    except Interrupted:
        print("bench_failover: interrupted (the lab is removed)", file=sys.stderr)
        return 130
    finally:
        if preflight_ok:  # never the files of a lab that was already up
            shutil.rmtree(lab_workdir(prefix), ignore_errors=True)
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
