"""A read-only snapshot of the running VRRP daemon, shared by the operator-facing outputs.

The metrics collector, the status socket and the keepalived dump files all describe the same state; this
module owns the one place that reads it from the daemon (duck-typed: ``daemon.drivers[name].machine`` is a
:class:`pyvrrp.proto.vrrp.VrrpInstance`, see its contract) and converts the machine's loop-clock times to
wall-clock times. Everything after :func:`snapshot` is pure formatting over these dataclasses.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyvrrp._types import IPAddress, State
from pyvrrp.config.model import GlobalConfig, InstanceConfig, ScriptConfig, SyncGroupConfig

STATE_NAMES = {State.INIT: "INIT", State.BACKUP: "BACKUP", State.MASTER: "MASTER", State.FAULT: "FAULT"}


def state_name(s: State | int) -> str:
    try:
        st = State(int(s))
    except ValueError:
        return str(int(s))
    return STATE_NAMES.get(st, st.name)


@dataclass
class TrackerView:
    """One tracker as it affects one instance (``kind``: script, interface, file, process or other)."""

    name: str
    kind: str
    weight: int | None  # the configured weight (override or the tracker's own), None if unknown
    delta: int = 0
    fault: bool = False
    reason: str = ""
    reported: bool = False  # False: the tracker has not reported a result yet


@dataclass
class InstanceView:
    name: str
    cfg: InstanceConfig
    version: int
    state: State
    wantstate: State
    base_priority: int
    effective_priority: int
    adver_int: float
    master_adver_int: float
    master_down_interval: float
    src_ip: IPAddress | None
    master_src: IPAddress | None
    master_priority: int | None
    last_transition: float | None  # wall clock
    last_reason: str
    master_since: float | None  # wall clock, when this node last became MASTER
    read_timeout: float | None  # wall clock of the next armed timer (keepalived's "Read timeout")
    vips_set: bool
    stats: dict[str, int]
    trackers: list[TrackerView] = field(default_factory=list)
    ifindex: int = 0  # of the interface (keepalived prints it with an IPv6 multicast group)

    @property
    def interface(self) -> str:
        return self.cfg.interface or ""

    @property
    def vrid(self) -> int:
        return self.cfg.vrid

    @property
    def family(self) -> int:
        return self.cfg.family


@dataclass
class ScriptView:
    cfg: ScriptConfig
    status: bool | None  # True GOOD, False BAD, None not run yet
    running: bool = False
    tracking: list[tuple[str, int]] = field(default_factory=list)  # (instance, weight)

    @property
    def name(self) -> str:
        return self.cfg.name


@dataclass
class InterfaceView:
    name: str
    index: int
    ipv4: str | None = None
    ipv6: str | None = None
    mac: str | None = None
    up: bool = False
    running: bool = False
    mtu: int = 0
    tracking: list[tuple[str, int]] = field(default_factory=list)  # (instance, weight)


@dataclass
class DaemonView:
    router_id: str
    globals: GlobalConfig
    instances: list[InstanceView]
    scripts: list[ScriptView]
    interfaces: list[InterfaceView]
    wall_time: float
    started_at: float = 0.0
    reload_failures: int = 0
    unknown_vrid: int = 0
    global_errors: dict[str, int] = field(default_factory=dict)
    pid: int = 0


def _to_wall(t: float | None, wall_now: float, loop_now: float) -> float | None:
    if t is None:
        return None
    return wall_now - (loop_now - t)


def _tracker_kinds(
    cfg: InstanceConfig, scripts: Mapping[str, ScriptConfig], groups: tuple[SyncGroupConfig, ...] = ()
) -> dict[str, tuple[str, int | None]]:
    """name -> (kind, configured weight) for the trackers of an instance and of its sync group."""
    out: dict[str, tuple[str, int | None]] = {}
    owners: list[InstanceConfig | SyncGroupConfig] = [cfg, *(g for g in groups if cfg.name in g.members)]
    for owner in owners:
        for ref in owner.track_scripts:
            sc = scripts.get(ref.name)
            out.setdefault(
                ref.name, ("script", ref.weight if ref.weight is not None else (sc.weight if sc else None))
            )
        for ref in owner.track_interfaces:
            out.setdefault(ref.name, ("interface", ref.weight if ref.weight is not None else 0))
        for ref in owner.track_files:
            out.setdefault(ref.name, ("file", ref.weight))
        for ref in owner.track_processes:
            out.setdefault(ref.name, ("process", ref.weight))
    return out


def _trackers(
    machine: Any,
    cfg: InstanceConfig,
    scripts: Mapping[str, ScriptConfig],
    groups: tuple[SyncGroupConfig, ...] = (),
) -> list[TrackerView]:
    kinds = _tracker_kinds(cfg, scripts, groups)
    live: dict[str, Any] = dict(getattr(machine, "trackers", {}) or {})
    out: list[TrackerView] = []
    seen: set[str] = set()
    for key, ev in live.items():
        # the tracking runtime keys trackers as "kind:name" (script:chk_nginx, interface:eth1)
        kind_prefix, sep, bare = key.partition(":")
        name = bare if sep else key
        delta = int(getattr(ev, "delta", 0))
        fault = bool(getattr(ev, "fault", False))
        if name not in kinds and not delta and not fault:
            continue  # no longer configured (a reload removed it) and contributing nothing
        kind, weight = kinds.get(name, ((kind_prefix if sep else "") or "other", None))
        seen.add(name)
        out.append(
            TrackerView(
                name=name,
                kind=kind,
                weight=weight,
                delta=delta,
                fault=fault,
                reason=str(getattr(ev, "reason", "")),
                reported=True,
            )
        )
    for name, (kind, weight) in kinds.items():
        if name not in seen:
            out.append(TrackerView(name=name, kind=kind, weight=weight))
    return out


def instance_view(
    drv: Any,
    wall_now: float,
    loop_now: float,
    scripts: Mapping[str, ScriptConfig],
    groups: tuple[SyncGroupConfig, ...] = (),
) -> InstanceView:
    """The view of one driver (anything with ``.cfg``, ``.machine`` and optionally ``.master_since``)."""
    m = drv.machine
    cfg: InstanceConfig = getattr(m, "cfg", None) or drv.cfg
    deadline = m.next_deadline()
    try:
        mdi = float(m.master_down_interval())
    except Exception:  # noqa: BLE001 - a view must never break the daemon
        mdi = 0.0
    return InstanceView(
        name=cfg.name,
        cfg=cfg,
        version=int(getattr(m, "version", cfg.version)),
        state=State(int(m.state)),
        wantstate=State(int(getattr(m, "wantstate", m.state))),
        base_priority=int(m.base_priority),
        effective_priority=int(m.effective_priority),
        adver_int=float(getattr(m, "adver_int", cfg.advert_int)),
        master_adver_int=float(getattr(m, "master_adver_int", cfg.advert_int)),
        master_down_interval=mdi,
        src_ip=getattr(m, "src_ip", None),
        master_src=getattr(m, "master_src", None),
        master_priority=getattr(m, "master_priority", None),
        last_transition=_to_wall(getattr(m, "last_transition", None), wall_now, loop_now),
        last_reason=str(getattr(m, "last_reason", "") or ""),
        master_since=getattr(drv, "master_since", None),
        read_timeout=_to_wall(deadline, wall_now, loop_now),
        vips_set=bool(getattr(m, "vips_set", m.state == State.MASTER)),
        stats=dict(m.stats.as_dict()),
        trackers=_trackers(m, cfg, scripts, groups),
        ifindex=_ifindex(cfg.interface),
    )


def _ifindex(name: str | None) -> int:
    if not name:
        return 0
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return 0


def _read_sys(ifname: str, attr: str) -> str | None:
    try:
        with open(f"/sys/class/net/{ifname}/{attr}") as f:
            return f.read().strip()
    except OSError:
        return None


def interface_view(ifname: str) -> InterfaceView | None:
    """What keepalived's ``Interfaces`` section shows, read from /sys (None if the link is gone)."""
    try:
        index = socket.if_nametoindex(ifname)
    except OSError:
        return None
    flags = 0
    with contextlib.suppress(TypeError, ValueError):
        flags = int(_read_sys(ifname, "flags") or "0", 16)
    mtu = 0
    with contextlib.suppress(TypeError, ValueError):
        mtu = int(_read_sys(ifname, "mtu") or "0")
    return InterfaceView(
        name=ifname,
        index=index,
        mac=_read_sys(ifname, "address"),
        up=bool(flags & 0x1),
        running=bool(flags & 0x40),
        mtu=mtu,
    )


def snapshot(daemon: Any, wall_now: float, loop_now: float, interfaces: bool = False) -> DaemonView:
    """Read everything the outputs need from ``daemon`` at one instant.

    ``loop_now`` is the clock the machines run on (the event loop's ``time()``); ``interfaces`` adds the
    /sys-backed interface list (the ``.data`` dump only).
    """
    cfg = getattr(daemon, "config", None)
    g: GlobalConfig = cfg.globals if cfg is not None else GlobalConfig()
    script_cfgs = {s.name: s for s in (cfg.scripts if cfg is not None else ())}
    drivers = list(getattr(daemon, "drivers", {}).values())
    groups = tuple(cfg.sync_groups) if cfg is not None else ()
    instances = [instance_view(d, wall_now, loop_now, script_cfgs, groups) for d in drivers]
    status: Mapping[str, bool] = getattr(daemon, "script_status", None) or {}
    running = set(getattr(daemon, "scripts_running", None) or ())
    scripts: list[ScriptView] = []
    for sc in script_cfgs.values():
        tracking = [
            (iv.name, t.weight if t.weight is not None else sc.weight)
            for iv in instances
            for t in iv.trackers
            if t.kind == "script" and t.name == sc.name
        ]
        st = status.get(sc.name)
        scripts.append(
            ScriptView(
                cfg=sc, status=None if st is None else bool(st), running=sc.name in running, tracking=tracking
            )
        )
    ifaces: list[InterfaceView] = []
    if interfaces:
        names: dict[str, None] = {}
        for iv in instances:
            names.setdefault(iv.interface, None)
            for t in iv.trackers:
                if t.kind == "interface":
                    names.setdefault(t.name, None)
        for n in names:
            v = interface_view(n) if n else None
            if v is None:
                continue
            for iv in instances:
                if iv.interface == n:
                    v.tracking.append((iv.name, 0))
                    if iv.src_ip is not None:
                        if iv.src_ip.version == 4 and v.ipv4 is None:
                            v.ipv4 = str(iv.src_ip)
                        elif iv.src_ip.version == 6 and v.ipv6 is None:
                            v.ipv6 = str(iv.src_ip)
                for t in iv.trackers:
                    if t.kind == "interface" and t.name == n:
                        v.tracking.append((iv.name, t.weight or 0))
            ifaces.append(v)
    router_id = g.router_id or socket.gethostname().split(".")[0]
    return DaemonView(
        router_id=router_id,
        globals=g,
        instances=instances,
        scripts=scripts,
        interfaces=ifaces,
        wall_time=wall_now,
        started_at=float(getattr(daemon, "started_at", 0.0) or 0.0),
        reload_failures=int(getattr(daemon, "reload_failures", 0) or 0),
        unknown_vrid=int(getattr(daemon, "unknown_vrid", 0) or 0),
        global_errors=dict(getattr(daemon, "global_errors", {}) or {}),
        pid=os.getpid(),
    )
