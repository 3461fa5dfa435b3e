"""keepalived.conf -> model: keywords, keepalived 2.2.7 defaults and completion rules, diagnostics."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv6Interface
from pathlib import Path

import pytest

from pyvrrp.config import keywords as K
from pyvrrp.config.dump import dump
from pyvrrp.config.keepalived import default_config_id, load, parse_text, read_decimal_range
from pyvrrp.config.model import Notify, TrackRef
from pyvrrp.errors import ConfigError

DATA = Path(__file__).resolve().parent.parent / "data" / "config"
IFS = frozenset({"lo", "eth0", "eth1", "eth2", "eth3"})


def inst(body: str, extra: str = "", name: str = "VI_1") -> str:
    return f"{extra}\nvrrp_instance {name} {{\n{body}\n}}\n"


BASE = "interface eth0\nvirtual_router_id 51\nvirtual_ipaddress {\n 198.18.0.150\n}\n"


def errors(cfg) -> list[str]:  # noqa: ANN001
    return [d.msg for d in cfg.diagnostics if d.level in ("error", "fatal")]


# -- golden file with include, definitions, conditionals, LVS block -------------------------------
def test_golden_file_model() -> None:
    cfg = load(str(DATA / "golden" / "keepalived.conf"), config_id="node1")
    assert cfg.exit_code() == 0, [str(d) for d in cfg.diagnostics]
    assert [i.name for i in cfg.instances] == ["VI_1", "VI_2", "VI_6"]
    g = cfg.globals
    assert g.router_id == "lb_node1"
    assert g.vrrp_garp_master_delay == 2.0 and g.vrrp_garp_master_repeat == 3
    assert g.vrrp_skip_check_adv_addr and g.enable_script_security and g.script_user == "root"
    assert g.vrrp_mcast_group4 == IPv4Address("224.0.0.19")

    v1 = cfg.instance("VI_1")
    assert (v1.interface, v1.vrid, v1.priority, v1.state, v1.version) == ("eth0", 51, 200, "MASTER", 2)
    assert v1.auth_type == 1 and v1.auth_pass == b"Hello"
    assert [str(v) for v in v1.vips] == ["198.18.0.150/24", "198.18.0.151/32"]
    vip = v1.vips[0]
    assert (vip.dev, vip.label, vip.brd, vip.scope) == ("eth0", "eth0:1", "+", "global")
    assert v1.vips[1].dev is None  # None: the instance interface
    assert v1.evips[0].address == IPv4Interface("198.18.0.170/32") and v1.evips[0].no_track
    assert v1.unicast and v1.unicast_src_ip == IPv4Address("198.18.0.161")
    assert (v1.unicast_peers[0].min_ttl, v1.unicast_peers[0].max_ttl) == (250, 255)
    assert v1.mcast_dst_ip is None
    assert v1.garp_master_delay == 2.0 and v1.garp_master_repeat == 3  # from the globals
    assert v1.track_scripts == (TrackRef("chk_haproxy"),)
    assert v1.track_interfaces == (TrackRef("eth1", -20),)
    assert v1.notify_master == Notify(("/etc/keepalived/master.sh", "VI_1", "two words"), "root")
    assert v1.notify == Notify(("/etc/keepalived/notify.sh",))
    assert v1.skip_check_adv_addr

    v2 = cfg.instance("VI_2")
    assert v2.priority == 150  # @node1
    assert v2.nopreempt and v2.advert_int == 2.0 and v2.garp_master_refresh == 60.0
    assert v2.mcast_dst_ip == IPv4Address("224.0.0.19")
    assert v2.track_scripts == (TrackRef("chk_haproxy", 10, True),)

    v6 = cfg.instance("VI_6")
    assert v6.version == 3 and v6.family == 6 and v6.vips[0].address == IPv6Interface("fe80::150/64")

    (sc,) = cfg.scripts
    assert sc.argv == ("/usr/bin/killall", "-0", "haproxy")
    assert (sc.interval, sc.timeout, sc.weight, sc.rise, sc.fall, sc.user) == (2.0, 1.0, -30, 2, 3, "root")
    assert sc.where.file.endswith("conf.d/scripts.conf") and sc.where.line == 1

    (grp,) = cfg.sync_groups
    assert grp.members == ("VI_1", "VI_2") and grp.sync_group_tracking_weight
    assert grp.notify_backup == Notify(("/etc/keepalived/group.sh", "backup"))

    other = load(str(DATA / "golden" / "keepalived.conf"), config_id="node2")
    assert other.instance("VI_2").priority == 100
    assert other.globals.router_id == "lb_node2"


def test_five_mistakes_reported_with_file_and_line() -> None:
    path = str(DATA / "mistakes" / "cluster.conf")
    cfg = load(path, config_id="x")
    errs = [str(d) for d in cfg.diagnostics if d.level == "error"]
    assert (
        f"{path}:8: unknown keyword 'virtual_routerid' in vrrp_instance VI_1 (did you mean 'virtual_router_id'?)"
        in errs
    )
    lines = {int(e.split(":")[1]) for e in errs}
    assert {8, 10, 11, 13, 17} <= lines
    assert cfg.exit_code() == 5


# -- defaults and keepalived's completion rules ----------------------------------------------------
def test_defaults() -> None:
    i = parse_text(inst(BASE)).instance("VI_1")
    assert (i.priority, i.state, i.version, i.advert_int, i.auth_type) == (100, "BACKUP", 2, 1.0, 0)
    assert (
        i.garp_master_delay,
        i.garp_master_repeat,
        i.garp_master_refresh,
        i.garp_master_refresh_repeat,
    ) == (5.0, 5, 0.0, 1)
    assert i.mcast_dst_ip == IPv4Address("224.0.0.18") and i.accept and not i.nopreempt
    assert i.down_timer_adverts == 3 and i.unicast_ttl == 255


def test_state_master_without_priority_is_owner() -> None:
    i = parse_text(inst("state MASTER\n" + BASE)).instance("VI_1")
    assert i.priority == 255 and i.state == "MASTER"
    i = parse_text(inst("priority 255\n" + BASE)).instance("VI_1")
    assert i.state == "MASTER"


def test_auth_pass_comment_and_truncation() -> None:
    cfg = parse_text(inst(BASE + "authentication {\n auth_type PASS\n auth_pass Hello!\n}"))
    assert cfg.instance("VI_1").auth_pass == b"Hello" and cfg.exit_code() == 0
    cfg = parse_text(inst(BASE + "authentication {\n auth_type PASS\n auth_pass 0123456789\n}"))
    assert cfg.instance("VI_1").auth_pass == b"01234567"
    assert "Truncating auth_pass to 8 characters" in errors(cfg)


def test_advert_int_v2_rounding_and_v3_centiseconds() -> None:
    cfg = parse_text(inst(BASE + "advert_int 1.5"))
    assert cfg.instance("VI_1").advert_int == 2.0
    assert any("must be an integer. rounding" in e for e in errors(cfg))
    cfg = parse_text(inst(BASE + "advert_int 0.4"))
    assert cfg.instance("VI_1").advert_int == 1.0
    cfg = parse_text(inst(BASE + "version 3\nadvert_int 0.255"))
    assert cfg.instance("VI_1").advert_int == pytest.approx(0.26)
    cfg = parse_text(inst(BASE + "version 3\nadvert_int 0.25"))
    assert cfg.instance("VI_1").advert_int == 0.25 and cfg.exit_code() == 0
    cfg = parse_text(inst(BASE + "advert_int x"))
    assert cfg.instance("VI_1").advert_int == 1.0 and cfg.exit_code() == 5


def test_ipv6_vips_force_version_3_and_explicit_v2_is_an_error() -> None:
    v6 = "interface eth0\nvirtual_router_id 5\nvirtual_ipaddress {\n fe80::1/64\n}\n"
    cfg = parse_text(inst(v6))
    assert cfg.instance("VI_1").version == 3 and cfg.exit_code() == 0
    cfg = parse_text(inst("version 2\n" + v6), name="c.conf")
    assert cfg.instance("VI_1").version == 3
    (d,) = [d for d in cfg.diagnostics if d.level == "error"]
    assert str(d) == "c.conf:3: (VI_1) cannot use IPv6 with VRRP version 2; setting version 3"


def test_vip_family_mismatch_ignored() -> None:
    cfg = parse_text(
        inst("interface eth0\nvirtual_router_id 5\nvirtual_ipaddress {\n 198.18.0.1\n 2001:db8::1\n}")
    )
    assert [str(v) for v in cfg.instance("VI_1").vips] == ["198.18.0.1/32"]
    assert any("address family must match" in e for e in errors(cfg))


def test_nopreempt_and_preempt_delay_clearing() -> None:
    cfg = parse_text(inst("state MASTER\npriority 200\nnopreempt\npreempt_delay 10\n" + BASE))
    i = cfg.instance("VI_1")
    assert not i.nopreempt and i.preempt_delay == 0.0
    assert any("nopreempt will not work with initial state MASTER" in e for e in errors(cfg))
    i = parse_text(inst("preempt_delay 2.5\n" + BASE)).instance("VI_1")
    assert i.preempt_delay == 2.5
    i = parse_text(inst("nopreempt\n" + BASE)).instance("VI_1")
    assert i.nopreempt


def test_strict_mode_rules() -> None:
    cfg = parse_text(
        inst(
            "state MASTER\npriority 100\n" + BASE + "authentication {\n auth_type PASS\n auth_pass x\n}",
            extra="global_defs {\n vrrp_strict\n}",
        )
    )
    i = cfg.instance("VI_1")
    assert i.strict_mode and i.state == "BACKUP" and i.auth_type == 0 and not i.accept
    assert i.lower_prio_no_advert and i.garp_lower_prio_repeat == 0
    assert any("State MASTER must match being address owner" in e for e in errors(cfg))


def test_unicast_without_peers_falls_back_to_multicast() -> None:
    cfg = parse_text(inst(BASE + "unicast_src_ip 198.18.0.161\nunicast_peer {\n}"))
    i = cfg.instance("VI_1")
    assert not i.unicast and i.mcast_dst_ip == IPv4Address("224.0.0.18")
    assert any("without any unicast peers" in e for e in errors(cfg))


def test_track_script_must_be_defined_before_use() -> None:
    body = BASE + "track_script {\n chk\n}"
    script = 'vrrp_script chk {\n script "/nonexistent/chk.sh"\n weight -10\n}\n'
    cfg = parse_text(inst(body) + script)
    assert cfg.instance("VI_1").track_scripts == ()
    assert any("track script chk not found" in e for e in errors(cfg))
    cfg = parse_text(script + inst(body))
    assert cfg.instance("VI_1").track_scripts == (TrackRef("chk"),)


def test_duplicate_vrid_stops_but_exit_code_is_5() -> None:
    cfg = parse_text(inst(BASE) + inst(BASE.replace("150", "151"), name="VI_2"))
    assert cfg.exit_code() == 5 and not cfg.runnable
    assert any("both use VRID 51" in e for e in errors(cfg))
    # different interface: fine
    cfg = parse_text(inst(BASE) + inst(BASE.replace("eth0", "eth1"), name="VI_2"))
    assert cfg.exit_code() == 0 and cfg.runnable


def test_missing_vrid_and_interface_stop() -> None:
    cfg = parse_text(inst("interface eth0\nvirtual_ipaddress {\n 198.18.0.1\n}"))
    assert not cfg.runnable and cfg.instances == ()
    cfg = parse_text(inst("virtual_router_id 3\nvirtual_ipaddress {\n 198.18.0.1\n}"))
    assert not cfg.runnable and any("Unknown interface!" in e for e in errors(cfg))


def test_interfaces_checked_when_given() -> None:
    text = inst(BASE.replace("eth0", "eth9"))
    assert parse_text(text).exit_code() == 0  # runtime checks interfaces
    cfg = parse_text(text, interfaces=IFS)
    assert cfg.exit_code() == 5 and not cfg.runnable
    assert any(d.level == "fatal" and "Non-existent interface" in d.msg for d in cfg.diagnostics)


def test_sync_group_checks() -> None:
    two = inst(BASE) + inst(BASE.replace("51", "52"), name="VI_2")
    cfg = parse_text(two + "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n}\n")
    assert cfg.sync_groups[0].members == ("VI_1", "VI_2") and cfg.exit_code() == 0
    cfg = parse_text(two + "vrrp_sync_group G {\n group {\n VI_1\n VI_9\n }\n}\n")
    assert cfg.sync_groups[0].members == ("VI_1",)
    assert any("VI_9 specified in sync group G doesn't exist" in e for e in errors(cfg))


def test_unknown_keyword_then_brace_cascades_as_keepalived() -> None:
    cfg = parse_text(inst("foo {\n bar 1\n}\n" + BASE))
    msgs = errors(cfg)
    # keepalived does not skip the unknown keyword's block: '}' closes the instance
    assert msgs[:3] == [
        "unknown keyword 'foo' in vrrp_instance VI_1",
        "Unexpected '{' - ignoring",
        "unknown keyword 'bar' in vrrp_instance VI_1",
    ]
    assert cfg.exit_code() == 5


def test_lvs_and_bfd_blocks_skipped_at_any_depth() -> None:
    lvs = (
        "virtual_server_group G { 198.18.0.1 80 }\n"
        "virtual_server 198.18.0.150 80 {\n real_server 198.18.0.161 80 {\n  HTTP_GET {\n   url {\n    path /\n"
        "   }\n  }\n  weird_keyword {\n nested { deeper { x } }\n  }\n }\n}\n"
        "bfd_instance b1 {\n neighbor_ip 198.18.0.1\n}\nSSL {\n ca /x\n}\n"
    )
    cfg = parse_text(lvs + inst(BASE))
    assert cfg.exit_code() == 0 and [i.name for i in cfg.instances] == ["VI_1"]


def test_unimplemented_keywords_are_listed() -> None:
    cfg = parse_text(inst(BASE + "use_vmac\npromote_secondaries"))
    un = [d for d in cfg.diagnostics if d.level == "unimplemented"]
    assert [d.msg for d in un] == [
        "'use_vmac' accepted, not implemented",
        "'promote_secondaries' accepted, not implemented",
    ]
    assert cfg.exit_code() == 0
    assert "vrrp_instance.use_vmac" in K.NOT_IMPLEMENTED and K.is_implemented("vrrp_instance.priority")


def test_script_security_exit_6() -> None:
    script = 'vrrp_script chk {\n script "/bin/true"\n}\n'
    assert parse_text(script + inst(BASE)).exit_code() == 6
    assert (
        parse_text(
            "global_defs {\n enable_script_security\n script_user root\n}\n" + script + inst(BASE)
        ).exit_code()
        == 0
    )
    cfg = parse_text('vrrp_script chk {\n script "/nonexistent/x"\n}\n' + inst(BASE))
    assert cfg.exit_code() == 5 and any("since not found/accessible" in e for e in errors(cfg))


def test_notify_user_group_and_quoting() -> None:
    cfg = parse_text(
        inst(BASE + "notify_backup \"/bin/n.sh 'a b' c\" nobody nogroup\nnotify_fault /bin/f.sh")
    )
    i = cfg.instance("VI_1")
    assert i.notify_backup == Notify(("/bin/n.sh", "a b", "c"), "nobody", "nogroup")
    assert i.notify_fault == Notify(("/bin/f.sh",))


def test_virtual_routes_and_static_blocks_accepted() -> None:
    text = (
        inst(BASE + "virtual_routes {\n 198.18.1.0/24 via 198.18.0.1 dev eth0\n}")
        + "static_ipaddress {\n 198.18.0.9/24 dev eth0\n}\n"
    )
    cfg = parse_text(text)
    assert cfg.instance("VI_1").virtual_routes == ("198.18.1.0/24 via 198.18.0.1 dev eth0",)
    assert cfg.exit_code() == 0
    assert any(d.level == "unimplemented" and "static_ipaddress" in d.msg for d in cfg.diagnostics)


def test_missing_top_file_and_unreadable(tmp_path: Path) -> None:
    cfg = load(str(tmp_path / "nothere.conf"))
    assert cfg.exit_code() == 4 and not cfg.runnable
    with pytest.raises(ConfigError):
        load(str(tmp_path))


def test_all_config_makes_missing_include_fatal(tmp_path: Path) -> None:
    f = tmp_path / "k.conf"
    f.write_text("include missing.conf\n" + inst(BASE))
    assert load(str(f), config_id="x").exit_code() == 0
    assert load(str(f), config_id="x", all_config=True).exit_code() == 4


def test_default_config_id() -> None:
    assert default_config_id("node1.example.org") == "node1"
    assert default_config_id("plain") == "plain"
    assert "." not in default_config_id()


def test_read_decimal_range_like_keepalived() -> None:
    assert read_decimal_range("1.5", 0, 10**7) == (True, 1_500_000, [])
    ok, v, msgs = read_decimal_range("0.0000005", 0, 10**7)
    assert ok and v == 1 and "too many decimal places" in msgs[0]
    assert read_decimal_range("-1", 0, 10)[0] is False
    ok, v, msgs = read_decimal_range("0", 1, 2**32 - 1)
    assert not ok and msgs == ["number '0' outside range [0.000001, 4294.967295]"]


def test_dump_shows_effective_values() -> None:
    script = 'vrrp_script chk {\n script "/nonexistent/x"\n weight -7\n}\n'
    cfg = parse_text(
        script
        + inst(
            "state MASTER\npriority 150\n"
            + BASE
            + "track_script {\n chk\n}\nauthentication {\n auth_type PASS\n auth_pass s3cret\n}"
        )
    )
    text = dump(cfg)
    for needle in (
        " VRRP Instance = VI_1",
        "   Virtual Router ID = 51",
        "   Priority = 150",
        "   Wantstate = MASTER",
        "   Advert interval = 1 sec",
        "   Preempt = enabled",
        "   Authentication type = SIMPLE_PASSWORD",
        "   Password = s3cret",
        "     198.18.0.150 dev eth0 scope global",
        "     chk weight -7",
        "   Gratuitous ARP repeat = 5",
        " VRRP Script = chk",
    ):
        assert needle in text, needle


def test_check_module_prints_file_line_and_exits_like_keepalived(capsys: pytest.CaptureFixture[str]) -> None:
    from pyvrrp.config import check

    path = str(DATA / "mistakes" / "cluster.conf")
    assert check.main(["--no-interfaces", "-i", "x", path]) == 5
    err = capsys.readouterr().err.splitlines()
    assert (
        f"{path}:8: unknown keyword 'virtual_routerid' in vrrp_instance VI_1 (did you mean 'virtual_router_id'?) [error]"
        in err
    )
    assert check.main(["--no-interfaces", "-i", "node1", str(DATA / "golden" / "keepalived.conf")]) == 0
    assert "[accepted, not implemented]" in capsys.readouterr().err
