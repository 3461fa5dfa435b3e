"""``pyvrrp -d``: the parsed configuration with every VRRP keyword's effective value.

Layout and key text follow keepalived 2.2.7's configuration dump (``vrrp_data.c dump_vrrp``,
``global_data.c dump_global_data``): section rulers ``------< ... >------``, one ``Key = value`` per line.
Only configuration is shown (no run-time state). Pure.
"""

from __future__ import annotations

from pyvrrp.config.model import Config, InstanceConfig, Notify, TrackRef, VipConfig


def _cmd(n: Notify | None) -> str | None:
    if n is None or not n.argv:
        return None
    s = " ".join(f"'{a}'" for a in n.argv)
    if n.user:
        s += f", user {n.user}" + (f":{n.group}" if n.group else "")
    return s


def _vip(v: VipConfig, inst_if: str | None) -> str:
    s = str(v.address) if v.address.network.prefixlen not in (32, 128) else str(v.address.ip)
    if v.brd:
        s += f" brd {v.brd}"
    s += f" dev {v.dev or inst_if or '(none)'}"
    s += f" scope {v.scope}"
    if v.label:
        s += f" label {v.label}"
    if v.peer:
        s += f" peer {v.peer}"
    if v.no_track:
        s += " no_track"
    if not v.nodad:
        s += " -nodad"
    if v.preferred_lft is not None:
        s += f" preferred_lft {v.preferred_lft}"
    return s


def _track(r: TrackRef, own: dict[str, tuple[int, bool]] | None = None) -> str:
    """``NAME weight W [reverse]`` with the effective weight (the tracker's own when not overridden)."""
    dw, dr = (own or {}).get(r.name, (0, False))
    weight = r.weight if r.weight is not None else dw
    reverse = r.reverse if r.reverse is not None else dr
    return f"     {r.name} weight {weight}" + (" reverse" if reverse else "")


def _secs(x: float) -> str:
    return f"{x:g}"


def _instance(
    i: InstanceConfig, out: list[str], group: str | None, own: dict[str, dict[str, tuple[int, bool]]]
) -> None:
    w = out.append
    w(f" VRRP Instance = {i.name}")
    w(f"   VRRP Version = {i.version}")
    if group:
        w(f"   Sync group = {group}")
    w(f"   Wantstate = {i.state}")
    w(f"   Interface = {i.interface or 'not configured'}")
    w(f"   Address family = IPv{i.family}")
    w(f"   VRRP interface tracking = {'disabled' if i.dont_track_primary else 'enabled'}")
    w(f"   Skip checking advert IP addresses = {'yes' if i.skip_check_adv_addr else 'no'}")
    w(f"   Enforcing strict VRRP compliance = {'yes' if i.strict_mode else 'no'}")
    w(f"   Using src_ip = {i.unicast_src_ip if i.unicast_src_ip else '(interface primary address)'}")
    if i.mcast_dst_ip is not None:
        w(f"   Multicast address {i.mcast_dst_ip}")
    else:
        w("   Unicast")
    w(f"   Gratuitous ARP delay = {_secs(i.garp_master_delay)}")
    w(f"   Gratuitous ARP repeat = {i.garp_master_repeat}")
    w(f"   Gratuitous ARP refresh = {_secs(i.garp_master_refresh)}")
    w(f"   Gratuitous ARP refresh repeat = {i.garp_master_refresh_repeat}")
    lpd = i.garp_lower_prio_delay if i.garp_lower_prio_delay is not None else i.garp_master_delay
    lpr = i.garp_lower_prio_repeat if i.garp_lower_prio_repeat is not None else i.garp_master_repeat
    w(f"   Gratuitous ARP lower priority delay = {_secs(lpd)}")
    w(f"   Gratuitous ARP lower priority repeat = {lpr}")
    w(f"   Gratuitous ARP interval = {_secs(i.garp_interval)}")
    w(f"   Gratuitous NA interval = {_secs(i.gna_interval)}")
    w(f"   Down timer adverts = {i.down_timer_adverts}")
    w(f"   Send advert after receive lower priority advert = {'false' if i.lower_prio_no_advert else 'true'}")
    w(
        f"   Send advert after receive higher priority advert = {'true' if i.higher_prio_send_advert else 'false'}"
    )
    w(f"   Virtual Router ID = {i.vrid}")
    w(f"   Priority = {i.priority}")
    if i.version == 2:
        w(f"   Advert interval = {int(i.advert_int)} sec")
    else:
        w(f"   Advert interval = {round(i.advert_int * 1000)} milli-sec")
    w(f"   Accept = {'enabled' if i.accept else 'disabled'}")
    w(f"   Preempt = {'disabled' if i.nopreempt else 'enabled'}")
    w(f"   Preempt delay = {i.preempt_delay:g} secs")
    if i.auth_type:
        w(f"   Authentication type = {'SIMPLE_PASSWORD' if i.auth_type == 1 else 'IPSEC_AH'}")
        w(f"   Password = {i.auth_pass.decode('utf-8', 'replace')}")
    else:
        w("   Authentication type = none")
    if i.vips:
        w(f"   Virtual IP ({len(i.vips)}):")
        for v in i.vips:
            w(f"     {_vip(v, i.interface)}")
    if i.evips:
        w("   Virtual IP Excluded :")
        for v in i.evips:
            w(f"     {_vip(v, i.interface)}")
    w(f"   Unicast TTL = {i.unicast_ttl}")
    w(f"   Check unicast src : {'yes' if i.check_unicast_src else 'no'}")
    if i.unicast_peers:
        w("   Unicast Peer :")
        for p in i.unicast_peers:
            s = f"     {p.address}"
            if p.min_ttl is not None or p.max_ttl is not None:
                s += f" min_ttl {p.min_ttl or 0} max_ttl {p.max_ttl if p.max_ttl is not None else 255}"
            w(s)
    if i.virtual_routes:
        w("   Virtual Routes :")
        for r in i.virtual_routes:
            w(f"     {r}")
    if i.virtual_rules:
        w("   Virtual Rules :")
        for r in i.virtual_rules:
            w(f"     {r}")
    for title, refs, kind in (
        ("Tracked interfaces", i.track_interfaces, "if"),
        ("Tracked scripts", i.track_scripts, "script"),
        ("Tracked files", i.track_files, "file"),
        ("Tracked processes", i.track_processes, "process"),
    ):
        if refs:
            w(f"   {title} :")
            for r in refs:
                w(_track(r, own.get(kind)))
    w(f"   Notify deleted = {'Deleted' if i.notify_deleted else 'Fault'}")
    for label, n in (
        ("Backup", i.notify_backup),
        ("Master", i.notify_master),
        ("Fault", i.notify_fault),
        ("Stop", i.notify_stop),
        ("Deleted", i.notify_deleted),
        ("Generic", i.notify),
        ("Master rx lower pri", i.notify_master_rx_lower_pri),
    ):
        c = _cmd(n)
        if c:
            w(f"   {label} state transition script = {c}")
    w(f"   Notify priority changes = {'true' if i.notify_priority_changes else 'false'}")


def dump(cfg: Config) -> str:
    """The configuration as keepalived's ``-d`` would show it (configuration part only)."""
    g = cfg.globals
    out: list[str] = ["------< Global definitions >------"]
    w = out.append
    w(f" Router ID = {g.router_id or '(hostname)'}")
    w(f" VRRP IPv4 mcast group = {g.vrrp_mcast_group4}")
    w(f" VRRP IPv6 mcast group = {g.vrrp_mcast_group6}")
    w(f" Gratuitous ARP delay = {_secs(g.vrrp_garp_master_delay)}")
    w(f" Gratuitous ARP repeat = {g.vrrp_garp_master_repeat}")
    w(f" Gratuitous ARP refresh timer = {_secs(g.vrrp_garp_master_refresh)}")
    w(f" Gratuitous ARP refresh repeat = {g.vrrp_garp_master_refresh_repeat}")
    w(f" Gratuitous ARP interval = {_secs(g.vrrp_garp_interval)}")
    w(f" Gratuitous NA interval = {_secs(g.vrrp_gna_interval)}")
    w(f" VRRP default protocol version = {g.vrrp_version}")
    w(f" VRRP check unicast_src = {'true' if g.vrrp_check_unicast_src else 'false'}")
    w(f" VRRP skip check advert addresses = {'true' if g.vrrp_skip_check_adv_addr else 'false'}")
    w(f" VRRP strict mode = {'true' if g.vrrp_strict else 'false'}")
    w(f" VRRP lower priority no advert = {'true' if g.vrrp_lower_prio_no_advert else 'false'}")
    w(f" VRRP higher priority send advert = {'true' if g.vrrp_higher_prio_send_advert else 'false'}")
    w(f" VRRP down timer adverts = {g.vrrp_down_timer_adverts}")
    w(f" VRRP startup delay = {_secs(g.vrrp_startup_delay)}")
    w(f" Script security = {'enabled' if g.enable_script_security else 'disabled'}")
    if g.script_user:
        w(f" Default script uid:gid = {g.script_user}{':' + g.script_group if g.script_group else ''}")
    if g.notify_fifo:
        w(f" Global notify fifo = {g.notify_fifo}")
    if g.vrrp_notify_fifo:
        w(f" VRRP notify fifo = {g.vrrp_notify_fifo}")
    w(f" log_unknown_vrids = {'true' if g.log_unknown_vrids else 'false'}")

    groups = {m: sg.name for sg in cfg.sync_groups for m in sg.members}
    own = {
        "script": {s.name: (s.weight, s.reverse) for s in cfg.scripts},
        "file": {t.name: (t.weight, t.reverse) for t in cfg.track_files},
        "process": {t.name: (t.weight, t.reverse) for t in cfg.track_processes},
    }
    if cfg.instances:
        w("------< VRRP Topology >------")
        for i in cfg.instances:
            _instance(i, out, groups.get(i.name), own)
    if cfg.sync_groups:
        w("------< VRRP Sync groups >------")
        for sg in cfg.sync_groups:
            w(f" VRRP Sync Group = {sg.name}")
            w("   VRRP member instances :")
            for m in sg.members:
                w(f"     {m}")
            if sg.sync_group_tracking_weight:
                w("   sync group tracking weight set")
            for title, refs, kind in (
                ("Tracked interfaces", sg.track_interfaces, "if"),
                ("Tracked scripts", sg.track_scripts, "script"),
                ("Tracked files", sg.track_files, "file"),
                ("Tracked process", sg.track_processes, "process"),
            ):
                if refs:
                    w(f"   {title} :")
                    for r in refs:
                        w(_track(r, own.get(kind)))
            for label, n in (
                ("Backup", sg.notify_backup),
                ("Master", sg.notify_master),
                ("Fault", sg.notify_fault),
                ("Stop", sg.notify_stop),
                ("Generic", sg.notify),
            ):
                c = _cmd(n)
                if c:
                    w(f"   {label} state transition script = {c}")
    if cfg.scripts:
        w("------< VRRP Scripts >------")
        for s in cfg.scripts:
            w(f" VRRP Script = {s.name}")
            w(f"   Command = {' '.join(repr(a) for a in s.argv)}")
            w(f"   Interval = {s.interval:g} sec")
            w(f"   Timeout = {(s.timeout or 0):g} sec")
            w(f"   Weight = {s.weight}{' reverse' if s.reverse else ''}")
            w(f"   Rise = {s.rise}")
            w(f"   Fall = {s.fall}")
            w(f"   Init state = {'INIT_FAILED' if s.init_fail else 'INIT'}")
            if s.user:
                w(f"   Script user = {s.user}{':' + s.group if s.group else ''}")
    if cfg.track_files:
        w("------< VRRP Track files >------")
        for t in cfg.track_files:
            w(f" Track file = {t.name}")
            w(f"   File = {t.path}")
            w(f"   Weight = {t.weight}{' reverse' if t.reverse else ''}")
            if t.init_file is not None:
                w(f"   Init file = {t.init_file}{' overwrite' if t.init_overwrite else ''}")
    if cfg.track_processes:
        w("------< VRRP Track processes >------")
        for p in cfg.track_processes:
            w(f" VRRP Track process = {p.name}")
            w(f"   Process = {p.process}")
            if p.args:
                w(f"   Parameters = {p.args}")
            if p.param_match:
                w(f"   Param match {p.param_match}")
            w(f"   Min processes = {p.quorum}")
            if p.quorum_max is not None:
                w(f"   Max processes = {p.quorum_max}")
            w(f"   Weight = {p.weight}{' reverse' if p.reverse else ''}")
            w(f"   Terminate delay = {p.terminate_delay:f}s")
            w(f"   Fork delay = {p.fork_delay:f}s")
            w(f"   Full command = {'true' if p.full_command else 'false'}")
    unimpl = [d for d in cfg.diagnostics if d.level == "unimplemented"]
    if unimpl:
        w("------< Accepted, not implemented >------")
        for d in unimpl:
            w(f" {d}")
    return "\n".join(out) + "\n"
