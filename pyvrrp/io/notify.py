"""Running external programs as keepalived does: notify scripts, notify FIFOs, and the process plumbing the
check scripts share (credentials, script security, spawning, killing).

keepalived 2.2.7 sources: ``lib/notify.c`` (``system_call_script``, ``check_script_secure``,
``check_security``, ``get_default_script_user``, ``fifo_open``), ``keepalived/vrrp/vrrp_notify.c``
(``send_instance_notifies``, ``send_group_notifies``, ``notify_script_exec``, ``notify_fifo``).

* ``notify_master|backup|fault|stop|deleted`` run exactly as configured; the generic ``notify`` gets
  ``INSTANCE|GROUP <name> <STATE> <prio>`` appended (a group always passes 0). The specific script is started
  first, then the generic one, then the FIFO line ``INSTANCE "VI_1" MASTER 110``.
* Fire-and-forget: a notify is a detached child (own process group, stdio on /dev/null, parent-death signal
  SIGTERM); the event loop never waits for it, a reaper task collects its exit status. ``notify_stop`` is the
  exception: at shutdown it is waited for at most 1 s, then its process group is killed (``child_killed_thread``).
* User: the script's ``user [group]``, else ``script_user``, else ``keepalived_script`` if that user exists,
  else our own uid (root). With ``enable_script_security`` a script run as root whose path (any component)
  is writable by a non-root user is refused, and a missing default user is an error, as keepalived.
* FIFOs (``notify_fifo`` gets everything, ``vrrp_notify_fifo`` VRRP only — both are VRRP here): created with
  mode 0644 when missing (and unlinked at exit only then), opened ``O_RDWR|O_NONBLOCK`` so a missing reader
  never blocks us; a full FIFO drops the line (counted in :attr:`Notifier.fifo_dropped`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import grp
import logging
import os
import pwd
import shlex
import signal
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyvrrp._types import State
from pyvrrp.config.model import Config, GlobalConfig, InstanceConfig, Notify, SyncGroupConfig

log = logging.getLogger("pyvrrp.vrrp")

DEFAULT_SCRIPT_USER = "keepalived_script"
PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 1.0  # keepalived: notify_stop runs with a TIMER_HZ (1 s) child timer
KILL_GRACE = 2.0  # keepalived: SIGTERM, then SIGKILL 2 s later

STATE_WORDS = {
    State.MASTER: "MASTER",
    State.BACKUP: "BACKUP",
    State.FAULT: "FAULT",
    State.STOP: "STOP",
    State.DELETED: "DELETED",
}


# ---------------------------------------------------------------------------------------------------------
# credentials and script security (lib/notify.c)


@dataclass(frozen=True, slots=True)
class Creds:
    """Who a script runs as."""

    uid: int
    gid: int
    user: str

    @property
    def is_ours(self) -> bool:
        return self.uid == os.geteuid() and self.gid == os.getegid()


class ScriptRefused(Exception):
    """The script must not run (not found, not executable, insecure, unknown user). ``str()`` is the log line."""


def _lookup(user: str, group: str | None) -> Creds:
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise ScriptRefused(f"Script user '{user}' does not exist") from None
    gid = pw.pw_gid
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ScriptRefused(f"Script group '{group}' does not exist") from None
    return Creds(pw.pw_uid, gid, user)


def resolve_creds(user: str | None, group: str | None, g: GlobalConfig) -> Creds:
    """``user [group]`` of a script, else ``script_user``, else ``keepalived_script``, else ourselves."""
    if user:
        return _lookup(user, group)
    if g.script_user:
        return _lookup(g.script_user, g.script_group)
    try:
        return _lookup(DEFAULT_SCRIPT_USER, None)
    except ScriptRefused:
        if g.enable_script_security:
            raise ScriptRefused(f"Unable to set default user {DEFAULT_SCRIPT_USER} for script") from None
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return Creds(uid, os.getegid(), name)


def _executable_by(st: os.stat_result, creds: Creds) -> bool:
    if not stat.S_ISREG(st.st_mode):
        return False
    if creds.uid == 0:
        return bool(st.st_mode & 0o111)
    if st.st_uid == creds.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    groups = {creds.gid}
    with contextlib.suppress(KeyError):
        groups |= set(os.getgrouplist(creds.user, creds.gid))
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def insecure_component(path: str) -> str | None:
    """``check_security``: the first component of ``path`` (``/``, each directory, the file) that a non-root
    user could modify, or None. Unsafe: not owned by root, or (a directory without the sticky bit, or the
    file) writable by a non-root group or by everyone."""
    parts = path.split("/")
    prefixes = ["/"] + ["/".join(parts[: i + 1]) for i in range(1, len(parts))]
    for i, p in enumerate(prefixes):
        if not p:
            continue
        st = os.lstat(p)
        last = i == len(prefixes) - 1
        if (not last and not stat.S_ISDIR(st.st_mode)) or (
            last and not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode))
        ):
            return p
        if st.st_uid != 0:
            return p
        sticky_dir = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX
        if not sticky_dir and ((st.st_gid != 0 and st.st_mode & stat.S_IWGRP) or st.st_mode & stat.S_IWOTH):
            return p
    return None


_warned_insecure: set[str] = set()


def check_script(argv: Sequence[str], creds: Creds, security: bool) -> tuple[str, ...]:
    """``check_script_secure``: resolve ``argv[0]`` (PATH search for a bare name, symlinks resolved) and check
    it may run. Returns the argv to execute; raises :class:`ScriptRefused` with keepalived's words."""
    if not argv or not argv[0]:
        raise ScriptRefused("empty script")
    cmd = argv[0]
    if cmd.startswith("<") and cmd[1:].lstrip(" \t").startswith("/"):
        return tuple(argv)  # bash-style "</file" existence test: run through the shell, not checked
    if "/" not in cmd:
        found = None
        for d in os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"):
            cand = os.path.join(d or ".", cmd)
            if os.path.isfile(cand):
                found = cand
                break
        if found is None:
            raise ScriptRefused(f"Cannot find script {cmd} in path - disabling")
        cmd = found
    real = os.path.realpath(cmd)
    try:
        st = os.stat(real)
    except OSError as e:
        raise ScriptRefused(f"Script {argv[0]} cannot be accessed - {e.strerror}") from None
    if not _executable_by(st, creds):
        raise ScriptRefused(
            f"WARNING - script '{argv[0]}' is not executable for uid:gid {creds.uid}:{creds.gid} - disabling."
        )
    setid_root = (st.st_uid == 0 and st.st_mode & stat.S_ISUID) or (
        st.st_gid == 0 and st.st_mode & stat.S_ISGID
    )
    if creds.uid == 0 or creds.gid == 0 or setid_root:
        bad = insecure_component(real)
        if bad is not None:
            if security:
                raise ScriptRefused(f"Unsafe permissions found for script '{real}' - disabling.")
            if real not in _warned_insecure:
                _warned_insecure.add(real)
                log.warning("Unsafe permissions found for script '%s'.", real)
    # keep the configured file name (some programs look at argv[0]); exec the resolved path
    return (real, *argv[1:]) if os.path.basename(real) == os.path.basename(cmd) else (cmd, *argv[1:])


# ---------------------------------------------------------------------------------------------------------
# spawning


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def _child_setup() -> None:
    """Runs in the child between fork and exec: die with us (keepalived sets PR_SET_PDEATHSIG SIGTERM)."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def shell_command(argv: Sequence[str]) -> str:
    """keepalived ``cmd_str``: each word single-quoted (the first left bare if it is a ``<``/``>`` redirection)."""
    words = []
    for i, a in enumerate(argv):
        words.append(a if i == 0 and a[:1] in ("<", ">") else shlex.quote(a))
    return " ".join(words)


async def spawn(argv: Sequence[str], creds: Creds | None = None) -> asyncio.subprocess.Process:
    """Start ``argv`` detached from our stdio, in its own process group, as ``creds``.

    Output goes to /dev/null: a script printing megabytes costs us nothing. A file without a ``#!`` line
    (``ENOEXEC``) or a ``</file`` test is run through ``/bin/sh -c`` as keepalived's ``system()`` path does.
    """
    kw: dict[str, object] = {
        "stdin": asyncio.subprocess.DEVNULL,
        "stdout": asyncio.subprocess.DEVNULL,
        "stderr": asyncio.subprocess.DEVNULL,
        "start_new_session": True,  # keepalived: setpgid(0, 0), so a timeout kills the whole group
        "preexec_fn": _child_setup,
        "close_fds": True,
    }
    if creds is not None and not creds.is_ours:
        kw["user"] = creds.uid
        kw["group"] = creds.gid
        kw["extra_groups"] = [creds.gid]  # keepalived: setgroups(1, &gid)
    if argv[0][:1] in ("<", ">"):
        return await asyncio.create_subprocess_exec("/bin/sh", "-c", shell_command(argv), **kw)  # type: ignore[arg-type]
    try:
        return await asyncio.create_subprocess_exec(*argv, **kw)  # type: ignore[arg-type]
    except OSError as e:
        if e.errno != errno.ENOEXEC:
            raise
        return await asyncio.create_subprocess_exec("/bin/sh", "-c", shell_command(argv), **kw)  # type: ignore[arg-type]


def kill_group(proc: asyncio.subprocess.Process, sig: int) -> None:
    """Signal a child's process group (it is its own session leader), ignoring a child already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def terminate(proc: asyncio.subprocess.Process, grace: float = KILL_GRACE) -> int | None:
    """SIGTERM the child's group, SIGKILL it ``grace`` s later if still there; returns the exit status."""
    kill_group(proc, signal.SIGTERM)
    try:
        rc = await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        kill_group(proc, signal.SIGKILL)
        try:
            rc = await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            log.info("child (PID %d) failed to terminate after kill", proc.pid)
            return None
    kill_group(proc, signal.SIGKILL)  # leftovers of its group (keepalived kills -pid after a TERM exit)
    return rc


# ---------------------------------------------------------------------------------------------------------
# FIFOs


class NotifyFifo:
    """One notify FIFO, opened ``O_RDWR|O_NONBLOCK`` (never blocks, needs no reader)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1
        self.created = False
        self.dropped = 0

    def open(self) -> bool:
        try:
            os.mkfifo(self.path, 0o644)
            self.created = True
        except FileExistsError:
            pass
        except OSError as e:
            log.info("Unable to create notify fifo %s (%s)", self.path, e.strerror)
            return False
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError as e:
            log.info("Unable to open notify fifo %s - errno %d", self.path, e.errno)
            if self.created:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
                self.created = False
            return False
        return True

    def write(self, line: str) -> None:
        if self.fd < 0:
            return
        try:
            os.write(self.fd, line.encode())
        except BlockingIOError:
            self.dropped += 1
        except OSError:
            self.dropped += 1

    def close(self) -> None:
        if self.created:  # unlink first so a reader reopening in a loop cannot find it again
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.created = False
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


def fifo_line(kind: str, name: str, state: str, priority: int) -> str:
    """``INSTANCE "VI_1" MASTER 110\\n`` / ``GROUP "G1" BACKUP 0\\n``."""
    return f'{kind} "{name}" {state} {priority}\n'


# ---------------------------------------------------------------------------------------------------------
# the notifier


class Notifier:
    """Notify scripts and FIFO lines for instance and sync-group state changes."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.fifos: list[NotifyFifo] = []
        self._checked: dict[
            tuple[tuple[str, ...], str | None, str | None], tuple[tuple[str, ...], Creds] | str
        ] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop_procs: list[asyncio.Task[None]] = []
        self.started = 0  # notify processes started
        self.refused = 0
        self.failed = 0  # exec errors
        self._dropped_closed = 0
        self._open_fifos()

    def _open_fifos(self) -> None:
        # keepalived opens each configured FIFO on its own (the same path twice gets every line twice)
        g = self.config.globals
        for path in (g.notify_fifo, g.vrrp_notify_fifo):
            if path:
                f = NotifyFifo(path)
                if f.open():
                    self.fifos.append(f)

    @property
    def fifo_dropped(self) -> int:
        return self._dropped_closed + sum(f.dropped for f in self.fifos)

    def reconfigure(self, config: Config) -> None:
        """Reload: keep the FIFOs if their paths did not change, forget cached script checks."""
        old = (self.config.globals.notify_fifo, self.config.globals.vrrp_notify_fifo)
        new = (config.globals.notify_fifo, config.globals.vrrp_notify_fifo)
        self.config = config
        self._checked.clear()
        if old != new:
            self.close()
            self._open_fifos()

    # -- preparing a script --------------------------------------------------------------------------
    def prepare(self, n: Notify) -> tuple[tuple[str, ...], Creds] | None:
        """Resolve and security-check a notify command once (keepalived does it at config time)."""
        key = (n.argv, n.user, n.group)
        cached = self._checked.get(key)
        if cached is None:
            try:
                creds = resolve_creds(n.user, n.group, self.config.globals)
                argv = check_script(n.argv, creds, self.config.globals.enable_script_security)
                cached = (argv, creds)
            except ScriptRefused as e:
                cached = str(e)
                log.error("notify script %s refused: %s", shlex.join(n.argv), e)
            self._checked[key] = cached
        if isinstance(cached, str):
            self.refused += 1
            return None
        return cached

    # -- events --------------------------------------------------------------------------------------
    def instance(self, inst: InstanceConfig, state: State, priority: int) -> None:
        """``send_instance_notifies``: the state's script, the generic one, then the FIFO line."""
        if state is State.DELETED and inst.notify_deleted is None:
            state = State.FAULT  # "The old way to notify an instance being deleted was to send FAULT"
        word = STATE_WORDS.get(state)
        if word is None:
            return
        specific = {
            State.MASTER: inst.notify_master,
            State.BACKUP: inst.notify_backup,
            State.FAULT: inst.notify_fault,
            State.STOP: inst.notify_stop,
            State.DELETED: inst.notify_deleted,
        }[state]
        stop = state is State.STOP
        if specific is not None:
            self._launch(specific, (), stop)
        if inst.notify is not None:
            self._launch(inst.notify, ("INSTANCE", inst.name, word, str(priority)), stop)
        self.fifo("INSTANCE", inst.name, word, priority)

    def group(self, sg: SyncGroupConfig, state: State) -> None:
        """``send_group_notifies``: a group always reports priority 0."""
        word = STATE_WORDS.get(state)
        if word is None or state is State.DELETED:
            return
        specific = {
            State.MASTER: sg.notify_master,
            State.BACKUP: sg.notify_backup,
            State.FAULT: sg.notify_fault,
            State.STOP: sg.notify_stop,
        }[state]
        stop = state is State.STOP
        if specific is not None:
            self._launch(specific, (), stop)
        if sg.notify is not None:
            self._launch(sg.notify, ("GROUP", sg.name, word, "0"), stop)
        self.fifo("GROUP", sg.name, word, 0)

    def rx_lower(self, inst: InstanceConfig, priority: int) -> None:
        """``send_event_notify``: notify_master_rx_lower_pri plus FIFO ``MASTER_RX_LOWER_PRI``."""
        if inst.notify_master_rx_lower_pri is not None:
            self._launch(inst.notify_master_rx_lower_pri, (), False)
        self.fifo("INSTANCE", inst.name, "MASTER_RX_LOWER_PRI", priority)

    def priority_change(self, inst: InstanceConfig, state: State, priority: int) -> None:
        """``send_instance_priority_notifies`` (``notify_priority_changes``): FIFO only."""
        word = "MASTER_PRIORITY" if state is State.MASTER else "BACKUP_PRIORITY"
        self.fifo("INSTANCE", inst.name, word, priority)

    def fifo(self, kind: str, name: str, word: str, priority: int) -> None:
        if not self.fifos:
            return
        line = fifo_line(kind, name, word, priority)
        for f in self.fifos:
            f.write(line)

    # -- running -------------------------------------------------------------------------------------
    def _launch(self, n: Notify, extra: Iterable[str], stop: bool) -> None:
        prepared = self.prepare(n)
        if prepared is None:
            return
        argv, creds = prepared
        task = asyncio.get_running_loop().create_task(self._run((*argv, *extra), creds, stop))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if stop:
            self._stop_procs.append(task)

    async def _run(self, argv: tuple[str, ...], creds: Creds, stop: bool) -> None:
        try:
            proc = await spawn(argv, creds)
        except OSError as e:
            self.failed += 1
            log.error("Error exec-ing command '%s', error %d: %s", argv[0], e.errno or 0, e.strerror)
            return
        self.started += 1
        if not stop:
            await proc.wait()  # reap; nobody waits for this task
            return
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            kill_group(proc, signal.SIGKILL)  # keepalived child_killed_thread
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 1.0)

    async def wait_stop(self, timeout: float = STOP_TIMEOUT + 1.0) -> None:
        """Wait (bounded) for the ``notify_stop``/STOP notifies started so far."""
        pending = [t for t in self._stop_procs if not t.done()]
        self._stop_procs.clear()
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for every running notify; used by tests and at exit."""
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    def close(self) -> None:
        for f in self.fifos:
            self._dropped_closed += f.dropped
            f.close()
        self.fifos.clear()
