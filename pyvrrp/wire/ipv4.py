"""IPv4 header split (what a raw ``AF_INET`` socket returns) and build (what keepalived sends with
``IP_HDRINCL``). RFC 791 §3.1. Pure, struct-based.

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version|  IHL  |Type of Service|          Total Length         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Identification        |Flags|      Fragment Offset    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Time to Live |    Protocol   |         Header Checksum       |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                       Source Address                          |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Destination Address                        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    Options                    |    Padding    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

from pyvrrp.errors import DecodeError
from pyvrrp.wire.checksum import inet_checksum

VRRP_PROTO = 112
# keepalived vrrp.c vrrp_build_ip4: TOS 0xC0 (Internetwork Control), TTL 255, frag_off 0 (no DF),
# id = a per-instance counter starting at 1 that skips 0.
DEFAULT_TOS = 0xC0
DEFAULT_TTL = 255
HEADER_LEN = 20

_HDR = struct.Struct("!BBHHHBBH4s4s")


@dataclass(frozen=True, slots=True)
class IPv4Packet:
    """An IPv4 datagram split into the header fields pyvrrp needs and the upper-layer payload."""

    src: IPv4Address
    dst: IPv4Address
    ttl: int
    proto: int
    tos: int
    payload: bytes
    ident: int = 0


def split(datagram: bytes, proto: int | None = VRRP_PROTO) -> IPv4Packet:
    """Split an IPv4 datagram (header included, as a raw ``AF_INET`` socket returns it).

    Validates version 4, IHL >= 5, that the buffer holds the whole header and ``total length`` bytes, and
    (unless ``proto`` is None) the protocol number. Bytes beyond ``total length`` are link-layer padding
    (an AF_PACKET or pcap frame) and are dropped; a raw socket never returns any. Raises only
    :class:`DecodeError` with counter ``packet_len_err``.
    """
    n = len(datagram)
    if n < HEADER_LEN:
        raise DecodeError(f"IPv4 datagram too short: {n} bytes", "packet_len_err")
    vihl, tos, total, ident, _frag, ttl, p, _csum, src, dst = _HDR.unpack_from(datagram)
    if vihl >> 4 != 4:
        raise DecodeError(f"not an IPv4 header (version {vihl >> 4})", "packet_len_err")
    ihl = (vihl & 0x0F) * 4
    if ihl < HEADER_LEN:
        raise DecodeError(f"IPv4 header length {ihl} < 20", "packet_len_err")
    if total < ihl or total > n:
        raise DecodeError(
            f"IPv4 total length {total} does not fit header {ihl} and buffer {n}", "packet_len_err"
        )
    if proto is not None and p != proto:
        raise DecodeError(f"IPv4 protocol {p}, expected {proto}", "packet_len_err")
    return IPv4Packet(
        src=IPv4Address(src),
        dst=IPv4Address(dst),
        ttl=ttl,
        proto=p,
        tos=tos,
        payload=bytes(datagram[ihl:total]),
        ident=ident,
    )


def build(
    src: IPv4Address,
    dst: IPv4Address,
    payload: bytes,
    proto: int = VRRP_PROTO,
    ttl: int = DEFAULT_TTL,
    tos: int = DEFAULT_TOS,
    ident: int = 0,
) -> bytes:
    """Return a 20-byte IPv4 header (no options, frag_off 0 as keepalived) followed by ``payload``.

    The header checksum is computed (RFC 791 §3.1). Raises ValueError for out-of-range fields.
    """
    total = HEADER_LEN + len(payload)
    if total > 0xFFFF:
        raise ValueError(f"IPv4 datagram too long: {total} bytes")
    for name, value, top in (
        ("proto", proto, 0xFF),
        ("ttl", ttl, 0xFF),
        ("tos", tos, 0xFF),
        ("ident", ident, 0xFFFF),
    ):
        if not 0 <= value <= top:
            raise ValueError(f"IPv4 {name} out of range: {value}")
    header = bytearray(
        _HDR.pack(0x45, tos, total, ident, 0, ttl, proto, 0, IPv4Address(src).packed, IPv4Address(dst).packed)
    )
    struct.pack_into("!H", header, 10, inet_checksum(header))
    return bytes(header) + bytes(payload)


def header_checksum_ok(datagram: bytes) -> bool:
    """True if the IPv4 header checksum of ``datagram`` verifies (the kernel checks it on receive)."""
    if len(datagram) < HEADER_LEN:
        return False
    ihl = (datagram[0] & 0x0F) * 4
    return ihl >= HEADER_LEN and len(datagram) >= ihl and inet_checksum(datagram[:ihl]) == 0
