"""Pure tracking policy: keepalived's rise/fall counter, weight/``reverse`` arithmetic, track_file values,
track_process quorum. No I/O, no clock: the probes in :mod:`pyvrrp.track` feed results in, this module says
what each instance should be told (a :class:`~pyvrrp.proto.events.TrackerChanged` delta or a fault).

Sources (keepalived 2.2.7):

* rise/fall: ``vrrp_scheduler.c vrrp_script_child_thread`` and ``vrrp_init_script``; reload carry-over:
  ``vrrp.c clear_diff_script``.
* weights: ``vrrp_track.c process_script_update_priority`` / ``initialise_track_script_state`` (scripts),
  ``initialise_interface_tracking_priorities`` (interfaces), ``initialise_process_tracking_priorities``
  (processes): ``+w`` is added while the item is up/OK, ``-w`` while it is down/failed, ``reverse`` flips the
  direction, weight 0 means FAULT while failed (while *up* with ``reverse``).
* track_file: ``trackers/track_file.c update_track_file_status`` / ``process_update_vrrp_track_file_status``:
  value x weight x (-1 if reverse), clamped to [-254, 253]; -254 (i.e. <= -254) means FAULT; with weight 0 a
  non-zero value is a FAULT (a zero value with ``reverse``).

The *effective* priority (``clamp(base + sum, 1, 254)``, 255 untouched) is :mod:`pyvrrp.proto.priority`'s job.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

WEIGHT_MIN = -253
WEIGHT_MAX = 253
FILE_FAULT = -254  # track_file: a contribution at or below this puts the instance in FAULT
FILE_MAX = 253


class InitState(enum.Enum):
    """``SCRIPT_INIT_STATE_*``: has the script reported a result yet?"""

    INIT = "init"  # no result yet: weighted scripts contribute nothing, weight-0 scripts hold FAULT
    FAILED = "failed"  # ``init_fail``: start as failed (counter 0)
    DONE = "done"  # at least one result


@dataclass
class RiseFall:
    """keepalived's ``vscript->result`` counter, in ``0 .. rise+fall-1``; OK while ``result >= rise``.

    * start at ``rise-1`` (one success is enough), or 0 with ``init_fail``;
    * success: below ``rise-1`` add 1; otherwise jump to ``rise+fall-1`` (reporting OK if it was below ``rise``);
    * failure: above ``rise`` subtract 1; otherwise report failed (if it was exactly ``rise``, i.e. OK, or no
      result was reported yet) and drop to 0.

    So exactly ``fall`` consecutive failures fail an OK script and ``rise`` consecutive successes recover a
    failed one; one success among failures refills the fall budget.
    """

    rise: int = 1
    fall: int = 1
    init_fail: bool = False
    result: int = -1
    init: InitState = InitState.INIT

    def __post_init__(self) -> None:
        self.rise = max(1, int(self.rise))
        self.fall = max(1, int(self.fall))
        if self.result < 0:
            if self.init_fail:
                self.result = 0
                self.init = InitState.FAILED
            else:
                self.result = self.rise - 1

    @property
    def top(self) -> int:
        return self.rise + self.fall - 1

    @property
    def ok(self) -> bool | None:
        """True/False once known; None while no result was reported (INIT)."""
        if self.init is InitState.INIT:
            return None
        return self.result >= self.rise

    def record(self, success: bool) -> bool | None:
        """Feed one run's outcome. Returns the new state (True OK / False failed) when keepalived reports a
        change (``update_script_priorities``), else None."""
        report: bool | None = None
        first = self.init is InitState.INIT
        if success:
            if self.result < self.rise - 1:
                self.result += 1
            elif self.result != self.top:
                if self.result < self.rise:
                    report = True
                self.result = self.top
        else:
            if self.result > self.rise:
                self.result -= 1
            else:
                if self.result == self.rise or first:
                    report = False
                self.result = 0
        self.init = InitState.DONE
        return report

    def carry_over(self, rise: int, fall: int, init_fail: bool = False) -> RiseFall:
        """The counter for the same script after a reload with new ``rise``/``fall`` (``clear_diff_script``)."""
        new = RiseFall(rise=rise, fall=fall, init_fail=init_fail)
        if self.init is InitState.INIT:
            return RiseFall(rise=rise, fall=fall)  # undo the startup assumption, apply the new one
        if self.result < self.rise:
            new.result = 0 if self.result == 0 else max(0, new.rise - (self.rise - self.result))
        elif self.result == self.top:
            new.result = new.top
        else:
            new.result = min(new.top, new.rise + (self.result - self.rise))
        new.init = InitState.DONE
        return new


def clamp_weight(weight: int) -> int:
    return max(WEIGHT_MIN, min(WEIGHT_MAX, int(weight)))


def contribution(weight: int, reverse: bool, ok: bool | None) -> tuple[int, bool]:
    """Per-instance effect of a script/interface/process in state ``ok`` -> ``(delta, fault)``.

    ``ok`` None (no result yet, a script in INIT): a weighted tracker adds nothing, a weight-0 tracker holds
    the instance in FAULT (keepalived ``num_script_init``: "starts in FAULT until the first result").
    """
    if weight == 0:
        if ok is None:
            return 0, True
        return 0, ok == reverse  # FAULT while failed, or while up with reverse
    if ok is None:
        return 0, False
    mult = -1 if reverse else 1
    if ok:
        return (weight * mult if weight > 0 else 0), False
    return (weight * mult if weight < 0 else 0), False


def file_contribution(weight: int, reverse: bool, value: int) -> tuple[int, bool]:
    """track_file: ``(delta, fault)`` for a file holding ``value``."""
    if weight == 0:
        return 0, (value != 0) != reverse
    status = value * weight * (-1 if reverse else 1)
    if status <= FILE_FAULT:
        return 0, True
    return min(status, FILE_MAX), False


def parse_file_value(data: bytes | str) -> int | None:
    """The integer in a track file, read as C ``strtol(buf, NULL, 0)``: leading blanks, a sign, ``0x`` hex or
    a leading-0 octal, trailing garbage ignored; no digits -> 0. Values outside ``[INT32_MIN, INT32_MAX+1]``
    are invalid (None, keepalived logs "Invalid number ... - ignoring"). An empty file is 0."""
    if isinstance(data, bytes):
        text = data[:127].decode("latin-1")
    else:
        text = data[:127]
    s = text.lstrip(" \t\n\r\f\v")
    neg = False
    if s[:1] in ("+", "-"):
        neg = s[0] == "-"
        s = s[1:]
    base = 10
    if s[:2].lower() == "0x" and len(s) > 2 and s[2] in "0123456789abcdefABCDEF":
        base, s = 16, s[2:]
    elif s[:1] == "0":
        base = 8
    digits = "0123456789abcdef"[:base]
    n = 0
    for ch in s:
        d = digits.find(ch.lower())
        if d < 0:
            break
        n = n * base + d
    if neg:
        n = -n
    if n < -(2**31) or n > 2**31:
        return None
    return n


def have_quorum(count: int, quorum: int, quorum_max: int | None) -> bool:
    """vrrp_track_process: enough (and not too many) matching processes."""
    return count >= quorum and (quorum_max is None or count <= quorum_max)


def describe(name: str, ok: bool | None, weight: int, reverse: bool = False) -> str:
    """Human text for logs and status, e.g. ``chk_nginx failed (weight -30)``."""
    state = "no result yet" if ok is None else ("succeeded" if ok else "failed")
    w = f"weight {weight}{' reverse' if reverse else ''}"
    return f"{name} {state} ({w})"
