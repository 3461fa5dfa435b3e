"""A tiny pure reader for pcap and pcapng capture files, for tests, replay and benchmarks.

``read(path)`` / ``parse(data)`` yield ``(timestamp, linktype, frame)``; ``network_layer(linktype, frame)``
strips the link-layer header (Ethernet with 802.1Q/802.1ad tags, Linux cooked SLL and SLL2, raw IP).
Formats: libpcap (both byte orders, micro- and nanosecond magic) and pcapng (Section Header,
Interface Description with ``if_tsresol``, Enhanced, Simple and obsolete Packet blocks; other blocks are
skipped). Malformed files raise :class:`PcapError` (a ValueError).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD

_PCAP_MAGIC_US = 0xA1B2C3D4
_PCAP_MAGIC_NS = 0xA1B23C4D
_PCAPNG_SHB = 0x0A0D0D0A
_PCAPNG_BOM = 0x1A2B3C4D

Record = tuple[float, int, bytes]


class PcapError(ValueError):
    """The capture file is truncated or not pcap/pcapng."""


def read(path: str | Path) -> Iterator[Record]:
    """Yield ``(timestamp, linktype, frame)`` for every packet of a pcap or pcapng file."""
    with open(path, "rb") as f:
        data = f.read()
    yield from parse(data)


def parse(data: bytes) -> Iterator[Record]:
    """Like :func:`read`, from the file's bytes."""
    if len(data) < 4:
        raise PcapError("file too short for a capture header")
    if struct.unpack_from("<I", data)[0] == _PCAPNG_SHB:
        yield from _parse_pcapng(data)
    else:
        yield from _parse_pcap(data)


def _parse_pcap(data: bytes) -> Iterator[Record]:
    if len(data) < 24:
        raise PcapError("truncated pcap global header")
    for endian in ("<", ">"):
        magic = struct.unpack_from(endian + "I", data)[0]
        if magic in (_PCAP_MAGIC_US, _PCAP_MAGIC_NS):
            break
    else:
        raise PcapError(f"not a pcap/pcapng file (magic {data[:4].hex()})")
    scale = 1e-9 if magic == _PCAP_MAGIC_NS else 1e-6
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF  # upper bits: FCS info
    rec = struct.Struct(endian + "IIII")
    off = 24
    while off < len(data):
        if off + rec.size > len(data):
            raise PcapError(f"truncated pcap record header at offset {off}")
        sec, frac, incl, _orig = rec.unpack_from(data, off)
        off += rec.size
        if off + incl > len(data):
            raise PcapError(f"truncated pcap record at offset {off}")
        yield sec + frac * scale, linktype, bytes(data[off : off + incl])
        off += incl


def _parse_pcapng(data: bytes) -> Iterator[Record]:
    endian = "<"
    ifaces: list[tuple[int, float, int]] = []  # (linktype, seconds per tick, snaplen)
    off = 0
    while off < len(data):
        if off + 12 > len(data):
            raise PcapError(f"truncated pcapng block header at offset {off}")
        btype = struct.unpack_from(endian + "I", data, off)[0]
        if btype == _PCAPNG_SHB or struct.unpack_from("<I", data, off)[0] == _PCAPNG_SHB:
            bom = data[off + 8 : off + 12]
            if bom == struct.pack("<I", _PCAPNG_BOM):
                endian = "<"
            elif bom == struct.pack(">I", _PCAPNG_BOM):
                endian = ">"
            else:
                raise PcapError(f"bad pcapng byte-order magic at offset {off}")
            btype = _PCAPNG_SHB
            ifaces = []  # interface ids are per section
        blen = struct.unpack_from(endian + "I", data, off + 4)[0]
        if blen < 12 or blen % 4 or off + blen > len(data):
            raise PcapError(f"bad pcapng block length {blen} at offset {off}")
        body = data[off + 8 : off + blen - 4]
        off += blen
        if btype == 1:  # Interface Description Block
            if len(body) < 8:
                raise PcapError("truncated pcapng interface description")
            linktype, _rsvd, snaplen = struct.unpack_from(endian + "HHI", body)
            ifaces.append((linktype, _tsresol(body[8:], endian), snaplen))
        elif btype in (6, 2):  # Enhanced Packet Block / obsolete Packet Block
            if len(body) < 20:
                raise PcapError("truncated pcapng packet block")
            if btype == 6:
                ifid, hi, lo, caplen, _orig = struct.unpack_from(endian + "IIIII", body)
            else:
                ifid, _drops, hi, lo, caplen, _orig = struct.unpack_from(endian + "HHIIII", body)
            if ifid >= len(ifaces) or 20 + caplen > len(body):
                raise PcapError("pcapng packet block refers to an unknown interface or overflows")
            linktype, tick, _snap = ifaces[ifid]
            yield ((hi << 32) | lo) * tick, linktype, bytes(body[20 : 20 + caplen])
        elif btype == 3:  # Simple Packet Block: interface 0, no timestamp
            if not ifaces or len(body) < 4:
                raise PcapError("pcapng simple packet block without interface")
            orig = struct.unpack_from(endian + "I", body)[0]
            linktype, _tick, snaplen = ifaces[0]
            caplen = min(orig, snaplen or orig, len(body) - 4)
            yield 0.0, linktype, bytes(body[4 : 4 + caplen])


def _tsresol(options: bytes, endian: str) -> float:
    """Seconds per timestamp unit from an IDB's ``if_tsresol`` option (code 9); default microseconds."""
    off = 0
    while off + 4 <= len(options):
        code, length = struct.unpack_from(endian + "HH", options, off)
        if code == 0:
            break
        if code == 9 and length >= 1 and off + 5 <= len(options):
            v = options[off + 4]
            return 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0**-v
        off += 4 + ((length + 3) & ~3)
    return 1e-6


def network_layer(linktype: int, frame: bytes) -> tuple[int, bytes] | None:
    """Return ``(ethertype, network-layer bytes)`` of a captured frame, or None if the link type is
    unknown or the frame too short. Link-layer padding is left in place (``ipv4.split`` trims it)."""
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None
        off, etype = 14, struct.unpack_from("!H", frame, 12)[0]
        while etype in (ETH_P_8021Q, ETH_P_8021AD):
            if len(frame) < off + 4:
                return None
            etype = struct.unpack_from("!H", frame, off + 2)[0]
            off += 4
        return etype, bytes(frame[off:])
    if linktype == LINKTYPE_LINUX_SLL:  # pkttype, hatype, halen, addr[8], protocol
        if len(frame) < 16:
            return None
        return struct.unpack_from("!H", frame, 14)[0], bytes(frame[16:])
    if linktype == LINKTYPE_LINUX_SLL2:  # protocol, rsvd, ifindex, hatype, pkttype, halen, addr[8]
        if len(frame) < 20:
            return None
        return struct.unpack_from("!H", frame, 0)[0], bytes(frame[20:])
    if linktype == LINKTYPE_RAW:
        if not frame:
            return None
        version = frame[0] >> 4
        if version not in (4, 6):
            return None
        return (ETH_P_IP if version == 4 else ETH_P_IPV6), bytes(frame)
    return None
