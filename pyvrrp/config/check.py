"""``python -m pyvrrp.config.check [-i ID] [-e] FILE``: keepalived ``-t`` for pyvrrp's config layer.

Prints every diagnostic (errors, warnings, "accepted, not implemented") to stderr and exits with
keepalived 2.2.7's ``-t`` code (0/4/5/6). Interfaces are checked against /sys/class/net like
``keepalived -t`` does. Used by the compatibility tests; ``pyvrrp -t`` does the same through the CLI.
"""

from __future__ import annotations

import argparse
import os
import sys

from pyvrrp.config.keepalived import load
from pyvrrp.errors import ConfigError


def present_interfaces() -> frozenset[str]:
    try:
        return frozenset(os.listdir("/sys/class/net"))
    except OSError:
        return frozenset()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pyvrrp.config.check")
    ap.add_argument("file")
    ap.add_argument("-i", "--config-id", default=None)
    ap.add_argument("-e", "--all-config", action="store_true")
    ap.add_argument("--no-interfaces", action="store_true", help="do not check interface names")
    a = ap.parse_args(argv)
    try:
        cfg = load(
            a.file,
            config_id=a.config_id,
            all_config=a.all_config,
            interfaces=None if a.no_interfaces else present_interfaces(),
        )
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 4
    for d in cfg.diagnostics:
        tag = "accepted, not implemented" if d.level == "unimplemented" else d.level
        print(f"{d} [{tag}]", file=sys.stderr)
    return cfg.exit_code()


if __name__ == "__main__":
    sys.exit(main())
