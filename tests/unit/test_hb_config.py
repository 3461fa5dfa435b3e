"""heartbeat config: ha.cf, authkeys, haresources parsing, file:line diagnostics, -t check."""

from __future__ import annotations

import os
import shutil
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from pyvrrp.config import heartbeat as hc
from pyvrrp.errors import ConfigError
from pyvrrp.wire.heartbeat import AuthKey

CONF = Path(__file__).resolve().parents[2] / "conf" / "ha.d"

LAB_CF = """\
logfile /var/log/ha-log
debugfile /var/log/ha-debug
keepalive 1
deadtime 5
warntime 3
initdead 10
udpport 694
ucast eth0 198.18.0.162
auto_failback on
node master
node slave
ping 198.18.0.1
respawn hacluster /usr/libexec/heartbeat/ipfail
"""


def levels(diags: list) -> list[str]:
    return [d.level for d in diags]


def test_lab_ha_cf() -> None:
    cf, diags = hc.parse_ha_cf(LAB_CF, "ha.cf")
    assert [d for d in diags if d.level == "error"] == []
    assert (cf.keepalive, cf.deadtime, cf.warntime, cf.initdead) == (1, 5, 3, 10)
    assert cf.nodes == ("master", "slave")
    assert cf.media == (hc.Medium("ucast", "eth0", IPv4Address("198.18.0.162"), where=cf.media[0].where),)
    assert cf.ping == (IPv4Address("198.18.0.1"),) and cf.ping_node_names == ("198.18.0.1",)
    assert cf.auto_failback == "on" and cf.ipfail
    assert cf.eff_deadping == 5 and cf.logfile == "/var/log/ha-log"


def test_defaults_and_times() -> None:
    cf, diags = hc.parse_ha_cf("node a b\nbcast eth0 eth1\nkeepalive 500ms\ndeadtime 2\n")
    assert cf.keepalive == 0.5 and cf.deadtime == 2 and cf.udpport == 694
    assert cf.eff_initdead == 2 and cf.eff_warntime == 1.5
    assert [m.dev for m in cf.media] == ["eth0", "eth1"]
    assert cf.auto_failback == "legacy" and "warning" in levels(diags)
    assert hc.parse_time("250000us") == 0.25 and hc.parse_time(".5") == 0.5
    with pytest.raises(ValueError):
        hc.parse_time("5m")


def test_mcast_and_ping_group_and_node_case() -> None:
    cf, diags = hc.parse_ha_cf(
        "node Master SLAVE\nmcast eth0 225.0.0.1 694 1 0\nping_group gw 198.18.0.1 198.18.0.2\n"
        "auto_failback off\n"
    )
    assert levels(diags) == []
    assert cf.nodes == ("master", "slave")
    m = cf.media[0]
    assert (m.kind, m.peer, m.port, m.ttl, m.loop) == ("mcast", IPv4Address("225.0.0.1"), 694, 1, False)
    assert cf.ping_groups[0].name == "gw" and len(cf.ping_groups[0].addresses) == 2
    assert cf.ping_node_names == ("gw",)


@pytest.mark.parametrize(
    "line,msg",
    [
        ("crm on", "crm (pacemaker) mode is not supported"),
        ("serial /dev/ttyS0", "serial links are not supported"),
        ("keepalive two", "keepalive: bad time value"),
        ("deadtime", "deadtime needs exactly one time value"),
        ("udpport 70000", "udpport 70000 out of range"),
        ("ucast eth0 peer.example", "is not an IPv4 address"),
        ("mcast eth0 198.18.0.1 694 1 0", "is not a multicast address"),
        ("auto_failback maybe", "auto_failback must be on, off or legacy"),
        ("frobnicate 1", "unknown directive 'frobnicate'"),
        ("stonith_host * null", "STONITH devices are not supported"),
    ],
)
def test_ha_cf_errors_name_the_line(line: str, msg: str) -> None:
    cf, diags = hc.parse_ha_cf(f"node a b\nucast eth0 198.18.0.2\n# comment\n{line}\n", "/x/ha.cf")
    errs = [d for d in diags if d.level == "error"]
    assert len(errs) == 1, diags
    assert str(errs[0]).startswith("/x/ha.cf:4: ") and msg in str(errs[0])


def test_crm_off_accepted_and_missing_nodes() -> None:
    _, diags = hc.parse_ha_cf("crm off\nucast eth0 198.18.0.2\nnode a\n")
    assert "error" not in levels(diags)
    _, diags = hc.parse_ha_cf("keepalive 1\n")
    assert sum(1 for d in diags if d.level == "error") == 2  # no node, no medium


def test_respawn_other_than_ipfail_is_a_warning() -> None:
    cf, diags = hc.parse_ha_cf("node a\nbcast eth0\nauto_failback on\nrespawn root /bin/true\n")
    assert levels(diags) == ["warning"] and not cf.ipfail


def test_authkeys() -> None:
    keys, diags = hc.parse_authkeys("# x\nauth 3\n1 crc\n2 sha1 Secret Two\n3 md5 Hello!\n")
    assert keys is not None
    assert keys.active == AuthKey(3, "md5", b"Hello!")
    assert keys.by_num()[2] == AuthKey(2, "sha1", b"Secret Two")
    assert keys.by_num()[1].method == "crc" and levels(diags) == ["warning"]


@pytest.mark.parametrize(
    "text,msg",
    [
        ("3 md5 x\n", "authkeys: no 'auth N' line"),
        ("auth 2\n3 md5 x\n", "authkeys:1: auth 2: no such key"),
        ("auth 3\n3 des x\n", "authkeys:2: authentication method must be crc, md5 or sha1"),
        ("auth 3\n3 md5\n", "authkeys:2: md5 needs a key"),
        ("auth 3\nx md5 y\n", "authkeys:2: bad authkeys line 'x'"),
    ],
)
def test_authkeys_errors(text: str, msg: str) -> None:
    keys, diags = hc.parse_authkeys(text)
    assert any(str(d) == msg or str(d).startswith(msg) for d in diags), diags
    assert keys is None or "auth 3" in text


def test_authkeys_mode() -> None:
    assert hc.authkeys_mode_problem(0o100600) is None
    assert hc.authkeys_mode_problem(0o100400) is None
    assert "0644" in (hc.authkeys_mode_problem(0o100644) or "")
    assert hc.authkeys_mode_problem(0o100640) is not None


def test_haresources() -> None:
    text = (
        "master 198.18.0.150/24/eth0:0 nginx\n"
        "slave IPaddr2::198.18.0.151/25/eth1 \\\n   Filesystem::/dev/sdb1::/data::ext4 apache\n"
    )
    res, diags = hc.parse_haresources(text, "haresources", ("master", "slave"))
    assert diags == []
    g1, g2 = res.groups
    assert g1.node == "master" and g1.key == "198.18.0.150/24/eth0:0"
    vip = g1.vips[0]
    assert (vip.address, vip.prefixlen, vip.dev, vip.label) == (
        IPv4Address("198.18.0.150"),
        24,
        "eth0",
        "eth0:0",
    )
    assert vip.vip().address == IPv4Interface("198.18.0.150/24") and vip.vip().label == "eth0:0"
    assert [r.name for r in g1.resources] == ["IPaddr", "nginx"]
    assert g2.where.line == 2 and g2.resources[0].name == "IPaddr2"
    assert g2.resources[1].args == ("/dev/sdb1", "/data", "ext4")
    assert res.local("master") == (g1,) and res.foreign("master") == (g2,)
    bare = hc.parse_haresources("master 198.18.0.9 x\n")[0].groups[0].vips[0]
    assert bare.prefixlen is None and bare.vip("eth0", 24).address == IPv4Interface("198.18.0.9/24")


@pytest.mark.parametrize(
    "text,msg",
    [
        ("other 198.18.0.150 x\n", "haresources:1: node 'other' is not a 'node' in ha.cf"),
        ("master\n", "haresources:1: resource group without resources"),
        ("master IPaddr\n", "haresources:1: IPaddr needs an address: IPaddr::ADDR[/PREFIX[/IF]]"),
        ("master 198.18.0.150/40\n", "haresources:1: bad prefix length /40"),
        ("\nmaster a\nslave a\n", "haresources:3: resource group a defined twice"),
    ],
)
def test_haresources_errors(text: str, msg: str) -> None:
    _, diags = hc.parse_haresources(text, "haresources", ("master", "slave"))
    assert [str(d) for d in diags] == [msg]


def _lab_dir(tmp_path: Path) -> Path:
    d = tmp_path / "ha.d"
    (d / "resource.d").mkdir(parents=True)
    (d / "ha.cf").write_text(LAB_CF)
    (d / "authkeys").write_text("auth 3\n3 md5 Hello!\n")
    os.chmod(d / "authkeys", 0o600)
    (d / "haresources").write_text("master 198.18.0.150/24/eth0:0 nginx\n")
    script = d / "resource.d" / "nginx"
    script.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(script, 0o755)
    return d


def test_load_and_check_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _lab_dir(tmp_path)
    cfg = hc.load_ha_dir(str(d), init_dir=str(tmp_path / "none"))
    assert cfg.errors == () and cfg.exit_code() == 0
    assert cfg.authkeys is not None and cfg.authkeys.active.key == b"Hello!"
    assert hc.resolve_script(str(d), "nginx") == str(d / "resource.d" / "nginx")
    assert hc.check_ha_dir(str(d), node_name="MASTER") == 0
    assert hc.check_ha_dir(str(d), node_name="other") == 0
    assert "warning: " in (err := capsys.readouterr().err) and "this node's name 'other'" in err
    os.chmod(d / "authkeys", 0o644)
    cfg = hc.load_ha_dir(str(d))
    assert cfg.exit_code() == 4 and cfg.authkeys is None
    with pytest.raises(ConfigError, match="authkeys:0: bad permissions 0644"):
        hc.require(cfg)
    os.chmod(d / "authkeys", 0o600)
    (d / "ha.cf").write_text(LAB_CF + "crm respawn\n")
    assert hc.check_ha_dir(str(d), node_name="master") == 5
    assert "ha.cf:14: crm:" in capsys.readouterr().err


def test_missing_files(tmp_path: Path) -> None:
    cfg = hc.load_ha_dir(str(tmp_path))
    assert cfg.exit_code() == 4 and len([d for d in cfg.errors if d.level == "fatal"]) == 3


def test_shipped_reference_cluster(tmp_path: Path) -> None:
    assert CONF.is_dir()
    cfg = hc.load_ha_dir(str(CONF), init_dir=str(tmp_path))
    # the checkout may lose the 0600 mode; check the content on a private copy
    if cfg.authkeys is None:
        d = tmp_path / "ha.d"
        shutil.copytree(CONF, d)
        os.chmod(d / "authkeys", 0o600)
        cfg = hc.load_ha_dir(str(d), init_dir=str(tmp_path))
    assert cfg.errors == ()
    assert cfg.ha_cf.nodes == ("master", "slave") and cfg.ha_cf.auto_failback == "on"
    assert cfg.ha_cf.ping == (IPv4Address("192.168.0.1"),) and cfg.ha_cf.ipfail
    assert cfg.ha_cf.respawn[0].argv == ("/usr/libexec/heartbeat/ipfail",)
    g = cfg.haresources.groups[0]
    assert g.node == "master" and g.key == "192.168.0.150/24/eth0:0"
    assert [r.name for r in g.resources] == ["IPaddr", "nginx"]
    assert cfg.authkeys is not None and cfg.authkeys.active == AuthKey(3, "md5", b"Hello!")


def test_cli_check_ha_dir(tmp_path: Path) -> None:
    """``pyvrrp --ha-dir DIR -t`` (the lead's CLI) reaches :func:`check_ha_dir`."""
    import subprocess
    import sys

    d = _lab_dir(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "pyvrrp", "--ha-dir", str(d), "-t"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "configuration OK" in r.stderr
    (d / "ha.cf").write_text(LAB_CF + "serial /dev/ttyS0\n")
    r = subprocess.run(
        [sys.executable, "-m", "pyvrrp", "--ha-dir", str(d), "-t"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 5 and "ha.cf:14: serial: serial links are not supported" in r.stderr
