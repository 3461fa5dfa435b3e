"""Process plumbing: daemonizing (when not ``-n``) and systemd readiness notification (stdlib only)."""

from __future__ import annotations

import contextlib
import os
import socket


def daemonize() -> None:
    """Classic double fork: detach from the terminal and the session, stdio to /dev/null."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    fd = os.open(os.devnull, os.O_RDWR)
    for n in (0, 1, 2):
        os.dup2(fd, n)
    if fd > 2:
        os.close(fd)


def sd_notify(message: str) -> bool:
    """Send a message to systemd's NOTIFY_SOCKET (READY=1, RELOADING=1, STOPPING=1, STATUS=...)."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):
        path = "\0" + path[1:]
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(path)
        s.sendall(message.encode())
        return True
    return False
