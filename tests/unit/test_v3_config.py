"""VRRPv3 configuration rules (issue 8): IPv6 forces v3, ``version 2`` with IPv6 VIPs is a config error at
the keyword's file:line, the first IPv6 VIP should be link-local, IPv6 VIPs default to nodad.

keepalived 2.2.7 (checked with ``keepalived -t`` in a namespace): ``version 2`` + IPv6 VIPs is silently
turned into v3 unless strict, where it is "(VI_6) cannot use IPv6 with VRRP version 2; setting version 3"
(exit 5, no file:line). pyvrrp reports it always, with file:line (docs/config-differences.md).
"""

from __future__ import annotations

import asyncio
import logging
from ipaddress import IPv6Address

import pytest

from pyvrrp.config.keepalived import parse_text
from pyvrrp.config.model import Config
from pyvrrp.runtime.daemon import Daemon

IFS = frozenset({"eth0"})
CONF = "/etc/keepalived/keepalived.conf"


def v6_conf(
    version: str = "", vips: tuple[str, ...] = ("fe80::150/64", "2001:db8::150/64"), extra: str = ""
) -> str:
    lines = "".join(f"        {v}\n" for v in vips)
    return (
        "global_defs {\n"  # 1
        "    router_id t\n"  # 2
        "}\n"  # 3
        "vrrp_instance VI_6 {\n"  # 4
        "    state BACKUP\n"  # 5
        "    interface eth0\n"  # 6
        "    virtual_router_id 52\n"  # 7
        "    priority 100\n"  # 8
        f"    advert_int 0.05\n{version}{extra}"  # 9, 10..
        f"    virtual_ipaddress {{\n{lines}    }}\n"
        "}\n"
    )


def diags(cfg: Config, level: str) -> list[str]:
    return [str(d) for d in cfg.diagnostics if d.level == level]


def test_ipv6_vips_in_a_v2_instance_is_an_error_at_the_version_line() -> None:
    cfg = parse_text(v6_conf("    version 2\n"), name=CONF, interfaces=IFS)
    assert diags(cfg, "error") == [
        f"{CONF}:10: (VI_6) cannot use IPv6 with VRRP version 2; setting version 3"
    ]
    assert cfg.exit_code() == 5
    inst = cfg.instance("VI_6")
    assert (inst.family, inst.version) == (6, 3)  # the instance still runs, in v3 (as keepalived)


def test_ipv6_instance_is_v3_without_a_version_keyword_even_with_global_vrrp_version_2() -> None:
    text = v6_conf().replace("    router_id t\n", "    router_id t\n    vrrp_version 2\n")
    cfg = parse_text(text, name=CONF, interfaces=IFS)
    assert diags(cfg, "error") == [] and cfg.exit_code() == 0
    inst = cfg.instance("VI_6")
    assert (inst.family, inst.version) == (6, 3)
    assert inst.advert_int == pytest.approx(0.05)


def test_version_3_ipv6_with_link_local_first_is_clean() -> None:
    cfg = parse_text(v6_conf("    version 3\n"), name=CONF, interfaces=IFS)
    assert [str(d) for d in cfg.diagnostics if d.level in ("error", "fatal", "warning")] == []
    inst = cfg.instance("VI_6")
    assert [str(v.address.ip) for v in inst.vips] == ["fe80::150", "2001:db8::150"]
    # keepalived adds IPv6 VIPs with IFA_F_NODAD unless "-nodad" is given
    assert all(v.nodad for v in inst.vips)


def test_first_ipv6_vip_not_link_local_warns_with_file_line() -> None:
    cfg = parse_text(v6_conf("    version 3\n", vips=("2001:db8::150/64",)), name=CONF, interfaces=IFS)
    assert diags(cfg, "warning") == [f"{CONF}:11: (VI_6) the first IPv6 VIP address should be link local"]
    assert cfg.exit_code() == 0


def test_first_ipv6_vip_not_link_local_is_an_error_in_strict_mode() -> None:
    text = v6_conf("    version 3\n", vips=("2001:db8::150/64",), extra="    strict_mode\n")
    cfg = parse_text(text, name=CONF, interfaces=IFS)
    assert f"{CONF}:12: (VI_6) the first IPv6 VIP address must be link local" in diags(cfg, "error")


def test_ipv4_vip_in_an_ipv6_instance_is_ignored_with_file_line() -> None:
    cfg = parse_text(
        v6_conf("    version 3\n", vips=("fe80::150/64", "198.18.0.150/24")), name=CONF, interfaces=IFS
    )
    assert any(
        d.startswith(f"{CONF}:13:") and "address family must match" in d for d in diags(cfg, "error")
    ), cfg.diagnostics
    assert [v.address.ip for v in cfg.instance("VI_6").vips] == [IPv6Address("fe80::150")]


async def _prepare(cfg: Config) -> None:
    d = Daemon(lambda: cfg)
    d._check_interfaces = lambda _cfg: None  # type: ignore[method-assign]  # no eth0 outside a namespace
    try:
        await d.prepare()
    finally:
        d.nl.close()


def test_daemon_logs_the_first_vip_link_local_warning(caplog: pytest.LogCaptureFixture) -> None:
    """The runtime logs the config warning at start (keepalived logs "(VI) the first IPv6 VIP address should
    be link local") and still starts."""
    text = v6_conf("    version 3\n", vips=("2001:db8::150/64",))
    cfg = parse_text(text, name=CONF, interfaces=IFS)
    with caplog.at_level(logging.WARNING):
        asyncio.run(_prepare(cfg))
    assert f"{CONF}:11: (VI_6) the first IPv6 VIP address should be link local" in caplog.text
