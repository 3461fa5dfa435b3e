"""Unsolicited Neighbour Advertisement frames as keepalived sends them
(``vrrp_ndisc.c ndisc_send_unsolicited_na_immediate``), plus a parser for tests. RFC 4861 §4.4 / §7.2.6.

    Ethernet: dst 33:33:00:00:00:01 | src = interface MAC | type 0x86dd
    IPv6:     tc 0, flow 0, next header 58, hop limit 255, src = the VIP itself, dst ff02::1
    ICMPv6:   type 136, code 0, checksum | R (only if forwarding is on) S=0 O=1 | target = VIP
              option 2 (Target Link-Layer Address), length 1, interface MAC
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address

from pyvrrp.errors import DecodeError
from pyvrrp.wire import ipv6
from pyvrrp.wire.checksum import inet_checksum, partial_sum

ETH_P_IPV6 = 0x86DD
IPPROTO_ICMPV6 = 58
ND_NEIGHBOR_ADVERT = 136
ND_OPT_TARGET_LINKADDR = 2
NA_FLAG_ROUTER = 0x80
NA_FLAG_SOLICITED = 0x40
NA_FLAG_OVERRIDE = 0x20
ALL_NODES = IPv6Address("ff02::1")
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"  # RFC 2464 §7
NDISC_HOPLIMIT = 255

_ETH = struct.Struct("!6s6sH")
_NA = struct.Struct("!BBHB3x16s")  # type, code, checksum, flags, reserved, target


@dataclass(frozen=True, slots=True)
class NeighborAdvert:
    eth_dst: bytes
    eth_src: bytes
    src: IPv6Address
    dst: IPv6Address
    hop_limit: int
    router: bool
    solicited: bool
    override: bool
    target: IPv6Address
    target_mac: bytes | None  # the Target Link-Layer Address option, if present
    checksum_ok: bool


def unsolicited_na(mac: bytes, src_ll: IPv6Address, target: IPv6Address, *, router: bool = False) -> bytes:
    """The Ethernet frame of keepalived's unsolicited NA for ``target`` from ``mac``.

    ``src_ll`` is the IPv6 source address. keepalived 2.2.7 uses the VIP itself (so pass ``target``;
    the capture shows ``2001:db8::155 -> ff02::1``). ``router`` sets the R flag, which keepalived does
    when IPv6 forwarding is enabled on the interface (``set_ipv6_forwarding``). Override is always set.
    """
    if len(mac) != 6:
        raise ValueError(f"MAC address must be 6 bytes, got {len(mac)}")
    flags = NA_FLAG_OVERRIDE | (NA_FLAG_ROUTER if router else 0)
    icmp = bytearray(_NA.pack(ND_NEIGHBOR_ADVERT, 0, 0, flags, IPv6Address(target).packed))
    icmp += struct.pack("!BB", ND_OPT_TARGET_LINKADDR, 1) + mac
    ph = ipv6.pseudo_header(src_ll, ALL_NODES, len(icmp), IPPROTO_ICMPV6)
    struct.pack_into("!H", icmp, 2, inet_checksum(icmp, partial_sum(ph)))
    ip = ipv6.build(src_ll, ALL_NODES, bytes(icmp), IPPROTO_ICMPV6, hop_limit=NDISC_HOPLIMIT)
    return _ETH.pack(ALL_NODES_MAC, mac, ETH_P_IPV6) + ip


def parse_na(frame: bytes) -> NeighborAdvert | None:
    """Parse an Ethernet/IPv6 Neighbour Advertisement (no extension headers); None for anything else."""
    if len(frame) < _ETH.size:
        return None
    dst_mac, src_mac, etype = _ETH.unpack_from(frame)
    if etype != ETH_P_IPV6:
        return None
    try:
        pkt = ipv6.split(frame[_ETH.size :])
    except DecodeError:
        return None
    icmp = pkt.payload
    if pkt.next_header != IPPROTO_ICMPV6 or len(icmp) < _NA.size or icmp[0] != ND_NEIGHBOR_ADVERT:
        return None
    _t, _c, _csum, flags, target = _NA.unpack_from(icmp)
    tll = None
    off = _NA.size
    while off + 2 <= len(icmp):  # RFC 4861 §4.6 options: type, length in units of 8 bytes
        otype, olen = icmp[off], icmp[off + 1] * 8
        if olen == 0 or off + olen > len(icmp):
            break
        if otype == ND_OPT_TARGET_LINKADDR and olen >= 8:
            tll = icmp[off + 2 : off + 8]
        off += olen
    ph = ipv6.pseudo_header(pkt.src, pkt.dst, len(icmp), IPPROTO_ICMPV6)
    return NeighborAdvert(
        eth_dst=dst_mac,
        eth_src=src_mac,
        src=pkt.src,
        dst=pkt.dst,
        hop_limit=pkt.hop_limit,
        router=bool(flags & NA_FLAG_ROUTER),
        solicited=bool(flags & NA_FLAG_SOLICITED),
        override=bool(flags & NA_FLAG_OVERRIDE),
        target=IPv6Address(target),
        target_mac=tll,
        checksum_ok=inet_checksum(icmp, partial_sum(ph)) == 0,
    )
