"""The control socket: a root-only unix stream socket answering status requests and operator commands.

Protocol (one request per connection): the client sends one line, ``COMMAND [ARG...]\\n``; the server answers
one JSON object and closes. Every answer has ``"ok": true|false``; a failure carries ``"error"``.

Commands of the VRRP daemon: ``status`` (the status document, see :func:`status_doc`), ``ping``, ``reload``
(as SIGHUP), ``dump data|stats|json|stats-clear`` (write keepalived's dump files, as the signals do), ``help``.
Other modes (heartbeat) reuse :class:`ControlServer` with their own command table, or add commands to a
running daemon with :func:`register_command`; :func:`request` is the client side.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import socket
import stat
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pyvrrp import __version__
from pyvrrp._types import State
from pyvrrp.observe.dump import json_doc, vip_lines
from pyvrrp.observe.view import DaemonView, InstanceView, snapshot, state_name

log = logging.getLogger("pyvrrp.status")

DEFAULT_SOCKET = "/run/pyvrrp/control.sock"
MAX_REQUEST = 4096

Handler = Callable[[list[str]], "dict[str, Any] | Awaitable[dict[str, Any]]"]


class ControlError(Exception):
    """The control socket cannot be used (bad path, already served by a running daemon, no daemon)."""


# --------------------------------------------------------------------------- status document


def _instance_doc(iv: InstanceView) -> dict[str, Any]:
    if iv.state is State.MASTER:
        master: dict[str, Any] | None = {
            "address": str(iv.src_ip) if iv.src_ip is not None else None,
            "priority": iv.effective_priority,
            "self": True,
            "since": iv.master_since if iv.master_since is not None else iv.last_transition,
        }
    elif iv.state is State.BACKUP and iv.master_src is not None:
        master = {
            "address": str(iv.master_src),
            "priority": iv.master_priority,
            "self": False,
            "since": iv.last_transition,
        }
    else:
        master = None
    return {
        "name": iv.name,
        "vrid": iv.vrid,
        "interface": iv.interface,
        "family": iv.family,
        "version": iv.version,
        "state": state_name(iv.state),
        "state_code": int(iv.state),
        "wantstate": state_name(iv.wantstate),
        "priority": {"base": iv.base_priority, "effective": iv.effective_priority},
        "master": master,
        "last_transition": {"time": iv.last_transition, "reason": iv.last_reason},
        "advert_int": iv.adver_int,
        "master_down_interval": iv.master_down_interval,
        "src_ip": str(iv.src_ip) if iv.src_ip is not None else None,
        "vips": vip_lines(iv),
        "evips": vip_lines(iv, excluded=True),
        "vips_set": iv.vips_set,
        "trackers": [
            {
                "name": t.name,
                "kind": t.kind,
                "weight": t.weight,
                "delta": t.delta,
                "fault": t.fault,
                "reason": t.reason,
                "reported": t.reported,
            }
            for t in iv.trackers
        ],
        "counters": dict(iv.stats),
    }


def status_doc(view: DaemonView) -> dict[str, Any]:
    """The JSON status document (``pyvrrp status --json``)."""
    return {
        "ok": True,
        "pyvrrp": __version__,
        "pid": view.pid,
        "time": view.wall_time,
        "started_at": view.started_at,
        "router_id": view.router_id,
        "reload_failures": view.reload_failures,
        "unknown_vrid": view.unknown_vrid,
        "packet_errors": dict(view.global_errors),
        "instances": [_instance_doc(iv) for iv in view.instances],
        "scripts": [
            {
                "name": s.name,
                "status": "INIT" if s.status is None else ("GOOD" if s.status else "BAD"),
                "running": s.running,
                "weight": s.cfg.weight,
            }
            for s in view.scripts
        ],
    }


# --------------------------------------------------------------------------- server


class ControlServer:
    """A unix stream server: one line in, one JSON object out. Socket mode 0600, its directory 0700."""

    def __init__(self, path: str, commands: dict[str, Handler]) -> None:
        self.path = path
        self.commands = commands
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        if not self.path or not os.path.isabs(self.path):
            raise ControlError(f"control socket path must be absolute: '{self.path}'")
        d = os.path.dirname(self.path)
        os.makedirs(d, mode=0o700, exist_ok=True)
        if os.path.lexists(self.path):
            if not stat.S_ISSOCK(os.lstat(self.path).st_mode):
                raise ControlError(f"{self.path} exists and is not a socket")
            if _alive(self.path):
                raise ControlError(f"{self.path} is in use by another running daemon")
            os.unlink(self.path)
        old = os.umask(0o177)
        try:
            self.server = await asyncio.start_unix_server(self._handle, self.path)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            words = line[:MAX_REQUEST].decode(errors="replace").split()
            reply = await self.dispatch(words)
            writer.write(json.dumps(reply, default=str).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        except Exception as e:  # a bad request must never hurt the daemon
            log.error("control request failed: %s", e)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def dispatch(self, words: list[str]) -> dict[str, Any]:
        if not words:
            return {"ok": False, "error": "empty request"}
        cmd, args = words[0].lower(), words[1:]
        if cmd == "help":
            return {"ok": True, "commands": sorted({*self.commands, "help"})}
        fn = self.commands.get(cmd)
        if fn is None:
            return {"ok": False, "error": f"unknown command '{cmd}' (try: help)"}
        try:
            res = fn(args)
            if inspect.isawaitable(res):
                res = await res
        except Exception as e:
            return {"ok": False, "error": f"{cmd}: {e}"}
        out = dict(res)
        out.setdefault("ok", True)
        return out


def _alive(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(path)
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- client


def request(path: str, line: str, timeout: float = 5.0) -> dict[str, Any]:
    """Send one command to a control socket and return the decoded answer (raises :class:`ControlError`)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(path)
            s.sendall(line.strip().encode() + b"\n")
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
    except FileNotFoundError:
        raise ControlError(
            f"cannot reach the daemon at {path}: no such socket (is pyvrrp running?)"
        ) from None
    except PermissionError:
        raise ControlError(f"cannot reach the daemon at {path}: permission denied (run as root)") from None
    except ConnectionRefusedError:
        raise ControlError(f"cannot reach the daemon at {path}: connection refused (stale socket?)") from None
    except TimeoutError:
        raise ControlError(f"no answer from the daemon at {path} within {timeout:g}s") from None
    except OSError as e:
        raise ControlError(f"cannot reach the daemon at {path}: {e.strerror or e}") from None
    try:
        return json.loads(b"".join(chunks).decode())
    except ValueError:
        raise ControlError(f"unreadable answer from the daemon at {path}") from None


# --------------------------------------------------------------------------- the VRRP daemon's commands


def register_command(daemon: Any, name: str, handler: Handler) -> None:
    """Add a command to a daemon's control socket (works before or after :func:`attach`)."""
    table = getattr(daemon, "control_commands", None)
    if table is None:
        table = {}
        daemon.control_commands = table
    table[name.lower()] = handler


def _view(daemon: Any) -> DaemonView:
    try:
        loop_now = asyncio.get_running_loop().time()
    except RuntimeError:
        loop_now = time.monotonic()
    return snapshot(daemon, time.time(), loop_now)


def vrrp_commands(daemon: Any) -> dict[str, Handler]:
    def status(args: list[str]) -> dict[str, Any]:
        return status_doc(_view(daemon))

    def ping(args: list[str]) -> dict[str, Any]:
        return {"pid": os.getpid(), "pyvrrp": __version__}

    def reload(args: list[str]) -> dict[str, Any]:
        daemon.request_reload()
        return {"reloading": True}

    def dump(args: list[str]) -> dict[str, Any]:
        from pyvrrp.observe import dump_signals

        what = args[0].lower() if args else "data"
        if what == "json-data":  # the keepalived.json content, inline
            return {"json": json_doc(_view(daemon))}
        path = dump_signals.write_dump(daemon, what)
        return {"path": path}

    return {"status": status, "ping": ping, "reload": reload, "dump": dump}


async def attach(daemon: Any) -> None:
    """Serve the control socket at ``daemon.settings["control_socket"]`` (nothing if unset)."""
    settings = getattr(daemon, "settings", {}) or {}
    path = settings.get("control_socket")
    if not path:
        return
    table = getattr(daemon, "control_commands", None)
    if table is None:
        table = {}
        daemon.control_commands = table
    for k, v in vrrp_commands(daemon).items():
        table.setdefault(k, v)
    server = ControlServer(str(path), table)  # the live table: commands registered later are served
    await server.start()
    daemon.control_server = server
    log.info("Control socket on %s", path)
    stop_hooks = getattr(daemon, "stop_hooks", None)
    if isinstance(stop_hooks, list):
        stop_hooks.append(server.close)
