"""Logging set-up: keepalived's console format, syslog, a log file reopened after rotation.

keepalived's words are the interface: ``(VI_1) Entering MASTER STATE``. The console format is keepalived's
``Thu Nov 26 10:41:13 2026: message``. ``-D`` (log detail) enables the detail lines.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import time

DETAIL = 15  # between DEBUG and INFO: keepalived's --log-detail lines
logging.addLevelName(DETAIL, "DETAIL")

FACILITIES = {
    "daemon": logging.handlers.SysLogHandler.LOG_DAEMON,
    "user": logging.handlers.SysLogHandler.LOG_USER,
    **{f"local{i}": getattr(logging.handlers.SysLogHandler, f"LOG_LOCAL{i}") for i in range(8)},
    **{str(i): getattr(logging.handlers.SysLogHandler, f"LOG_LOCAL{i}") for i in range(8)},
}


class KeepalivedFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(record.created))

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.formatTime(record)}: {record.getMessage()}"


class ReopeningFileHandler(logging.FileHandler):
    """A file handler that notices rotation (inode change) and reopens: logrotate needs no signal."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            st = os.stat(self.baseFilename)
            changed = self.stream is not None and os.fstat(self.stream.fileno()).st_ino != st.st_ino
        except FileNotFoundError:
            changed = True
        if changed and self.stream is not None:
            self.stream.close()
            self.stream = self._open()
        super().emit(record)


def setup_logging(
    console: bool = False,
    detail: bool = False,
    syslog: bool = True,
    facility: str = "daemon",
    log_file: str | None = None,
    ident: str = "pyvrrp",
) -> logging.Logger:
    root = logging.getLogger("pyvrrp")
    root.handlers.clear()
    root.propagate = False
    root.setLevel(DETAIL if detail else logging.INFO)
    if console:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(KeepalivedFormatter())
        root.addHandler(h)
    if log_file:
        fh = ReopeningFileHandler(log_file)
        fh.setFormatter(KeepalivedFormatter())
        root.addHandler(fh)
    if syslog and os.path.exists("/dev/log"):
        try:
            sh = logging.handlers.SysLogHandler(
                "/dev/log", facility=FACILITIES.get(facility, FACILITIES["daemon"])
            )
            sh.setFormatter(logging.Formatter(f"{ident}[%(process)d]: %(message)s"))
            root.addHandler(sh)
        except OSError:
            pass
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    # pyroute2 logs every netlink message at DEBUG: never let it drown the daemon's own lines
    logging.getLogger("pyroute2").setLevel(logging.WARNING)
    return root
