"""The pure pcap/pcapng reader: the keepalived captures in three container formats (pcap, nanosecond
pcap and pcapng written by editcap), synthetic big-endian files and Linux cooked (SLL/SLL2) frames."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvrrp.wire import ipv4, pcap, vrrp

DATA = Path(__file__).resolve().parent.parent / "data" / "keepalived"


def test_pcap_and_pcapng_agree() -> None:
    classic = list(pcap.read(DATA / "keepalived-2.2.7-vectors.pcap"))
    ng = list(pcap.read(DATA / "keepalived-2.2.7-vectors.pcapng"))
    assert len(classic) == len(ng) > 50
    for (t1, l1, f1), (t2, l2, f2) in zip(classic, ng, strict=True):
        assert (l1, f1) == (l2, f2) == (pcap.LINKTYPE_ETHERNET, f1)
        assert abs(t1 - t2) < 1e-6


def test_nanosecond_pcap_agrees() -> None:
    us = list(pcap.read(DATA / "keepalived-2.2.7-pair.pcap"))
    ns = list(pcap.read(str(DATA / "keepalived-2.2.7-pair-nsec.pcap")))
    assert [f for _, _, f in us] == [f for _, _, f in ns]
    assert all(abs(a[0] - b[0]) < 1e-6 for a, b in zip(us, ns, strict=True))
    assert us[0][0] > 1.6e9  # absolute epoch timestamps
    assert all(b[0] >= a[0] for a, b in zip(us, us[1:], strict=False))


# ------------------------------------------------------------------------------- synthetic writers


def _pcap(records, linktype: int, endian: str = "<", nano: bool = False) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for ts, frame in records:
        sec = int(ts)
        frac = round((ts - sec) * (1e9 if nano else 1e6))
        out += struct.pack(endian + "IIII", sec, frac, len(frame), len(frame)) + frame
    return out


def _block(endian: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(endian + "II", btype, n) + body + struct.pack(endian + "I", n)


def _pcapng(
    records, linktype: int, endian: str = "<", tsresol: int | None = None, simple: bool = False
) -> bytes:
    shb = _block(endian, 0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = b""
    if tsresol is not None:
        opts = struct.pack(endian + "HHB3x", 9, 1, tsresol) + struct.pack(endian + "HH", 0, 0)
    idb = _block(endian, 1, struct.pack(endian + "HHI", linktype, 0, 0) + opts)
    unknown = _block(endian, 0x00000BAD, b"skip me!")
    tick = 1e-6 if tsresol is None else (2.0 ** -(tsresol & 0x7F) if tsresol & 0x80 else 10.0**-tsresol)
    out = shb + idb + unknown
    for ts, frame in records:
        if simple:
            out += _block(endian, 3, struct.pack(endian + "I", len(frame)) + frame)
        else:
            t = round(ts / tick)
            out += _block(
                endian,
                6,
                struct.pack(endian + "IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(frame), len(frame)) + frame,
            )
    return out


def _vrrp_frames() -> list[tuple[float, bytes]]:
    return [
        (ts, f) for ts, _lt, f in pcap.read(DATA / "keepalived-2.2.7-pair.pcap") if f[12:14] == b"\x08\x00"
    ][:5]


def _sll(frame: bytes) -> bytes:  # Linux cooked v1: pkttype, hatype, halen, addr[8], protocol
    return struct.pack("!HHH8sH", 0, 1, 6, frame[6:12] + b"\0\0", 0x0800) + frame[14:]


def _sll2(frame: bytes) -> bytes:  # v2: protocol, reserved, ifindex, hatype, pkttype, halen, addr[8]
    return struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, frame[6:12] + b"\0\0") + frame[14:]


def _vlan(frame: bytes) -> bytes:
    return frame[:12] + b"\x81\x00\x00\x64" + frame[12:]


@pytest.mark.parametrize(
    ("linktype", "wrap"),
    [
        (pcap.LINKTYPE_ETHERNET, lambda f: f),
        (pcap.LINKTYPE_ETHERNET, _vlan),
        (pcap.LINKTYPE_LINUX_SLL, _sll),
        (pcap.LINKTYPE_LINUX_SLL2, _sll2),
        (pcap.LINKTYPE_RAW, lambda f: f[14:]),
    ],
    ids=["eth", "vlan", "sll", "sll2", "raw"],
)
@pytest.mark.parametrize(
    "container",
    [
        lambda r, lt: _pcap(r, lt),
        lambda r, lt: _pcap(r, lt, ">", nano=True),
        lambda r, lt: _pcapng(r, lt),
        lambda r, lt: _pcapng(r, lt, ">", tsresol=9),
        lambda r, lt: _pcapng(r, lt, "<", tsresol=0x80 | 20),
    ],
    ids=["pcap-le", "pcap-be-ns", "ng-le", "ng-be-ns", "ng-pow2"],
)
def test_link_types_and_containers(linktype: int, wrap, container) -> None:
    frames = _vrrp_frames()
    data = container([(ts, wrap(f)) for ts, f in frames], linktype)
    got = list(pcap.parse(data))
    assert len(got) == len(frames)
    for (ts, lt, frame), (ts0, orig) in zip(got, frames, strict=True):
        assert lt == linktype
        assert abs(ts - ts0) < 1e-5
        etype, l3 = pcap.network_layer(lt, frame)
        assert etype == pcap.ETH_P_IP and l3 == orig[14:]
        p = ipv4.split(l3)
        assert vrrp.decode(p.payload, 4, p.src, p.dst).vrid in (51, 52, 53, 54)


def test_simple_packet_block() -> None:
    frames = _vrrp_frames()
    got = list(pcap.parse(_pcapng(frames, pcap.LINKTYPE_ETHERNET, simple=True)))
    assert [f for _, _, f in got] == [f for _, f in frames]
    assert all(ts == 0.0 for ts, _, _ in got)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xd4\xc3\xb2",
        b"not a capture file at all, really",
        _pcap([(1.0, b"abc")], 1)[:-1],
        _pcap([(1.0, b"abc")], 1)[:30],
        _pcapng([(1.0, b"abcd")], 1)[:-4],
        _pcapng([], 1).replace(struct.pack("<I", 0x1A2B3C4D), b"XXXX"),
    ],
)
def test_malformed_raise_pcap_error(data: bytes) -> None:
    with pytest.raises(pcap.PcapError):
        list(pcap.parse(data))


def test_network_layer_unknown_or_short() -> None:
    assert pcap.network_layer(147, b"\0" * 40) is None
    assert pcap.network_layer(pcap.LINKTYPE_ETHERNET, b"\0" * 13) is None
    assert pcap.network_layer(pcap.LINKTYPE_LINUX_SLL, b"\0" * 15) is None
    assert pcap.network_layer(pcap.LINKTYPE_LINUX_SLL2, b"\0" * 19) is None
    assert pcap.network_layer(pcap.LINKTYPE_RAW, b"") is None
    assert pcap.network_layer(pcap.LINKTYPE_RAW, b"\x15") is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_parse_arbitrary_bytes_raises_only_pcap_error(data: bytes) -> None:
    try:
        list(pcap.parse(data))
    except pcap.PcapError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    ng=st.booleans(),
    pos=st.integers(0, 10_000),
    value=st.integers(0, 255),
    cut=st.integers(0, 64),
)
def test_parse_mutated_file_raises_only_pcap_error(ng: bool, pos: int, value: int, cut: int) -> None:
    frames = _vrrp_frames()[:2]
    data = bytearray(_pcapng(frames, 1, tsresol=9) if ng else _pcap(frames, 1))
    data[pos % len(data)] = value
    try:
        list(pcap.parse(bytes(data[: len(data) - cut])))
    except pcap.PcapError:
        pass
