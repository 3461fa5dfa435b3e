"""keepalived 2.2.7 keyword tables as the VRRP process sees them, and what pyvrrp acts on.

Sources: ``keepalived/core/global_parser.c init_global_keywords``, ``keepalived/vrrp/vrrp_parser.c
init_vrrp_keywords``, ``keepalived/core/main.c`` (root keywords). A keyword listed here is *accepted*
(no "unknown keyword" error). :data:`NOT_IMPLEMENTED` is the one set to shrink as the runtime learns a
keyword: every accepted keyword in it is reported by ``pyvrrp -t`` as "accepted, not implemented".
Names are ``block.keyword`` (``root.`` for top level).
"""

from __future__ import annotations

#: Root blocks that belong to other keepalived processes (LVS checker, BFD): skipped with their
#: whole ``{...}`` whatever the depth (keepalived installs them "inactive" in the VRRP process).
INACTIVE_ROOT = frozenset({"virtual_server", "virtual_server_group", "SSL", "bfd_instance"})

#: Root keywords and blocks (``vrrp_track_file`` is the deprecated synonym of ``track_file``).
ROOT_BLOCKS = frozenset(
    {
        "global_defs",
        "vrrp_script",
        "vrrp_instance",
        "vrrp_sync_group",
        "track_file",
        "vrrp_track_file",
        "vrrp_track_process",
        "garp_group",
        "static_ipaddress",
        "static_routes",
        "static_rules",
        "track_group",
        "linkbeat_interfaces",
        "interface_up_down_delays",
    }
)
ROOT_SIMPLE = frozenset(
    {
        "net_namespace",
        "net_namespace_ipvs",
        "namespace_with_ipsets",
        "instance",
        "use_pid_dir",
        "linkbeat_use_polling",
        "child_wait_time",
        "include_check",
    }
)

#: global_defs keywords (all accepted). Value kinds for validation, after the keepalived 2.2.7
#: handlers (global_parser.c): "flag" (optional on/off/true/false/yes/no), "bare" (a switch; any
#: argument is ignored), "uint:LO:HI"/"int:LO:HI"/"int?:LO:HI" (required/optional integer),
#: "uintlist" (CPU ids), "str"/"str?" (required/optional word), "choice?:A,B" (optional word from a
#: list), "req" (one or more words, unchecked), "script" (a command, subject to script security),
#: "unsupported" (always an error in Debian's build), "timer" (decimal seconds), "block" (a value
#: block), "any" (no check). Keywords with an explicit handler in keepalived.py ignore the kind.
#: ``vrrp_ipsets`` is absent on purpose: Debian's keepalived 2.2.7 is built without ipset support.
GLOBAL_KEYWORDS: dict[str, str] = {
    # identity / mail / misc (accepted)
    "router_id": "str",
    "notification_email_from": "str",
    "smtp_server": "smtpserver",
    "smtp_helo_name": "str?",
    "smtp_connect_timeout": "uint:1:4294",
    "notification_email": "block",
    "smtp_alert": "flag",
    "smtp_alert_vrrp": "flag",
    "smtp_alert_checker": "flag",
    "no_email_faults": "bare",
    "checker_log_all_failures": "flag",
    "process_names": "bare",
    "process_name": "str",
    "vrrp_process_name": "str",
    "checker_process_name": "str",
    "lvs_process_name": "str",
    "bfd_process_name": "str",
    "startup_script": "script",
    "startup_script_timeout": "uint:1:1000",
    "shutdown_script": "script",
    "shutdown_script_timeout": "uint:1:1000",
    "max_auto_priority": "int?:-1:99",
    "min_auto_priority_delay": "uint:1:10000000",
    "dynamic_interfaces": "choice?:allow_if_changes",
    "default_interface": "str",
    "disable_local_igmp": "bare",
    "lvs_timeouts": "lvstimeouts",
    "lvs_flush": "bare",
    "lvs_flush_on_stop": "choice?:VS,ALL",
    "lvs_flush_onstop": "choice?:VS,ALL",
    "lvs_sync_daemon": "req",
    # protocol
    "vrrp_mcast_group4": "str",
    "vrrp_mcast_group6": "str",
    "vrrp_garp_master_delay": "int",
    "vrrp_garp_master_repeat": "int",
    "vrrp_garp_master_refresh": "int",
    "vrrp_garp_master_refresh_repeat": "int",
    "vrrp_garp_lower_prio_delay": "int",
    "vrrp_garp_lower_prio_repeat": "int",
    "vrrp_down_timer_adverts": "int",
    "vrrp_garp_interval": "timer",
    "vrrp_gna_interval": "timer",
    "vrrp_min_garp": "flag",
    "vrrp_garp_extra_if": "uint:1:86400",
    "vrrp_vmac_garp_intvl": "uint:1:86400",
    "vrrp_lower_prio_no_advert": "flag",
    "vrrp_higher_prio_send_advert": "flag",
    "vrrp_version": "int",
    "vrrp_iptables": "unsupported",
    "nftables": "str?",
    "nftables_priority": "int:-2147483648:2147483647",
    "nftables_ifindex": "any",
    "nftables_ipvs": "str?",
    "nftables_ipvs_priority": "int:-2147483648:2147483647",
    "nftables_ipvs_start_fwmark": "uint:1:4294967295",
    "nftables_counters": "any",
    "vrrp_check_unicast_src": "bare",
    "vrrp_skip_check_adv_addr": "bare",
    "vrrp_strict": "bare",
    "vrrp_priority": "int:-20:19",
    "vrrp_no_swap": "bare",
    "vrrp_rt_priority": "int:1:99",
    "vrrp_cpu_affinity": "uintlist",
    "vrrp_rlimit_rttime": "uint:1:4294967295",
    "vrrp_rlimit_rtime": "uint:1:4294967295",
    "notify_fifo": "str",
    "notify_fifo_script": "script",
    "vrrp_notify_fifo": "str",
    "vrrp_notify_fifo_script": "script",
    "vrrp_notify_priority_changes": "flag",
    "fifo_write_vrrp_states_on_reload": "bare",
    "lvs_notify_fifo": "str",
    "lvs_notify_fifo_script": "str",
    "checker_priority": "int:-20:19",
    "checker_no_swap": "bare",
    "checker_rt_priority": "int:1:99",
    "checker_cpu_affinity": "uintlist",
    "checker_rlimit_rttime": "uint:1:4294967295",
    "checker_rlimit_rtime": "uint:1:4294967295",
    "bfd_priority": "int:-20:19",
    "bfd_no_swap": "bare",
    "bfd_rt_priority": "int:1:99",
    "bfd_cpu_affinity": "uintlist",
    "bfd_rlimit_rttime": "uint:1:4294967295",
    "bfd_rlimit_rtime": "uint:1:4294967295",
    "snmp_socket": "str",
    "enable_traps": "bare",
    "enable_snmp_vrrp": "bare",
    "enable_snmp_keepalived": "bare",
    "enable_snmp_rfc": "bare",
    "enable_snmp_rfcv2": "bare",
    "enable_snmp_rfcv3": "bare",
    "enable_snmp_checker": "bare",
    "enable_dbus": "bare",
    "dbus_service_name": "str",
    "script_user": "str",
    "enable_script_security": "bare",
    "vrrp_netlink_cmd_rcv_bufs": "uint:0:4294967295",
    "vrrp_netlink_cmd_rcv_bufs_force": "flag",
    "vrrp_netlink_monitor_rcv_bufs": "uint:0:4294967295",
    "vrrp_netlink_monitor_rcv_bufs_force": "flag",
    "process_monitor_rcv_bufs": "uint:0:4294967295",
    "process_monitor_rcv_bufs_force": "flag",
    "lvs_netlink_cmd_rcv_bufs": "uint:0:4294967295",
    "lvs_netlink_cmd_rcv_bufs_force": "flag",
    "lvs_netlink_monitor_rcv_bufs": "uint:0:4294967295",
    "lvs_netlink_monitor_rcv_bufs_force": "flag",
    "rs_init_notifies": "flag",
    "no_checker_emails": "flag",
    "vrrp_rx_bufs_policy": "rxbufs",
    "vrrp_rx_bufs_multiplier": "uint:1:4294967295",
    "vrrp_startup_delay": "timer",
    "log_unknown_vrids": "bare",
    "vmac_prefix": "str",
    "vmac_addr_prefix": "str",
    "umask": "umask",
    "random_seed": "uint:0:4294967295",
    "reload_check_config": "str?",
    "reload_time_file": "str",
    "reload_repeat": "bare",
    "reload_file": "str?",
    "include_check": "choice?:read,match,wildcard_match,brace_match",
    "config_save_dir": "str",
    "tmp_config_directory": "str",
    "data_use_instance": "flag",
}

#: vrrp_instance keywords (handlers in :mod:`pyvrrp.config.keepalived`).
INSTANCE_KEYWORDS = frozenset(
    {
        "use_vmac", "use_vmac_addr", "vmac_xmit_base", "use_ipvlan", "unicast_peer",
        "unicast_fault_no_peer", "check_unicast_src", "old_unicast_checksum", "native_ipv6", "state",
        "interface", "vrf", "dont_track_primary", "track_interface", "track_script", "track_file",
        "track_process", "track_bfd", "mcast_src_ip", "unicast_src_ip", "mcast_dst_ip", "track_src_ip",
        "virtual_router_id", "unicast_ttl", "version", "priority", "advert_int", "virtual_ipaddress",
        "virtual_ipaddress_excluded", "promote_secondaries", "linkbeat_use_polling", "virtual_routes",
        "virtual_rules", "accept", "no_accept", "skip_check_adv_addr", "strict_mode", "preempt",
        "nopreempt", "preempt_delay", "debug", "notify_backup", "notify_master", "notify_fault",
        "notify_stop", "notify_deleted", "notify", "notify_master_rx_lower_pri", "smtp_alert",
        "notify_priority_changes", "lvs_sync_daemon_interface", "garp_master_delay",
        "garp_master_refresh", "garp_master_repeat", "garp_master_refresh_repeat",
        "garp_lower_prio_delay", "garp_lower_prio_repeat", "down_timer_adverts", "garp_extra_if",
        "vmac_garp_intvl", "lower_prio_no_advert", "higher_prio_send_advert", "kernel_rx_buf_size",
        "authentication",
    }
)  # fmt: skip
AUTH_KEYWORDS = frozenset({"auth_type", "auth_pass"})
SCRIPT_KEYWORDS = frozenset({"script", "interval", "timeout", "weight", "rise", "fall", "user", "init_fail"})
SYNC_GROUP_KEYWORDS = frozenset(
    {
        "group", "track_interface", "track_script", "track_file", "track_process", "track_bfd",
        "notify_backup", "notify_master", "notify_fault", "notify_stop", "notify", "smtp_alert",
        "global_tracking", "sync_group_tracking_weight", "notify_priority_changes",
    }
)  # fmt: skip
TRACK_FILE_KEYWORDS = frozenset({"file", "weight", "init_file"})
TRACK_PROCESS_KEYWORDS = frozenset(
    {"process", "param_match", "weight", "quorum", "quorum_max", "delay", "terminate_delay",
     "fork_delay", "full_command"}
)  # fmt: skip
GARP_GROUP_KEYWORDS = frozenset({"garp_interval", "gna_interval", "interface", "interfaces"})
TRACK_GROUP_KEYWORDS = frozenset({"group"})

ALL_BLOCK_KEYWORDS: dict[str, frozenset[str]] = {
    "global_defs": frozenset(GLOBAL_KEYWORDS),
    "vrrp_instance": INSTANCE_KEYWORDS,
    "authentication": AUTH_KEYWORDS,
    "vrrp_script": SCRIPT_KEYWORDS,
    "vrrp_sync_group": SYNC_GROUP_KEYWORDS,
    "track_file": TRACK_FILE_KEYWORDS,
    "vrrp_track_process": TRACK_PROCESS_KEYWORDS,
    "garp_group": GARP_GROUP_KEYWORDS,
    "track_group": TRACK_GROUP_KEYWORDS,
    "root": ROOT_BLOCKS | ROOT_SIMPLE | INACTIVE_ROOT,
}

#: Accepted but not acted on by the pyvrrp runtime: each use is listed by ``pyvrrp -t`` and logged
#: at start as "accepted, not implemented". Remove an entry when the runtime implements it.
NOT_IMPLEMENTED: set[str] = {
    # root
    "root.net_namespace", "root.net_namespace_ipvs", "root.namespace_with_ipsets", "root.instance",
    "root.use_pid_dir", "root.linkbeat_use_polling", "root.child_wait_time",     "root.garp_group", "root.static_ipaddress",
    "root.static_routes", "root.static_rules", "root.track_group", "root.linkbeat_interfaces",
    "root.interface_up_down_delays",
    # global_defs (mail, SNMP/DBus, tuning, firewall, reload and notify extras)
    "global_defs.notification_email_from", "global_defs.smtp_server", "global_defs.smtp_helo_name",
    "global_defs.smtp_connect_timeout", "global_defs.notification_email", "global_defs.smtp_alert",
    "global_defs.smtp_alert_vrrp", "global_defs.no_email_faults", "global_defs.startup_script",
    "global_defs.startup_script_timeout", "global_defs.shutdown_script",
    "global_defs.shutdown_script_timeout", "global_defs.max_auto_priority",
    "global_defs.min_auto_priority_delay", "global_defs.dynamic_interfaces",
    "global_defs.default_interface", "global_defs.disable_local_igmp", "global_defs.lvs_sync_daemon",
        "global_defs.vrrp_min_garp", "global_defs.vrrp_garp_extra_if", "global_defs.vrrp_vmac_garp_intvl",
    "global_defs.vrrp_iptables", "global_defs.nftables",
    "global_defs.nftables_priority", "global_defs.nftables_ifindex", "global_defs.nftables_counters",
    "global_defs.vrrp_priority", "global_defs.vrrp_no_swap", "global_defs.vrrp_rt_priority",
    "global_defs.vrrp_cpu_affinity", "global_defs.vrrp_rlimit_rttime", "global_defs.vrrp_rlimit_rtime",
    "global_defs.notify_fifo_script", "global_defs.vrrp_notify_fifo_script",
    "global_defs.fifo_write_vrrp_states_on_reload",
    "global_defs.snmp_socket", "global_defs.enable_traps", "global_defs.enable_snmp_vrrp",
    "global_defs.enable_snmp_keepalived", "global_defs.enable_snmp_rfc", "global_defs.enable_snmp_rfcv2",
    "global_defs.enable_snmp_rfcv3", "global_defs.enable_dbus", "global_defs.dbus_service_name",
    "global_defs.vrrp_netlink_cmd_rcv_bufs", "global_defs.vrrp_netlink_cmd_rcv_bufs_force",
    "global_defs.vrrp_netlink_monitor_rcv_bufs", "global_defs.vrrp_netlink_monitor_rcv_bufs_force",
    "global_defs.process_monitor_rcv_bufs", "global_defs.process_monitor_rcv_bufs_force",
    "global_defs.vrrp_rx_bufs_policy", "global_defs.vrrp_rx_bufs_multiplier", "global_defs.vmac_prefix",
    "global_defs.vmac_addr_prefix", "global_defs.umask", "global_defs.random_seed",
    "global_defs.reload_check_config", "global_defs.reload_time_file", "global_defs.reload_repeat",
    "global_defs.reload_file", "global_defs.config_save_dir", "global_defs.tmp_config_directory",
    "global_defs.data_use_instance", "global_defs.process_names", "global_defs.process_name",
    "global_defs.vrrp_process_name",
    # vrrp_instance
    "vrrp_instance.use_vmac", "vrrp_instance.use_vmac_addr", "vrrp_instance.vmac_xmit_base",
    "vrrp_instance.use_ipvlan", "vrrp_instance.unicast_fault_no_peer",
    "vrrp_instance.old_unicast_checksum", "vrrp_instance.vrf",     "vrrp_instance.track_bfd", "vrrp_instance.track_src_ip",
    "vrrp_instance.promote_secondaries", "vrrp_instance.linkbeat_use_polling",
    "vrrp_instance.virtual_routes", "vrrp_instance.virtual_rules", "vrrp_instance.accept",
    "vrrp_instance.no_accept", "vrrp_instance.smtp_alert",     "vrrp_instance.lvs_sync_daemon_interface",     "vrrp_instance.garp_extra_if",
    "vrrp_instance.vmac_garp_intvl", "vrrp_instance.kernel_rx_buf_size",
        "authentication.auth_type=AH",
    # vrrp_sync_group
    "vrrp_sync_group.track_bfd",
    "vrrp_sync_group.smtp_alert", "vrrp_sync_group.global_tracking",
        # per-VIP options
    "vip.peer", "vip.home", "vip.-nodad", "vip.mngtmpaddr", "vip.noprefixroute", "vip.autojoin",
    "vip.preferred_lft", "vip.use_vmac",
}  # fmt: skip


def is_implemented(name: str) -> bool:
    """True if the runtime acts on ``block.keyword`` (not in :data:`NOT_IMPLEMENTED`)."""
    return name not in NOT_IMPLEMENTED


def suggest(word: str, candidates: frozenset[str] | set[str] | dict) -> str | None:
    """A close keyword for "did you mean" (difflib ratio >= 0.8)."""
    import difflib

    m = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.8)
    return m[0] if m else None
