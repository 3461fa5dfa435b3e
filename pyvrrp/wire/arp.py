"""Gratuitous ARP frames as keepalived sends them (``vrrp_arp.c send_gratuitous_arp_immediate``),
plus a parser for tests. Ethernet II + ARP (RFC 826), 42 bytes, no padding (the driver pads on the wire).

    Ethernet: dst ff:ff:ff:ff:ff:ff | src = interface (or VMAC) MAC | type 0x0806
    ARP:      htype 1 | ptype 0x0800 | hlen 6 | plen 4 | op 1 (REQUEST)
              sender MAC = interface MAC | sender IP = VIP
              target MAC = ff:ff:ff:ff:ff:ff (keepalived copies the broadcast address) | target IP = VIP
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARPHRD_ETHER = 1
ARPOP_REQUEST = 1
ARPOP_REPLY = 2
BROADCAST = b"\xff" * 6

_ETH = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")
FRAME_LEN = _ETH.size + _ARP.size  # 42


@dataclass(frozen=True, slots=True)
class ArpPacket:
    eth_dst: bytes
    eth_src: bytes
    op: int
    sender_mac: bytes
    sender_ip: IPv4Address
    target_mac: bytes
    target_ip: IPv4Address

    @property
    def is_gratuitous(self) -> bool:
        """Sender IP equals target IP (RFC 5227 §3 "ARP Announcement")."""
        return self.sender_ip == self.target_ip


def garp(mac: bytes, ip: IPv4Address) -> bytes:
    """The Ethernet frame of keepalived's gratuitous ARP for ``ip`` sent from ``mac`` (6 bytes)."""
    if len(mac) != 6:
        raise ValueError(f"MAC address must be 6 bytes, got {len(mac)}")
    vip = IPv4Address(ip).packed
    return _ETH.pack(BROADCAST, mac, ETH_P_ARP) + _ARP.pack(
        ARPHRD_ETHER, ETH_P_IP, 6, 4, ARPOP_REQUEST, mac, vip, BROADCAST, vip
    )


def parse_arp(frame: bytes) -> ArpPacket | None:
    """Parse an Ethernet/IPv4 ARP frame; None if ``frame`` is anything else (trailing padding is fine)."""
    if len(frame) < FRAME_LEN:
        return None
    dst, src, etype = _ETH.unpack_from(frame)
    if etype != ETH_P_ARP:
        return None
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(frame, _ETH.size)
    if htype != ARPHRD_ETHER or ptype != ETH_P_IP or hlen != 6 or plen != 4:
        return None
    return ArpPacket(dst, src, op, sha, IPv4Address(spa), tha, IPv4Address(tpa))
