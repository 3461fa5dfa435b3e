"""The typed, frozen configuration model the runtime consumes.

Produced by :mod:`pyvrrp.config.keepalived` from keepalived.conf. Every field has keepalived 2.2.7's
default. Reload compares two models (``InstanceConfig.key()`` matches instances as keepalived does).
Pure data: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

IPAddress = IPv4Address | IPv6Address
IPInterface = IPv4Interface | IPv6Interface


@dataclass(frozen=True, slots=True)
class Where:
    """Where a block or value came from (for error messages)."""

    file: str = "<none>"
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class VipConfig:
    """One ``virtual_ipaddress`` entry: ``ADDR[/LEN] [brd X] [dev IF] [scope S] [label L] ...``."""

    address: IPInterface
    dev: str | None = None  # None: the instance interface
    label: str | None = None
    brd: str | None = None  # an address, "+" or "-" (as ip(8)); None: kernel default
    scope: str = "global"
    peer: IPAddress | None = None
    no_track: bool = False
    nodad: bool = True  # keepalived adds IPv6 VIPs with IFA_F_NODAD unless "-nodad"... (see docs)
    preferred_lft: int | None = None

    def __str__(self) -> str:
        return str(self.address)


@dataclass(frozen=True, slots=True)
class TrackRef:
    """A reference from an instance or group to a tracker, with an optional weight override."""

    name: str
    weight: int | None = None  # None: the tracker's own weight
    reverse: bool | None = None  # None: the tracker's own direction


@dataclass(frozen=True, slots=True)
class Notify:
    """A notify command: argv as keepalived splits it, plus the user/group to run it as."""

    argv: tuple[str, ...]
    user: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class ScriptConfig:
    """``vrrp_script NAME { ... }``."""

    name: str
    argv: tuple[str, ...]
    interval: float = 1.0
    timeout: float = 0.0  # 0 = interval
    weight: int = 0
    reverse: bool = False
    rise: int = 1
    fall: int = 1
    user: str | None = None
    group: str | None = None
    init_fail: bool = False
    where: Where = Where()


@dataclass(frozen=True, slots=True)
class TrackFileConfig:
    name: str
    path: str
    weight: int = 1
    reverse: bool = False
    init_file: int | None = None
    init_overwrite: bool = False
    where: Where = Where()


@dataclass(frozen=True, slots=True)
class TrackProcessConfig:
    name: str
    process: str
    args: str | None = None
    param_match: str | None = None  # None (exact), "initial", "partial"
    full_command: bool = False
    weight: int = 0
    reverse: bool = False
    quorum: int = 1
    quorum_max: int | None = None
    delay: float = 0.0
    fork_delay: float = 0.0
    terminate_delay: float = 0.0
    where: Where = Where()


@dataclass(frozen=True, slots=True)
class UnicastPeer:
    address: IPAddress
    min_ttl: int | None = None
    max_ttl: int | None = None


@dataclass(frozen=True, slots=True)
class InstanceConfig:
    """``vrrp_instance NAME { ... }`` with keepalived's defaults applied."""

    name: str
    interface: str | None
    vrid: int
    priority: int = 100
    state: str = "BACKUP"  # initial wish: "MASTER" or "BACKUP"
    version: int = 2
    advert_int: float = 1.0  # seconds
    auth_type: int = 0  # 0 none, 1 PASS, 2 AH (accepted, treated as unsupported)
    auth_pass: bytes = b""  # at most 8 bytes, as keepalived uses
    vips: tuple[VipConfig, ...] = ()
    evips: tuple[VipConfig, ...] = ()
    virtual_routes: tuple[str, ...] = ()  # raw lines, accepted
    virtual_rules: tuple[str, ...] = ()
    nopreempt: bool = False
    preempt_delay: float = 0.0
    unicast_src_ip: IPAddress | None = None
    unicast_peers: tuple[UnicastPeer, ...] = ()
    unicast_ttl: int = 255
    check_unicast_src: bool = False
    mcast_dst_ip: IPAddress | None = None
    garp_master_delay: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay: float | None = None  # None: garp_master_delay
    garp_lower_prio_repeat: int | None = None  # None: garp_master_repeat
    garp_interval: float = 0.0  # delay between GARPs of one burst
    gna_interval: float = 0.0
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    down_timer_adverts: int = 3
    skip_check_adv_addr: bool = False
    dont_track_primary: bool = False
    accept: bool = True
    strict_mode: bool = False
    track_scripts: tuple[TrackRef, ...] = ()
    track_interfaces: tuple[TrackRef, ...] = ()
    track_files: tuple[TrackRef, ...] = ()
    track_processes: tuple[TrackRef, ...] = ()
    notify_master: Notify | None = None
    notify_backup: Notify | None = None
    notify_fault: Notify | None = None
    notify_stop: Notify | None = None
    notify_deleted: Notify | None = None
    notify: Notify | None = None
    notify_master_rx_lower_pri: Notify | None = None
    notify_priority_changes: bool = False
    where: Where = Where()

    @property
    def family(self) -> int:
        """4 or 6, from the first VIP (IPv4 when there is none)."""
        if self.vips:
            return self.vips[0].address.version
        return 4

    @property
    def unicast(self) -> bool:
        return bool(self.unicast_peers)

    def key(self) -> tuple:
        """keepalived's reload match key (``vrrp_exist``): the name is not part of it."""
        return (
            self.vrid,
            self.family,
            self.interface,
            self.unicast,
            self.unicast_src_ip if self.unicast else None,
            self.mcast_dst_ip,
        )


@dataclass(frozen=True, slots=True)
class SyncGroupConfig:
    name: str
    members: tuple[str, ...]
    notify_master: Notify | None = None
    notify_backup: Notify | None = None
    notify_fault: Notify | None = None
    notify_stop: Notify | None = None
    notify: Notify | None = None
    track_scripts: tuple[TrackRef, ...] = ()
    track_interfaces: tuple[TrackRef, ...] = ()
    track_files: tuple[TrackRef, ...] = ()
    track_processes: tuple[TrackRef, ...] = ()
    sync_group_tracking_weight: bool = False
    where: Where = Where()


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    router_id: str | None = None
    vrrp_version: int = 2
    vrrp_mcast_group4: IPv4Address = IPv4Address("224.0.0.18")
    vrrp_mcast_group6: IPv6Address = IPv6Address("ff02::12")
    script_user: str | None = None
    script_group: str | None = None
    enable_script_security: bool = False
    vrrp_notify_fifo: str | None = None
    notify_fifo: str | None = None
    vrrp_startup_delay: float = 0.0
    vrrp_strict: bool = False
    vrrp_skip_check_adv_addr: bool = False
    vrrp_check_unicast_src: bool = False
    vrrp_garp_master_delay: float = 5.0
    vrrp_garp_master_repeat: int = 5
    vrrp_garp_master_refresh: float = 0.0
    vrrp_garp_master_refresh_repeat: int = 1
    vrrp_garp_interval: float = 0.0
    vrrp_gna_interval: float = 0.0
    vrrp_lower_prio_no_advert: bool = False
    vrrp_higher_prio_send_advert: bool = False
    vrrp_down_timer_adverts: int = 3
    log_unknown_vrids: bool = False


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A message from parsing or validation. ``level``: "error" (exit 5), "fatal" (exit 4),
    "script_security" (exit 6), "warning" (logged, exit unaffected), "unimplemented" (accepted,
    not implemented: listed by -t)."""

    level: str
    where: Where
    msg: str
    #: keepalived would not run the VRRP process with this (e.g. a duplicate VRID), even when its
    #: ``-t`` exit code is 5 (added by the config helper; default False).
    stops: bool = False

    def __str__(self) -> str:
        if self.where.line == 0 and self.where.file in ("<none>", ""):
            return self.msg
        if self.where.line == 0:
            return f"{self.where.file}: {self.msg}"
        return f"{self.where}: {self.msg}"


@dataclass(frozen=True, slots=True)
class Config:
    """A whole keepalived configuration as pyvrrp understood it."""

    source: str
    globals: GlobalConfig = GlobalConfig()
    instances: tuple[InstanceConfig, ...] = ()
    scripts: tuple[ScriptConfig, ...] = ()
    track_files: tuple[TrackFileConfig, ...] = ()
    track_processes: tuple[TrackProcessConfig, ...] = ()
    sync_groups: tuple[SyncGroupConfig, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    def instance(self, name: str) -> InstanceConfig:
        for inst in self.instances:
            if inst.name == name:
                return inst
        raise KeyError(name)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.level in ("error", "fatal"))

    @property
    def runnable(self) -> bool:
        """False when keepalived would refuse to run this VRRP configuration."""
        return not any(d.level == "fatal" or d.stops for d in self.diagnostics)

    def exit_code(self) -> int:
        """keepalived 2.2.7's real ``-t`` exit code: 0 ok, 4 cannot run, 5 errors, 6 script security.

        keepalived keeps the *least severe* non-OK status it saw (``lib/parser.c
        vreport_config_error`` keeps the highest ``config_err_t``), so script security (6) beats an
        error (5), which beats a fatal problem (4)."""
        levels = {d.level for d in self.diagnostics}
        if "script_security" in levels:
            return 6
        if "error" in levels:
            return 5
        if "fatal" in levels:
            return 4
        return 0
