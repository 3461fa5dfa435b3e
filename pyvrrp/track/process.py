"""``vrrp_track_process``: count the processes matching a name, judge the quorum, report gains and losses.

keepalived (``core/track_process.c``) learns about forks and exits from the netlink process connector; that
needs CAP_NET_ADMIN in the initial user namespace and a kernel built with CONFIG_PROC_EVENTS. pyvrrp scans
``/proc`` instead, once per :data:`POLL_INTERVAL` (1 s) and once more when a delay timer ends, so a lost or
regained quorum is seen within about a second. Matching as keepalived's ``read_procs``/``check_params``:

* by default the name is compared exactly with ``/proc/PID/stat``'s comm field (15 characters at most, as
  the kernel truncates it); zombies never count;
* with ``full_command`` (or parameters after the name, or ``param_match``) the name is compared with argv[0]
  of ``/proc/PID/cmdline`` and the parameters with the remaining arguments: exactly (default), as a prefix
  of whole arguments (``param_match initial``: the last configured argument may be a prefix), or as a prefix
  (``partial``);
* quorum: ``quorum <= count <= quorum_max``;
* ``fork_delay`` / ``terminate_delay`` (``delay`` sets both): a gained / lost quorum is reported only once
  it has lasted that long; a return to the reported state in the meantime cancels the report.

Note: all network namespaces share one PID space; a track_process sees every process of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyvrrp.config.model import TrackProcessConfig
from pyvrrp.track.policy import have_quorum

log = logging.getLogger("pyvrrp.vrrp")

POLL_INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class ProcInfo:
    pid: int
    comm: str
    cmdline: bytes  # NUL-separated argv, as in /proc/PID/cmdline
    zombie: bool = False


def scan_proc(root: str = "/proc") -> list[ProcInfo]:
    """Every process's comm and cmdline (processes vanishing during the scan are skipped)."""
    out: list[ProcInfo] = []
    try:
        entries = os.listdir(root)
    except OSError:
        return out
    for ent in entries:
        if not ent.isdigit():
            continue
        try:
            with open(f"{root}/{ent}/stat", "rb") as f:
                stat = f.read(1024)
            with open(f"{root}/{ent}/cmdline", "rb") as f:
                cmdline = f.read(65536)
        except OSError:
            continue
        lp, rp = stat.find(b"("), stat.rfind(b")")
        if lp < 0 or rp < lp:
            continue
        comm = stat[lp + 1 : rp].decode("utf-8", "replace")
        zombie = stat[rp + 2 : rp + 3] == b"Z"
        out.append(ProcInfo(int(ent), comm, cmdline, zombie))
    return out


def _params(cfg: TrackProcessConfig) -> tuple[str, ...] | None:
    return tuple(cfg.args.split()) if cfg.args else None


def _param_mode(cfg: TrackProcessConfig) -> str | None:
    if cfg.param_match is not None:
        return cfg.param_match
    if cfg.args:
        return "exact"
    return None


def uses_cmdline(cfg: TrackProcessConfig) -> bool:
    return cfg.full_command or cfg.args is not None or cfg.param_match is not None


def matches(cfg: TrackProcessConfig, p: ProcInfo) -> bool:
    """Does process ``p`` count for ``cfg``?"""
    if p.zombie:
        return False
    if not uses_cmdline(cfg):
        return p.comm == cfg.process
    argv = p.cmdline.split(b"\0")
    if argv and argv[-1] == b"":
        argv = argv[:-1]
    if not argv or argv[0].decode("utf-8", "replace") != cfg.process:
        return False
    mode = _param_mode(cfg)
    if mode is None:
        return True
    want = b"".join(a.encode() + b"\0" for a in (_params(cfg) or ()))
    have = b"".join(a + b"\0" for a in argv[1:])
    if mode in ("exact", ""):
        return have == want
    if not want:
        return True
    if mode == "partial":
        return have.startswith(want)
    # initial: the last configured parameter may be a prefix of the real one (keepalived compares len-1 bytes)
    return have.startswith(want[:-1])


class QuorumDebounce:
    """The reported quorum state with keepalived's fork/terminate delays (pure, driven by ``now``)."""

    def __init__(self, initial: bool, fork_delay: float, terminate_delay: float) -> None:
        self.reported = initial
        self.fork_delay = fork_delay
        self.terminate_delay = terminate_delay
        self.deadline: float | None = None

    def update(self, raw: bool, now: float) -> bool | None:
        """Feed the current quorum; returns the new reported state when it changes, else None."""
        if raw == self.reported:
            self.deadline = None  # "Cancel terminate/fork timer"
            return None
        delay = self.fork_delay if raw else self.terminate_delay
        if delay <= 0:
            self.reported = raw
            self.deadline = None
            return raw
        if self.deadline is None:
            self.deadline = now + delay
            return None
        if now >= self.deadline:
            self.reported = raw
            self.deadline = None
            return raw
        return None


class ProcessTracker:
    """Every ``vrrp_track_process`` of the configuration, sharing one /proc scan.

    ``on_change(name, have_quorum)`` is called when a reported quorum changes."""

    def __init__(
        self,
        cfgs: Iterable[TrackProcessConfig],
        on_change: Callable[[str, bool], None],
        interval: float = POLL_INTERVAL,
        scan: Callable[[], list[ProcInfo]] = scan_proc,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.cfgs = {c.name: c for c in cfgs}
        self.on_change = on_change
        self.interval = interval
        self.scan = scan
        self.clock = clock
        self.counts: dict[str, int] = {}
        self.state: dict[str, QuorumDebounce] = {}
        self._task: asyncio.Task[None] | None = None
        counts = self._count()
        for name, c in self.cfgs.items():
            self.counts[name] = counts[name]
            q = have_quorum(counts[name], c.quorum, c.quorum_max)
            fork = c.fork_delay or c.delay
            term = c.terminate_delay or c.delay
            self.state[name] = QuorumDebounce(q, fork, term)

    def have_quorum(self, name: str) -> bool:
        return self.state[name].reported

    def _count(self) -> dict[str, int]:
        counts = dict.fromkeys(self.cfgs, 0)
        if not self.cfgs:
            return counts
        for p in self.scan():
            for name, c in self.cfgs.items():
                if matches(c, p):
                    counts[name] += 1
        return counts

    def _now(self) -> float:
        if self.clock is not None:
            return self.clock()
        return asyncio.get_running_loop().time()

    def poll(self) -> None:
        """One scan (synchronously); report reported-quorum changes."""
        self._apply(self._count())

    def next_wakeup(self) -> float:
        now = self._now()
        deadlines = [s.deadline for s in self.state.values() if s.deadline is not None]
        nxt = now + self.interval
        if deadlines:
            nxt = min(nxt, min(deadlines))
        return max(0.0, nxt - now)

    def start(self) -> None:
        if self._task is None and self.cfgs:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="track_process")

    async def stop(self) -> None:
        t, self._task = self._task, None
        if t is not None:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.next_wakeup())
            try:
                # the /proc walk takes a few ms on a busy host: keep it off the event loop
                counts = await asyncio.get_running_loop().run_in_executor(None, self._count)
                self._apply(counts)
            except Exception as e:
                log.error("track_process: %s", e)

    def _apply(self, counts: dict[str, int]) -> None:
        now = self._now()
        for name, c in self.cfgs.items():
            n = counts[name]
            self.counts[name] = n
            change = self.state[name].update(have_quorum(n, c.quorum, c.quorum_max), now)
            if change is not None:
                log.info("Quorum %s for tracked process %s", "gained" if change else "lost", name)
                self.on_change(name, change)
