"""Heartbeat pairs in network namespaces: real heartbeat 3.0.6 and pyvrrp in heartbeat mode.

Every node is a *holder* process started inside its node namespace with its own UTS namespace
(``hostname master``) and mount namespace, where

* ``NODE/ha.d`` (a copy of the package's /etc/ha.d with ha.cf, authkeys 0600, haresources and a dummy
  ``resource.d/nginx``) is bind-mounted on ``/etc/ha.d``, ``NODE/lib`` on ``/var/lib/heartbeat`` and
  ``NODE/log`` on ``/var/log``, and a fresh tmpfs is mounted on ``/run``;
* SAFETY (heartbeat-protocol.md "Safety first"): a refusing guard script is bind-mounted over ``pgrep``
  (``pkill`` is a symlink to it), ``killall`` and ``systemctl`` (``reboot`` is a symlink to it), because
  heartbeat's ResourceManager runs ``pkill -9 heartbeat; reboot -nf`` when a resource fails to stop;
* every node process runs without CAP_SYS_BOOT (``setpriv --bounding-set -sys_boot``).

Commands run in a node through ``nsenter -t HOLDER -n -m -u``. Only processes this fixture started (and
their descendants, which live in the node namespaces) are ever signalled, by PID. Everything is removed on
exit, even after a failure: nodes are stopped, the topology's namespaces deleted, the state dir removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyvrrp.lab.topo import Topology

REPO = Path(__file__).resolve().parents[2]
NET = "198.18.0"
IP = {"master": f"{NET}.161", "slave": f"{NET}.162"}
GATEWAY = f"{NET}.1"
VIP = f"{NET}.150"
KEY = "Hello!"
HB_INIT = "/etc/init.d/heartbeat"
IPFAIL = "/usr/libexec/heartbeat/ipfail"
GUARDED = ("/usr/bin/pgrep", "/usr/bin/killall", "/usr/bin/systemctl")

DUMMY_NGINX = """#!/bin/sh
# dummy LSB resource standing in for nginx (state file in the node's private /run)
F=/run/nginx-dummy.running
log() { echo "$(date '+%F %T') $(uname -n) nginx-dummy $*" >> /var/log/nginx-dummy.log; }
case "$1" in
  start)  log start;  touch $F; exit 0;;
  stop)   log stop;   rm -f $F; exit 0;;
  status) if [ -e $F ]; then echo running; exit 0; else echo stopped; exit 3; fi;;
  *) echo "usage: $0 {start|stop|status}"; exit 2;;
esac
"""


def have_heartbeat() -> str | None:
    """None when a real heartbeat 3.0.6 can run here, else the reason."""
    for path in (HB_INIT, IPFAIL, "/usr/lib/heartbeat/heartbeat", "/usr/sbin/heartbeat"):
        if path in (HB_INIT, IPFAIL) and not os.path.exists(path):
            return f"{path} missing (Debian package heartbeat 3.0.6)"
    for tool in ("nsenter", "unshare", "setpriv", "nft", "iptables"):
        if not shutil.which(tool):
            return f"{tool} missing"
    return None


class HaNode:
    """One node (kind ``heartbeat`` or ``pyvrrp``) of a :class:`HaCluster`."""

    def __init__(self, cluster: HaCluster, name: str, kind: str) -> None:
        self.c = cluster
        self.name = name
        self.kind = kind
        self.root = cluster.tmp / name
        self.holder: subprocess.Popen | None = None
        self.proc: subprocess.Popen | None = None  # pyvrrp daemon
        self.pylog = self.root / "log" / "pyvrrp.log"
        self.starts = 0

    # -- setup
    def write_configs(self, **timing: str) -> None:
        d = self.root
        (d / "log").mkdir(parents=True)
        shutil.copytree("/etc/ha.d", d / "ha.d", symlinks=True)
        peer = IP["slave" if self.name == "master" else "master"]
        t = {"keepalive": "500ms", "deadtime": "5", "warntime": "3", "initdead": "10", **timing}
        (d / "ha.d" / "ha.cf").write_text(
            "logfile /var/log/ha-log\n"
            "debugfile /var/log/ha-debug\n"
            f"keepalive {t['keepalive']}\ndeadtime {t['deadtime']}\n"
            f"warntime {t['warntime']}\ninitdead {t['initdead']}\n"
            f"udpport 694\nucast eth0 {peer}\nauto_failback on\n"
            f"node master\nnode slave\nping {GATEWAY}\n"
            f"respawn hacluster {IPFAIL}\n"
        )
        ak = d / "ha.d" / "authkeys"
        ak.write_text(f"auth 3\n3 md5 {KEY}\n")
        os.chmod(ak, 0o600)
        (d / "ha.d" / "haresources").write_text(f"master {VIP}/24/eth0:0 nginx\n")
        rd = d / "ha.d" / "resource.d"
        rd.mkdir(exist_ok=True)
        (rd / "nginx").write_text(DUMMY_NGINX)
        os.chmod(rd / "nginx", 0o755)
        # /var/lib/heartbeat skeleton with the package's owners and modes, without identity files
        shutil.copytree("/var/lib/heartbeat", d / "lib", symlinks=True)
        for f in ("hb_uuid", "hb_generation", "hostcache", "delhostcache", "fifo"):
            with contextlib.suppress(FileNotFoundError):
                (d / "lib" / f).unlink()
        (d / "state").mkdir()
        shutil.copy2(shutil.which("pgrep") or "/usr/bin/pgrep", d / "pgrep.real")
        guard = d / "guard"
        guard.write_text(
            "#!/bin/sh\n"
            f'case "${{0##*/}}" in pgrep) exec "{d}/pgrep.real" "$@";; esac\n'
            'echo "hbfixture guard: refused ${0##*/} $*" >> /var/log/guard.log\n'
            "exit 1\n"
        )
        os.chmod(guard, 0o755)

    def start_holder(self) -> None:
        d = self.root
        binds = "\n".join(f'[ -f "{f}" ] && mount --bind "$2/guard" "{f}"' for f in GUARDED)
        script = f"""set -e
hostname "$1"
mount --bind "$2/ha.d" /etc/ha.d
mount --bind "$2/lib" /var/lib/heartbeat
mount --bind "$2/log" /var/log
mount -t tmpfs -o mode=755 hbrun /run
mkdir -p /run/lock/subsys /run/heartbeat /run/resource-agents
{binds}
echo ready > "$2/holder.ready"
exec sleep infinity
"""
        self.holder = self.c.topo.spawn(
            self.name,
            [
                "unshare", "--uts", "--mount", "--propagation", "private", "--",
                "setpriv", "--bounding-set", "-sys_boot", "--inh-caps", "-sys_boot", "--",
                "sh", "-c", script, "holder", self.name, str(d),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        if not Topology.wait_for(lambda: (d / "holder.ready").exists(), 10):
            raise RuntimeError(f"holder for {self.name} did not start")
        assert self.run(["uname", "-n"]).stdout.strip() == self.name
        # the guard is in place before any heartbeat runs
        assert self.run(["pkill", "-0", "nothing-at-all"]).returncode == 1
        assert "refused" in (d / "log" / "guard.log").read_text()

    # -- running commands inside the node
    def argv(self, argv: list[str]) -> list[str]:
        assert self.holder is not None
        return [
            "nsenter", "-t", str(self.holder.pid), "-n", "-m", "-u", "--",
            "setpriv", "--bounding-set", "-sys_boot", "--inh-caps", "-sys_boot", "--", *argv,
        ]  # fmt: skip

    def run(self, argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(argv), capture_output=True, text=True, timeout=timeout)

    # -- the daemon
    def start(self) -> None:
        self.starts += 1
        if self.kind == "heartbeat":
            r = self.run([HB_INIT, "start"], timeout=60)
            if r.returncode != 0:
                raise RuntimeError(f"{self.name}: heartbeat start failed: {r.stdout} {r.stderr}")
            return
        code = (
            "import asyncio, logging, sys\n"
            "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,"
            " format='%(asctime)s %(name)s %(levelname)s: %(message)s')\n"
            "logging.getLogger('pyroute2').setLevel(logging.WARNING)\n"
            "from pyvrrp.runtime.heartbeat import run_heartbeat\n"
            "sys.exit(asyncio.run(run_heartbeat('/etc/ha.d', node_name=None, log_detail=True,"
            f" state_dir={str(self.root / 'state')!r})))\n"
        )
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
        out = open(self.pylog, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                self.argv([sys.executable, "-c", code]),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=env,
            )
        finally:
            out.close()
        self.c.topo.procs.append(self.proc)

    def stop(self, timeout: float = 60) -> None:
        """Graceful stop ("service heartbeat stop" / SIGTERM)."""
        if self.kind == "heartbeat":
            self.run([HB_INIT, "stop"], timeout=timeout)
            return
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def daemon_pids(self) -> list[int]:
        """PIDs of this node's daemon processes (all started by this fixture, found in its namespace)."""
        out = []
        for pid in Topology.pids_in(self.c.topo.ns(self.name)):
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            if comm in ("heartbeat", "ipfail") or (self.proc is not None and pid == self.proc.pid):
                out.append(pid)
        return out

    def crash(self) -> None:
        """Host crash: SIGKILL the daemon (and ipfail), and lose the VIP and service like a reboot."""
        for pid in self.daemon_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc is not None:
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=10)
        Topology.wait_for(lambda: not self.daemon_pids(), 10)
        self.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"])
        self.run(["rm", "-f", "/run/nginx-dummy.running", "/run/heartbeat.pid"])

    def running(self) -> bool:
        return bool(self.daemon_pids())

    # -- observing
    def has_vip(self) -> bool:
        r = self.run(["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
        return f" {VIP}/" in r.stdout

    def service_running(self) -> bool:
        return self.run(["test", "-e", "/run/nginx-dummy.running"]).returncode == 0

    def holds(self) -> bool:
        return self.has_vip() and self.service_running()

    def free(self) -> bool:
        return not self.has_vip() and not self.service_running()

    def log_text(self) -> str:
        p = self.root / "log" / ("ha-log" if self.kind == "heartbeat" else "pyvrrp.log")
        try:
            return p.read_text(errors="replace")
        except OSError:
            return ""

    def status_doc(self) -> dict:
        """``pyvrrp status --json`` run inside the node (its control socket is in the node's /run)."""
        import json

        env_cmd = ["env", f"PYTHONPATH={REPO}", sys.executable, "-m", "pyvrrp", "status", "--json"]
        r = self.run(env_cmd, timeout=30)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def stats(self) -> dict:
        import json

        try:
            return json.loads((self.root / "state" / "heartbeat.json").read_text())["stats"]
        except (OSError, ValueError, KeyError):
            return {}

    def generation(self) -> int:
        try:
            return int((self.root / "lib" / "hb_generation").read_text().strip())
        except (OSError, ValueError):
            return 0


class HaCluster:
    """Two nodes ``master``/``slave`` (kinds given) plus the ping node/gateway .1, in namespaces."""

    def __init__(self, kinds: dict[str, str], **timing: str) -> None:
        self.kinds = kinds
        self.timing = timing
        self.tmp = Path(tempfile.mkdtemp(prefix="hbfix-"))
        self.topo = Topology(
            nodes={n: f"{IP[n]}/24" for n in ("master", "slave")}, gateway=f"{GATEWAY}/24", prefix=None
        )
        self.nodes: dict[str, HaNode] = {}

    def __enter__(self) -> HaCluster:
        try:
            self.topo.up()
            self.topo.run("gateway", ["sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=0"])
            for name in ("master", "slave"):
                node = HaNode(self, name, self.kinds[name])
                node.write_configs(**self.timing)
                node.start_holder()
                self.nodes[name] = node
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getitem__(self, name: str) -> HaNode:
        return self.nodes[name]

    def close(self) -> None:
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                if node.running():
                    node.stop(timeout=30)
        for node in self.nodes.values():
            for pid in node.daemon_pids() if node.holder else []:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.topo.down()
        if os.environ.get("HBFIX_KEEP"):
            print(f"hbfixture: state kept in {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- network faults
    def icmp_drop(self, name: str, on: bool) -> None:
        op = "-I" if on else "-D"
        r = self.nodes[name].run(["iptables", op, "INPUT", "-p", "icmp", "-j", "DROP"])
        assert r.returncode == 0, r.stderr

    def udp_loss(self, percent: int, on: bool) -> None:
        """Drop ``percent`` % of heartbeat datagrams arriving at each node (nftables netdev ingress)."""
        for node in self.nodes.values():
            if on:
                rules = (
                    "table netdev hbloss {\n"
                    " chain in { type filter hook ingress device eth0 priority 0; policy accept;\n"
                    f"  udp dport 694 numgen random mod 100 < {percent} drop\n }}\n}}\n"
                )
                r = subprocess.run(node.argv(["nft", "-f", "-"]), input=rules, capture_output=True, text=True)
                assert r.returncode == 0, r.stderr
            else:
                node.run(["nft", "delete", "table", "netdev", "hbloss"])

    def send_from_gateway(self, script: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        return self.topo.run("gateway", [sys.executable, "-c", script], timeout=30, env=env)

    # -- waiting
    @staticmethod
    def wait(pred: Callable[[], bool], timeout: float) -> float | None:
        """Seconds until ``pred`` held, or None after ``timeout``."""
        t0 = time.monotonic()
        if Topology.wait_for(pred, timeout, interval=0.1):
            return time.monotonic() - t0
        return None


def count(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text))
