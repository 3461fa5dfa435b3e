"""Running real daemons (pyvrrp or keepalived) in the nodes of a :class:`Topology`: used by the lab, the
benchmarks and the namespace tests.

Each daemon gets its own work directory (config, pid files, log, dumps via TMPDIR) so two nodes on one
machine never share a file. Processes are started by the topology and killed by it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyvrrp.lab.topo import Topology


@dataclass
class Node:
    """One daemon in one namespace."""

    topo: Topology
    name: str  # the node (namespace) name
    kind: str  # "pyvrrp" or "keepalived"
    workdir: Path
    proc: subprocess.Popen | None = None
    extra_args: list[str] = field(default_factory=list)
    metrics_listen: str | None = None  # pyvrrp: serve /metrics on ADDR:PORT (default: --no-metrics)

    @property
    def conf(self) -> Path:
        return self.workdir / "keepalived.conf"

    @property
    def logfile(self) -> Path:
        return self.workdir / "daemon.log"

    @property
    def pidfile(self) -> Path:
        return self.workdir / "main.pid"

    def write_conf(self, text: str) -> None:
        self.conf.write_text(text)

    def argv(self) -> list[str]:
        common = [
            "-n",
            "-l",
            "-D",
            "-f",
            str(self.conf),
            "-p",
            str(self.pidfile),
            "-r",
            str(self.workdir / "vrrp.pid"),
        ]
        if self.kind == "keepalived":
            exe = shutil.which("keepalived") or "/usr/sbin/keepalived"
            return [exe, *common, "-P", "-G", "-i", self.name, *self.extra_args]
        return [
            sys.executable,
            "-m",
            "pyvrrp",
            *common,
            "-G",
            "-i",
            self.name,
            *(["--metrics-listen", self.metrics_listen] if self.metrics_listen else ["--no-metrics"]),
            "--control-socket",
            str(self.workdir / "control.sock"),
            *self.extra_args,
        ]

    def start(self, env: dict[str, str] | None = None) -> subprocess.Popen:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"{self.name} already running")
        e = dict(os.environ)
        e["TMPDIR"] = str(self.workdir)
        e["PYTHONUNBUFFERED"] = "1"
        if env:
            e.update(env)
        logf = open(self.logfile, "ab")  # noqa: SIM115 - owned by the child
        self.proc = self.topo.spawn(
            self.name, self.argv(), stdout=logf, stderr=subprocess.STDOUT, env=e, cwd=str(self.workdir)
        )
        logf.close()
        return self.proc

    def send_signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
        """Stop the daemon (SIGTERM: graceful; SIGKILL: crash) and wait for it, bounded."""
        if self.proc is None:
            return None
        if self.kind == "keepalived" and sig == signal.SIGKILL:
            # keepalived forks a VRRP child that stops gracefully when its parent dies: a crash kills the
            # child first (its pid file is ours, it runs in our namespace)
            with contextlib.suppress(OSError, ValueError):
                pid = int((self.workdir / "vrrp.pid").read_text().split()[0])
                if pid in Topology.pids_in(self.topo.ns(self.name)):
                    os.kill(pid, signal.SIGKILL)
        rc = self.topo.stop(self.proc, sig, timeout)
        if self.kind == "keepalived":
            # wait (bounded) until nothing of this daemon is left running in the namespace; its orphaned
            # VRRP child may stay a zombie (our PID 1 need not reap), and keepalived refuses to start while
            # a pid file names a pid that still exists: a crash leaves stale pid files, remove them
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self._daemon_pids():
                time.sleep(0.05)
            if not self._daemon_pids():
                for f in (self.pidfile, self.workdir / "vrrp.pid"):
                    f.unlink(missing_ok=True)
        self.proc = None
        return rc

    def _daemon_pids(self) -> list[int]:
        """keepalived processes still running (not zombies) in this node's namespace."""
        out = []
        for pid in Topology.pids_in(self.topo.ns(self.name)):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            comm = stat[stat.find("(") + 1 : stat.rfind(")")]
            state = stat[stat.rfind(")") + 2 : stat.rfind(")") + 3]
            if comm.startswith("keepalived") and state != "Z":
                out.append(pid)
        return out

    def log_text(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def has_vip(self, vip: str, dev: str = "eth0") -> bool:
        return self.topo.has_addr(self.name, vip, dev)


class Cluster:
    """A topology plus daemons; a context manager that removes everything on exit."""

    def __init__(self, topo: Topology, base: str | None = None) -> None:
        self.topo = topo
        self.base = Path(base or tempfile.mkdtemp(prefix="pyvrrp-"))
        self.nodes: dict[str, Node] = {}

    def node(
        self,
        name: str,
        kind: str = "pyvrrp",
        conf: str | None = None,
        extra_args: list[str] | None = None,
        metrics_listen: str | None = None,
    ) -> Node:
        wd = self.base / name
        wd.mkdir(parents=True, exist_ok=True)
        n = Node(self.topo, name, kind, wd, extra_args=list(extra_args or []), metrics_listen=metrics_listen)
        if conf is not None:
            n.write_conf(conf)
        self.nodes[name] = n
        return n

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for n in self.nodes.values():
            if n.proc is not None and n.proc.poll() is None:
                n.stop(signal.SIGKILL, timeout=5)
        self.topo.down()

    def owners(self, vip: str) -> list[str]:
        return [n for n in self.nodes if self.topo.has_addr(n, vip)]

    def wait_owner(self, vip: str, node: str | None, timeout: float, interval: float = 0.02) -> float | None:
        """Wait until exactly ``node`` owns ``vip`` (``None``: nobody does). Returns the monotonic time it
        became true, or None on timeout."""
        want = [node] if node else []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.owners(vip) == want:
                return time.monotonic()
            time.sleep(interval)
        return None


def vrrp_conf(
    iface: str = "eth0",
    vrid: int = 51,
    priority: int = 100,
    state: str = "BACKUP",
    advert_int: float = 1,
    vips: tuple[str, ...] = ("198.18.0.150/24 dev eth0 label eth0:0",),
    auth_pass: str | None = "Hello",
    name: str = "VI_1",
    extra: str = "",
    globals_extra: str = "",
    version: int | None = None,
) -> str:
    """A one-instance keepalived.conf for tests (lab addresses only)."""
    auth = (
        f"    authentication {{\n        auth_type PASS\n        auth_pass {auth_pass}\n    }}\n"
        if auth_pass
        else ""
    )
    ver = f"    version {version}\n" if version else ""
    vip_lines = "".join(f"        {v}\n" for v in vips)
    return (
        f"global_defs {{\n    router_id {name}_{priority}\n{globals_extra}}}\n"
        f"vrrp_instance {name} {{\n    state {state}\n    interface {iface}\n    virtual_router_id {vrid}\n"
        f"    priority {priority}\n    advert_int {advert_int}\n{ver}{auth}"
        f"    virtual_ipaddress {{\n{vip_lines}    }}\n{extra}}}\n"
    )
