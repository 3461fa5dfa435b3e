"""Priority arithmetic (pure): effective priority and FAULT from tracker contributions.

Owns keepalived's ``vrrp_set_effective_priority`` (``vrrp_track.c``) rule:

* ``effective = clamp(base + sum(deltas), 1, 254)``;
* base priority 255 (the address owner) is never changed by trackers;
* any tracker reporting ``fault`` (a failed weight-0 tracker, the interface down) puts the instance in FAULT.

The deltas themselves (weight, ``reverse``, track_file value x weight, rise/fall) are computed by ``pyvrrp.track``;
this module only combines them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pyvrrp.proto.events import TrackerChanged

PRIO_OWNER = 255  # RFC 3768 §5.3.4: the address owner
PRIO_MIN = 1
PRIO_MAX_NON_OWNER = 254
PRIO_STOP = 0  # RFC 3768 §5.3.4: the master stops participating


def effective_priority(base: int, deltas: Iterable[int]) -> int:
    """``clamp(base + sum(deltas), 1, 254)``; ``base`` 255 is returned unchanged."""
    if base >= PRIO_OWNER:
        return PRIO_OWNER
    total = base + sum(deltas)
    return max(PRIO_MIN, min(PRIO_MAX_NON_OWNER, total))


def effective_from_trackers(base: int, trackers: Mapping[str, TrackerChanged]) -> int:
    """The effective priority for the latest contribution of every tracker."""
    return effective_priority(base, (t.delta for t in trackers.values()))


def faulted(trackers: Mapping[str, TrackerChanged]) -> bool:
    """True while any tracker reports a fault."""
    return any(t.fault for t in trackers.values())


def fault_reason(trackers: Mapping[str, TrackerChanged]) -> str:
    """Human text for the current fault: the first faulted tracker's reason (or its name), else ``""``."""
    for name, t in trackers.items():
        if t.fault:
            return t.reason or f"{name} failed"
    return ""
