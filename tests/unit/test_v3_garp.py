"""GarpSender (pyvrrp.io.garp) for IPv6 VIPs: one unsolicited NA per VIP, from the VIP to ff02::1 with the
Override flag, and the Router flag exactly when the interface forwards IPv6 (keepalived 2.2.7
``vrrp_ndisc.c``, re-read at every send; verified against keepalived in tests/netns/test_vrrp_v3.py).
No socket is opened: a fake one records the frames."""

from __future__ import annotations

import os
from ipaddress import IPv4Address, IPv6Address, ip_interface

import pytest

from pyvrrp.config.model import VipConfig
from pyvrrp.io import garp
from pyvrrp.wire import arp as wire_arp
from pyvrrp.wire import ndisc as wire_ndisc

MAC = bytes.fromhex("0200c6120008")
VIPS = (
    VipConfig(ip_interface("fe80::150/64")),
    VipConfig(ip_interface("2001:db8::150/64")),
)


class FakeSock:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send(self, frame: bytes) -> int:
        self.frames.append(frame)
        return len(frame)


def sender(monkeypatch: pytest.MonkeyPatch, forwarding: list[bool]) -> tuple[garp.GarpSender, FakeSock]:
    """A sender on 'eth9' whose forwarding sysctl reads successive values from ``forwarding``."""
    reads = iter(forwarding)
    monkeypatch.setattr(garp, "ipv6_forwarding", lambda ifname: next(reads))
    s = garp.GarpSender("eth9")
    fake = FakeSock()
    s.sock = fake  # type: ignore[assignment]
    s.mac = MAC
    return s, fake


@pytest.mark.parametrize("forwarding", [False, True])
def test_na_per_vip_from_the_vip_with_override(monkeypatch: pytest.MonkeyPatch, forwarding: bool) -> None:
    s, fake = sender(monkeypatch, [forwarding])
    assert s.send_once(VIPS) == 2
    nas = [wire_ndisc.parse_na(f) for f in fake.frames]
    assert all(na is not None for na in nas)
    assert [na.target for na in nas] == [IPv6Address("fe80::150"), IPv6Address("2001:db8::150")]
    for na in nas:
        assert na.src == na.target and na.dst == IPv6Address("ff02::1") and na.hop_limit == 255
        assert na.override and not na.solicited and na.checksum_ok
        assert na.router is forwarding
        assert na.eth_src == MAC and na.target_mac == MAC and na.eth_dst == wire_ndisc.ALL_NODES_MAC
    assert s.sent == 2


def test_forwarding_is_read_once_per_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each round re-reads the sysctl (forwarding switched on between two rounds shows in the second)."""
    s, fake = sender(monkeypatch, [False, True])
    s.send_once(VIPS)
    s.send_once(VIPS)
    flags = [wire_ndisc.parse_na(f).router for f in fake.frames]  # type: ignore[union-attr]
    assert flags == [False, False, True, True]


def test_ipv4_only_round_does_not_read_the_ipv6_sysctl(monkeypatch: pytest.MonkeyPatch) -> None:
    s, fake = sender(monkeypatch, [])  # reading would raise StopIteration
    s.send_once((VipConfig(ip_interface("198.18.0.150/24")),))
    a = wire_arp.parse_arp(fake.frames[0])
    assert a is not None and a.is_gratuitous and a.sender_ip == IPv4Address("198.18.0.150")


def test_ipv6_forwarding_reads_proc() -> None:
    assert garp.ipv6_forwarding("no-such-interface-h8") is False
    path = "/proc/sys/net/ipv6/conf/lo/forwarding"
    if os.path.exists(path):  # a kernel without IPv6 has no such file: False, as for a missing interface
        with open(path) as f:
            assert garp.ipv6_forwarding("lo") is (f.read().strip() != "0")
