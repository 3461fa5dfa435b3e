#!/usr/bin/env python3
"""The scale measurement (5 of `pyvrrp lab bench`): N instances at advert_int 1 on one interface, CPU s/min,
RSS and advert jitter, printed as JSON.

    sudo python3 benchmarks/bench_scale.py pyvrrp 1 16 64 255 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvrrp.lab.bench import BenchFailed, scale_run  # noqa: E402
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
    ap.add_argument("sizes", type=int, nargs="+")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--prefix", default=None)
    a = ap.parse_args()
    preflight_ok = False
    prefix = ""
    try:
        prefix = lab_prefix(a.prefix)
        preflight(prefix, ("tcpdump",) + (("keepalived",) if a.daemon == "keepalived" else ()))
        preflight_ok = True
        with signals_raise():
            res = scale_run(
                a.daemon, tuple(a.sizes), a.seconds, prefix, lab_workdir(prefix) / "scale", Screen()
            )
    except (LabError, BenchFailed) as e:
        print(f"bench_scale: {e}", file=sys.stderr)
        return getattr(e, "code", 1)
    except Interrupted:
        print("bench_scale: interrupted (the lab is removed)", file=sys.stderr)
        return 130
    finally:
        if preflight_ok:  # never the files of a lab that was already up
            shutil.rmtree(lab_workdir(prefix), ignore_errors=True)
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
