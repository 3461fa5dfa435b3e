"""``vrrp_script``: run a check command every ``interval`` as an asyncio subprocess and keep keepalived's
rise/fall counter (:class:`pyvrrp.track.policy.RiseFall`).

keepalived 2.2.7 ``vrrp_scheduler.c vrrp_script_thread`` / ``vrrp_script_child_thread``:

* the first run starts at once, then one every ``interval`` seconds;
* ``timeout`` (0 = ``interval``): SIGTERM to the script's process group, SIGKILL 2 s later; a timed-out run is
  a failure (``VRRP_Script(chk) timed_out``);
* exit 0 is success; a non-zero exit or a signal is a failure;
* a run never overlaps the previous one: a tick that finds the script still running is skipped and logged
  (``Track script chk is already running, expect idle - skipping run``);
* output goes to /dev/null (a script printing megabytes costs no memory), stdin is /dev/null;
* the script runs as ``user [group]`` / ``script_user`` / ``keepalived_script`` / us (:mod:`pyvrrp.io.notify`).

A script that cannot run (missing, not executable, refused by ``enable_script_security``, unknown user) logs
one clear line and every run counts as a failure; the daemon keeps running. (keepalived 2.2.7 instead drops
such a script from tracking at load time with ``Disabling track script X since not found/accessible``; the
pyvrrp issue asks for "counted as failing", the safer reading for a health check.)

The runner never touches the VRRP machine: it calls ``on_change(script, ok)`` when keepalived would call
``update_script_priorities``. A hung script never delays an advert: everything here is awaited in its own task.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
import signal
from collections.abc import Callable
from dataclasses import dataclass

from pyvrrp.config.model import GlobalConfig, ScriptConfig
from pyvrrp.io.notify import (
    KILL_GRACE,
    Creds,
    ScriptRefused,
    check_script,
    kill_group,
    resolve_creds,
    spawn,
    terminate,
)
from pyvrrp.track.policy import RiseFall

log = logging.getLogger("pyvrrp.vrrp")


@dataclass(frozen=True, slots=True)
class RunResult:
    """One run: ``kind`` is keepalived's ``script_exit_type`` (succeeded, failed, timed_out)."""

    success: bool
    kind: str
    status: int | None = None  # exit status
    signal: int | None = None  # terminating signal (not ours)
    error: str = ""  # why it could not run


async def run_once(
    argv: tuple[str, ...], creds: Creds | None, timeout: float, grace: float = KILL_GRACE
) -> RunResult:
    """Run a check once, bounded by ``timeout`` (+ ``grace`` for the SIGKILL)."""
    try:
        proc = await spawn(argv, creds)
    except OSError as e:
        return RunResult(
            False, "failed", error=f"Error exec-ing command '{argv[0]}', error {e.errno}: {e.strerror}"
        )
    try:
        rc = await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        try:
            await terminate(proc, grace)
        except asyncio.CancelledError:  # stopped while waiting out the grace: never leave it running
            kill_group(proc, signal.SIGKILL)
            raise
        return RunResult(False, "timed_out")
    except asyncio.CancelledError:
        # stop/reload: SIGTERM as keepalived, then SIGKILL; a script that ignores TERM must not outlive us
        kill_group(proc, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), 0.5)
        except (TimeoutError, asyncio.CancelledError):
            pass
        kill_group(proc, signal.SIGKILL)
        raise
    if rc < 0:
        return RunResult(False, "failed", signal=-rc)
    return RunResult(rc == 0, "succeeded" if rc == 0 else "failed", status=rc)


class VrrpScript:
    """One ``vrrp_script``: its schedule, its counter, its last result."""

    def __init__(
        self,
        cfg: ScriptConfig,
        g: GlobalConfig,
        on_change: Callable[[VrrpScript, bool], None],
        counter: RiseFall | None = None,
        on_run: Callable[[VrrpScript, RunResult | None, float], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.on_change = on_change
        self.on_run = on_run  # (script, None, 0) when a run starts; (script, result, seconds) when it ends
        self.running = False
        self.counter = counter or RiseFall(rise=cfg.rise, fall=cfg.fall, init_fail=cfg.init_fail)
        self.interval = cfg.interval if cfg.interval > 0 else 1.0
        self.timeout = cfg.timeout if cfg.timeout > 0 else self.interval
        self.last_status: int | None = None
        self.last_result: RunResult | None = None
        self.runs = 0
        self.skipped = 0
        self.refused: str | None = None
        self._task: asyncio.Task[None] | None = None
        self.argv: tuple[str, ...] = cfg.argv
        self.creds: Creds | None = None
        try:
            self.creds = resolve_creds(cfg.user, cfg.group, g)
            self.argv = check_script(cfg.argv, self.creds, g.enable_script_security)
        except ScriptRefused as e:
            self.refused = str(e)
            log.error(
                "VRRP_Script(%s) cannot run (%s): %s - counted as failing", self.name, shlex.join(cfg.argv), e
            )

    @property
    def ok(self) -> bool | None:
        return self.counter.ok

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"vrrp_script-{self.name}")

    async def stop(self) -> None:
        t, self._task = self._task, None
        if t is not None and not t.done():
            t.cancel()
            try:
                await asyncio.wait_for(t, KILL_GRACE + 1)
            except (asyncio.CancelledError, TimeoutError):
                pass

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        nxt = loop.time()
        while True:
            await self.run_and_record()
            # keepalived re-arms the interval timer when the run *starts*; ticks that fall while the script
            # still runs are skipped (logged), never queued
            nxt += self.interval
            now = loop.time()
            if now > nxt:
                missed = int((now - nxt) // self.interval) + 1
                self.skipped += missed
                log.info("Track script %s is already running, expect idle - skipping run", self.name)
                nxt += missed * self.interval
            await asyncio.sleep(max(0.0, nxt - loop.time()))

    async def run_and_record(self) -> RunResult:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        if self.refused is not None:
            res = RunResult(False, "failed", error=self.refused)
        else:
            self.running = True
            self._notify_run(None, 0.0)
            try:
                res = await run_once(self.argv, self.creds, self.timeout)
            finally:
                self.running = False
            if res.error:
                log.error("VRRP_Script(%s) %s", self.name, res.error)
        self._notify_run(res, loop.time() - t0)
        self.runs += 1
        self.last_result = res
        if res.status is not None and res.status != self.last_status:
            log.info("Script `%s` now returning %d", self.name, res.status)
            self.last_status = res.status
        self.feed(res)
        return res

    def _notify_run(self, res: RunResult | None, seconds: float) -> None:
        if self.on_run is not None:
            try:
                self.on_run(self, res, seconds)
            except Exception:  # an observer must never stop the checks
                log.exception("VRRP_Script(%s) run observer failed", self.name)

    def feed(self, res: RunResult) -> None:
        """Apply one run's outcome to the counter; report a state change."""
        change = self.counter.record(res.success)
        if change is None:
            return
        if change:
            log.info("VRRP_Script(%s) %s", self.name, res.kind)
        elif res.signal is not None:
            log.info("VRRP_Script(%s) %s (due to signal %d)", self.name, res.kind, res.signal)
        elif res.status is not None:
            log.info("VRRP_Script(%s) %s (exited with status %d)", self.name, res.kind, res.status)
        else:
            log.info("VRRP_Script(%s) %s", self.name, res.kind)
        self.on_change(self, change)
