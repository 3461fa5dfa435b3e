"""``track_file``: an integer in a file, contributing value x weight to the instances that track it.

keepalived watches the file's directory with inotify (``trackers/track_file.c``). The Python standard library
has no inotify, so this tracker reads the file on a cheap poll (every :data:`POLL_INTERVAL` = 0.5 s: one
``open``+``read`` of at most 127 bytes) and reports when the parsed value changes. The difference to keepalived
is a reaction delay of at most 0.5 s. Value rules as keepalived's ``process_track_file``: a missing or empty
file is 0, the text is parsed like ``strtol(buf, NULL, 0)``, an out-of-range number is logged and ignored.
``init_file [VAL] [overwrite]`` creates the file with VAL (default 0) when missing, or always with overwrite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable

from pyvrrp.config.model import TrackFileConfig
from pyvrrp.track.policy import parse_file_value

log = logging.getLogger("pyvrrp.vrrp")

POLL_INTERVAL = 0.5


def read_value(path: str) -> int | None:
    """The file's value now: 0 if missing/empty/unreadable, None if the number is invalid."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return 0
    try:
        data = os.read(fd, 127)
    except OSError:
        return 0
    finally:
        os.close(fd)
    if not data:
        return 0
    return parse_file_value(data)


def init_file(cfg: TrackFileConfig) -> None:
    """``init_file``: create the file (or overwrite it) with the initial value."""
    if cfg.init_file is None and not cfg.init_overwrite:
        return
    if os.path.exists(cfg.path) and not cfg.init_overwrite:
        return
    try:
        with open(cfg.path, "w") as f:
            f.write(f"{cfg.init_file or 0}\n")
    except OSError as e:
        log.error("Unable to initialise track file %s (%s)", cfg.path, e.strerror)


class FileTracker:
    """One ``track_file``; ``on_change(tracker, value)`` on every change of the value."""

    def __init__(
        self,
        cfg: TrackFileConfig,
        on_change: Callable[[FileTracker, int], None],
        interval: float = POLL_INTERVAL,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.on_change = on_change
        self.interval = interval
        init_file(cfg)
        v = read_value(cfg.path)
        self.value: int = v if v is not None else 0
        self._task: asyncio.Task[None] | None = None
        self._invalid = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"track_file-{self.name}")

    async def stop(self) -> None:
        t, self._task = self._task, None
        if t is not None:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t

    def poll(self) -> bool:
        """Read the file once; True (and ``on_change``) when the value changed."""
        v = read_value(self.cfg.path)
        if v is None:
            if not self._invalid:
                log.info("Invalid number read from %s - ignoring", self.cfg.path)
            self._invalid = True
            return False
        self._invalid = False
        if v == self.value:
            return False
        self.value = v
        log.info("Track file %s (%s) now has value %d", self.name, self.cfg.path, v)
        self.on_change(self, v)
        return True

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.poll()
            except Exception as e:  # a tracker must never die silently
                log.error("track_file %s: %s", self.name, e)
