"""The Prometheus endpoint: keepalived-exporter compatible series read from the live daemon at scrape time.

Names, labels and values follow the de-facto exporter (mehdy/keepalived-exporter), so its dashboards and
alerts work unchanged against ``pyvrrp --metrics-listen ADDR:PORT`` (default ``:9165``):

* ``keepalived_up`` 1 while the daemon answers;
* ``keepalived_vrrp_state{iname,intf,vrid,ip_address}``: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, one series per
  VIP (``ip_address`` and ``intf`` are the first and third words of keepalived's VIP text; an instance without
  VIPs gets one series with ``ip_address=""``), ``keepalived_vrrp_excluded_state`` the same for eVIPs;
* the keepalived counters (``..._total{iname,intf,vrid}``) from :class:`pyvrrp.proto.vrrp.VrrpStats`;
* ``keepalived_script_status{name}`` (0 BAD, 1 GOOD), ``keepalived_script_state{name}`` (0 idle, 1 running).

pyvrrp additions: ``keepalived_vrrp_priority_base``/``_effective``,
``keepalived_vrrp_last_transition_timestamp_seconds``, ``pyvrrp_vrrp_master_seen{vrid,address,priority}``
(the masters this node currently hears — two of them is split-brain evidence),
``pyvrrp_script_duration_seconds`` (histogram), ``pyvrrp_config_reload_failures_total``,
``pyvrrp_build_info``. No ``_created`` series are produced.

The HTTP server runs on the daemon's event loop (asyncio), so a scrape reads a consistent state and never
races the protocol code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector

from pyvrrp import __version__
from pyvrrp.observe.dump import vip_lines
from pyvrrp.observe.view import DaemonView, snapshot

log = logging.getLogger("pyvrrp.metrics")

DEFAULT_PORT = 9165
INSTANCE_LABELS = ("iname", "intf", "vrid")

# (metric name without _total, VrrpStats field, help) — keepalived-exporter's names
COUNTERS = (
    ("keepalived_advertisements_received", "advert_rcvd", "Advertisements received"),
    ("keepalived_advertisements_sent", "advert_sent", "Advertisements sent"),
    ("keepalived_become_master", "become_master", "Became master"),
    ("keepalived_release_master", "release_master", "Released master"),
    ("keepalived_packet_length_errors", "packet_len_err", "Packet length errors"),
    ("keepalived_advertisements_interval_errors", "advert_interval_err", "Advertisement interval errors"),
    ("keepalived_ip_ttl_errors", "ip_ttl_err", "TTL errors"),
    ("keepalived_invalid_type_received", "invalid_type_rcvd", "Invalid type errors"),
    ("keepalived_address_list_errors", "addr_list_err", "Address list errors"),
    ("keepalived_authentication_invalid", "invalid_authtype", "Authentication invalid"),
    ("keepalived_authentication_mismatch", "authtype_mismatch", "Authentication mismatch"),
    ("keepalived_authentication_failure", "auth_failure", "Authentication failure"),
    ("keepalived_priority_zero_received", "pri_zero_rcvd", "Priority zero received"),
    ("keepalived_priority_zero_sent", "pri_zero_sent", "Priority zero sent"),
)

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ScriptDurations:
    """Script run durations per script name, kept as histogram buckets.

    The tracking runtime records runs with ``daemon.script_durations.observe(name, seconds)`` (the object
    is created by :func:`attach`; look it up with ``getattr`` at run time).
    """

    def __init__(self, buckets: Iterable[float] = DURATION_BUCKETS) -> None:
        self.buckets = tuple(sorted(buckets))
        self._data: dict[str, tuple[list[int], list[float]]] = {}  # name -> (counts per bucket, [sum])

    def observe(self, name: str, seconds: float) -> None:
        counts, total = self._data.setdefault(name, ([0] * (len(self.buckets) + 1), [0.0]))
        for i, b in enumerate(self.buckets):
            if seconds <= b:
                counts[i] += 1
                break
        else:
            counts[-1] += 1
        total[0] += seconds

    def families(self) -> Iterator[Metric]:
        h = HistogramMetricFamily(
            "pyvrrp_script_duration_seconds", "Duration of vrrp_script runs", labels=("name",)
        )
        for name, (counts, total) in sorted(self._data.items()):
            cum = 0
            buckets: list[tuple[str, float]] = []
            for b, c in zip(self.buckets, counts, strict=False):
                cum += c
                buckets.append((_fmt_le(b), cum))
            cum += counts[-1]
            buckets.append(("+Inf", cum))
            h.add_metric([name], buckets, total[0])
        yield h


def _fmt_le(b: float) -> str:
    return repr(float(b))


@dataclass
class MasterSeen:
    """Adverts with priority > 0 from other routers, per (vrid, address): split-brain evidence.

    Fed from the packet path (:func:`_tap_packets`); an entry counts as "heard" while it is younger than
    three advert intervals plus one second, the RFC's Master_Down_Interval rounded up.
    """

    entries: dict[tuple[int, str], tuple[int, float, float]] = field(default_factory=dict)
    # (vrid, address) -> (priority, last seen monotonic, advert interval)

    def saw(self, vrid: int, address: str, priority: int, interval: float, now: float) -> None:
        self.entries[(vrid, address)] = (priority, now, interval)

    def current(self, now: float) -> list[tuple[int, str, int]]:
        out = []
        for (vrid, addr), (prio, seen, interval) in list(self.entries.items()):
            if now - seen <= 3 * interval + 1.0:
                out.append((vrid, addr, prio))
            elif now - seen > 600:
                del self.entries[(vrid, addr)]
        return sorted(out)


class VrrpCollector:
    """A prometheus_client collector reading the daemon at scrape time (``collect`` runs on the loop)."""

    def __init__(self, daemon: Any, clock: Any = time.monotonic) -> None:
        self.daemon = daemon
        self.clock = clock

    def describe(self) -> list[Metric]:
        return []  # unchecked collector: families depend on the live configuration

    def _view(self) -> DaemonView:
        try:
            loop_now = asyncio.get_running_loop().time()
        except RuntimeError:
            loop_now = time.monotonic()
        return snapshot(self.daemon, time.time(), loop_now)

    def collect(self) -> Iterator[Metric]:
        view = self._view()
        up = GaugeMetricFamily("keepalived_up", "Status")
        up.add_metric([], 1)
        yield up

        state = GaugeMetricFamily(
            "keepalived_vrrp_state", "State of vrrp", labels=("iname", "intf", "vrid", "ip_address")
        )
        excluded = GaugeMetricFamily(
            "keepalived_vrrp_excluded_state",
            "State of vrrp with excluded VIP",
            labels=("iname", "intf", "vrid", "ip_address"),
        )
        counters = {
            name: CounterMetricFamily(name, help_, labels=INSTANCE_LABELS) for name, _, help_ in COUNTERS
        }
        base = GaugeMetricFamily(
            "keepalived_vrrp_priority_base", "Configured priority", labels=INSTANCE_LABELS
        )
        eff = GaugeMetricFamily(
            "keepalived_vrrp_priority_effective",
            "Effective priority (base plus tracker weights)",
            labels=INSTANCE_LABELS,
        )
        last = GaugeMetricFamily(
            "keepalived_vrrp_last_transition_timestamp_seconds",
            "Wall-clock time of the last state change",
            labels=INSTANCE_LABELS,
        )
        for iv in view.instances:
            s = int(iv.state) if int(iv.state) <= 3 else 0
            ids = [iv.name, iv.interface, str(iv.vrid)]
            # ip_address is the first word of keepalived's VIP text (no prefix for a host address)
            for vip, text in zip(iv.cfg.vips, vip_lines(iv), strict=True):
                state.add_metric([iv.name, vip.dev or iv.interface, str(iv.vrid), text.split(" ")[0]], s)
            if not iv.cfg.vips:
                state.add_metric([iv.name, iv.interface, str(iv.vrid), ""], s)
            for vip, text in zip(iv.cfg.evips, vip_lines(iv, excluded=True), strict=True):
                excluded.add_metric([iv.name, vip.dev or iv.interface, str(iv.vrid), text.split(" ")[0]], s)
            for name, fieldname, _ in COUNTERS:
                counters[name].add_metric(ids, float(iv.stats.get(fieldname, 0)))
            base.add_metric(ids, iv.base_priority)
            eff.add_metric(ids, iv.effective_priority)
            if iv.last_transition is not None:
                last.add_metric(ids, round(iv.last_transition, 6))
        yield state
        yield excluded
        yield from counters.values()
        yield base
        yield eff
        yield last

        status = GaugeMetricFamily("keepalived_script_status", "Tracker Script Status", labels=("name",))
        sstate = GaugeMetricFamily("keepalived_script_state", "Tracker Script State", labels=("name",))
        for sv in view.scripts:
            if sv.status is not None:
                status.add_metric([sv.name], 1 if sv.status else 0)
            sstate.add_metric([sv.name], 1 if sv.running else 0)
        yield status
        yield sstate

        seen = GaugeMetricFamily(
            "pyvrrp_vrrp_master_seen",
            "Routers heard advertising as master (priority > 0) per VRID",
            labels=("vrid", "address", "priority"),
        )
        tap: MasterSeen | None = getattr(self.daemon, "master_seen", None)
        if tap is not None:
            for vrid, addr, prio in tap.current(self.clock()):
                seen.add_metric([str(vrid), addr, str(prio)], 1)
        yield seen

        durations: ScriptDurations | None = getattr(self.daemon, "script_durations", None)
        if isinstance(durations, ScriptDurations):
            yield from durations.families()

        reload_fail = CounterMetricFamily(
            "pyvrrp_config_reload_failures",
            "Reloads (SIGHUP) rejected because the new configuration was invalid",
        )
        reload_fail.add_metric([], view.reload_failures)
        yield reload_fail
        unknown = CounterMetricFamily(
            "pyvrrp_vrrp_unknown_vrid", "Adverts received for a VRID not configured here"
        )
        unknown.add_metric([], view.unknown_vrid)
        yield unknown
        perr = CounterMetricFamily(
            "pyvrrp_packet_errors", "Packets dropped before reaching an instance", labels=("counter",)
        )
        for k, v in sorted(view.global_errors.items()):
            perr.add_metric([k], v)
        yield perr
        info = GaugeMetricFamily(
            "pyvrrp_build_info", "pyvrrp version", labels=("version", "python", "keepalived_compat")
        )
        info.add_metric([__version__, ".".join(map(str, sys.version_info[:3])), "2.2.7"], 1)
        yield info


def build_registry(daemon: Any, process: bool = True) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(VrrpCollector(daemon))  # type: ignore[arg-type]
    if process:
        ProcessCollector(registry=reg)
    return reg


def parse_listen(text: str) -> tuple[str | None, int]:
    """``ADDR:PORT``, ``:PORT``, ``[v6]:PORT`` or ``PORT`` -> (host or None for all, port)."""
    t = text.strip()
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        port = rest.lstrip(":")
    elif t.count(":") == 1:
        host, _, port = t.partition(":")
    elif ":" not in t:
        host, port = "", t
    else:
        raise ValueError(f"invalid listen address '{text}' (use ADDR:PORT or [ADDR]:PORT)")
    try:
        p = int(port) if port else DEFAULT_PORT
    except ValueError:
        raise ValueError(f"invalid port in listen address '{text}'") from None
    if not 0 <= p <= 65535:
        raise ValueError(f"port out of range in listen address '{text}'")
    return (host or None), p


class MetricsServer:
    """A minimal HTTP/1.0 server for ``GET /metrics`` on the event loop."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.server: asyncio.base_events.Server | None = None

    async def start(self, host: str | None, port: int) -> None:
        self.server = await asyncio.start_server(self._handle, host, port, reuse_address=True)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            lines = head.decode("latin-1").split("\r\n")
            method, path, *_ = lines[0].split(" ") + ["", ""]
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                if k:
                    headers[k.strip().lower()] = v.strip()
            path = path.split("?", 1)[0]
            if method not in ("GET", "HEAD"):
                status, ctype, body = "405 Method Not Allowed", "text/plain", b"method not allowed\n"
            elif path == "/metrics":
                encoder, ctype = choose_encoder(headers.get("accept", ""))
                body = encoder(self.registry)
                status = "200 OK"
            elif path == "/":
                status, ctype = "200 OK", "text/html"
                body = b"<html><body><h1>pyvrrp</h1><a href='/metrics'>metrics</a></body></html>\n"
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"not found\n"
            out = f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            writer.write(out.encode() + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except Exception as e:  # a broken scrape must never hurt the daemon
            log.error("metrics request failed: %s", e)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _tap_packets(daemon: Any, seen: MasterSeen) -> None:
    """Record who advertises each of our VRIDs, through the daemon's advert hook (observation only)."""

    def on_advert(rcv: Any, adv: Any, drv: Any) -> None:
        if adv.priority > 0 and drv is not None and rcv.src != getattr(drv.machine, "src_ip", None):
            interval = float(getattr(drv.machine, "master_adver_int", 1.0))
            seen.saw(adv.vrid, str(rcv.src), adv.priority, interval, time.monotonic())

    daemon.advert_hooks.append(on_advert)


async def attach(daemon: Any) -> None:
    """Start the endpoint if ``daemon.settings["metrics_listen"]`` is set (``--no-metrics`` clears it)."""
    settings = getattr(daemon, "settings", {}) or {}
    listen = settings.get("metrics_listen")
    if not listen:
        return
    host, port = parse_listen(str(listen))
    if getattr(daemon, "script_durations", None) is None:
        daemon.script_durations = ScriptDurations()
    seen = MasterSeen()
    daemon.master_seen = seen
    _tap_packets(daemon, seen)
    server = MetricsServer(build_registry(daemon))
    await server.start(host, port)
    daemon.metrics_server = server
    log.info("Prometheus metrics on http://%s:%d/metrics", host or "*", server.port)
    stop_hooks = getattr(daemon, "stop_hooks", None)
    if isinstance(stop_hooks, list):
        stop_hooks.append(server.close)
