"""`pyvrrp lab`: the reference cluster (conf/cluster.conf) in network namespaces and a live failover story.

This module owns the demo: it derives the lab configuration from the reference file (addresses rewritten
from the seed's 192.168.0.0/24 into 198.18.0.0/24, the tracking scripts replaced by lab equivalents),
builds the topology (switch, master, slave, gateway, client), starts a tiny web server in each node and two
real daemons, then walks through the timeline of issue 7, measuring each step (VIP ownership polled in the
nodes, client outage from an HTTP probe running in the client namespace).

It also owns what every lab command shares: the namespace prefix (``pvlab`` unless ``PYVRRP_LAB_PREFIX``),
the work directory of a kept lab, the pre-flight checks that turn bad environments into one-line errors,
and the signal handling that makes Ctrl-C and SIGTERM clean up like a normal exit.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pyvrrp.lab.cluster import Cluster, Node
from pyvrrp.lab.topo import Topology, TopologyError, leftover_namespaces

DEFAULT_PREFIX = "pvlab"
PREFIX_ENV = "PYVRRP_LAB_PREFIX"
MARK_ENV = "PYVRRP_LAB"  # set in the environment of every process the lab starts
SEED_NET = "192.168.0."
LAB_NET = "198.18.0."
VIP = "198.18.0.150"
GATEWAY = "198.18.0.1"
NODES = {"master": "198.18.0.161/24", "slave": "198.18.0.162/24"}
CLIENT = "198.18.0.10/24"
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


class LabError(Exception):
    """A problem the user can fix; printed as one line, exit code ``code``."""

    def __init__(self, msg: str, code: int = 1) -> None:
        super().__init__(msg)
        self.code = code


class Interrupted(BaseException):
    """SIGTERM (or SIGINT) arrived: unwind through every ``finally`` and clean up."""


# -- names, places -------------------------------------------------------------------------------------------


def lab_prefix(prefix: str | None = None) -> str:
    p = prefix or os.environ.get(PREFIX_ENV) or DEFAULT_PREFIX
    if not re.fullmatch(r"[a-z][a-z0-9]{1,15}", p):
        raise LabError(
            f"invalid lab prefix '{p}' (2-16 lower-case letters and digits, starting with a letter)"
        )
    return p


def lab_workdir(prefix: str) -> Path:
    """Where a lab keeps its configs, logs and captures (found again by `lab shell` / `lab down`)."""
    return Path(tempfile.gettempdir()) / f"{prefix}-lab"


def lab_cmd(prefix: str, sub: str) -> str:
    """How the user reaches this lab again (the prefix is spelled out when it is not the default)."""
    return f"pyvrrp lab {sub}" + ("" if prefix == DEFAULT_PREFIX else f" --prefix {prefix}")


def lab_namespaces(prefix: str) -> list[str]:
    return leftover_namespaces(f"{prefix}-")


class LabTopology(Topology):
    """The shared topology, with every process in its own session: a Ctrl-C on the terminal reaches only
    the lab (which then stops the daemons in order), and the daemons of a kept lab outlive it."""

    def spawn(self, node: str, argv, **popen_kw):  # type: ignore[no-untyped-def, override]
        popen_kw.setdefault("start_new_session", True)
        # every process of the lab carries its name: `lab down` and the tests can tell them apart
        env = dict(popen_kw.get("env") or os.environ)
        env[MARK_ENV] = self.prefix
        popen_kw["env"] = env
        return super().spawn(node, argv, **popen_kw)

    def addrs_of(self, node: str, dev: str = "eth0") -> list[str]:
        """``ip -n`` (a setns only) rather than ``ip netns exec`` (a mount namespace per call): cheap enough
        to poll every few milliseconds."""
        ip = find_tool("ip") or "ip"
        try:
            res = subprocess.run(
                [ip, "-n", self.ns(node), "-o", "addr", "show", "dev", dev],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except subprocess.TimeoutExpired:
            raise LabError("the machine is too busy: `ip addr show` took more than 20 s") from None
        out = []
        for line in res.stdout.splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[2] in ("inet", "inet6"):
                out.append(parts[3])
        return out


def find_tool(name: str) -> str | None:
    for cand in (shutil.which(name), f"/usr/sbin/{name}", f"/sbin/{name}", f"/usr/bin/{name}"):
        if cand and os.path.exists(cand):
            return cand
    return None


def preflight(prefix: str, need: tuple[str, ...] = ()) -> None:
    """Everything that would make the lab fail half-way, checked before anything is created."""
    if sys.platform != "linux":
        raise LabError("the lab needs Linux network namespaces")
    if os.geteuid() != 0:
        raise LabError("the lab creates network namespaces: run it as root (e.g. sudo pyvrrp lab)")
    if not find_tool("ip"):
        raise LabError("the 'ip' command (iproute2) is missing: apt-get install iproute2")
    res = subprocess.run([find_tool("ip") or "ip", "netns", "list"], capture_output=True, text=True)
    if res.returncode != 0:
        raise LabError(
            f"network namespaces are not supported here: {res.stderr.strip() or 'ip netns failed'}"
        )
    if not os.path.isdir("/sys/class/net") or not os.path.exists("/proc/self/ns/net"):
        raise LabError("network namespaces are not supported by this kernel")
    for tool in need:
        if tool == "nft|iptables":  # the story drops the gateway's ICMP with either
            if not (find_tool("nft") or find_tool("iptables")):
                raise LabError("neither 'nft' nor 'iptables' is installed: apt-get install nftables")
            continue
        if not find_tool(tool):
            pkg = {"ping": "iputils-ping"}.get(tool, tool)
            raise LabError(f"'{tool}' is missing: apt-get install {pkg}")
    left = lab_namespaces(prefix)
    if left:
        raise LabError(
            f"a lab is already up or left over from a crashed run ({', '.join(left)}): "
            f"remove it with `{lab_cmd(prefix, 'down')}`"
        )


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM and SIGINT unwind the stack like an exception (cleanup runs in ``finally``)."""

    def handler(signum: int, frame: object) -> None:
        raise Interrupted(signal.Signals(signum).name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Cleanup must not be interrupted half-way by a second Ctrl-C."""
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def scrub_proxy_env() -> None:
    """The probes and checks talk to lab addresses directly: a proxy from the environment must not apply."""
    for k in PROXY_VARS:
        os.environ.pop(k, None)


# -- the configuration ---------------------------------------------------------------------------------------


def reference_config() -> tuple[str, str]:
    """(text, where it came from): the repository's conf/cluster.conf when running from a checkout, else the
    copy shipped as package data (pyvrrp/data/cluster.conf, kept identical by a unit test)."""
    here = Path(__file__).resolve()
    repo = here.parents[2] / "conf" / "cluster.conf"
    if repo.is_file() and (here.parents[2] / "pyproject.toml").is_file():
        return repo.read_text(), "conf/cluster.conf"
    data = here.parents[1] / "data" / "cluster.conf"
    if data.is_file():
        return data.read_text(), "cluster.conf (installed copy)"
    raise LabError("the reference configuration cluster.conf is missing from this installation")


def _block(text: str, head: str) -> tuple[int, int] | None:
    """Start of the line ``head {`` and the index just past its matching ``}`` (comments ignored)."""
    m = re.search(rf"^[ \t]*{head}[ \t]*\{{", text, re.M)
    if not m:
        return None
    depth = 0
    i = m.end() - 1
    while i < len(text):
        c = text[i]
        if c in "!#":
            nl = text.find("\n", i)
            i = len(text) if nl < 0 else nl
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return m.start(), i + 1
        i += 1
    return None


@dataclass
class LabConfig:
    text: str
    notes: list[str] = field(default_factory=list)
    rewritten: int = 0
    injected: bool = False


def web_check_cmd() -> str:
    return f"{sys.executable} -c 'import sys,urllib.request as u;u.urlopen(sys.argv[1],timeout=1)' http://127.0.0.1/"


def gw_check_cmd() -> str:
    return f"{find_tool('ping') or '/usr/bin/ping'} -c1 -W1 {GATEWAY}"


def derive_lab_config(seed: str, prio_gap: int = 50) -> LabConfig:
    """The lab's copy of the reference configuration.

    * every 192.168.0.x becomes 198.18.0.x (the lab never uses the seed's real-looking network);
    * ``interface`` and ``dev`` name the lab's ``eth0``;
    * chk_nginx / chk_gateway run lab equivalents (an HTTP GET of the node's own web server, a ping of the
      lab gateway); when the file has no ``vrrp_script`` yet, the seed's two checks are added with weights
      that make either failure move the VIP (``-(prio_gap + 10)``).
    """
    out = LabConfig(seed)
    text, n = re.subn(r"\b192\.168\.0\.(\d{1,3})\b", LAB_NET + r"\1", seed)
    out.rewritten = n
    text, k = re.subn(r"^(\s*interface\s+)(?!eth0\b)\S+", r"\1eth0", text, flags=re.M)
    text, k2 = re.subn(r"(\bdev\s+)(?!eth0\b)(\w[\w.-]*)", r"\1eth0", text)
    if k or k2:
        out.notes.append("interfaces renamed to the lab's eth0")
    checks = {"chk_nginx": web_check_cmd(), "chk_gateway": gw_check_cmd()}
    weight = -(prio_gap + 10)
    replaced: list[str] = []
    added: list[str] = []
    kept: list[str] = []
    for name, cmd in checks.items():
        span = _block(text, f"vrrp_script\\s+{name}")
        if span is not None:
            x, y = span
            cur = re.search(r"^[ \t]*script[ \t]+\"?([^\s\"]+)", text[x:y], re.M)
            if cur and os.path.isabs(cur.group(1)) and os.access(cur.group(1), os.X_OK):
                kept.append(name)  # the file's own command runs here as it is
                continue
            body = re.sub(
                r"^([ \t]*script[ \t]+).*$",
                lambda m, cmd=cmd: f'{m.group(1)}"{cmd}"',
                text[x:y],
                count=1,
                flags=re.M,
            )
            text = text[:x] + body + text[y:]
            replaced.append(name)
            continue
        inst = _block(text, r"vrrp_instance\s+\S+")
        if inst is None:
            raise LabError("the reference configuration has no vrrp_instance")
        x, _ = inst
        text = (
            text[:x] + f'vrrp_script {name} {{\n    script "{cmd}"\n    interval 1\n    timeout 1\n'
            f"    fall 2\n    rise 2\n    weight {weight}\n}}\n\n" + text[x:]
        )
        added.append(name)
    # every check is tracked by the (first) instance
    inst = _block(text, r"vrrp_instance\s+\S+")
    assert inst is not None
    x, y = inst
    tracked = _block(text[x:y], r"track_script")
    if tracked is None:
        brace = text.index("{", x) + 1
        names = "".join(f"        {n}\n" for n in checks)
        text = text[:brace] + f"\n    track_script {{\n{names}    }}" + text[brace:]
    else:
        tx, ty = tracked
        body = text[x + tx : x + ty]
        missing = [n for n in checks if not re.search(rf"^\s*{n}\b", body, re.M)]
        if missing:
            close = x + ty - 1  # the block's closing brace
            text = text[:close] + "".join(f"    {n}\n    " for n in missing) + text[close:]
    if kept:
        out.notes.append(f"{' and '.join(kept)}: the file's own checks (they run as they are in the lab)")
    if replaced:
        out.notes.append(
            f"{' and '.join(replaced)}: the file's settings, with lab commands (HTTP GET of the node's "
            "web server, ping of the gateway)"
        )
    if added:
        out.injected = True
        out.notes.append(
            f"{' and '.join(added)} not in the file yet: the seed's check(s) added (weight {weight})"
        )
    out.text = (
        "! pyvrrp lab: derived from the reference cluster.conf (seed addresses moved into 198.18.0.0/24)\n"
        + text
    )
    return out


@dataclass(frozen=True)
class Timers:
    vip: str
    prio: dict[str, int]
    advert_int: float
    version: int
    fall: int = 1
    rise: int = 1
    interval: float = 1.0

    def skew(self, node: str) -> float:
        p = self.prio[node]
        return (256 - p) / 256 * (self.advert_int if self.version == 3 else 1.0)

    def mdi(self, node: str) -> float:
        """Master_Down_Interval of ``node`` (RFC 3768 §6.1, RFC 5798 §6.1)."""
        return 3 * self.advert_int + self.skew(node)


def read_timers(path: Path) -> Timers:
    """What the stories need to know of the derived config, read by pyvrrp's own parser."""
    from pyvrrp.config.keepalived import load

    prio: dict[str, int] = {}
    inst = None
    scripts = {}
    for node in NODES:
        cfg = load(str(path), config_id=node)
        bad = [d for d in cfg.diagnostics if d.level in ("fatal", "error")]
        if bad:
            raise LabError(f"the lab configuration does not load: {bad[0]}")
        if not cfg.instances:
            raise LabError("the reference configuration has no vrrp_instance")
        inst = cfg.instances[0]
        prio[node] = inst.priority
        scripts = {s.name: s for s in getattr(cfg, "scripts", ())}
    assert inst is not None
    if not inst.vips:
        raise LabError("the reference configuration's instance has no virtual address")
    vip = str(inst.vips[0].address.ip)
    fall = max((s.fall for s in scripts.values()), default=1)
    rise = max((s.rise for s in scripts.values()), default=1)
    interval = max((s.interval for s in scripts.values()), default=1.0)
    return Timers(vip, prio, inst.advert_int, inst.version, fall, rise, interval)


# -- the helpers running in the namespaces -------------------------------------------------------------------

NODE_SERVER = r"""
import http.server, socket, socketserver, sys, threading
name = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"served by {name}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
def udp_echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 7))
    tag = b" " + name.encode()
    while True:
        d, a = s.recvfrom(128)
        s.sendto(d + tag, a)
if "--udp" in sys.argv:
    threading.Thread(target=udp_echo, daemon=True).start()
S(("0.0.0.0", 80), H).serve_forever()
"""

# one line per attempt: "<time sent> <who answered or ->"
PROBE_HTTP = r"""
import sys, time, urllib.request
url, every, tmo = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
while True:
    t = time.time()
    try:
        with op.open(url, timeout=tmo) as r:
            who = r.read().decode().split()[-1]
    except Exception:
        who = "-"
    print(f"{t:.6f} {who}", flush=True)
    d = every - (time.time() - t)
    if d > 0:
        time.sleep(d)
"""

# one line per reply: "<time sent> <who answered>" (a request that got no reply leaves no line)
PROBE_UDP = r"""
import select, socket, sys, time
dst, every = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
nxt = time.time()
while True:
    now = time.time()
    if now >= nxt:
        try:
            s.sendto(f"{now:.6f}".encode(), (dst, 7))
        except OSError:
            pass
        nxt += every
        if nxt < now:
            nxt = now + every
    r, _, _ = select.select([s], [], [], max(0.0, nxt - time.time()))
    if r:
        lines = []
        while True:
            try:
                lines.append(s.recv(128).decode())
            except BlockingIOError:
                break
        sys.stdout.write("".join(x + "\n" for x in lines))
        sys.stdout.flush()
"""


def start_web(topo: Topology, node: str, udp: bool = False, timeout: float = 10) -> subprocess.Popen:
    argv = [sys.executable, "-c", NODE_SERVER, node] + (["--udp"] if udp else [])
    p = topo.spawn(node, argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    probe = [sys.executable, "-c", "import socket;socket.create_connection(('127.0.0.1',80),0.5).close()"]
    if not topo.wait_for(lambda: p.poll() is None and topo.run(node, probe).returncode == 0, timeout, 0.05):
        raise LabError(f"the web server in {node} did not start")
    return p


def read_probe(path: Path) -> list[tuple[float, str]]:
    out = []
    try:
        text = path.read_text()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            with contextlib.suppress(ValueError):
                out.append((float(parts[0]), parts[1]))
    return out


def outage(samples: list[tuple[float, str]], t0: float, t1: float) -> float:
    """Total time clients were not served between ``t0`` and ``t1``: each run of failed attempts counts
    from the last success before it to the first success after it."""
    total = 0.0
    last_ok: float | None = None
    failing = False
    for ts, who in samples:
        if ts < t0 - 5:
            continue
        if ts > t1:
            break
        if who == "-":
            if ts >= t0 and not failing:
                failing = True
        else:
            if failing:
                total += ts - (last_ok if last_ok is not None and last_ok >= t0 - 5 else t0)
                failing = False
            last_ok = ts
    if failing:
        total += t1 - (last_ok if last_ok is not None else t0)
    return total


# -- the story -----------------------------------------------------------------------------------------------


class Screen:
    """What the user sees: headers, one line per step, a progress line while waiting (on a terminal)."""

    def __init__(self, stream=None) -> None:  # type: ignore[no-untyped-def]
        self.out = stream or sys.stdout
        self.tty = self.out.isatty()
        enc = (getattr(self.out, "encoding", "") or "").lower()
        self.utf = "utf" in enc
        self.t_start = time.monotonic()
        self._spin = 0

    def ok(self) -> str:
        return "\u2713" if self.utf else "ok"

    def bad(self) -> str:
        return "\u2717" if self.utf else "FAILED"

    def arrow(self) -> str:
        return "\u2192" if self.utf else "->"

    def line(self, text: str = "") -> None:
        self.clear()
        self._write(text + "\n")

    def clear(self) -> None:
        if self.tty:
            self._write("\r\033[K")

    def _write(self, text: str) -> None:
        """A closed terminal or pipe (``pyvrrp lab | head``) must not stop the lab from cleaning up."""
        if self.out is None:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.out = None  # type: ignore[assignment]

    def progress(self, label: str, elapsed: float, bound: float | None) -> None:
        if not self.tty or self.out is None:
            return
        frames = "\u280b\u2819\u2839\u2838\u283c\u2834\u2826\u2827\u2807\u280f" if self.utf else "|/-\\"
        self._spin = (self._spin + 1) % len(frames)
        width = 24
        if bound:
            filled = min(width, int(width * elapsed / bound))
            bar = ("\u2588" if self.utf else "#") * filled + ("\u00b7" if self.utf else ".") * (
                width - filled
            )
            tail = f"[{bar}] {elapsed:4.1f} s (expected within {bound:.1f} s)"
        else:
            tail = f"{elapsed:4.1f} s"
        self._write(f"\r\033[K     {frames[self._spin]} {label}  {tail}")

    def wait(
        self, label: str, pred: Callable[[], bool], timeout: float, bound: float | None = None
    ) -> float | None:
        """Poll ``pred`` showing progress; seconds until it held, or None after ``timeout``."""
        t0 = time.monotonic()
        while True:
            if pred():
                self.clear()
                return time.monotonic() - t0
            el = time.monotonic() - t0
            if el >= timeout:
                self.clear()
                return None
            self.progress(label, el, bound)
            time.sleep(0.03)

    def hold(self, label: str, seconds: float) -> None:
        t0 = time.monotonic()
        while (el := time.monotonic() - t0) < seconds:
            self.progress(label, el, seconds)
            time.sleep(0.05)
        self.clear()


@dataclass
class StepResult:
    title: str
    ok: bool
    detail: str
    seconds: float | None = None
    outage: float | None = None


@dataclass
class StoryOptions:
    quick: bool = False
    keep: bool = False
    peer: str = "pyvrrp"
    prefix: str = DEFAULT_PREFIX
    json_path: str | None = None


class Story:
    def __init__(self, opts: StoryOptions, screen: Screen | None = None) -> None:
        self.o = opts
        self.s = screen or Screen()
        self.results: list[StepResult] = []
        self.topo: LabTopology | None = None
        self.cluster: Cluster | None = None
        self.webs: dict[str, subprocess.Popen] = {}
        self.probe: subprocess.Popen | None = None
        self.workdir = lab_workdir(opts.prefix)
        self.timers: Timers | None = None
        self.icmp_rule: list[str] | None = None

    # -- helpers
    @property
    def c(self) -> Cluster:
        assert self.cluster is not None
        return self.cluster

    @property
    def t(self) -> Timers:
        assert self.timers is not None
        return self.timers

    def owners(self) -> list[str]:
        return self.c.owners(self.t.vip)

    def served(self) -> list[tuple[float, str]]:
        return read_probe(self.workdir / "client-probe.log")

    def served_by(self, node: str, since: float) -> bool:
        got = [w for ts, w in self.served() if ts >= since]
        return len(got) >= 2 and got[-1] == node and got[-2] == node

    def record(
        self, title: str, ok: bool, detail: str, secs: float | None = None, out: float | None = None
    ) -> None:
        self.results.append(StepResult(title, ok, detail, secs, out))
        n = len(self.results)
        mark = self.s.ok() if ok else self.s.bad()
        self.s.line(f"  {mark} {n:>2}. {title:<34} {detail}")
        if not ok:
            raise LabError(f"step {n} ({title}) failed: {detail}; daemon logs in {self.workdir}")

    def hold(self, label: str, seconds: float) -> None:
        if not self.o.quick:
            self.s.hold(label, seconds)

    # -- the run
    def run(self) -> int:
        o, s = self.o, self.s
        need = ("ping", "nft|iptables") + (("keepalived",) if o.peer == "keepalived" else ())
        preflight(o.prefix, need)
        scrub_proxy_env()
        seed, origin = reference_config()
        lab = derive_lab_config(seed)
        if self.workdir.exists():
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
        conf_path = self.workdir / "cluster.conf"
        conf_path.write_text(lab.text)
        self.timers = read_timers(conf_path)
        t = self.t
        arrow = s.arrow()
        s.line("pyvrrp lab: the reference cluster in network namespaces (your real network is not touched)")
        s.line()
        s.line(f"  config    {origin} {arrow} {conf_path}")
        s.line(
            f"            {SEED_NET}x rewritten to {LAB_NET}x ({lab.rewritten} occurrence(s)); VIP {t.vip}"
        )
        for note in lab.notes:
            s.line(f"            {note}")
        s.line(
            f"  topology  switch + master {NODES['master'].split('/')[0]}, slave {NODES['slave'].split('/')[0]}, "
            f"gateway {GATEWAY}, client {CLIENT.split('/')[0]} (namespaces {o.prefix}-*)"
        )
        s.line(
            f"  daemons   master: pyvrrp (priority {t.prio['master']}), slave: {o.peer} (priority {t.prio['slave']}); "
            f"VRRPv{t.version}, advert_int {t.advert_int:g} s"
        )
        s.line()
        t_begin = time.monotonic()
        try:
            with signals_raise():
                self._build(conf_path)
                self._timeline()
        except Interrupted as e:
            s.line()
            s.line(f"interrupted ({e}): cleaning up")
            self._cleanup(keep=False)
            self._write_json(time.monotonic() - t_begin, "interrupted")
            return 130
        except BaseException:
            self._cleanup(keep=False)
            self._write_json(time.monotonic() - t_begin, "failed")
            raise
        took = time.monotonic() - t_begin
        self._write_json(took, "ok")
        s.line()
        s.line(f"All {len(self.results)} steps succeeded in {took:.0f} s.")
        self._cleanup(keep=o.keep)
        return 0

    def _write_json(self, took: float, outcome: str) -> None:
        """``--json FILE``: the steps and their measured times, for scripts and CI."""
        if not self.o.json_path:
            return
        import json

        doc = {
            "outcome": outcome,
            "duration_s": round(took, 2),
            "peer": self.o.peer,
            "quick": self.o.quick,
            "steps": [
                {
                    "title": r.title,
                    "ok": r.ok,
                    "detail": r.detail,
                    "seconds": r.seconds,
                    "client_outage_s": r.outage,
                }
                for r in self.results
            ],
        }
        with contextlib.suppress(OSError):
            Path(self.o.json_path).write_text(json.dumps(doc, indent=2) + "\n")

    def _build(self, conf_path: Path) -> None:
        o = self.o
        s = self.s
        s.line("  building the lab ...")
        self.topo = LabTopology(NODES, gateway=f"{GATEWAY}/24", client=CLIENT, prefix=o.prefix)
        self.cluster = Cluster(self.topo, base=str(self.workdir))
        try:
            self.topo.up()
        except TopologyError as e:
            raise LabError(f"cannot build the lab: {e}") from None
        for node in NODES:
            self.webs[node] = start_web(self.topo, node)
            kind = o.peer if node == "slave" else "pyvrrp"
            self.c.node(node, kind=kind, conf=conf_path.read_text())
        probe_log = open(self.workdir / "client-probe.log", "wb")  # noqa: SIM115 - owned by the child
        self.probe = self.topo.spawn(
            "client",
            [sys.executable, "-c", PROBE_HTTP, f"http://{self.t.vip}/", "0.1", "0.25"],
            stdout=probe_log,
            stderr=subprocess.DEVNULL,
        )
        probe_log.close()
        s.line(
            f"  {s.arrow()} namespaces, web servers on master and slave, client probing http://{self.t.vip}/ every 0.1 s"
        )
        s.line()

    def _await_owner(self, label: str, node: str, bound: float, exclusive: bool = True) -> float | None:
        def pred() -> bool:
            own = self.owners()
            return own == [node] if exclusive else node in own

        return self.s.wait(label, pred, bound + 30, bound)

    def _move(
        self,
        title: str,
        action: Callable[[], None],
        to: str,
        bound: float,
        exclusive: bool = True,
        why: str | None = None,
        note: str | None = None,
    ) -> None:
        """Do ``action``, wait until ``to`` owns the VIP and the client is served by it; with ``why``, also
        time the master's priority change (``why`` names its cause: "chk_nginx failed")."""
        m = self.c.nodes["master"]
        mark = len(m.log_text())
        t_mono = time.monotonic()
        seen: list[tuple[float, str, str]] = []
        rx = re.compile(r"Changing effective priority from (\d+) to (\d+)")

        def watch() -> None:
            if why and not seen:
                hit = rx.search(m.log_text()[mark:])
                if hit:
                    seen.append((time.monotonic() - t_mono, hit.group(1), hit.group(2)))

        t_wall = time.time()
        action()

        def pred() -> bool:
            watch()
            own = self.owners()
            return own == [to] if exclusive else to in own

        secs = self.s.wait(f"waiting for {to} to own {self.t.vip}", pred, bound + 30, bound)
        if secs is None:
            self.record(
                title,
                False,
                f"the VIP did not move to {to} within {bound + 30:.1f} s (owners: {self.owners()})",
            )
            return
        # the client is served again by the new owner: outage measured by the probe
        t_vip = time.time()
        served = self.s.wait(f"waiting for the client to reach {to}", lambda: self.served_by(to, t_vip), 10)
        watch()
        out = outage(self.served(), t_wall, time.time())
        if served is None:
            self.record(title, False, f"VIP on {to} after {secs:.1f} s, but the client is not served by {to}")
            return
        self.record(title, True, f"VIP moved to {to} in {secs:.1f} s, client outage {out:.1f} s", secs, out)
        pad = " " * 42
        if why and seen:
            at, a, b = seen[0]
            self.s.line(f"{pad}{why} after {at:.1f} s: master's priority {a} {self.s.arrow()} {b}")
        if note:
            self.s.line(f"{pad}{note}")

    def _timeline(self) -> None:
        c, t, s = self.c, self.t, self.s
        m, sl = c.nodes["master"], c.nodes["slave"]
        # 1. election: the master first, so its own startup time is part of what the user sees
        t0 = time.time()
        m.start()
        secs = self._await_owner("master starting, waiting for the election", "master", t.mdi("master") + 3)
        if secs is None:
            self.record("election", False, f"master never became MASTER (see {m.logfile})")
        self.record(
            "election",
            True,
            f"master owns {t.vip} after {secs:.1f} s (down timer {t.mdi('master'):.1f} s)",
            secs,
        )
        mark = len(sl.log_text())
        sl.start()
        joined = s.wait("slave starting", lambda: "Entering BACKUP STATE" in sl.log_text()[mark:], 15)
        if joined is None:
            self.record("slave joins", False, f"slave never reached BACKUP (see {sl.logfile})")
        self.record(
            "slave joins",
            True,
            f"slave is BACKUP after {joined:.1f} s; owners of the VIP: {', '.join(self.owners())}",
            joined,
        )
        # 2. the client is served by the master
        got = s.wait(f"client asking http://{t.vip}/", lambda: self.served_by("master", t0), 10)
        if got is None:
            self.record("client served by master", False, "the client gets no answer from the master")
        self.record("client served by master", True, f'curl http://{t.vip}/ {s.arrow()} "served by master"')
        self.hold("the master serves the client", 3)

        track_fail = t.fall * t.interval + t.interval + t.mdi("slave")
        track_back = t.rise * t.interval + t.interval + t.mdi("master")
        # 3. web server stopped on the master -> chk_nginx fails -> failover
        self._move(
            "web server stopped on master",
            lambda: self.topo and self.topo.stop(self.webs.pop("master")),
            "slave",
            track_fail,
            why="chk_nginx failed",
        )
        self.hold("the slave serves the client", 3)
        # 4. restored -> failback
        self._move(
            "web server restarted on master",
            lambda: self.webs.__setitem__("master", start_web(self.c.topo, "master")),
            "master",
            track_back,
            why="chk_nginx succeeded again",
        )
        self.hold("the master serves the client again", 3)
        # 5. gateway ICMP dropped on the master -> chk_gateway fails -> failover
        self._move(
            "gateway ICMP dropped on master", self._drop_icmp, "slave", track_fail, why="chk_gateway failed"
        )
        self.hold("the slave serves the client", 3)
        self._move(
            "gateway ICMP restored",
            self._restore_icmp,
            "master",
            track_back,
            why="chk_gateway succeeded again",
        )
        self.hold("the master serves the client again", 3)
        # 6. the master daemon is killed -> takeover on the slave's down timer
        self._move(
            "master daemon killed (SIGKILL)",
            lambda: m.stop(signal.SIGKILL),
            "slave",
            t.mdi("slave") + 1,
            exclusive=False,  # a crashed keepalived/pyvrrp leaves its addresses behind, as on a real host
            note=(
                f"slave's down timer: {t.mdi('slave'):.1f} s after the last advert; the dead daemon left "
                "the VIP on master, which answered until the slave's gratuitous ARPs"
            ),
        )
        self.hold("the slave serves the client", 3)
        self._move(
            "master daemon restarted",
            m.start,
            "master",
            t.mdi("master") + 3,
            note="the restarted daemon removed its stale VIP and preempted (priority 150 > 100)",
        )

    def _drop_icmp(self) -> None:
        assert self.topo is not None
        nft = find_tool("nft")
        if nft:
            rules = (
                "table inet pvlab {\n  chain in {\n    type filter hook input priority 0;\n"
                f"    ip saddr {GATEWAY} meta l4proto icmp drop\n  }}\n}}\n"
            )
            self.topo.run("master", [nft, "-f", "-"], check=True, input=rules)
            self.icmp_rule = [nft, "delete", "table", "inet", "pvlab"]
        else:
            ipt = find_tool("iptables") or "iptables"
            self.topo.run(
                "master", [ipt, "-I", "INPUT", "-s", GATEWAY, "-p", "icmp", "-j", "DROP"], check=True
            )
            self.icmp_rule = [ipt, "-D", "INPUT", "-s", GATEWAY, "-p", "icmp", "-j", "DROP"]

    def _restore_icmp(self) -> None:
        assert self.topo is not None
        if self.icmp_rule:
            self.topo.run("master", self.icmp_rule, check=True)
            self.icmp_rule = None

    def _cleanup(self, keep: bool) -> None:
        s = self.s
        with signals_ignored():
            if self.probe is not None and self.topo is not None:
                self.topo.stop(self.probe, signal.SIGKILL, 2)
                self.probe = None
            if keep and self.topo is not None and self.topo._created:
                s.line()
                s.line(f"The lab stays up (namespaces {self.o.prefix}-*, files in {self.workdir}). Try:")
                sock = self.workdir / "master" / "control.sock"
                pfx = self.o.prefix
                s.line(f"  {lab_cmd(pfx, 'shell client')}    then: curl http://{self.t.vip}/")
                s.line(
                    f"  {lab_cmd(pfx, 'shell master')}    then: ip addr show eth0; pyvrrp status --control-socket {sock}"
                )
                s.line(f"  {lab_cmd(pfx, 'down')}            removes everything")
                return
            if self.cluster is not None:
                for n in self.cluster.nodes.values():
                    if n.proc is not None and n.proc.poll() is None:
                        n.stop(signal.SIGTERM, timeout=5)
                self.cluster.close()
            elif self.topo is not None:
                self.topo.down()
            left = lab_namespaces(self.o.prefix)
            if left:
                s.line(f"warning: namespaces left behind: {', '.join(left)} (pyvrrp lab down)")
            elif self.topo is not None:
                s.line("Lab removed: namespaces, links and processes are gone.")
            if not left and all(r.ok for r in self.results):  # a failed step keeps its logs
                shutil.rmtree(self.workdir, ignore_errors=True)


# -- kept labs -----------------------------------------------------------------------------------------------


def lab_down(prefix: str, out=print) -> int:  # type: ignore[no-untyped-def]
    """Remove a kept (or crashed) lab: stop what runs in its namespaces, delete them and its files."""
    if os.geteuid() != 0:
        raise LabError("removing namespaces needs root: run it as root (e.g. sudo pyvrrp lab down)")
    names = lab_namespaces(prefix)
    wd = lab_workdir(prefix)
    if not names and not wd.exists():
        out(f"no lab is up (no namespaces {prefix}-*)")
        return 0
    with signals_ignored():
        pids: set[int] = set()
        for ns in names:
            pids.update(Topology.pids_in(ns))
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
        for pid in pids:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        ip = find_tool("ip") or "ip"
        for ns in names:
            subprocess.run([ip, "netns", "del", ns], capture_output=True)
        shutil.rmtree(wd, ignore_errors=True)
    left = lab_namespaces(prefix)
    if left:
        raise LabError(f"could not remove {', '.join(left)}")
    out(f"lab removed: {len(names)} namespace(s), {len(pids)} process(es) stopped")
    return 0


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def lab_shell(prefix: str, node: str, argv: list[str] | None = None) -> int:
    """Replace this process with a shell (or ``argv``) inside a node of a kept lab."""
    if os.geteuid() != 0:
        raise LabError("entering a namespace needs root (e.g. sudo pyvrrp lab shell master)")
    names = lab_namespaces(prefix)
    if not names:
        raise LabError("no lab is up: start one with `pyvrrp lab --keep`")
    ns = f"{prefix}-{node}"
    if ns not in names:
        nodes = sorted(n[len(prefix) + 1 :] for n in names if not n.endswith("-sw"))
        raise LabError(f"no node '{node}' in the lab (nodes: {', '.join(nodes)})")
    ip = find_tool("ip") or "ip"
    cmd = argv or [os.environ.get("SHELL") or "/bin/sh"]
    env = dict(os.environ)
    env["PS1"] = f"[lab:{node}] \\w# "
    env["PYVRRP_LAB_NODE"] = node
    sys.stdout.flush()
    os.execvpe(ip, [ip, "netns", "exec", ns, *cmd], env)
    return 0  # not reached


__all__ = [
    "DEFAULT_PREFIX",
    "LabError",
    "LabTopology",
    "Node",
    "Story",
    "StoryOptions",
    "derive_lab_config",
    "lab_down",
    "lab_prefix",
    "lab_shell",
    "preflight",
    "reference_config",
]
