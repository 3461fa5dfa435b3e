"""IPv6 helpers: the upper-layer checksum pseudo-header (RFC 8200 §8.1) and a fixed-header
build/split used for NA frames and AF_PACKET/pcap work. A raw ``AF_INET6`` socket never returns the
IPv6 header: the kernel builds it on send and strips it on receive (hop limit comes via IPV6_HOPLIMIT).

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version| Traffic Class |           Flow Label                  |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Payload Length        |  Next Header  |   Hop Limit   |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                 Source Address (128 bits)                     |
    |                 Destination Address (128 bits)                |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address

from pyvrrp.errors import DecodeError

HEADER_LEN = 40
_HDR = struct.Struct("!IHBB16s16s")


def pseudo_header(src: IPv6Address, dst: IPv6Address, length: int, next_header: int) -> bytes:
    """The 40-byte IPv6 pseudo-header for upper-layer checksums (RFC 8200 §8.1):
    source, destination, 32-bit upper-layer length, 3 zero bytes, next header."""
    return IPv6Address(src).packed + IPv6Address(dst).packed + struct.pack("!I3xB", length, next_header)


@dataclass(frozen=True, slots=True)
class IPv6Packet:
    src: IPv6Address
    dst: IPv6Address
    hop_limit: int
    next_header: int
    traffic_class: int
    flow_label: int
    payload: bytes


def build(
    src: IPv6Address,
    dst: IPv6Address,
    payload: bytes,
    next_header: int,
    hop_limit: int = 255,
    traffic_class: int = 0,
    flow_label: int = 0,
) -> bytes:
    """A fixed 40-byte IPv6 header (no extension headers) followed by ``payload``."""
    if len(payload) > 0xFFFF:
        raise ValueError(f"IPv6 payload too long: {len(payload)} bytes")
    first = (6 << 28) | ((traffic_class & 0xFF) << 20) | (flow_label & 0xFFFFF)
    return (
        _HDR.pack(
            first, len(payload), next_header, hop_limit, IPv6Address(src).packed, IPv6Address(dst).packed
        )
        + payload
    )


def split(datagram: bytes) -> IPv6Packet:
    """Split an IPv6 datagram with a fixed header (no extension headers are walked). Padding past the
    payload length is dropped. Raises only :class:`DecodeError` (counter ``packet_len_err``)."""
    if len(datagram) < HEADER_LEN:
        raise DecodeError(f"IPv6 datagram too short: {len(datagram)} bytes", "packet_len_err")
    first, plen, nh, hlim, src, dst = _HDR.unpack_from(datagram)
    if first >> 28 != 6:
        raise DecodeError(f"not an IPv6 header (version {first >> 28})", "packet_len_err")
    if HEADER_LEN + plen > len(datagram):
        raise DecodeError(
            f"IPv6 payload length {plen} exceeds buffer {len(datagram) - HEADER_LEN}", "packet_len_err"
        )
    return IPv6Packet(
        src=IPv6Address(src),
        dst=IPv6Address(dst),
        hop_limit=hlim,
        next_header=nh,
        traffic_class=(first >> 20) & 0xFF,
        flow_label=first & 0xFFFFF,
        payload=bytes(datagram[HEADER_LEN : HEADER_LEN + plen]),
    )
