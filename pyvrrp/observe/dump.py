"""keepalived 2.2.7's dump files, formatted from a :class:`~pyvrrp.observe.view.DaemonView` (pure).

* ``format_data``  -> ``keepalived.data``  (SIGUSR1; ``vrrp_data.c dump_data_vrrp``)
* ``format_stats`` -> ``keepalived.stats`` (SIGUSR2 / STATS_CLEAR; ``vrrp_print.c vrrp_print_stats``)
* ``format_json``  -> ``keepalived.json``  (``--signum=JSON``; ``vrrp_json.c``, json_version 1)

The key text, indentation and field names are keepalived 2.2.7's, because exporters parse them
(mehdy/keepalived-exporter, gen2brain/keepalived_exporter). Lines that describe keepalived internals pyvrrp
does not have (socket fds, the sockpool, LVS/SNMP/BFD tunables) keep keepalived's defaults or are left out;
the ``VRRP Topology`` and ``VRRP Scripts`` sections carry pyvrrp's real state.
"""

from __future__ import annotations

import time
from ipaddress import IPv4Interface

from pyvrrp._types import State
from pyvrrp.config.model import GlobalConfig, Notify, VipConfig
from pyvrrp.observe.view import DaemonView, InstanceView, ScriptView, state_name

AUTH_NAMES = {1: "SIMPLE_PASSWORD", 2: "IPSEC_AH"}


# --------------------------------------------------------------------------- shared formatting


def format_vip(vip: VipConfig, ifname: str, is_set: bool) -> str:
    """keepalived ``format_ipaddress``: ``198.18.0.150/24 dev eth0 scope global label eth0:0 set``.

    The prefix is left out for a host address (/32, /128), as keepalived prints it.
    """
    a = vip.address
    host = a.network.prefixlen == (32 if isinstance(a, IPv4Interface) else 128)
    out = str(a.ip) if host else f"{a.ip}/{a.network.prefixlen}"
    if vip.peer is not None:
        out += f" peer {vip.peer}"
    if vip.brd:
        out += f" brd {vip.brd}"
    out += f" dev {vip.dev or ifname}"
    out += f" scope {vip.scope}"
    if vip.label:
        out += f" label {vip.label}"
    if a.version == 6:
        lft = "forever" if vip.preferred_lft is None else str(vip.preferred_lft)
        out += f" preferred_lft {lft}"
    if vip.no_track:
        out += " no_track"
    if is_set:
        out += " set"
    return out


def vip_lines(iv: InstanceView, excluded: bool = False) -> list[str]:
    vips = iv.cfg.evips if excluded else iv.cfg.vips
    return [format_vip(v, iv.interface, iv.vips_set) for v in vips]


def _ctime_us(t: float) -> str:
    """``Last transition`` / ``Read timeout`` values: ``1795689676.890652 (Thu Nov 26 10:41:16.890652 2026)``."""
    sec = int(t)
    us = int(round((t - sec) * 1_000_000))
    if us >= 1_000_000:
        sec, us = sec + 1, us - 1_000_000
    c = time.ctime(sec)  # "Thu Nov 26 10:41:16 2026"
    return f"{sec}.{us:06d} ({c[:19]}.{us:06d}{c[19:]})"


def _num(x: float) -> int | float:
    """An integral float as an int (keepalived prints ``1`` and ``0.5``)."""
    return int(x) if float(x).is_integer() else float(x)


def _bool(b: bool) -> str:
    return "true" if b else "false"


def _notify_str(n: Notify) -> str:
    return " ".join(f"'{a}'" for a in n.argv)


def _usecs(seconds: float) -> int:
    return int(seconds * 1_000_000 + 1e-6)


# --------------------------------------------------------------------------- keepalived.data


def _global_lines(g: GlobalConfig, router_id: str) -> list[str]:
    mcast6 = str(g.vrrp_mcast_group6)
    return [
        "------< Global definitions >------",
        " Network namespace = (default)",
        " Network namespace ipvs = (main namespace)",
        f" Router ID = {router_id}",
        " Default smtp_alert = unset",
        " Default smtp_alert_vrrp = unset",
        " Default smtp_alert_checker = unset",
        " Checkers log all failures = false",
        " No test config before reload",
        " Dynamic interfaces = false",
        " Default interface = eth0",
        " Disable local IGMP = no",
        " LVS flush = false",
        " LVS flush on stop = disabled",
        " FIFO write vrrp states on reload = false",
        " VRRP notify priority changes = false",
        f" VRRP IPv4 mcast group = {g.vrrp_mcast_group4}",
        f" VRRP IPv6 mcast group = {mcast6}",
        f" Gratuitous ARP delay = {_num(g.vrrp_garp_master_delay)}",
        f" Gratuitous ARP repeat = {g.vrrp_garp_master_repeat}",
        f" Gratuitous ARP refresh timer = {_num(g.vrrp_garp_master_refresh)}",
        f" Gratuitous ARP refresh repeat = {g.vrrp_garp_master_refresh_repeat}",
        f" Gratuitous ARP lower priority delay = {_num(g.vrrp_garp_master_delay)}",
        f" Gratuitous ARP lower priority repeat = {g.vrrp_garp_master_repeat}",
        f" Num adverts before down = {g.vrrp_down_timer_adverts}",
        " Gratuitous ARP for each secondary VMAC = 0s",
        f" Send advert after receive lower priority advert = {_bool(not g.vrrp_lower_prio_no_advert)}",
        f" Send advert after receive higher priority advert = {_bool(g.vrrp_higher_prio_send_advert)}",
        f" Gratuitous ARP interval = {g.vrrp_garp_interval:.6f}",
        f" Gratuitous NA interval = {g.vrrp_gna_interval:.6f}",
        f" VRRP default protocol version = {g.vrrp_version}",
        " nftables without counters",
        f" VRRP check unicast_src = {_bool(g.vrrp_check_unicast_src)}",
        f" VRRP skip check advert addresses = {_bool(g.vrrp_skip_check_adv_addr)}",
        f" VRRP strict mode = {_bool(g.vrrp_strict)}",
        " Max auto priority = 0",
        " Min auto priority delay = 1000000 usecs",
        " VRRP process priority = 0",
        " VRRP don't swap = false",
        " VRRP realtime priority = 0",
        " VRRP realtime limit = 10000",
        " Checker process priority = 0",
        " Checker don't swap = false",
        " Checker realtime priority = 0",
        " Checker realtime limit = 10000",
        " BFD process priority = 0",
        " BFD don't swap = false",
        " BFD realtime priority = 0",
        " BFD realtime limit = 10000",
        " SNMP vrrp disabled",
        " SNMP checker disabled",
        " SNMP RFCv2 disabled",
        " SNMP RFCv3 disabled",
        " SNMP traps disabled",
        " SNMP socket = default (unix:/var/agentx/master)",
        " DBus disabled",
        " DBus service name = ",
        f" Script security {'enabled' if g.enable_script_security else 'disabled'}",
        f" Default script uid:gid {'0:0' if not g.script_user else g.script_user}",
        " vrrp_netlink_cmd_rcv_bufs = 0",
        " vrrp_netlink_cmd_rcv_bufs_force = 0",
        " vrrp_netlink_monitor_rcv_bufs = 0",
        " vrrp_netlink_monitor_rcv_bufs_force = 0",
        " process_monitor_rcv_bufs = 0",
        " process_monitor_rcv_bufs_force = 0",
        " lvs_netlink_cmd_rcv_bufs = 0",
        " lvs_netlink_cmd_rcv_bufs_force = 0",
        " lvs_netlink_monitor_rcv_bufs = 0",
        " lvs_netlink_monitor_rcv_bufs_force = 0",
        " rs_init_notifies = 0",
        " no_checker_emails = 0",
        " rx_bufs_multiples = 3",
        " umask = 0177",
    ]


def _instance_lines(iv: InstanceView, g: GlobalConfig) -> list[str]:
    cfg = iv.cfg
    out = [f" VRRP Instance = {iv.name}", f"   VRRP Version = {iv.version}"]
    if iv.family == 6:
        out.append("   Using Native IPv6")
    out.append(f"   State = {state_name(iv.state)}")
    if iv.state is State.BACKUP:
        out.append(f"   Master router = {iv.master_src if iv.master_src is not None else '(none)'}")
        out.append(f"   Master priority = {iv.master_priority or 0}")
        if iv.version == 3:
            out.append(f"   Master advert int = {iv.master_adver_int:.2f} sec")
    if cfg.unicast:
        out += ["   Flags:", "     Using unicast"]
    else:
        out.append("   Flags: none")
    out.append(f"   Wantstate = {state_name(iv.wantstate)}")
    out.append("   Number of config faults = 0")
    faults = sum(1 for t in iv.trackers if t.fault)
    out.append(f"   Number of interface and track script faults = {faults}")
    init = sum(1 for t in iv.trackers if t.kind == "script" and not t.reported)
    out.append(f"   Number of track scripts init = {init}")
    if iv.last_transition is not None:
        out.append(f"   Last transition = {_ctime_us(iv.last_transition)}")
    else:
        out.append("   Last transition = 0.000000 (Thu Jan  1 00:00:00 1970.000000)")
    if iv.read_timeout is None:
        out.append("   Read timeout = DISABLED")
    else:
        out.append(f"   Read timeout = {_ctime_us(iv.read_timeout)}")
    out.append(f"   Master down timer = {_usecs(iv.master_down_interval)} usecs")
    out.append(f"   Interface = {iv.interface}")
    if cfg.unicast_src_ip is not None:
        out.append(f"   Using src_ip = {cfg.unicast_src_ip} (from configuration)")
    else:
        out.append(f"   Using src_ip = {iv.src_ip if iv.src_ip is not None else '(none)'}")
    if not cfg.unicast:
        if iv.family == 6:
            group = cfg.mcast_dst_ip or g.vrrp_mcast_group6
            out.append(f"   Multicast address {group}, ifindex {iv.ifindex}")
        else:
            out.append(f"   Multicast address {cfg.mcast_dst_ip or g.vrrp_mcast_group4}")
    lp_delay = cfg.garp_master_delay if cfg.garp_lower_prio_delay is None else cfg.garp_lower_prio_delay
    lp_rep = cfg.garp_master_repeat if cfg.garp_lower_prio_repeat is None else cfg.garp_lower_prio_repeat
    out += [
        f"   Gratuitous ARP delay = {_num(cfg.garp_master_delay)}",
        f"   Gratuitous ARP repeat = {cfg.garp_master_repeat}",
        f"   Gratuitous ARP refresh = {_num(cfg.garp_master_refresh)}",
        f"   Gratuitous ARP refresh repeat = {cfg.garp_master_refresh_repeat}",
        f"   Gratuitous ARP lower priority delay = {_num(lp_delay)}",
        f"   Gratuitous ARP lower priority repeat = {lp_rep}",
        f"   Down timer adverts = {cfg.down_timer_adverts}",
        f"   Send advert after receive lower priority advert = {_bool(not cfg.lower_prio_no_advert)}",
        f"   Send advert after receive higher priority advert = {_bool(cfg.higher_prio_send_advert)}",
        f"   Virtual Router ID = {cfg.vrid}",
        f"   Priority = {iv.base_priority}",
        f"   Effective priority = {iv.effective_priority}",
        f"   Total priority = {iv.effective_priority}",
    ]
    if iv.version == 3:
        out.append(f"   Advert interval = {int(round(iv.adver_int * 1000))} milli-sec")
    else:
        out.append(f"   Advert interval = {int(iv.adver_int)} sec")
    out.append(f"   Accept = {'enabled' if cfg.accept else 'disabled'}")
    out.append(f"   Preempt = {'disabled' if cfg.nopreempt else 'enabled'}")
    if cfg.preempt_delay:
        out.append(f"   Preempt delay = {cfg.preempt_delay:g} secs")
    out.append("   Promote_secondaries = disabled")
    if iv.version == 2:
        if cfg.auth_type:
            out.append(f"   Authentication type = {AUTH_NAMES.get(cfg.auth_type, str(cfg.auth_type))}")
            out.append(f"   Password = {cfg.auth_pass[:8].decode(errors='replace')}")
        else:
            out.append("   Authentication type = none")
    if cfg.vips:
        out.append(f"   Virtual IP ({len(cfg.vips)}):")
        out += [f"     {s}" for s in vip_lines(iv)]
    if cfg.evips:
        out.append("   Virtual IP Excluded :")
        out += [f"     {s}" for s in vip_lines(iv, excluded=True)]
    if cfg.unicast:
        out.append(f"   Unicast TTL = {cfg.unicast_ttl}")
        out.append(f"   Check unicast src : {'yes' if cfg.check_unicast_src else 'no'}")
        out.append("   Unicast Peer :")
        for p in cfg.unicast_peers:
            lo = 0 if p.min_ttl is None else p.min_ttl
            hi = 255 if p.max_ttl is None else p.max_ttl
            out.append(f"     {p.address} min_ttl {lo} max_ttl {hi}")
        out.append("   Unicast checksum compatibility = no")
    ifaces = [t for t in iv.trackers if t.kind == "interface"]
    if ifaces:
        out.append("   Tracked interfaces :")
        out += [f"     {t.name} weight {t.weight or 0}" for t in ifaces]
    scripts = [t for t in iv.trackers if t.kind == "script"]
    if scripts:
        out.append("   Tracked scripts :")
        out += [f"     {t.name} weight {t.weight or 0}" for t in scripts]
    files = [t for t in iv.trackers if t.kind == "file"]
    if files:
        out.append("   Tracked files :")
        out += [f"     {t.name} weight {t.weight or 0}" for t in files]
    procs = [t for t in iv.trackers if t.kind == "process"]
    if procs:
        out.append("   Tracked processes :")
        out += [f"     {t.name} weight {t.weight or 0}" for t in procs]
    out.append("   Using smtp notification = no")
    out.append(f"   Notify deleted = {'Deleted' if cfg.notify_deleted else 'Fault'}")
    for label, n in (
        ("Backup", cfg.notify_backup),
        ("Master", cfg.notify_master),
        ("Fault", cfg.notify_fault),
        ("Stop", cfg.notify_stop),
        ("Deleted", cfg.notify_deleted),
        ("Generic", cfg.notify),
        ("Master rx lower pri", cfg.notify_master_rx_lower_pri),
    ):
        if n is not None:
            out.append(f"   {label} state transition script = {_notify_str(n)}, uid:gid 0:0")
    out.append(f"   Notify priority changes = {_bool(cfg.notify_priority_changes)}")
    return out


def _script_lines(sv: ScriptView) -> list[str]:
    sc = sv.cfg
    good = sv.status
    top = sc.rise + sc.fall - 1
    result = 0 if good is None else (top if good else 0)
    status = "INIT" if good is None else ("GOOD" if good else "BAD")
    out = [
        f" VRRP Script = {sc.name}",
        f"   Command = {' '.join(repr_arg(a) for a in sc.argv)}",
        f"   Interval = {int(sc.interval)} sec",
        f"   Timeout = {int(sc.timeout)} sec",
        f"   Weight = {sc.weight}{' reverse' if sc.reverse else ''}",
        f"   Rise = {sc.rise}",
        f"   Fall = {sc.fall}",
        f"   Result = {result}",
        "   Insecure = no",
        f"   Init state = {'failed' if sc.init_fail else 'unknown'}",
        f"   Status = {status}",
        "   Script uid:gid = 0:0",
        "   VRRP instances :",
        "   Tracking instances :",
    ]
    out += [f"     {name}, weight {w}" for name, w in sv.tracking]
    out.append(f"   State = {'running' if sv.running else 'idle'}")
    return out


def repr_arg(a: str) -> str:
    return f"'{a}'"


def format_data(view: DaemonView) -> str:
    """The whole ``keepalived.data`` text (USR1)."""
    lines = _global_lines(view.globals, view.router_id)
    lines.append("------< VRRP Topology >------")
    for iv in view.instances:
        lines += _instance_lines(iv, view.globals)
    if view.scripts:
        lines.append("------< VRRP Scripts >------")
        for sv in view.scripts:
            lines += _script_lines(sv)
    lines.append("------< Interfaces >------")
    for ifv in view.interfaces:
        state = ("UP" if ifv.up else "DOWN") + (", RUNNING" if ifv.running else "")
        lines += [
            f" Name = {ifv.name}",
            f"   index = {ifv.index}",
            f"   IPv4 address = {ifv.ipv4 or '(none)'}",
            f"   IPv6 address = {ifv.ipv6 or '(none)'}",
        ]
        if ifv.mac:
            lines.append(f"   MAC = {ifv.mac}")
        lines += [f"   State = {state}", f"   MTU = {ifv.mtu}"]
        if ifv.tracking:
            lines.append("   Tracking VRRP instances :")
            lines += [f"     {n}, weight {w}" for n, w in ifv.tracking]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- keepalived.stats


def format_stats(view: DaemonView) -> str:
    """``keepalived.stats`` (USR2), 2.2.7 text with the VRRP_AUTH lines."""
    out: list[str] = []
    for iv in view.instances:
        s = iv.stats
        out += [
            f"VRRP Instance: {iv.name}",
            "  Advertisements:",
            f"    Received: {s.get('advert_rcvd', 0)}",
            f"    Sent: {s.get('advert_sent', 0)}",
            f"  Became master: {s.get('become_master', 0)}",
            f"  Released master: {s.get('release_master', 0)}",
            "  Packet Errors:",
            f"    Length: {s.get('packet_len_err', 0)}",
            f"    TTL: {s.get('ip_ttl_err', 0)}",
            f"    Invalid Type: {s.get('invalid_type_rcvd', 0)}",
            f"    Advertisement Interval: {s.get('advert_interval_err', 0)}",
            f"    Address List: {s.get('addr_list_err', 0)}",
            "  Authentication Errors:",
            f"    Invalid Type: {s.get('invalid_authtype', 0)}",
            f"    Type Mismatch: {s.get('authtype_mismatch', 0)}",
            f"    Failure: {s.get('auth_failure', 0)}",
            "  Priority Zero:",
            f"    Received: {s.get('pri_zero_rcvd', 0)}",
            f"    Sent: {s.get('pri_zero_sent', 0)}",
        ]
    return "\n".join(out) + ("\n" if out else "")


# --------------------------------------------------------------------------- keepalived.json

STATS_KEYS = (
    "advert_rcvd",
    "advert_sent",
    "become_master",
    "release_master",
    "packet_len_err",
    "advert_interval_err",
    "ip_ttl_err",
    "invalid_type_rcvd",
    "addr_list_err",
    "invalid_authtype",
    "authtype_mismatch",
    "auth_failure",
    "pri_zero_rcvd",
    "pri_zero_sent",
)


class _Raw:
    """A number already formatted as keepalived prints it."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _json_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "/":
            out.append("\\/")  # keepalived's json writer escapes the solidus
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _emit(v: object) -> str:
    if isinstance(v, _Raw):
        return v.text
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(_num(v))
    if isinstance(v, str):
        return _json_str(v)
    if isinstance(v, dict):
        return "{" + ",".join(f"{_json_str(k)}:{_emit(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ",".join(_emit(x) for x in v) + "]"
    raise TypeError(f"cannot encode {type(v).__name__}")


def _epoch_us(t: float | None) -> _Raw:
    if t is None:
        return _Raw("0.000000")
    sec = int(t)
    us = int(round((t - sec) * 1_000_000))
    if us >= 1_000_000:
        sec, us = sec + 1, us - 1_000_000
    return _Raw(f"{sec}.{us:06d}")


def json_data(iv: InstanceView, script_argv: dict[str, tuple[str, ...]] | None = None) -> dict[str, object]:
    """The ``data`` object of one instance, keys in keepalived 2.2.7's order."""
    cfg = iv.cfg
    lp_delay = cfg.garp_master_delay if cfg.garp_lower_prio_delay is None else cfg.garp_lower_prio_delay
    lp_rep = cfg.garp_master_repeat if cfg.garp_lower_prio_repeat is None else cfg.garp_lower_prio_repeat
    d: dict[str, object] = {
        "iname": iv.name,
        "dont_track_primary": int(cfg.dont_track_primary),
        "skip_check_adv_addr": int(cfg.skip_check_adv_addr),
        "strict_mode": int(cfg.strict_mode),
        "vmac_ifname": "",
        "ifp_ifname": iv.interface,
        "master_priority": iv.master_priority or 0,
        "last_transition": _epoch_us(iv.last_transition),
        "garp_delay": _num(cfg.garp_master_delay),
        "garp_refresh": _num(cfg.garp_master_refresh),
        "garp_rep": cfg.garp_master_repeat,
        "garp_refresh_rep": cfg.garp_master_refresh_repeat,
        "garp_lower_prio_delay": _num(lp_delay),
        "garp_lower_prio_rep": lp_rep,
        "lower_prio_no_advert": int(cfg.lower_prio_no_advert),
        "higher_prio_send_advert": int(cfg.higher_prio_send_advert),
        "vrid": cfg.vrid,
        "base_priority": iv.base_priority,
        "effective_priority": iv.effective_priority,
        "vipset": iv.vips_set,
        "promote_secondaries": False,
        "adver_int": _num(iv.adver_int),
        "master_adver_int": _num(iv.master_adver_int),
        "accept": int(cfg.accept),
        "nopreempt": cfg.nopreempt,
        "preempt_delay": _num(cfg.preempt_delay),
        "state": int(iv.state) if iv.state in (State.INIT, State.BACKUP, State.MASTER, State.FAULT) else 0,
        "wantstate": int(iv.wantstate)
        if iv.wantstate in (State.INIT, State.BACKUP, State.MASTER, State.FAULT)
        else 0,
        "version": iv.version,
        "smtp_alert": False,
        "notify_deleted": cfg.notify_deleted is not None,
    }
    for key, n in (
        ("script_backup", cfg.notify_backup),
        ("script_master", cfg.notify_master),
        ("script_fault", cfg.notify_fault),
        ("script_stop", cfg.notify_stop),
        ("script_deleted", cfg.notify_deleted),
        ("script", cfg.notify),
        ("script_master_rx_lower_pri", cfg.notify_master_rx_lower_pri),
    ):
        if n is not None:
            d[key] = _notify_str(n)
    if cfg.vips:
        d["vips"] = vip_lines(iv)
    if cfg.evips:
        d["evips"] = vip_lines(iv, excluded=True)
    if cfg.virtual_routes:
        d["vroutes"] = list(cfg.virtual_routes)
    if cfg.virtual_rules:
        d["vrules"] = list(cfg.virtual_rules)
    ifaces = [t.name for t in iv.trackers if t.kind == "interface"]
    if ifaces:
        d["track_ifp"] = ifaces
    scripts = [t.name for t in iv.trackers if t.kind == "script"]
    if scripts:
        # keepalived 2.2.7 prints the script's command line here, not its name
        argv = script_argv or {}
        d["track_script"] = [" ".join(repr_arg(a) for a in argv[n]) if n in argv else n for n in scripts]
    auth = cfg.auth_type if iv.version == 2 else 0
    d["auth_type"] = auth
    if auth:
        d["auth_data"] = cfg.auth_pass[:8].decode(errors="replace")
    return d


def json_doc(view: DaemonView) -> list[dict[str, object]]:
    """keepalived.json as Python data (for tests and the status socket)."""
    argv = {s.name: s.cfg.argv for s in view.scripts}
    return [
        {"data": json_data(iv, argv), "stats": {k: iv.stats.get(k, 0) for k in STATS_KEYS}}
        for iv in view.instances
    ]


def format_json(view: DaemonView) -> str | None:
    """``keepalived.json`` text; ``None`` when there is no instance (keepalived writes no file then)."""
    if not view.instances:
        return None
    return _emit(json_doc(view)) + "\n"
