"""Gratuitous ARP and unsolicited NA frames, byte-equal to what keepalived 2.2.7 sent in the captures."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvrrp.wire import arp, ndisc, pcap

DATA = Path(__file__).resolve().parent.parent / "data" / "keepalived"
CAPTURES = [DATA / "keepalived-2.2.7-pair.pcap", DATA / "keepalived-2.2.7-vectors.pcap"]
MAC_A = bytes.fromhex("020000000001")


def _frames(path: Path):
    for _ts, linktype, frame in pcap.read(path):
        assert linktype == pcap.LINKTYPE_ETHERNET
        yield frame


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_garp_equals_capture(path: Path) -> None:
    vips = set()
    for frame in _frames(path):
        pkt = arp.parse_arp(frame)
        if pkt is None or not pkt.is_gratuitous:
            continue
        assert pkt.op == arp.ARPOP_REQUEST and pkt.eth_dst == arp.BROADCAST
        assert pkt.sender_mac == pkt.eth_src == MAC_A
        assert pkt.target_mac == b"\xff" * 6  # keepalived copies the broadcast address
        assert len(frame) == 42  # no padding
        assert arp.garp(MAC_A, pkt.target_ip) == frame
        vips.add(pkt.target_ip)
    assert {IPv4Address(f"198.18.0.{i}") for i in range(150, 156)} == vips


def test_non_gratuitous_arp_parsed_but_not_gratuitous() -> None:
    replies = [p for f in _frames(CAPTURES[1]) if (p := arp.parse_arp(f)) and not p.is_gratuitous]
    assert replies and any(p.op == arp.ARPOP_REPLY for p in replies)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_unsolicited_na_equals_capture(path: Path) -> None:
    count = 0
    for frame in _frames(path):
        na = ndisc.parse_na(frame)
        if na is None:
            continue
        count += 1
        assert na.checksum_ok and na.override and not na.router and not na.solicited
        assert (na.hop_limit, na.dst, na.eth_dst) == (255, IPv6Address("ff02::1"), ndisc.ALL_NODES_MAC)
        assert na.src == na.target == IPv6Address("2001:db8::155")  # keepalived sources the NA from the VIP
        assert na.target_mac == MAC_A
        assert ndisc.unsolicited_na(MAC_A, na.target, na.target) == frame
    assert count >= 5


def test_na_router_flag() -> None:
    vip = IPv6Address("2001:db8::155")
    na = ndisc.parse_na(ndisc.unsolicited_na(MAC_A, vip, vip, router=True))
    assert na is not None and na.router and na.override and na.checksum_ok


def test_parsers_ignore_other_frames() -> None:
    vip6 = IPv6Address("2001:db8::155")
    na_frame = ndisc.unsolicited_na(MAC_A, vip6, vip6)
    garp_frame = arp.garp(MAC_A, IPv4Address("198.18.0.150"))
    assert arp.parse_arp(na_frame) is None
    assert ndisc.parse_na(garp_frame) is None
    assert arp.parse_arp(garp_frame[:41]) is None
    assert ndisc.parse_na(na_frame[:60]) is None
    for frame in _frames(CAPTURES[0]):  # VRRP, router solicitations: neither ARP nor NA
        if frame[12:14] == b"\x08\x00" or (frame[12:14] == b"\x86\xdd" and frame[54] != 136):
            assert arp.parse_arp(frame) is None and ndisc.parse_na(frame) is None
    corrupted = bytearray(na_frame)
    corrupted[-1] ^= 1
    parsed = ndisc.parse_na(bytes(corrupted))
    assert parsed is not None and not parsed.checksum_ok


def test_bad_mac_rejected() -> None:
    with pytest.raises(ValueError):
        arp.garp(b"\x02\x00", IPv4Address("198.18.0.150"))
    with pytest.raises(ValueError):
        ndisc.unsolicited_na(b"", IPv6Address("2001:db8::1"), IPv6Address("2001:db8::1"))


@settings(max_examples=100, deadline=None)
@given(mac=st.binary(min_size=6, max_size=6), ip=st.integers(0, 2**32 - 1).map(IPv4Address))
def test_garp_matches_scapy(mac: bytes, ip: IPv4Address) -> None:
    from scapy.layers.l2 import ARP, Ether

    hw = ":".join(f"{b:02x}" for b in mac)
    oracle = Ether(dst="ff:ff:ff:ff:ff:ff", src=hw) / ARP(
        op=1, hwsrc=hw, psrc=str(ip), hwdst="ff:ff:ff:ff:ff:ff", pdst=str(ip)
    )
    assert arp.garp(mac, ip) == bytes(oracle)


@settings(max_examples=100, deadline=None)
@given(mac=st.binary(min_size=6, max_size=6), ip=st.integers(0, 2**128 - 1).map(IPv6Address))
def test_na_matches_scapy(mac: bytes, ip: IPv6Address) -> None:
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
    from scapy.layers.l2 import Ether

    hw = ":".join(f"{b:02x}" for b in mac)
    oracle = (
        Ether(dst="33:33:00:00:00:01", src=hw)
        / IPv6(src=str(ip), dst="ff02::1", hlim=255)
        / ICMPv6ND_NA(R=0, S=0, O=1, tgt=str(ip))
        / ICMPv6NDOptDstLLAddr(lladdr=hw)
    )
    assert ndisc.unsolicited_na(mac, ip, ip) == bytes(oracle)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=100))
def test_parsers_never_raise(data: bytes) -> None:
    arp.parse_arp(data)
    ndisc.parse_na(data)
