"""VRRP codec against real keepalived 2.2.7 captures (tests/data/keepalived/, node-a.conf / node-b.conf),
error paths with their counters, and property tests (round trip, decode never leaks other exceptions)."""

from __future__ import annotations

import dataclasses
import struct
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvrrp.errors import DecodeError
from pyvrrp.proto.vrrp import VrrpStats
from pyvrrp.wire import ipv4, ipv6, pcap, vrrp
from pyvrrp.wire.checksum import inet_checksum
from pyvrrp.wire.vrrp import AUTH_NONE, AUTH_PASS, Advertisement, decode, encode

DATA = Path(__file__).resolve().parent.parent / "data" / "keepalived"
CAPTURES = sorted(DATA.glob("*.pcap")) + sorted(DATA.glob("*.pcapng"))
COUNTERS = {f.name for f in dataclasses.fields(VrrpStats)}

A4 = IPv4Address
A6 = IPv6Address
NODE_A = A4("198.18.0.161")
NODE_B = A4("198.18.0.162")
GROUP4 = A4("224.0.0.18")
NODE_A_LL = A6("fe80::ff:fe00:1")
GROUP6 = A6("ff02::12")


def vrrp_packets(path: Path):
    """Yield (family, src, dst, ttl_or_hlim, payload, l3) for every VRRP packet of a capture."""
    for _ts, linktype, frame in pcap.read(path):
        nl = pcap.network_layer(linktype, frame)
        assert nl is not None
        etype, l3 = nl
        if etype == pcap.ETH_P_IP and l3[9] == 112:
            p = ipv4.split(l3)
            yield 4, p.src, p.dst, p.ttl, p.payload, l3
        elif etype == pcap.ETH_P_IPV6 and l3[6] == 112:
            q = ipv6.split(l3)
            yield 6, q.src, q.dst, q.hop_limit, q.payload, l3


def test_captures_present() -> None:
    assert len(CAPTURES) >= 3
    for path in CAPTURES:
        assert sum(1 for _ in vrrp_packets(path)) > 20, path


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_every_captured_advert_round_trips(path: Path) -> None:
    seen = set()
    for family, src, dst, ttl, payload, _l3 in vrrp_packets(path):
        adv = decode(payload, family, src, dst)
        assert adv.checksum == struct.unpack_from("!H", payload, 6)[0]
        assert encode(adv, src, dst) == payload
        assert ttl == 255
        seen.add((adv.version, family, adv.vrid))
    # v2 multicast + unicast, v3 IPv4; the pair capture also has v3 IPv6
    assert {(2, 4, 51), (2, 4, 52), (2, 4, 53), (3, 4, 54)} <= seen
    if "pair" in path.name:
        assert (3, 6, 55) in seen


def _first(path: Path, vrid: int, priority: int):
    for family, src, dst, _ttl, payload, l3 in vrrp_packets(path):
        if payload[1] == vrid and payload[2] == priority:
            return family, src, dst, payload, l3
    raise AssertionError(f"no advert VRID {vrid} prio {priority} in {path}")


PAIR = DATA / "keepalived-2.2.7-pair.pcap"

# From node-a.conf (the sender in the captures: 198.18.0.161 / fe80::ff:fe00:1).
# "auth_pass Hello!": "!" starts a comment, so the password is "Hello" (the capture confirms it).
CONF_VECTORS = [
    pytest.param(
        Advertisement(2, 51, 150, (A4("198.18.0.150"),), 1, AUTH_PASS, b"Hello"), NODE_A, GROUP4, id="V2_PASS"
    ),
    pytest.param(
        Advertisement(2, 52, 100, (A4("198.18.0.151"), A4("198.18.0.152"), A4("198.18.0.153")), 2, AUTH_NONE),
        NODE_A,
        GROUP4,
        id="V2_NOAUTH_3VIP",
    ),
    pytest.param(
        Advertisement(2, 53, 200, (A4("198.18.0.154"),), 1, AUTH_PASS, b"12345678"),
        NODE_A,
        NODE_B,
        id="V2_UNICAST",
    ),
    pytest.param(Advertisement(3, 54, 120, (A4("198.18.0.155"),), 50), NODE_A, GROUP4, id="V3_V4"),
    pytest.param(Advertisement(3, 55, 110, (A6("2001:db8::155"),), 100), NODE_A_LL, GROUP6, id="V3_V6"),
]


@pytest.mark.parametrize(("adv", "src", "dst"), CONF_VECTORS)
def test_encode_from_config_equals_capture(adv: Advertisement, src, dst) -> None:
    family, csrc, cdst, payload, _l3 = _first(PAIR, adv.vrid, adv.priority)
    assert (family, csrc, cdst) == (src.version, src, dst)
    assert encode(adv, src, dst) == payload
    decoded = decode(payload, family, src, dst)
    expected = adv if adv.version == 3 else dataclasses.replace(adv, auth_data=adv.auth_data.ljust(8, b"\0"))
    assert dataclasses.replace(decoded, checksum=0) == expected


def test_v2_pass_vector_bytes() -> None:
    """Hand-checked bytes of the V2_PASS advert (frame 18 of the pair capture)."""
    adv = Advertisement(2, 51, 150, (A4("198.18.0.150"),), 1, AUTH_PASS, b"Hello")
    assert encode(adv).hex() == "2133960101015d4fc6120096" + b"Hello\0\0\0".hex()


def test_v3_ipv6_checksum_left_to_kernel_without_addresses() -> None:
    adv = Advertisement(3, 55, 110, (A6("2001:db8::155"),), 100)
    raw = encode(adv)
    assert raw[6:8] == b"\0\0"
    with_sum = encode(adv, NODE_A_LL, GROUP6)
    assert raw[:6] == with_sum[:6] and raw[8:] == with_sum[8:]
    assert with_sum[6:8] == bytes.fromhex("3436")  # as captured
    # decode without addresses does not check (the kernel did); with addresses it does
    assert decode(raw, 6).vrid == 55
    with pytest.raises(DecodeError) as ei:
        decode(raw, 6, NODE_A_LL, GROUP6)
    assert ei.value.counter == "checksum_err" and ei.value.vrid == 55


def test_v3_ipv4_encode_requires_addresses() -> None:
    with pytest.raises(ValueError, match="src and dst"):
        encode(Advertisement(3, 54, 120, (A4("198.18.0.155"),), 50))


def test_encode_family_keyword() -> None:
    empty = Advertisement(3, 7, 100, (), 100)
    assert encode(empty, family=6) == bytes([0x31, 7, 100, 0, 0, 100, 0, 0])
    with pytest.raises(ValueError, match="src and dst"):
        encode(empty, family=4)
    with pytest.raises(ValueError, match="mixes"):
        encode(Advertisement(3, 7, 100, (A4("198.18.0.150"),), 100), family=6)


@pytest.mark.parametrize(
    "adv",
    [
        Advertisement(4, 1, 100, (A4("198.18.0.150"),), 1),
        Advertisement(2, 256, 100, (A4("198.18.0.150"),), 1),
        Advertisement(2, 1, -1, (A4("198.18.0.150"),), 1),
        Advertisement(2, 1, 100, (A4("198.18.0.150"),), 256),
        Advertisement(3, 1, 100, (A6("2001:db8::1"),), 4096),
        Advertisement(2, 1, 100, (A6("2001:db8::1"),), 1),
        Advertisement(3, 1, 100, (A6("2001:db8::1"), A4("198.18.0.150")), 100),
        Advertisement(2, 1, 100, (A4("198.18.0.150"),) * 256, 1),
    ],
)
def test_encode_rejects_unrepresentable(adv: Advertisement) -> None:
    with pytest.raises(ValueError):
        encode(adv, None, None)


def test_v2_auth_data_padded_and_truncated() -> None:
    base = Advertisement(2, 1, 100, (A4("198.18.0.150"),), 1, AUTH_PASS)
    assert encode(dataclasses.replace(base, auth_data=b"ab"))[-8:] == b"ab\0\0\0\0\0\0"
    assert encode(dataclasses.replace(base, auth_data=b"0123456789"))[-8:] == b"01234567"


# ---------------------------------------------------------------------------------------- rejections


def _err(payload: bytes, family: int = 4, src=None, dst=None) -> DecodeError:
    with pytest.raises(DecodeError) as ei:
        decode(payload, family, src, dst)
    assert ei.value.counter in COUNTERS
    return ei.value


def _captured(vrid: int, prio: int) -> bytes:
    return _first(PAIR, vrid, prio)[3]


def test_carp_packet_rejected_by_length() -> None:
    """OpenBSD CARP / ucarp share IP protocol 112 and look like VRRPv2 type 1 (RFC-less CARP header:
    version 2, type 1, vhid, advskew, authlen 7, demote, advbase, cksum, counter[8], md[20] = 36 bytes).
    A naive decoder accepts it: the checksum is valid. keepalived rejects it on length."""
    carp = bytearray(struct.pack("!BBBBBBH", 0x21, 51, 0, 7, 0, 1, 0) + bytes(range(8)) + bytes(range(20)))
    struct.pack_into("!H", carp, 6, inet_checksum(carp))
    assert len(carp) == 36 and inet_checksum(carp) == 0
    e = _err(bytes(carp), 4, NODE_A, GROUP4)
    assert e.counter == "packet_len_err" and e.vrid == 51
    assert "length 36 and expect 44" in str(e)


def test_length_errors() -> None:
    v2 = _captured(51, 150)
    assert _err(v2[:-1]).counter == "packet_len_err"
    assert _err(v2 + b"\0").counter == "packet_len_err"  # 2.2.7 has no padding tolerance
    e = _err(v2[:5])
    assert (e.counter, e.vrid) == ("packet_len_err", 51)
    assert _err(b"").vrid is None
    assert _err(b"\x21").vrid is None
    v3 = _captured(54, 120)
    assert _err(v3 + b"\0" * 4, 4, NODE_A, GROUP4).counter == "packet_len_err"
    v6 = _captured(55, 110)
    assert _err(v6[:-16], 6).counter == "packet_len_err"
    # a v3 IPv4 payload parsed as IPv6 has the wrong length
    assert _err(v3, 6).counter == "packet_len_err"


def test_version_and_type_errors() -> None:
    v2 = bytearray(_captured(51, 150))
    for version in (0, 1, 4, 15):
        bad = bytearray(v2)
        bad[0] = (version << 4) | 1
        e = _err(bytes(bad))
        assert (e.counter, e.vrid) == ("version_err", 51), version
    bad = bytearray(v2)
    bad[0] = 0x22
    e = _err(bytes(bad))
    assert (e.counter, e.vrid) == ("invalid_type_rcvd", 51)
    # the version is reported even when the length would not fit either
    assert _err(bytes([0x41, 51, 100, 1, 0, 1, 0, 0])).counter == "version_err"
    # v2 over IPv6: keepalived forces v3 for IPv6
    v2_6 = bytes([0x21, 9, 100, 1, 0, 1, 0, 0]) + A6("2001:db8::1").packed
    assert _err(v2_6, 6).counter == "version_err"


def test_checksum_errors() -> None:
    v2 = bytearray(_captured(51, 150))
    v2[2] = 151  # priority changed, checksum not updated
    e = _err(bytes(v2), 4, NODE_A, GROUP4)
    assert (e.counter, e.vrid) == ("checksum_err", 51)
    v3 = _captured(54, 120)
    assert decode(v3, 4, NODE_A, GROUP4).priority == 120
    assert _err(v3, 4, NODE_B, GROUP4).counter == "checksum_err"  # pseudo-header src differs
    assert _err(v3, 4, NODE_A, A4("224.0.0.19")).counter == "checksum_err"
    v6 = _captured(55, 110)
    assert _err(v6, 6, A6("fe80::2"), GROUP6).counter == "checksum_err"
    assert _err(v6, 6, NODE_A, GROUP4).counter == "checksum_err"  # wrong-family addresses


def test_v3_unicast_accepts_old_multicast_checksum() -> None:
    """keepalived (_WITH_UNICAST_CHKSUM_COMPAT_): a unicast v3 advert whose checksum was computed with
    dst 224.0.0.18 (keepalived < 2.0) is accepted; the same quirk does not apply to multicast."""
    adv = Advertisement(3, 54, 120, (A4("198.18.0.155"),), 100)
    old = encode(adv, NODE_A, GROUP4)
    new = encode(adv, NODE_A, NODE_B)
    assert old != new
    assert decode(new, 4, NODE_A, NODE_B).vrid == 54
    assert decode(old, 4, NODE_A, NODE_B).vrid == 54
    assert _err(new, 4, NODE_A, GROUP4).counter == "checksum_err"
    assert decode(old, 4, NODE_A, A4("198.18.0.10")).vrid == 54  # any unicast dst
    # a checksum made for neither dst nor 224.0.0.18 is rejected
    assert _err(encode(adv, NODE_A, A4("198.18.0.10")), 4, NODE_A, NODE_B).counter == "checksum_err"


def test_v3_reserved_bits_ignored() -> None:
    adv = Advertisement(3, 54, 120, (A4("198.18.0.155"),), 50)
    raw = bytearray(encode(adv, NODE_A, GROUP4))
    raw[4] |= 0xF0
    struct.pack_into("!H", raw, 6, 0)
    pseudo = NODE_A.packed + GROUP4.packed + struct.pack("!BBH", 0, 112, len(raw))
    struct.pack_into("!H", raw, 6, inet_checksum(pseudo + raw))
    assert decode(bytes(raw), 4, NODE_A, GROUP4).adver_int == 50


def test_decode_rejects_unknown_family() -> None:
    assert _err(_captured(51, 150), 5).counter == "packet_len_err"


def test_v3_ipv4_without_addresses_skips_checksum() -> None:
    v3 = bytearray(_captured(54, 120))
    v3[6] ^= 0xFF
    assert decode(bytes(v3), 4).vrid == 54


# ------------------------------------------------------------------------------------ scapy as an oracle


@settings(max_examples=60, deadline=None)
@given(
    vrid=st.integers(0, 255),
    prio=st.integers(0, 255),
    adv_int=st.integers(0, 255),
    addrs=st.lists(st.integers(0, 2**32 - 1).map(A4), max_size=10),
    auth=st.binary(min_size=8, max_size=8),
)
def test_v2_matches_scapy(vrid: int, prio: int, adv_int: int, addrs: list[A4], auth: bytes) -> None:
    from scapy.layers.vrrp import VRRP

    ours = encode(Advertisement(2, vrid, prio, tuple(addrs), adv_int, AUTH_PASS, auth))
    theirs = VRRP(
        vrid=vrid,
        priority=prio,
        ipcount=len(addrs),
        authtype=AUTH_PASS,
        adv=adv_int,
        addrlist=[str(a) for a in addrs],
        auth1=int.from_bytes(auth[:4], "big"),
        auth2=int.from_bytes(auth[4:], "big"),
    )
    assert ours == bytes(theirs)


@settings(max_examples=60, deadline=None)
@given(
    vrid=st.integers(0, 255),
    prio=st.integers(0, 255),
    adv_int=st.integers(0, 4095),
    addrs=st.lists(st.integers(0, 2**32 - 1).map(A4), max_size=10),
    src=st.integers(0, 2**32 - 1).map(A4),
)
def test_v3_ipv4_matches_scapy(vrid: int, prio: int, adv_int: int, addrs: list[A4], src: A4) -> None:
    from scapy.layers.inet import IP
    from scapy.layers.vrrp import VRRPv3

    ours = encode(Advertisement(3, vrid, prio, tuple(addrs), adv_int), src, GROUP4)
    pkt = IP(src=str(src), dst=str(GROUP4)) / VRRPv3(
        vrid=vrid, priority=prio, ipcount=len(addrs), adv=adv_int, addrlist=[str(a) for a in addrs]
    )
    assert ours == bytes(IP(bytes(pkt)).payload)


# ------------------------------------------------------------------------------------ property tests

ipv4s = st.integers(0, 2**32 - 1).map(A4)
ipv6s = st.integers(0, 2**128 - 1).map(A6)


@st.composite
def adverts(draw):
    version = draw(st.sampled_from([2, 3]))
    family = 4 if version == 2 else draw(st.sampled_from([4, 6]))
    addr = ipv4s if family == 4 else ipv6s
    common = dict(
        vrid=draw(st.integers(0, 255)),
        priority=draw(st.integers(0, 255)),
        addresses=tuple(draw(st.lists(addr, max_size=20))),
    )
    if version == 2:
        adv = Advertisement(
            version=2,
            adver_int=draw(st.integers(0, 255)),
            auth_type=draw(st.integers(0, 255)),
            auth_data=draw(st.binary(min_size=8, max_size=8)),
            **common,
        )
    else:
        adv = Advertisement(version=3, adver_int=draw(st.integers(0, 4095)), **common)
    src, dst = draw(addr), draw(addr)
    if family == 6 and draw(st.booleans()):
        src = dst = None  # kernel-checksummed path
    return adv, family, src, dst


@settings(max_examples=300, deadline=None)
@given(adverts())
def test_round_trip(case) -> None:
    adv, family, src, dst = case
    raw = encode(adv, src, dst, family=family)
    assert len(raw) == vrrp.expected_len(adv.version, len(adv.addresses), family)
    back = decode(raw, family, src, dst)
    assert back == dataclasses.replace(adv, checksum=struct.unpack_from("!H", raw, 6)[0])
    assert encode(back, src, dst, family=family) == raw


def _only_decode_error(call) -> None:
    try:
        call()
    except DecodeError as e:
        assert e.counter in COUNTERS
        assert isinstance(str(e), str) and "\n" not in str(e)


@settings(max_examples=500, deadline=None)
@given(
    data=st.binary(max_size=120),
    family=st.sampled_from([4, 6]),
    src=st.none() | ipv4s | ipv6s,
    dst=st.none() | ipv4s | ipv6s,
)
def test_decode_arbitrary_bytes_raises_only_decode_error(data, family, src, dst) -> None:
    _only_decode_error(lambda: decode(data, family, src, dst))


@settings(max_examples=300, deadline=None)
@given(case=adverts(), pos=st.integers(0, 400), value=st.integers(0, 255), cut=st.integers(-3, 3))
def test_decode_mutated_adverts_raises_only_decode_error(case, pos, value, cut) -> None:
    adv, family, src, dst = case
    raw = bytearray(encode(adv, src, dst, family=family))
    raw[pos % len(raw)] = value
    if cut < 0:
        raw = raw[:cut]
    else:
        raw += bytes(cut)
    _only_decode_error(lambda: decode(bytes(raw), family, src, dst))
