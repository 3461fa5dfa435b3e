"""The reference topology in network namespaces, shared by the lab and the tests.

A switch namespace holds a bridge ``br0``; every node (``master``, ``slave``, ``gateway``, ``client``, ...)
gets its own namespace with an ``eth0`` veth whose peer sits in the switch namespace. Nothing is created
in the root namespace. Every name carries a per-run prefix so concurrent runs never collide.

Everything created here is removed by :meth:`Topology.down`, which is idempotent and also kills every
process this object started and anything still running inside its namespaces (all ours by construction).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from ipaddress import ip_interface
from pathlib import Path

LAB_V4 = "198.18.0.0/24"
LAB_V6 = "2001:db8::/64"
MAX_NS_NAME = 40


class TopologyError(RuntimeError):
    """The topology could not be built (no root, no ip/netns support, ...)."""


def _ip(*args: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    ip = shutil.which("ip") or "/usr/sbin/ip"
    res = subprocess.run([ip, *args], capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise TopologyError(f"ip {' '.join(args)}: {res.stderr.strip() or res.returncode}")
    return res


def _mac(index: int) -> str:
    # locally administered, deterministic per node index
    return f"02:00:c6:12:00:{index:02x}"


class Topology:
    """A bridge plus one namespace per node.

    ``nodes`` maps a node name to its IPv4 interface address (``"198.18.0.161/24"``). ``gateway`` and
    ``client`` are extra nodes with the same shape. ``v6`` maps node names to IPv6 interface addresses.
    """

    def __init__(
        self,
        nodes: dict[str, str],
        gateway: str | None = None,
        client: str | None = None,
        v6: dict[str, str] | None = None,
        prefix: str | None = None,
        links: int = 1,
    ) -> None:
        self.prefix = prefix or f"pv{secrets.token_hex(3)}"
        self.addrs: dict[str, str] = dict(nodes)
        if gateway:
            self.addrs["gateway"] = gateway
        if client:
            self.addrs["client"] = client
        for addr in self.addrs.values():
            if ip_interface(addr).network.subnet_of(ip_interface(LAB_V4).network) is False:
                raise TopologyError(f"{addr} is outside the lab range {LAB_V4}")
        self.v6 = dict(v6 or {})
        self.links = links  # number of bridged links per node: eth0, eth1, ...
        self.procs: list[subprocess.Popen] = []
        self._created: list[str] = []

    # -- names -------------------------------------------------------------------------------
    @property
    def switch(self) -> str:
        return f"{self.prefix}-sw"

    def ns(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    @property
    def nodes(self) -> list[str]:
        return list(self.addrs)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Topology:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> None:
        """Build everything; on any failure (or Ctrl-C) remove what was already built, then re-raise."""
        try:
            self._up()
        except BaseException:
            self.down()
            raise

    def _up(self) -> None:
        if os.geteuid() != 0:
            raise TopologyError(
                "network namespaces need root (run as root or with CAP_NET_ADMIN+CAP_SYS_ADMIN)"
            )
        if not shutil.which("ip"):
            raise TopologyError("the 'ip' command (iproute2) is missing")
        self._add_ns(self.switch)
        sw = self.switch
        for k in range(self.links):
            br = f"br{k}"
            _ip("-n", sw, "link", "add", br, "type", "bridge", "forward_delay", "0", "stp_state", "0")
            _ip("-n", sw, "link", "set", br, "up")
        _ip("-n", sw, "link", "set", "lo", "up")
        for idx, (node, addr) in enumerate(self.addrs.items(), start=1):
            ns = self.ns(node)
            self._add_ns(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
            for k in range(self.links):
                port = f"p{idx}l{k}"
                dev = f"eth{k}"
                _ip("-n", sw, "link", "add", port, "type", "veth", "peer", "name", dev, "netns", ns)
                _ip("-n", sw, "link", "set", port, "master", f"br{k}")
                _ip("-n", sw, "link", "set", port, "up")
                _ip("-n", ns, "link", "set", dev, "address", _mac(idx * 4 + k))
                # no DAD delay for test IPv6 addresses
                self.run(node, ["sysctl", "-qw", f"net.ipv6.conf.{dev}.accept_dad=0"])
                _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "addr", "add", addr, "dev", "eth0")
            if node in self.v6:
                _ip("-n", ns, "addr", "add", self.v6[node], "dev", "eth0", "nodad")
        if "gateway" in self.addrs:
            # the gateway answers ping and forwards nothing
            self.run("gateway", ["sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=0"])

    def _add_ns(self, name: str) -> None:
        if len(name) > MAX_NS_NAME:
            raise TopologyError(f"namespace name too long: {name}")
        _ip("netns", "add", name)
        self._created.append(name)

    def down(self) -> None:
        """Kill every process we started or that runs in our namespaces, then delete the namespaces."""
        for p in self.procs:
            self._terminate(p)
        self.procs.clear()
        for name in reversed(self._created):
            for pid in self.pids_in(name):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            _ip("netns", "del", name, check=False)
        self._created.clear()

    @staticmethod
    def pids_in(ns: str) -> list[int]:
        res = _ip("netns", "pids", ns, check=False)
        return [int(x) for x in res.stdout.split() if x.isdigit() and int(x) != os.getpid()]

    @staticmethod
    def _terminate(p: subprocess.Popen, grace: float = 3.0) -> None:
        if p.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            p.terminate()
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=grace)

    # -- running things ----------------------------------------------------------------------
    def argv(self, node: str, argv: Sequence[str]) -> list[str]:
        ns = node if node == self.switch else self.ns(node)
        return [shutil.which("ip") or "/usr/sbin/ip", "netns", "exec", ns, *argv]

    def run(
        self, node: str, argv: Sequence[str], check: bool = False, timeout: float = 10, **kw: object
    ) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(self.argv(node, argv), capture_output=True, text=True, timeout=timeout, **kw)
        if check and res.returncode != 0:
            raise TopologyError(f"[{node}] {' '.join(argv)}: rc={res.returncode} {res.stderr.strip()}")
        return res

    def spawn(self, node: str, argv: Sequence[str], **popen_kw: object) -> subprocess.Popen:
        """Start a process in a node; it is tracked and killed by :meth:`down`. ``ip netns exec`` execs,
        so the Popen's pid is the process itself."""
        popen_kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(self.argv(node, argv), **popen_kw)  # type: ignore[call-overload]
        self.procs.append(p)
        return p

    def stop(self, p: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
        """Signal a process we started and wait for it (bounded)."""
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(sig)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    # -- observing ---------------------------------------------------------------------------
    def addrs_of(self, node: str, dev: str = "eth0") -> list[str]:
        res = self.run(node, ["ip", "-o", "addr", "show", "dev", dev])
        out = []
        for line in res.stdout.splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[2] in ("inet", "inet6"):
                out.append(parts[3])
        return out

    def has_addr(self, node: str, ip: str, dev: str = "eth0") -> bool:
        return any(a.split("/")[0] == ip for a in self.addrs_of(node, dev))

    def owner_of(self, ip: str, nodes: Iterable[str] | None = None) -> list[str]:
        return [n for n in (nodes or self.nodes) if self.has_addr(n, ip)]

    @staticmethod
    def wait_for(pred: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
        """Poll ``pred`` until it is true or ``timeout`` seconds pass; returns the last result."""
        deadline = time.monotonic() + timeout
        while True:
            if pred():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def capture(self, node: str, path: str | Path, filt: str = "", dev: str = "eth0") -> subprocess.Popen:
        """Start tcpdump in a node writing ``path`` (``-Z root`` so it can write). Stop it with :meth:`stop`."""
        argv = ["tcpdump", "-i", dev, "--immediate-mode", "-U", "-n", "-Z", "root", "-w", str(path)]
        if filt:
            argv += filt.split()
        p = self.spawn(node, argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # tcpdump prints "listening on" once the socket is ready
        deadline = time.monotonic() + 5
        assert p.stderr is not None
        os.set_blocking(p.stderr.fileno(), False)
        buf = b""
        while time.monotonic() < deadline and b"listening on" not in buf:
            with contextlib.suppress(BlockingIOError, TypeError):
                chunk = p.stderr.read()
                if chunk:
                    buf += chunk
            time.sleep(0.02)
        return p


def leftover_namespaces(prefix: str = "pv") -> list[str]:
    """Namespaces that look like ours (for `pyvrrp lab down` and crash recovery)."""
    res = _ip("netns", "list", check=False)
    return [line.split()[0] for line in res.stdout.splitlines() if line.startswith(prefix)]
