"""Internet checksum, IPv4 split/build (against keepalived 2.2.7's IP headers) and IPv6 helpers."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvrrp.errors import DecodeError
from pyvrrp.wire import ipv4, ipv6, pcap
from pyvrrp.wire.checksum import inet_checksum, partial_sum

DATA = Path(__file__).resolve().parent.parent / "data" / "keepalived"
PAIR = DATA / "keepalived-2.2.7-pair.pcap"


def _naive_checksum(data: bytes) -> int:
    """RFC 1071 §4.1, word by word."""
    if len(data) % 2:
        data += b"\0"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_checksum_matches_rfc1071(data: bytes) -> None:
    assert inet_checksum(data) == _naive_checksum(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.binary(max_size=64).map(lambda b: b[: len(b) & ~1]))
def test_checksum_partial_sum_composes(tail: bytes, head: bytes) -> None:
    assert inet_checksum(tail, partial_sum(head)) == inet_checksum(head + tail)


def test_checksum_edge_cases() -> None:
    assert inet_checksum(b"") == 0xFFFF
    assert inet_checksum(b"\0\0") == 0xFFFF
    assert inet_checksum(b"\xff\xff") == 0
    assert inet_checksum(b"\xff\xff\xff\xff") == 0
    # RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2
    assert inet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == (~0xDDF2 & 0xFFFF)


def _captured_ipv4() -> list[bytes]:
    out = []
    for _ts, linktype, frame in pcap.read(PAIR):
        nl = pcap.network_layer(linktype, frame)
        if nl and nl[0] == pcap.ETH_P_IP and nl[1][9] == 112:
            out.append(nl[1])
    return out


def test_build_equals_captured_header() -> None:
    """keepalived 2.2.7 (vrrp.c vrrp_build_ip4): 0x45, TOS 0xC0, no DF, TTL 255, proto 112, a per-instance id."""
    datagrams = _captured_ipv4()
    assert len(datagrams) > 30
    for l3 in datagrams:
        p = ipv4.split(l3)
        assert (p.tos, p.ttl, p.proto) == (0xC0, 255, 112)
        assert l3[6:8] == b"\0\0"  # flags/fragment offset: no DF
        assert ipv4.build(p.src, p.dst, p.payload, ident=p.ident) == l3
        assert ipv4.header_checksum_ok(l3)
    first = ipv4.split(datagrams[0])
    assert first.ident == 1  # keepalived starts its per-instance counter at 1


def test_split_fields() -> None:
    l3 = _captured_ipv4()[0]
    p = ipv4.split(l3)
    assert p.src == IPv4Address("198.18.0.161") and p.dst == IPv4Address("224.0.0.18")
    assert p.payload == l3[20:]


def test_split_trims_link_padding_and_options() -> None:
    payload = bytes(range(16))
    dgram = ipv4.build(IPv4Address("198.18.0.161"), IPv4Address("224.0.0.18"), payload)
    assert ipv4.split(dgram + b"\0" * 10).payload == payload
    # a header with 4 bytes of options (IHL 6)
    hdr = bytearray(dgram[:20])
    hdr[0] = 0x46
    struct.pack_into("!H", hdr, 2, 24 + len(payload))
    opt = bytes(hdr) + b"\x01\x01\x01\x00" + payload
    assert ipv4.split(opt).payload == payload


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda d: d[:19], "too short"),
        (lambda d: b"\x65" + d[1:], "version"),
        (lambda d: b"\x44" + d[1:], "header length"),
        (lambda d: d[:2] + struct.pack("!H", len(d) + 1) + d[4:], "total length"),
        (lambda d: d[:2] + struct.pack("!H", 19) + d[4:], "total length"),
        (lambda d: d[:9] + b"\x06" + d[10:], "protocol"),
    ],
)
def test_split_rejects(mutate, why: str) -> None:
    dgram = _captured_ipv4()[0]
    with pytest.raises(DecodeError, match=why) as ei:
        ipv4.split(mutate(dgram))
    assert ei.value.counter == "packet_len_err"


def test_split_any_protocol() -> None:
    dgram = ipv4.build(IPv4Address("198.18.0.1"), IPv4Address("198.18.0.10"), b"x", proto=17)
    assert ipv4.split(dgram, proto=None).proto == 17


def test_build_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        ipv4.build(IPv4Address("198.18.0.1"), IPv4Address("198.18.0.10"), b"", ttl=256)
    with pytest.raises(ValueError):
        ipv4.build(IPv4Address("198.18.0.1"), IPv4Address("198.18.0.10"), bytes(0x10000))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80), st.sampled_from([None, 112]))
def test_split_arbitrary_bytes_raises_only_decode_error(data: bytes, proto) -> None:
    try:
        p = ipv4.split(data, proto=proto)
    except DecodeError as e:
        assert e.counter == "packet_len_err"
    else:
        assert len(p.payload) <= len(data) - 20


@settings(max_examples=200, deadline=None)
@given(
    src=st.integers(0, 2**32 - 1).map(IPv4Address),
    dst=st.integers(0, 2**32 - 1).map(IPv4Address),
    payload=st.binary(max_size=64),
    ttl=st.integers(0, 255),
    tos=st.integers(0, 255),
    ident=st.integers(0, 0xFFFF),
)
def test_build_split_round_trip_and_scapy(src, dst, payload, ttl, tos, ident) -> None:
    from scapy.layers.inet import IP

    dgram = ipv4.build(src, dst, payload, ttl=ttl, tos=tos, ident=ident)
    p = ipv4.split(dgram)
    assert (p.src, p.dst, p.ttl, p.tos, p.ident, p.payload) == (src, dst, ttl, tos, ident, payload)
    oracle = IP(src=str(src), dst=str(dst), ttl=ttl, tos=tos, id=ident, proto=112, flags=0) / payload
    assert bytes(oracle) == dgram


def test_ipv6_pseudo_header() -> None:
    ph = ipv6.pseudo_header(IPv6Address("fe80::1"), IPv6Address("ff02::12"), 24, 112)
    assert len(ph) == 40
    assert ph[32:] == bytes([0, 0, 0, 24, 0, 0, 0, 112])
    assert ph[:16] == IPv6Address("fe80::1").packed and ph[16:32] == IPv6Address("ff02::12").packed


def test_ipv6_build_split() -> None:
    src, dst = IPv6Address("2001:db8::1"), IPv6Address("ff02::1")
    d = ipv6.build(src, dst, b"abc", 58, hop_limit=255, traffic_class=0xC0, flow_label=0x9D932)
    p = ipv6.split(d + b"\0\0")
    assert (p.src, p.dst, p.next_header, p.hop_limit, p.traffic_class, p.flow_label, p.payload) == (
        src,
        dst,
        58,
        255,
        0xC0,
        0x9D932,
        b"abc",
    )
    with pytest.raises(DecodeError):
        ipv6.split(d[:-1])
    with pytest.raises(DecodeError):
        ipv6.split(b"\x45" + d[1:])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_ipv6_split_arbitrary_bytes_raises_only_decode_error(data: bytes) -> None:
    try:
        ipv6.split(data)
    except DecodeError as e:
        assert e.counter == "packet_len_err"
