"""Completion and cross-checks of a parsed keepalived configuration, as keepalived 2.2.7 does them.

Sources: ``keepalived/vrrp/vrrp.c vrrp_complete_instance`` (defaults that depend on other keywords,
strict mode, authentication, advert_int rounding, nopreempt/preempt_delay clearing),
``check_vrid_conflicts`` (duplicate VRIDs), ``vrrp_sync.c`` (sync group members),
``check_vrrp_script_security`` (exit 6). :func:`finish` freezes the builders into the model.
Pure: the script-security check reads the file system (stat), nothing else.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Address, IPv6Address

from pyvrrp.config.model import (
    Config,
    Diagnostic,
    GlobalConfig,
    InstanceConfig,
    Notify,
    ScriptConfig,
    SyncGroupConfig,
    TrackFileConfig,
    TrackProcessConfig,
    Where,
)

TIMER_HZ = 1_000_000
CENTI = 10_000


def _g(st, name: str, default):  # noqa: ANN001
    return st.globals.get(name, default)


def _globals(st) -> GlobalConfig:  # noqa: ANN001
    g = st.globals
    kw = {}
    for f in GlobalConfig.__dataclass_fields__:
        if f in g and not f.startswith("_"):
            kw[f] = g[f]
    if "script_group" in g:
        kw["script_group"] = g["script_group"]
    return GlobalConfig(**kw)


def _find_exec(cmd: str, env_path: str) -> str | None:
    if "/" in cmd:
        return cmd if os.path.exists(cmd) else None
    for d in env_path.split(":"):
        if not d:
            continue
        p = os.path.join(d, cmd)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def _script_security(st, out: list[Diagnostic], instances) -> None:  # noqa: ANN001
    """``check_vrrp_script_security``: a ``vrrp_script`` whose command cannot be found is disabled
    (an error); any script found while ``enable_script_security`` is off is a security violation
    (keepalived exit 6). Missing notify scripts are only logged."""
    if not instances:
        return
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    found_any = False
    for sc in st.scripts:
        if not sc.argv:
            continue
        cmd = sc.argv[0]
        if cmd.startswith("<"):
            continue
        if _find_exec(cmd, path):
            found_any = True
        else:
            out.append(
                Diagnostic("error", sc.where, f"Disabling track script {sc.name} since not found/accessible")
            )
    notifies: list[Notify] = []
    for inst in st.instances:
        notifies += [n for n in inst.notifies.values() if n.argv]
    for gr in st.groups:
        notifies += [n for n in gr.notifies.values() if n.argv]
    notifies += [n for n, _w in st.fifo_scripts]
    for n in notifies:
        if not n.argv[0].startswith("<") and _find_exec(n.argv[0], path):
            found_any = True
    if found_any and not _g(st, "enable_script_security", False):
        out.append(
            Diagnostic(
                "script_security",
                Where(st.source, 0),
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
            )
        )


def finish(st, interfaces: frozenset[str] | None = None) -> Config:  # noqa: ANN001, C901
    """Apply keepalived's completion rules and freeze everything into a :class:`Config`."""
    d: list[Diagnostic] = list(st.diags)

    def err(w: Where, msg: str, stops: bool = False, level: str = "error") -> None:
        d.append(Diagnostic(level, w, msg, stops))

    glob = _globals(st)
    scripts = tuple(
        ScriptConfig(
            s.name, s.argv or (), s.interval, s.timeout, s.weight, s.reverse, s.rise, s.fall,
            s.user, s.group, s.init_fail, s.where,
        )
        for s in st.scripts
    )  # fmt: skip
    tfiles = tuple(
        TrackFileConfig(t.name, t.path or "", t.weight, t.reverse, t.init_file, t.init_overwrite, t.where)
        for t in st.track_files
    )
    tprocs = tuple(
        TrackProcessConfig(
            t.name, t.process or "", t.args, t.param_match, t.full_command, t.weight, t.reverse, t.quorum,
            t.quorum_max, t.delay, t.fork_delay, t.terminate_delay, t.where,
        )
        for t in st.track_processes
    )  # fmt: skip
    script_w = {s.name: s.weight for s in scripts}
    file_w = {t.name: t.weight for t in tfiles}

    # start_vrrp: a non-existent interface stops the VRRP process before any completion check
    # (vrrp_daemon.c: "Non-existent interface specified in configuration").
    missing_if = False
    if interfaces is not None:
        for b in st.instances:
            n, w = b.name, b.where
            if b.interface is not None:
                if b.interface == "lo":
                    err(
                        b.interface_where or w,
                        f"({n}) cannot use a loopback interface (lo) for vrrp - ignoring",
                    )
                    b.interface = None
                elif b.interface not in interfaces:
                    err(
                        b.interface_where or w,
                        f"WARNING - interface {b.interface} for vrrp_instance {n} doesn't exist",
                    )
                    missing_if = True
            for ref, rw in b.track_interfaces:
                if ref.name not in interfaces:
                    err(rw, f"({n}) tracked interface {ref.name} doesn't exist")
                    missing_if = True
            for vip in b.vips + b.evips:
                if vip.dev is not None and vip.dev not in interfaces:
                    err(
                        b.vip_where or w,
                        f"WARNING - interface {vip.dev} for ip address {vip.address} doesn't exist",
                    )
                    missing_if = True
            for dev, dw, msg in b.route_devs:
                if dev not in interfaces:
                    err(dw, msg)
                    missing_if = True
        for dev, dw in st.updown_devs:
            if dev not in interfaces:
                # keepalived: CONFIG_FATAL, reported while parsing, no other consequence
                err(dw, f"unknown interface {dev} specified for up/down delay", level="fatal")
        for dev, dw, msg in st.static_devs:
            if dev not in interfaces:
                err(dw, msg)
                missing_if = True
        if missing_if:
            err(
                Where(st.source, 0),
                "Non-existent interface specified in configuration",
                stops=True,
                level="fatal",
            )

    # main.c: start/shutdown scripts are checked by the parent, whatever the VRRP part says
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    if not _g(st, "enable_script_security", False) and any(
        _find_exec(nt.argv[0], path) for nt, _w in st.startup_scripts
    ):
        d.append(
            Diagnostic(
                "script_security",
                Where(st.source, 0),
                "SECURITY VIOLATION - start/shutdown scripts are being executed but script_security not enabled.",
            )
        )

    # vrrp_complete_init: once a check fails keepalived stops; later problems are not reported
    muted = [missing_if]
    real_err = err

    def err(w: Where, msg: str, stops: bool = False, level: str = "error") -> None:  # noqa: F811
        if muted[0]:
            return
        real_err(w, msg, stops, level)
        if stops:
            muted[0] = True

    if st.instances and not muted[0]:
        _script_security(st, d, st.instances)
    for b in st.instances:  # chk_min_cfg
        if b.vrid is None:
            err(b.where, f"({b.name}) the virtual router id must be set", stops=True)
        elif b.interface is None:
            # VRRP_FLAG_UNICAST is only set later (vrrp_complete_instance), so 2.2.7 rejects every
            # instance without an interface here (keepalived issue #2270)
            err(b.where, f"({b.name}) Unknown interface!", stops=True)

    # sync groups (vrrp_sync.c)
    used: dict[str, str] = {}
    groups: list[SyncGroupConfig] = []
    for g in st.groups:
        if not g.members:
            err(g.where, f"Sync group {g.name} has no virtual router(s). removing")
            continue
        members: list[str] = []
        by_name = {x.name: x for x in st.instances}
        gstate = "INIT"
        for m in g.members:
            if m not in by_name:
                err(g.where, f"Virtual router {m} specified in sync group {g.name} doesn't exist - ignoring")
                continue
            if m in used:
                err(
                    g.where, f"Virtual router {m} cannot exist in more than one sync group; ignoring {g.name}"
                )
                continue
            used[m] = g.name
            members.append(m)
            # vrrp_sync_set_group: uses the parsed state/priority (not yet completed)
            x = by_name[m]
            if gstate == "MASTER" and x.state == "BACKUP":
                err(
                    g.where,
                    f"Sync group {g.name} has some member(s) as address owner and some not as "
                    "address owner. This won't work.",
                )
            if gstate != "BACKUP":
                gstate = "MASTER" if (x.state == "MASTER" and x.priority == 255) else "BACKUP"
        if not members:
            err(
                g.where,
                f"Sync group {g.name}, no matching virtual router found in group declaration - removing",
            )
            continue
        if len(members) == 1:
            err(
                g.where,
                f"Sync group {g.name} has only 1 virtual router(s) - this probably isn't what you want",
            )
        nt = g.notifies
        groups.append(
            SyncGroupConfig(
                name=g.name,
                members=tuple(members),
                notify_master=nt.get("notify_master"),
                notify_backup=nt.get("notify_backup"),
                notify_fault=nt.get("notify_fault"),
                notify_stop=nt.get("notify_stop"),
                notify=nt.get("notify"),
                track_scripts=tuple(r for r, _ in g.track_scripts),
                track_interfaces=tuple(r for r, _ in g.track_interfaces),
                track_files=tuple(r for r, _ in g.track_files),
                track_processes=tuple(r for r, _ in g.track_processes),
                sync_group_tracking_weight=g.sync_group_tracking_weight,
                where=g.where,
            )
        )

    no_weight_members = {m for g in groups if not g.sync_group_tracking_weight for m in g.members}
    npc_by_group = {g.name: g.notify_priority_changes for g in st.groups}
    group_npc = {m: npc_by_group.get(g.name) for g in groups for m in g.members}
    instances: list[InstanceConfig] = []
    for b in st.instances:
        n = b.name
        w = b.where
        strict = b.strict_mode if b.strict_mode is not None else glob.vrrp_strict
        if b.vrid is None:
            continue

        def at(*keys: str, _b=b, _w=w) -> Where:  # noqa: ANN001
            """The line of the first of these keywords in the instance, else the instance line."""
            for k in keys:
                if k in _b.kw_where:
                    return _b.kw_where[k]
            return _w

        family = b.family or 4
        version = b.version
        if family == 6:
            if version == 2:
                # keepalived 2.2.7 reports this only in strict mode; pyvrrp always does (docs/config-differences.md)
                err(b.version_where or w, f"({n}) cannot use IPv6 with VRRP version 2; setting version 3")
            version = 3
        if version is None:
            version = glob.vrrp_version
        if not b.vips:
            if version == 3 or strict:
                err(w, f"({n}) No VIP specified; at least one is required", stops=True)
                continue
            err(w, f"({n}) No VIP specified; at least one is sensible")
        prio = b.priority
        if prio is None:
            prio = 255 if b.state == "MASTER" else 100
        state = b.state
        if state is None:
            state = "MASTER" if prio == 255 else "BACKUP"
        elif strict and ((state == "MASTER") != (prio == 255)):
            err(at("state", "priority"), f"({n}) State MASTER must match being address owner")
            state = "MASTER" if prio == 255 else "BACKUP"
        auth_type, auth_pass = b.auth_type, b.auth_pass
        if strict and auth_type:
            err(at("authentication"), f"({n}) Strict mode does not support authentication. Ignoring.")
            auth_type = 0
        elif version == 3 and auth_type:
            err(at("authentication"), f"({n}) VRRP version 3 does not support authentication. Ignoring.")
            auth_type = 0
        elif auth_type and not auth_pass:
            err(at("authentication"), f"({n}) Authentication specified but no password given. Ignoring")
            auth_type = 0
        elif family == 6 and auth_type == 2:
            err(at("authentication"), f"({n}) Cannot use AH authentication with IPv6. ignoring")
            auth_type = 0
        elif auth_type == 2 and state == "MASTER" and prio != 255:
            err(
                at("authentication"),
                f"({n}) Initial state master is incompatible with AH authentication - clearing",
            )
            state = "BACKUP"
        if not auth_type:
            auth_pass = b""
        unicast = bool(b.unicast_peers) and b.unicast_configured
        if strict and unicast and b.interface is not None:
            err(at("unicast_peer"), f"({n}) Unicast peers are not supported in strict mode", stops=True)
            continue
        if b.interface is None:
            if b.unicast_src_ip is None:
                err(w, f"({n}): Unicast instances must have unicast_src_ip or interface", stops=True)
                continue
            if isinstance(b.unicast_src_ip, IPv6Address) and b.unicast_src_ip.is_link_local:
                err(w, f"({n}) Non link-local address required if interface omitted", stops=True)
                continue
        peers = tuple(b.unicast_peers)
        if b.unicast_ttl is not None and not (b.unicast_configured and b.unicast_peers):
            err(at("unicast_ttl"), f"({n}): Cannot use unicast_ttl without unicast peers - resetting")
            b.unicast_ttl = None
        if "use_ipvlan" in b.flags and family == 4 and b.unicast_src_ip is None:
            err(
                at("use_ipvlan"),
                f"({n}) IPv4 ipvlan requires a source ip address to be configured. setting instance to fault state",
            )
        if "vmac_xmit_base" in b.flags and not ({"use_vmac", "use_ipvlan"} & b.flags):
            err(at("vmac_xmit_base"), f"({n}) vmac_xmit_base is only valid with a vmac")
        if b.unicast_configured and not b.unicast_peers:
            if b.unicast_fault_no_peer:
                err(w, f"({n}) Cannot use unicast without any peers - going to fault state", level="warning")
            else:
                err(
                    at("unicast_peer", "unicast_src_ip"),
                    f"({n}) A unicast keyword has been specified without any unicast peers. Defaulting to "
                    "multicast. This usage is deprecated - please update your configuration.",
                )
        if family == 6 and b.vips and not b.vips[0].address.ip.is_link_local:
            if strict:
                err(at("virtual_ipaddress"), f"({n}) the first IPv6 VIP address must be link local")
            else:
                err(
                    at("virtual_ipaddress"),
                    f"({n}) the first IPv6 VIP address should be link local",
                    level="warning",
                )
        # VIPs that do not fit in one advert go to eVIPs (vrrp_complete_instance)
        vips, evips = list(b.vips), list(b.evips)
        if family == 4:
            hdr = 14 + 20 + 8 + (8 if version == 2 else 0) + (24 if (version == 2 and auth_type == 2) else 0)
            max_addr = (1500 - hdr) // 4
        else:
            max_addr = (1500 - 14 - 40 - 8) // 16
        max_addr = min(max_addr, 255)
        if len(vips) > max_addr:
            err(
                at("virtual_ipaddress"),
                f"({n}) Number of VIPs ({len(vips)}) exceeds maximum/space available in packet "
                f"(max {max_addr} addresses) - excess moved to eVIPs",
            )
            evips = vips[max_addr:] + evips
            vips = vips[:max_addr]
        nopreempt = b.nopreempt
        preempt_delay = b.preempt_delay
        if prio == 255 and nopreempt:
            err(at("nopreempt"), f"({n}) nopreempt is incompatible with priority 255. resetting nopreempt")
            nopreempt = False
        if state == "MASTER":
            if nopreempt:
                err(
                    at("nopreempt"),
                    f"({n}) Warning - nopreempt will not work with initial state MASTER - clearing",
                )
                nopreempt = False
            if preempt_delay:
                err(
                    at("preempt_delay"),
                    f"({n}) Warning - preempt delay will not work with initial state MASTER - clearing",
                )
                preempt_delay = 0.0
        if preempt_delay:
            if strict:
                err(at("preempt_delay"), f"({n}) preempt_delay is incompatible with strict mode - resetting")
                preempt_delay = 0.0
            if nopreempt:
                err(
                    at("preempt_delay"),
                    f"({n}) preempt_delay is incompatible with nopreempt mode - resetting",
                )
                preempt_delay = 0.0
        dta = b.down_timer_adverts
        if dta != 3 and strict:
            err(
                at("down_timer_adverts"),
                f"({n}) down_timer_adverts is incompatible with strict mode - resetting",
            )
            dta = 3
        accept = b.accept
        if accept is None:
            accept = True if prio == 255 else not strict
        if accept and prio != 255 and strict and version == 2:
            err(
                at("accept", "priority"),
                f"({n}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting",
            )
            accept = False
        mcast = b.mcast_dst_ip
        if unicast and mcast is not None:
            err(at("mcast_dst_ip"), f"({n}) multicast destination specified with unicast - ignoring")
            mcast = None
        if not unicast and mcast is None:
            mcast = glob.vrrp_mcast_group4 if family == 4 else glob.vrrp_mcast_group6
        gar = b.garp
        # instance value, else the global vrrp_garp_lower_prio_* (keepalived), else None (= master values)
        lp_rep = gar.get("garp_lower_prio_repeat", st.globals.get("vrrp_garp_lower_prio_repeat"))
        lp_delay = gar.get("garp_lower_prio_delay", st.globals.get("vrrp_garp_lower_prio_delay"))
        if strict and lp_rep:
            err(at("strict_mode"), f"({n}) Strict mode requires no repeat garps. resetting")
            lp_rep = 0
        if strict and lp_delay:
            err(at("strict_mode"), f"({n}) Strict mode requires no repeat garp delay. resetting")
            lp_delay = 0.0
        if strict and lp_rep is None:
            lp_rep = 0
        if strict and lp_delay is None:
            lp_delay = 0.0
        lpna = b.lower_prio_no_advert
        if lpna is None:
            lpna = True if strict else glob.vrrp_lower_prio_no_advert
        elif strict and not lpna:
            err(at("strict_mode"), f"({n}) Strict mode requires no lower priority advert. resetting")
            lpna = True
        hpsa = b.higher_prio_send_advert
        if hpsa is None:
            hpsa = False if strict else glob.vrrp_higher_prio_send_advert
        elif strict and hpsa:
            err(
                at("strict_mode"),
                f"({n}) strict mode requires higher_prio_send_advert to be clear. resetting",
            )
            hpsa = False
        # advert_int (µs arithmetic as keepalived)
        adv = round((b.advert_int or 1.0) * TIMER_HZ)
        if version == 2:
            if adv >= 256 * TIMER_HZ:
                err(
                    at("advert_int"),
                    f"({n}) VRRPv2 advertisement interval {adv / TIMER_HZ:.2f}s is out of range. Must be less than 256s. Setting to 255s",
                )
                adv = 255 * TIMER_HZ
            elif adv % TIMER_HZ:
                err(
                    at("advert_int"),
                    f"({n}) VRRPv2 advertisement interval {adv / TIMER_HZ:f}s must be an integer. rounding",
                )
                adv = adv + TIMER_HZ // 2
                adv -= adv % TIMER_HZ
                adv = adv or TIMER_HZ
        else:
            if adv >= 4096 * CENTI:
                err(
                    at("advert_int"),
                    f"({n}) VRRPv3 advertisement interval {adv / TIMER_HZ:.2f}s is out of range. Must be less than 40.96s. Setting to 40.95s",
                )
                adv = 4095 * CENTI
            elif adv % CENTI:
                err(
                    at("advert_int"),
                    f"({n}) VRRPv3 advertisement interval {adv / TIMER_HZ:f}s must be in units of 10ms - rounding",
                )
                adv = adv + CENTI // 2
                adv -= adv % CENTI
                adv = adv or CENTI
        if b.interface is not None:
            own = [(r, rw) for r, rw in b.track_interfaces if r.name == b.interface]
            for r, rw in own:
                err(rw, f"({n}) Ignoring track_interface {r.name} since own interface")
            if own:
                b.track_interfaces = [(r, rw) for r, rw in b.track_interfaces if r.name != b.interface]
        # weighted trackers of an address owner or of a sync group member (without
        # sync_group_tracking_weight) are ignored (vrrp_complete_instance)
        sync_nw = n in no_weight_members
        if sync_nw or prio == 255:
            why = "SYNC group" if sync_nw else "address_owner"
            tifs = []
            for ref, rw in b.track_interfaces:
                if ref.weight:
                    if sync_nw:
                        err(rw, f"({n}) ignoring {ref.name} tracked interface weight due to SYNC group")
                        tifs.append(type(ref)(ref.name, 0, ref.reverse))
                    else:
                        err(rw, f"({n}) ignoring {ref.name} tracked interface due to address owner")
                else:
                    tifs.append(ref)
            tscripts = []
            for ref, rw in b.track_scripts:
                weight = ref.weight if ref.weight is not None else script_w.get(ref.name, 0)
                if weight:
                    err(rw, f"({n}) ignoring tracked script {ref.name} with weights due to {why}")
                else:
                    tscripts.append(ref)
            tfiles_refs = []
            for ref, rw in b.track_files:
                weight = ref.weight if ref.weight is not None else file_w.get(ref.name, 1)
                if weight == 1:
                    err(
                        rw,
                        f"({n}) ignoring weight from tracked file {ref.name} due to {why}. specify weight 0",
                    )
                    tfiles_refs.append(type(ref)(ref.name, 0, ref.reverse))
                elif weight:
                    err(rw, f"({n}) ignoring tracked file {ref.name} with weight {weight} due to {why}")
                else:
                    tfiles_refs.append(ref)
        else:
            tifs = [r for r, _ in b.track_interfaces]
            tscripts = [r for r, _ in b.track_scripts]
            tfiles_refs = [r for r, _ in b.track_files]
        nt = b.notifies
        instances.append(
            InstanceConfig(
                name=n,
                interface=b.interface,
                vrid=b.vrid,
                priority=prio,
                state=state,
                version=version,
                advert_int=adv / TIMER_HZ,
                auth_type=auth_type,
                auth_pass=auth_pass,
                vips=tuple(vips),
                evips=tuple(evips),
                virtual_routes=tuple(r for r, _ in b.virtual_routes),
                virtual_rules=tuple(r for r, _ in b.virtual_rules),
                nopreempt=nopreempt,
                preempt_delay=preempt_delay,
                unicast_src_ip=b.unicast_src_ip,
                unicast_peers=peers if unicast else (),
                unicast_ttl=b.unicast_ttl if b.unicast_ttl is not None else 255,
                check_unicast_src=b.check_unicast_src or glob.vrrp_check_unicast_src,
                mcast_dst_ip=mcast,
                garp_master_delay=float(gar.get("garp_master_delay", glob.vrrp_garp_master_delay)),
                garp_master_repeat=int(gar.get("garp_master_repeat", glob.vrrp_garp_master_repeat)),
                garp_master_refresh=float(gar.get("garp_master_refresh", glob.vrrp_garp_master_refresh)),
                garp_master_refresh_repeat=int(
                    gar.get("garp_master_refresh_repeat", glob.vrrp_garp_master_refresh_repeat)
                ),
                garp_lower_prio_delay=None if lp_delay is None else float(lp_delay),
                garp_lower_prio_repeat=None if lp_rep is None else int(lp_rep),
                garp_interval=glob.vrrp_garp_interval,
                gna_interval=glob.vrrp_gna_interval,
                lower_prio_no_advert=bool(lpna),
                higher_prio_send_advert=bool(hpsa),
                down_timer_adverts=dta if dta != 3 else glob.vrrp_down_timer_adverts,
                skip_check_adv_addr=bool(b.skip_check_adv_addr) or glob.vrrp_skip_check_adv_addr,
                dont_track_primary=b.dont_track_primary,
                accept=accept,
                strict_mode=strict,
                track_scripts=tuple(tscripts),
                track_interfaces=tuple(tifs),
                track_files=tuple(tfiles_refs),
                track_processes=tuple(r for r, _ in b.track_processes),
                notify_master=nt.get("notify_master"),
                notify_backup=nt.get("notify_backup"),
                notify_fault=nt.get("notify_fault"),
                notify_stop=nt.get("notify_stop"),
                notify_deleted=nt.get("notify_deleted") or nt.get("notify_deleted_flag"),
                notify=nt.get("notify"),
                notify_master_rx_lower_pri=nt.get("notify_master_rx_lower_pri"),
                notify_priority_changes=bool(
                    b.notify_priority_changes
                    if b.notify_priority_changes is not None
                    else group_npc.get(n)
                    if group_npc.get(n) is not None
                    else st.globals.get("vrrp_notify_priority_changes", False)
                ),
                where=w,
            )
        )

    # check_vrid_conflicts: same VRID + family on one interface (and same mcast group, or both unicast)
    for i, a in enumerate(instances):
        for bb in instances[i + 1 :]:
            if a.family != bb.family or a.vrid != bb.vrid:
                continue
            if a.unicast != bb.unicast:
                continue
            if a.unicast:
                pa = {p.address for p in a.unicast_peers}
                pb = {p.address for p in bb.unicast_peers}
                if a.interface == bb.interface and pa & pb:
                    err(
                        bb.where,
                        f"({a.name}) duplicate VRID conflict with {bb.name} VRID {a.vrid}",
                        stops=True,
                    )
                continue
            if a.interface != bb.interface or a.mcast_dst_ip != bb.mcast_dst_ip:
                continue
            err(
                bb.where,
                f"{a.name} and {bb.name} both use VRID {a.vrid} with IPv{a.family} on interface {a.interface}",
                stops=True,
            )

    return Config(
        source=st.source,
        globals=glob,
        instances=tuple(instances),
        scripts=scripts,
        track_files=tfiles,
        track_processes=tprocs,
        sync_groups=tuple(groups),
        diagnostics=tuple(d),
    )


def check_interfaces(cfg: Config, present: frozenset[str]) -> list[Diagnostic]:
    """Interfaces named by instances that do not exist (keepalived -t reports them as errors)."""
    out: list[Diagnostic] = []
    for inst in cfg.instances:
        if inst.interface is not None and inst.interface not in present:
            out.append(
                Diagnostic(
                    "error",
                    inst.where,
                    f"WARNING - interface {inst.interface} for vrrp_instance {inst.name} doesn't exist",
                )
            )
    return out


__all__ = ["finish", "check_interfaces", "IPv4Address"]
