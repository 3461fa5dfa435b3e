"""keepalived's dump signals on the running daemon.

As keepalived 2.2.7 (``vrrp_daemon.c vrrp_signal_init``; ``pyvrrp --signum=NAME`` prints the numbers):

* SIGUSR1 (DATA)            -> ``$TMPDIR/keepalived.data``
* SIGUSR2 (STATS)           -> ``$TMPDIR/keepalived.stats``
* SIGRTMIN+2 (JSON)         -> ``$TMPDIR/keepalived.json`` (only when an instance exists)
* SIGRTMAX-1 (STATS_CLEAR)  -> ``keepalived.stats``, then every instance's counters are zeroed

``$TMPDIR`` is used when it is an absolute path, else ``/tmp`` (``lib/utils.c set_tmp_dir``). Files are
written whole to a temporary name and renamed, mode 0600 (keepalived's umask 0177: the data file holds
passwords). Log rotation needs no signal: the log file handler reopens a rotated file by itself.

systemd's RELOADING=1/READY=1 around a SIGHUP reload are sent by the daemon itself (``Daemon.reload``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from typing import Any

from pyvrrp.observe import dump
from pyvrrp.observe.view import snapshot

log = logging.getLogger("pyvrrp.vrrp")

DATA_FILE = "keepalived.data"
STATS_FILE = "keepalived.stats"
JSON_FILE = "keepalived.json"


def sig_json() -> int:
    return int(signal.SIGRTMIN) + 2


def sig_stats_clear() -> int:
    return int(signal.SIGRTMAX) - 1


def tmp_dir(env: dict[str, str] | None = None) -> str:
    """keepalived ``set_tmp_dir``: ``$TMPDIR`` if absolute, else ``/tmp``."""
    t = (env if env is not None else os.environ).get("TMPDIR", "")
    return t if t.startswith("/") else "/tmp"


def _write(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _view(daemon: Any, interfaces: bool = False):  # -> DaemonView
    try:
        loop_now = asyncio.get_running_loop().time()
    except RuntimeError:
        loop_now = time.monotonic()
    return snapshot(daemon, time.time(), loop_now, interfaces=interfaces)


def write_dump(daemon: Any, what: str, directory: str | None = None) -> str | None:
    """Write one dump (``data``, ``stats``, ``json``, ``stats-clear``); returns the path (None: nothing written)."""
    d = directory or tmp_dir()
    if what == "data":
        path = os.path.join(d, DATA_FILE)
        _write(path, dump.format_data(_view(daemon, interfaces=True)))
        return path
    if what in ("stats", "stats-clear", "stats_clear"):
        path = os.path.join(d, STATS_FILE)
        _write(path, dump.format_stats(_view(daemon)))
        if what != "stats":
            for drv in list(getattr(daemon, "drivers", {}).values()):
                drv.machine.stats.clear()
        return path
    if what == "json":
        text = dump.format_json(_view(daemon))
        if text is None:
            return None
        path = os.path.join(d, JSON_FILE)
        _write(path, text)
        return path
    raise ValueError(f"unknown dump '{what}' (data, stats, json, stats-clear)")


def _on_signal(daemon: Any, what: str) -> None:
    try:
        path = write_dump(daemon, what)
        log.debug("wrote %s", path)
    except Exception as e:  # a full /tmp must never stop VRRP
        log.error("cannot write the %s dump: %s", what, e)


# --------------------------------------------------------------------------- systemd reload notification


async def attach(daemon: Any) -> None:
    loop = asyncio.get_running_loop()
    for signum, what in (
        (int(signal.SIGUSR1), "data"),
        (int(signal.SIGUSR2), "stats"),
        (sig_json(), "json"),
        (sig_stats_clear(), "stats-clear"),
    ):
        loop.add_signal_handler(signum, _on_signal, daemon, what)
