"""`pyvrrp lab bench`: pyvrrp and keepalived measured side by side in the lab topology.

Measurements (issue 7, plus issue 8's 50 ms VRRPv3 takeover), each repeated N times, medians and ratios:

1. takeover after SIGKILL of the master (its link goes down with it, as a crashed host): time from the last
   advert on the wire to the VIP added on the backup (netlink, ``ip -ts monitor``), minus the backup's
   Master_Down_Interval (RFC 3768/5798 §6.1): the excess over the protocol bound;
2. graceful takeover after SIGTERM: priority-0 advert on the wire to VIP added on the backup, minus Skew_Time;
3. client-visible outage during each: the longest gap in replies of a UDP echo probe sent every 10 ms
   from the client to the VIP (served by a responder on each node);
4. takeover decision to first GARP: first of (the new master's first advert, its VIP added) to its first
   gratuitous ARP for the VIP on the wire;
5. scale: 1/16/64/255 instances (VRIDs 1..N, no VIPs) on one interface at advert_int 1, alone on the link:
   CPU seconds per minute and RSS of the daemon (all its processes), advert interval jitter p50/p99 from a
   capture;
6. startup: exec to BACKUP with sockets ready (both "Entering BACKUP STATE" and the daemon's own
   ready line: pyvrrp's "Startup complete", keepalived's "VRRP sockpool" dump).

Failovers run twice: VRRPv2 at advert_int 1 and VRRPv3 at advert_int 0.05 (the master's advert jitter
at 50 ms is reported too). Wire times come from tcpdump in the client namespace; nothing is asserted.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pyvrrp.lab.capture import adverts, garps, percentile, read_events
from pyvrrp.lab.cluster import Cluster, Node, vrrp_conf
from pyvrrp.lab.story import (
    CLIENT,
    DEFAULT_PREFIX,
    NODE_SERVER,
    PROBE_UDP,
    Interrupted,
    LabError,
    LabTopology,
    Screen,
    find_tool,
    lab_namespaces,
    lab_workdir,
    preflight,
    scrub_proxy_env,
    signals_ignored,
    signals_raise,
)

VIP = "198.18.0.150"
M_IP, S_IP = "198.18.0.161", "198.18.0.162"
M_PRIO, S_PRIO = 150, 100
PROBE_EVERY = 0.01
PROFILES = {"v2_1s": (2, 1.0), "v3_50ms": (3, 0.05)}
SIZES = (1, 16, 64, 255)
QUICK_SIZES = (64,)
READY = {"pyvrrp": "Startup complete", "keepalived": "VRRP sockpool"}


@dataclass
class BenchOptions:
    quick: bool = False
    reps: int = 5
    json_path: str | None = None
    png_path: str | None = None
    kinds: tuple[str, ...] = ("pyvrrp", "keepalived")
    sizes: tuple[int, ...] | None = None
    prefix: str = DEFAULT_PREFIX
    scale_seconds: float | None = None

    @property
    def scale_sizes(self) -> tuple[int, ...]:
        return self.sizes or (QUICK_SIZES if self.quick else SIZES)

    @property
    def window(self) -> float:
        return self.scale_seconds or (3.0 if self.quick else 20.0)


def skew(prio: int, version: int, adv: float) -> float:
    return (256 - prio) / 256 * (adv if version == 3 else 1.0)


def mdi(prio: int, version: int, adv: float) -> float:
    return 3 * adv + skew(prio, version, adv)


def median(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# -- low-level measurements ----------------------------------------------------------------------------------


def parse_monitor(path: Path, ip: str) -> list[tuple[float, str]]:
    """``ip -ts monitor address`` output -> [(time, "add"|"del")] for ``ip``."""
    out: list[tuple[float, str]] = []
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            if not line.startswith("[") or f" {ip}/" not in line:
                continue
            stamp, _, rest = line[1:].partition("] ")
            try:
                ts = datetime.fromisoformat(stamp).timestamp()
            except ValueError:
                continue
            out.append((ts, "del" if rest.startswith("Deleted") else "add"))
    return out


def read_replies(path: Path) -> list[float]:
    """Send times of the probe requests that got a reply."""
    out = []
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                with contextlib.suppress(ValueError):
                    out.append(float(parts[0]))
    out.sort()
    return out


def longest_gap(replies: list[float], t0: float, t1: float, every: float = PROBE_EVERY) -> float | None:
    """The client outage around an event at ``t0``: the longest gap between answered requests that ends
    after ``t0`` and starts before ``t1``, minus the probe period (0 when no request went unanswered)."""
    win = [t for t in replies if t0 - 1.0 <= t <= t1 + 1.0]
    if len(win) < 2:
        return None
    gaps = [b - a for a, b in zip(win, win[1:], strict=False) if b >= t0 and a <= t1]
    return max(0.0, max(gaps, default=every) - every)


def ns_pids(ns: str) -> list[int]:
    from pyvrrp.lab.topo import Topology

    return Topology.pids_in(ns)


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of the processes (all their threads) in seconds: schedstat's nanoseconds, or the
    coarser utime+stime clock ticks when schedstat is not available."""
    total = 0.0
    hz = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0]) / 1e9
                continue
            except (OSError, ValueError, IndexError):
                pass
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / hz
    return total


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
    return total


def jitter_ms(ts_by_vrid: dict[int, list[float]], adv: float) -> tuple[float | None, float | None, int]:
    devs = []
    for ts in ts_by_vrid.values():
        for a, b in zip(ts, ts[1:], strict=False):
            d = b - a
            if 0.5 * adv <= d <= 1.5 * adv:  # transitions and restarts are not jitter
                devs.append(abs(d - adv) * 1000)
    if not devs:
        return None, None, 0
    return percentile(devs, 50), percentile(devs, 99), len(devs)


# -- one environment -----------------------------------------------------------------------------------------


class Env:
    """A fresh lab topology for one daemon kind, removed on exit (also on error and on signals)."""

    def __init__(self, prefix: str, base: Path, nodes: dict[str, str]) -> None:
        self.topo = LabTopology(nodes, client=CLIENT, prefix=prefix)
        base.mkdir(parents=True, exist_ok=True)
        self.base = base
        self.cluster = Cluster(self.topo, base=str(base))

    def __enter__(self) -> Env:
        self.topo.up()
        return self

    def __exit__(self, *exc: object) -> None:
        with signals_ignored():
            for n in self.cluster.nodes.values():
                if n.proc is not None and n.proc.poll() is None:
                    n.stop(signal.SIGTERM, timeout=5)
            self.cluster.close()


def wait(pred, timeout: float, every: float = 0.005) -> float | None:  # type: ignore[no-untyped-def]
    """Monotonic time at which ``pred`` held, or None."""
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return time.monotonic()
        if time.monotonic() >= deadline:
            return None
        time.sleep(every)


def wait_ready(node: Node, mark: int, timeout: float) -> float | None:
    marker = READY.get(node.kind, "Entering BACKUP STATE")

    def ready() -> bool:
        text = node.log_text()[mark:]
        return "Entering BACKUP STATE" in text and marker in text

    return wait(ready, timeout, 0.002)


class BenchFailed(Exception):
    pass


def state(node: Node) -> str:
    """What the daemon is doing, for an error message (the machine's load often explains a stall)."""
    p = node.proc
    run = "not started" if p is None else "running" if p.poll() is None else f"exited with {p.returncode}"
    return f"{node.kind} {run}, load average {os.getloadavg()[0]:.1f}"


def failover_run(
    kind: str, profile: str, reps: int, prefix: str, base: Path, screen: Screen, quick: bool = False
) -> dict[str, Any]:
    """Repeated SIGKILL and SIGTERM takeovers between two daemons of ``kind``; raw per-rep numbers."""
    version, adv = PROFILES[profile]
    nodes = {"master": f"{M_IP}/24", "slave": f"{S_IP}/24"}
    res: dict[str, Any] = {
        "kill_takeover_s": [],
        "kill_excess_s": [],
        "kill_outage_s": [],
        "term_takeover_s": [],
        "term_excess_s": [],
        "term_outage_s": [],
        "garp_delay_s": [],
        "startup_s": [],
        "bound_kill_s": mdi(S_PRIO, version, adv),
        "bound_term_s": skew(S_PRIO, version, adv),
    }
    with Env(prefix, base, nodes) as env:
        topo, c = env.topo, env.cluster
        auth = "Hello" if version == 2 else None
        m = c.node(
            "master",
            kind,
            conf=vrrp_conf(priority=M_PRIO, state="MASTER", advert_int=adv, version=version, auth_pass=auth),
        )
        s = c.node(
            "slave", kind, conf=vrrp_conf(priority=S_PRIO, advert_int=adv, version=version, auth_pass=auth)
        )
        for node in nodes:
            topo.spawn(
                node,
                [sys.executable, "-c", NODE_SERVER, node, "--udp"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        pcap = base / "link.pcap"
        cap = topo.capture("client", pcap, "vrrp or arp")
        ip = find_tool("ip") or "ip"
        mon_path = base / "slave-addr.log"
        with open(mon_path, "w") as f:
            mon = topo.spawn("slave", [ip, "-ts", "monitor", "address"], stdout=f, stderr=subprocess.DEVNULL)
        with open(base / "probe.log", "w") as f:
            probe = topo.spawn(
                "client",
                [sys.executable, "-c", PROBE_UDP, VIP, str(PROBE_EVERY)],
                stdout=f,
                stderr=subprocess.DEVNULL,
            )
        # at least three adverts of the master between events (one in quick mode)
        settle = max(0.6, (1.2 if quick else 3.5) * adv)
        post = min(1.2, 0.5 + 2 * adv)  # the first GARP burst and a few adverts of the new master
        up_bound = mdi(M_PRIO, version, adv) + 30  # a restart includes the interpreter's start

        def own(node: str, exclusive: bool = True) -> bool:
            o = c.owners(VIP)
            return o == [node] if exclusive else node in o

        def restart(node: Node) -> None:
            # a crashed daemon's pid files would make keepalived refuse to start while its dead
            # processes are not reaped yet ("daemon is already running"): the operator removes them
            for f in (node.pidfile, node.workdir / "vrrp.pid"):
                f.unlink(missing_ok=True)
            node.start()

        m.start()
        if wait(lambda: own("master"), up_bound, 0.02) is None:
            raise BenchFailed(f"{kind}: the master never took the VIP ({state(m)}; log {m.logfile})")
        mark = len(s.log_text())
        s.start()
        if wait_ready(s, mark, 60) is None:
            raise BenchFailed(f"{kind}: the backup never started ({state(s)}; log {s.logfile})")
        kills: list[float] = []
        terms: list[float] = []
        for r in range(reps):
            screen.progress(f"{kind} {profile}: repetition {r + 1}/{reps}", 0, None)
            time.sleep(settle)
            # 1. crash: SIGKILL and the link goes down with it
            t_kill = time.time()
            m.stop(signal.SIGKILL, timeout=5)
            topo.run("master", [ip, "link", "set", "eth0", "down"], check=True)
            kills.append(t_kill)
            if wait(lambda: own("slave", exclusive=False), mdi(S_PRIO, version, adv) + 5, 0.01) is None:
                raise BenchFailed(f"{kind}: no takeover after SIGKILL (log {s.logfile})")
            time.sleep(post)
            topo.run("master", [ip, "link", "set", "eth0", "up"], check=True)
            restart(m)
            if wait(lambda: own("master"), up_bound, 0.02) is None:
                raise BenchFailed(f"{kind}: no failback after restart ({state(m)}; log {m.logfile})")
            time.sleep(settle)
            # 2. graceful: SIGTERM sends priority 0
            t_term = time.time()
            terms.append(t_term)
            m.stop(signal.SIGTERM, timeout=10)
            if wait(lambda: own("slave"), skew(S_PRIO, version, adv) + 5, 0.01) is None:
                raise BenchFailed(f"{kind}: no takeover after SIGTERM (log {s.logfile})")
            time.sleep(post)
            restart(m)
            if wait(lambda: own("master"), up_bound, 0.02) is None:
                raise BenchFailed(f"{kind}: no failback after restart ({state(m)}; log {m.logfile})")
            # 6. startup of the backup
            s.stop(signal.SIGTERM, timeout=10)
            mark = len(s.log_text())
            t_exec = time.monotonic()
            s.start()
            t_ready = wait_ready(s, mark, 60)
            if t_ready is None:
                raise BenchFailed(f"{kind}: the backup did not restart ({state(s)}; log {s.logfile})")
            res["startup_s"].append(t_ready - t_exec)
        screen.clear()
        time.sleep(0.3)
        for p in (probe, mon, cap):
            topo.stop(p)

    ev = read_events(pcap)
    vip_adds = [ts for ts, what in parse_monitor(mon_path, VIP) if what == "add"]
    replies = read_replies(base / "probe.log")
    m_adv = adverts(ev, M_IP)
    s_adv = adverts(ev, S_IP)
    b_kill, b_term = res["bound_kill_s"], res["bound_term_s"]
    for t_kill in kills:
        t_vip = next((t for t in vip_adds if t > t_kill), None)
        last = [e.ts for e in m_adv if e.ts < (t_vip or 0) and (e.priority or 0) > 0]
        if t_vip is None or not last:
            continue
        takeover = t_vip - last[-1]
        res["kill_takeover_s"].append(takeover)
        res["kill_excess_s"].append(takeover - b_kill)
        res["kill_outage_s"].append(longest_gap(replies, t_kill, t_vip + 1.0))
        first_adv = next((e.ts for e in s_adv if e.ts > t_kill), None)
        decision = min(x for x in (first_adv, t_vip) if x is not None)
        g = garps(ev, VIP, after=decision - 0.05)
        if g:
            res["garp_delay_s"].append(g[0].ts - decision)
    for t_term in terms:
        zero = next((e.ts for e in m_adv if e.ts > t_term - 0.05 and e.priority == 0), None)
        t_vip = next((t for t in vip_adds if t > t_term), None)
        if zero is None or t_vip is None:
            continue
        res["term_takeover_s"].append(t_vip - zero)
        res["term_excess_s"].append(t_vip - zero - b_term)
        res["term_outage_s"].append(longest_gap(replies, t_term, t_vip + 1.0))
    by_vrid: dict[int, list[float]] = {}
    for e in m_adv:
        if e.priority == M_PRIO:
            by_vrid.setdefault(e.vrid or 0, []).append(e.ts)
    p50, p99, n = jitter_ms(by_vrid, adv)
    res["advert_jitter_p50_ms"], res["advert_jitter_p99_ms"], res["advert_intervals"] = p50, p99, n
    return res


def scale_conf(n: int) -> str:
    return "global_defs {\n    router_id scale\n}\n" + "".join(
        f"vrrp_instance VI_{k} {{\n    state MASTER\n    interface eth0\n    virtual_router_id {k}\n"
        f"    priority 150\n    advert_int 1\n}}\n"
        for k in range(1, n + 1)
    )


def scale_run(
    kind: str, sizes: tuple[int, ...], window: float, prefix: str, base: Path, screen: Screen
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Env(prefix, base, {"master": f"{M_IP}/24"}) as env:
        topo, c = env.topo, env.cluster
        ns = topo.ns("master")
        for n in sizes:
            wd = base / f"n{n}"
            node = c.node("master", kind, conf=scale_conf(n))
            pcap = wd.with_suffix(".pcap")
            cap = topo.capture("client", pcap, "vrrp")
            mark = len(node.log_text())
            node.start()
            t_up = wait(
                lambda node=node, mark=mark, n=n: node.log_text()[mark:].count("Entering MASTER STATE") >= n,
                60 + n * 0.1,
                0.05,
            )
            if t_up is None:
                raise BenchFailed(
                    f"{kind}: {n} instances never all became MASTER ({state(node)}; log {node.logfile})"
                )
            time.sleep(1.0)
            pids = ns_pids(ns)
            c0, t0 = cpu_seconds(pids), time.monotonic()
            end = t0 + window
            while (now := time.monotonic()) < end:
                screen.progress(f"{kind}: {n} instance(s) at advert_int 1", now - t0, window)
                time.sleep(0.1)
            screen.clear()
            c1, t1 = cpu_seconds(pids), time.monotonic()
            rss = rss_kb(pids)
            node.stop(signal.SIGTERM, timeout=20)
            topo.stop(cap)
            by_vrid: dict[int, list[float]] = {}
            for e in adverts(read_events(pcap), M_IP):
                if e.priority == 150:
                    by_vrid.setdefault(e.vrid or 0, []).append(e.ts)
            p50, p99, cnt = jitter_ms(by_vrid, 1.0)
            out[str(n)] = {
                "cpu_s_per_min": (c1 - c0) / (t1 - t0) * 60,
                "rss_mb": rss / 1024,
                "jitter_p50_ms": p50,
                "jitter_p99_ms": p99,
                "intervals": cnt,
                "processes": len(pids),
                "window_s": round(t1 - t0, 2),
            }
    return out


# -- report --------------------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    from pyvrrp import __version__

    v = {"pyvrrp": __version__, "python": platform.python_version()}
    ka = find_tool("keepalived")
    if ka:
        r = subprocess.run([ka, "--version"], capture_output=True, text=True)
        first = (r.stderr or r.stdout).splitlines()
        v["keepalived"] = first[0].strip() if first else "?"
    return v


def machine() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "load_1m_at_start": os.getloadavg()[0],
    }


ROWS: list[tuple[str, str, str, float]] = [
    # (label, section, key, scale to display unit)
    ("SIGKILL takeover excess over MDI (ms)", "v2_1s", "kill_excess_s", 1000),
    ("SIGTERM takeover excess over Skew (ms)", "v2_1s", "term_excess_s", 1000),
    ("client outage after SIGKILL (s)", "v2_1s", "kill_outage_s", 1),
    ("client outage after SIGTERM (ms)", "v2_1s", "term_outage_s", 1000),
    ("decision to first GARP (ms)", "v2_1s", "garp_delay_s", 1000),
    ("v3 50ms: SIGKILL takeover (ms)", "v3_50ms", "kill_takeover_s", 1000),
    ("v3 50ms: excess over MDI 180.5ms (ms)", "v3_50ms", "kill_excess_s", 1000),
    ("v3 50ms: SIGTERM excess over Skew (ms)", "v3_50ms", "term_excess_s", 1000),
    ("v3 50ms: client outage after SIGKILL (ms)", "v3_50ms", "kill_outage_s", 1000),
    ("v3 50ms: advert jitter p99 (ms)", "v3_50ms", "advert_jitter_p99_ms", 1),
    ("startup to BACKUP, sockets ready (ms)", "v2_1s", "startup_s", 1000),
]


def summarize(
    results: dict[str, Any], kinds: tuple[str, ...], sizes: tuple[int, ...]
) -> list[dict[str, Any]]:
    rows = []
    for label, section, key, unit in ROWS:
        row: dict[str, Any] = {"metric": label}
        for k in kinds:
            v = results.get("failover", {}).get(section, {}).get(k, {}).get(key)
            val = median(v) if isinstance(v, list) else v
            row[k] = None if val is None else val * unit
        rows.append(row)
    for n in sizes:
        for key, label in (
            ("cpu_s_per_min", "CPU s/min"),
            ("rss_mb", "RSS MB"),
            ("jitter_p99_ms", "advert jitter p99 ms"),
        ):
            row = {"metric": f"{n} instance(s): {label}"}
            for k in kinds:
                row[k] = results.get("scale", {}).get(k, {}).get(str(n), {}).get(key)
            rows.append(row)
    for row in rows:
        a, b = row.get("pyvrrp"), row.get("keepalived")
        row["ratio"] = (a / b) if (a is not None and b not in (None, 0)) else None
    return rows


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 1 else f"{v:.1f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def table(rows: list[dict[str, Any]], kinds: tuple[str, ...]) -> str:
    heads = ["metric (median)", *kinds] + (["ratio py/ka"] if len(kinds) == 2 else [])
    body = [
        [r["metric"], *(fmt(r.get(k)) for k in kinds)]
        + ([fmt(r["ratio"]) if r["ratio"] is None else f"{r['ratio']:.2f}"] if len(kinds) == 2 else [])
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [heads, *body]) for i in range(len(heads))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)) + " |"]
    lines.append(
        "|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    )
    for b in body:
        lines.append(
            "| "
            + " | ".join(
                x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(b, widths, strict=True))
            )
            + " |"
        )
    return "\n".join(lines)


def render_png(results: dict[str, Any], kinds: tuple[str, ...], path: str) -> str | None:
    """Draw the chart; returns why it could not (never raises: the numbers are already printed)."""
    try:
        return _render_png(results, kinds, path)
    except Exception as e:  # noqa: BLE001 - a chart problem must not lose the run
        return f"no chart: {type(e).__name__}: {e}"


def _render_png(results: dict[str, Any], kinds: tuple[str, ...], path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib): no chart"
    fo = results.get("failover", {})
    panels = [
        ("v2 SIGKILL excess (ms)", "v2_1s", "kill_excess_s", 1000),
        ("v2 SIGTERM excess (ms)", "v2_1s", "term_excess_s", 1000),
        ("v3 50ms SIGKILL takeover (ms)", "v3_50ms", "kill_takeover_s", 1000),
        ("GARP delay (ms)", "v2_1s", "garp_delay_s", 1000),
    ]
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4 * (len(panels) + 1), 3.2))
    for ax, (title, sec, key, unit) in zip(axes, panels, strict=False):
        data = [[x * unit for x in fo.get(sec, {}).get(k, {}).get(key, []) if x is not None] for k in kinds]
        try:
            ax.boxplot(data, tick_labels=list(kinds))  # matplotlib >= 3.9
        except TypeError:
            ax.boxplot(data, labels=list(kinds))
        ax.set_title(title, fontsize=9)
    ax = axes[-1]
    for k in kinds:
        sc = results.get("scale", {}).get(k, {})
        xs = sorted(int(n) for n in sc)
        ax.plot(xs, [sc[str(n)]["cpu_s_per_min"] for n in xs], marker="o", label=k)
    ax.set_title("CPU s/min vs instances", fontsize=9)
    ax.set_xscale("symlog")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


# -- the command ---------------------------------------------------------------------------------------------


def run_bench(opts: BenchOptions, screen: Screen | None = None) -> int:
    s = screen or Screen()
    preflight(opts.prefix, ("tcpdump",))
    kinds = tuple(opts.kinds)
    notes: list[str] = []
    if "keepalived" in kinds and not find_tool("keepalived"):
        if kinds == ("keepalived",):
            raise LabError("keepalived is not installed (apt-get install keepalived)")
        kinds = tuple(k for k in kinds if k != "keepalived")
        notes.append("keepalived is not installed: pyvrrp measured alone")
    scrub_proxy_env()
    base = lab_workdir(opts.prefix)
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    results: dict[str, Any] = {
        "machine": machine(),
        "versions": versions(),
        "params": {
            "reps": opts.reps,
            "quick": opts.quick,
            "scale_sizes": list(opts.scale_sizes),
            "scale_window_s": opts.window,
            "probe_every_s": PROBE_EVERY,
            "profiles": {k: {"version": v, "advert_int": a} for k, (v, a) in PROFILES.items()},
            "priorities": {"master": M_PRIO, "backup": S_PRIO},
        },
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "failover": {p: {} for p in PROFILES},
        "scale": {},
        "notes": notes,
    }
    s.line(
        f"pyvrrp lab bench: {', '.join(kinds)}; {opts.reps} repetition(s); scale {', '.join(map(str, opts.scale_sizes))} instance(s), {opts.window:g} s each"
    )
    for n in notes:
        s.line(f"  note: {n}")
    t_begin = time.monotonic()
    try:
        with signals_raise():
            for profile in PROFILES:
                for kind in kinds:
                    t0 = time.monotonic()
                    r = failover_run(
                        kind, profile, opts.reps, opts.prefix, base / f"{profile}-{kind}", s, opts.quick
                    )
                    results["failover"][profile][kind] = r
                    k_ex, t_ex = median(r["kill_excess_s"]), median(r["term_excess_s"])
                    s.line(
                        f"  {s.ok()} {profile:<8} {kind:<10} SIGKILL excess {fmt(k_ex and k_ex * 1000)} ms, "
                        f"SIGTERM excess {fmt(t_ex and t_ex * 1000)} ms ({time.monotonic() - t0:.0f} s)"
                    )
            for kind in kinds:
                t0 = time.monotonic()
                results["scale"][kind] = scale_run(
                    kind, opts.scale_sizes, opts.window, opts.prefix, base / f"scale-{kind}", s
                )
                s.line(
                    f"  {s.ok()} scale    {kind:<10} {len(opts.scale_sizes)} size(s) ({time.monotonic() - t0:.0f} s)"
                )
    except Interrupted as e:
        s.line(f"interrupted ({e}): the lab is removed")
        _leftovers(opts.prefix)
        shutil.rmtree(base, ignore_errors=True)
        return 130
    except BenchFailed as e:
        _leftovers(opts.prefix)
        raise LabError(f"{e}") from None
    results["startup"] = {k: results["failover"]["v2_1s"][k]["startup_s"] for k in kinds}
    results["duration_s"] = round(time.monotonic() - t_begin, 1)
    results["machine"]["load_1m_at_end"] = os.getloadavg()[0]
    rows = summarize(results, kinds, opts.scale_sizes)
    results["summary"] = rows
    s.line()
    s.line(table(rows, kinds))
    s.line()
    s.line(
        f"{results['duration_s']:.0f} s; {results['machine']['cpus']} CPUs ({results['machine']['cpu']}), kernel {results['machine']['kernel']}"
    )
    if opts.json_path:
        Path(opts.json_path).write_text(json.dumps(results, indent=2, default=str) + "\n")
        s.line(f"JSON written to {opts.json_path}")
    if opts.png_path:
        problem = render_png(results, kinds, opts.png_path)
        s.line(f"note: {problem}" if problem else f"chart written to {opts.png_path}")
    _leftovers(opts.prefix)
    shutil.rmtree(base, ignore_errors=True)
    return 0


def _leftovers(prefix: str) -> None:
    left = lab_namespaces(prefix)
    if left:
        print(f"warning: namespaces left behind: {', '.join(left)} (pyvrrp lab down)", file=sys.stderr)


__all__ = ["BenchOptions", "run_bench", "failover_run", "scale_run", "summarize", "table"]
