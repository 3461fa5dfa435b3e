"""Heartbeat codec: every captured datagram decodes, authenticates and re-encodes byte-identically."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvrrp.errors import DecodeError
from pyvrrp.wire import heartbeat as hb

DATA = Path(__file__).resolve().parents[1] / "data" / "heartbeat"
KEY = hb.AuthKey(3, "md5", b"Hello!")
KEYS = {3: KEY}


def _pcap(path: Path) -> Iterator[bytes]:
    for _ts, frame in pcap_frames(path):
        yield frame


def pcap_frames(path: Path) -> Iterator[tuple[float, bytes]]:
    """Minimal classic-pcap reader (Ethernet link type): yields (timestamp, frame)."""
    raw = path.read_bytes()
    magic = raw[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    linktype = struct.unpack(endian + "I", raw[20:24])[0]
    assert linktype == 1, f"{path.name}: link type {linktype}"
    pos = 24
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    while pos + 16 <= len(raw):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", raw[pos : pos + 16])
        yield sec + frac / (1e9 if nano else 1e6), raw[pos + 16 : pos + 16 + incl]
        pos += 16 + incl


def udp694_datagrams(path: Path) -> Iterator[tuple[float, str, bytes]]:
    """(timestamp, source IPv4, payload) of every UDP datagram to port 694."""
    for ts, frame in pcap_frames(path):
        if struct.unpack("!H", frame[12:14])[0] != 0x0800:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0xF) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        l4 = ip[ihl:total]
        if ip[9] == 17 and struct.unpack("!H", l4[2:4])[0] == 694:
            yield ts, ".".join(str(b) for b in ip[12:16]), l4[8:]


def heartbeat_payloads(path: Path) -> Iterator[tuple[str, bytes]]:
    """(kind, payload): UDP/694 datagrams and ICMP echo data carrying a heartbeat message."""
    for frame in _pcap(path):
        eth_type = struct.unpack("!H", frame[12:14])[0]
        if eth_type != 0x0800:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0xF) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        proto = ip[9]
        l4 = ip[ihl:total]
        if proto == 17:
            dport = struct.unpack("!H", l4[2:4])[0]
            if dport == 694:
                yield "udp", l4[8:]
        elif proto == 1 and l4[0] in (0, 8) and l4[8:12] == b"###\n":
            yield "icmp", l4[8:]


PCAPS = sorted(DATA.glob("*.pcap"))


def test_vectors_present() -> None:
    assert len(PCAPS) >= 11


@pytest.mark.parametrize("path", PCAPS, ids=lambda p: p.stem)
def test_every_captured_datagram_roundtrips(path: Path) -> None:
    n = 0
    for kind, payload in heartbeat_payloads(path):
        rx = hb.decode(payload)
        assert rx.fmt == "netstring"
        assert hb.verify(rx, KEYS, KEY), f"outer auth failed: {payload[:80]!r}"
        # the inner auth field also matches (§5, the worked example)
        assert rx.msg.get("auth") == KEY.token(hb.inner_text(rx.msg))
        assert hb.encode(rx.msg, KEY) == payload
        if kind == "udp":
            assert rx.msg.get("t") and rx.msg.get("src") and rx.msg.get("ts")
            n += 1
    assert n > 0


def test_total_udp_count_matches_study() -> None:
    total = sum(1 for p in PCAPS for k, _ in heartbeat_payloads(p) if k == "udp")
    assert total == 667


def test_worked_example_02_steady() -> None:
    msg = hb.HbMessage.build(
        ("t", "status"),
        ("st", "active"),
        ("dt", "1388"),
        ("protocol", "1"),
        ("src", "master"),
        ("srcuuid", bytes.fromhex("deb5be018370465796afcca1bf0d4af0")),
        ("seq", "29"),
        ("hg", "6b080d4a"),
        ("ts", "6b080d63"),
        ("ld", "1.31 0.55 0.23 1/108 2756"),
        ("ttl", "4"),
    )
    assert hb.inner_text(msg).startswith(b"t=status\nst=active\n")
    assert b"(1)srcuuid=3rW+AYNwRleWr8yhvw1K8A==\n" in hb.inner_text(msg)
    wire = hb.encode(msg, KEY)
    assert len(wire) == 296
    assert b"42:(0)auth=3 d315b2ec8286ec67af1cb0894f163ec9," in wire
    assert wire.endswith(b"%%%\n34:3 bbcd32fcf7bd673109d249b3f04f4bdf,")


def test_binary_field_roundtrip_and_accessors() -> None:
    msg = hb.HbMessage.build(("t", "status"), ("srcuuid", b"\x00\x01,=:\n" * 2))
    rx = hb.decode(hb.encode(msg, KEY))
    assert rx.msg.raw("srcuuid") == b"\x00\x01,=:\n" * 2
    assert rx.msg.field("srcuuid").ftype == hb.FieldType.BINARY
    assert rx.msg.type == "status" and "auth" in rx.msg
    assert rx.msg.set("t", "x").fields[0].value == b"x"


def test_classic_format_accepted_and_checked_by_inner_auth() -> None:
    msg = hb.HbMessage.build(("t", "status"), ("st", "up"), ("src", "slave"), ("srcuuid", b"\x01" * 16))
    data = hb.encode_classic(msg, KEY)
    rx = hb.decode(data)
    assert rx.fmt == "classic" and rx.msg.raw("srcuuid") == b"\x01" * 16
    assert hb.verify(rx, KEYS, KEY)
    # no trailing NUL (F3), CRLF runs and empty lines are skipped
    rx2 = hb.decode(data[:-1].replace(b"\n", b"\r\n\n"))
    assert hb.verify(rx2, KEYS, KEY)
    # F6: wrong HMAC rejected
    bad = data.replace(b"st=up", b"st=active")
    assert not hb.verify(hb.decode(bad), KEYS, KEY)


def test_netstring_checks_only_outer_auth() -> None:
    """F1/F2: a missing or bogus inner auth is accepted when the trailer is right."""
    msg = hb.HbMessage.build(("t", "status"), ("src", "slave"))
    assert hb.verify(hb.decode(hb.encode(msg, KEY, inner=False)), KEYS, KEY)
    bogus = msg.set("auth", "3 00000000000000000000000000000000")
    assert hb.verify(hb.decode(hb.encode(bogus, KEY, inner=False)), KEYS, KEY)
    # wrong key (C1), unknown authnum (C3)
    data = hb.encode(msg, hb.AuthKey(3, "md5", b"other"))
    assert not hb.verify(hb.decode(data), KEYS, KEY)
    data = hb.encode(msg, hb.AuthKey(2, "md5", b"Hello!"))
    assert not hb.verify(hb.decode(data), KEYS, KEY)
    # authnum configured but not active: computed with the active key (quirk, §5)
    k1 = hb.AuthKey(1, "sha1", b"Hello!")
    assert hb.verify(hb.decode(hb.encode(msg, k1)), {1: k1, 3: KEY}, k1)
    assert not hb.verify(hb.decode(hb.encode(msg, KEY)), {1: k1, 3: KEY}, k1)


def test_sha1_and_crc() -> None:
    msg = hb.HbMessage.build(("t", "status"))
    sha = hb.AuthKey(2, "sha1", b"k")
    rx = hb.decode(hb.encode(msg, sha))
    assert len(rx.digest) == 40 and hb.verify(rx, {2: sha}, sha)
    crc = hb.AuthKey(1, "crc")
    # HBauth/crc.c = CRC-32/CKSUM (poly 04C11DB7, init 0, xorout ~0, no length folding):
    # catalogue check value for "123456789" is 0x765e7680; "%lx" prints no leading zeros
    assert crc.digest(b"") == "ffffffff"
    assert crc.digest(b"123456789") == "765e7680"
    assert crc.digest(b"\xff" * 3) != crc.digest(b"\xfe" * 3)
    rx = hb.decode(hb.encode(msg, crc))
    assert hb.verify(rx, {1: crc}, crc)
    with pytest.raises(ValueError):
        hb.AuthKey(1, "des")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"###\n",
        b"###\n5:(0)t=x%%%\n",
        b"###\n11:(0)t=status,%%%\n",
        b"###\n11:(0)t=status,%%%\n34:3 zz,",
        b"###\n4:t=xy,%%%\n3:3 a,",
        b"###\n6:(9)t=x,%%%\n3:3 a,",
        b"###\n6:(0)=xy,%%%\n3:3 a,",
        b"###\n99999999:x",
        b"###\n11:(0)t=status,%%%\n3:3 a,junk",
        b">>>\nt=status\n",
        b">>>\nt=status\n<<<\n",
        b">>>\nt=status\nnoeq\nauth=3 aa\n<<<\n",
        b">>>\n(1)u=!!!\nauth=3 aa\n<<<\n",
        b">>>\n(2)u=x\nauth=3 aa\n<<<\n",
        b"###\n" + b"1:x," * 10 + b"%%%\n",
    ],
)
def test_malformed_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError) as ei:
        hb.decode(data)
    assert ei.value.counter == "hb_format_err"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    for prefix in (b"", b"###\n", b">>>\n"):
        try:
            hb.decode(prefix + data)
        except DecodeError:
            pass


_names = st.from_regex(r"[a-z_]{1,8}", fullmatch=True).filter(lambda s: s != "auth")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_names, st.binary(max_size=40), st.booleans()), min_size=1, max_size=8))
def test_fuzz_encode_decode_roundtrip(items: list[tuple[str, bytes, bool]]) -> None:
    fields = tuple(hb.HbField(n, v, hb.FieldType.BINARY if b else hb.FieldType.STRING) for n, v, b in items)
    msg = hb.HbMessage(fields)
    data = hb.encode(msg, KEY)
    rx = hb.decode(data)
    assert hb.verify(rx, KEYS, KEY)
    assert rx.msg.without("auth") == msg
    # mutate one byte of the signed region: either undecodable or unauthentic
    for i in range(4, len(rx.signed) - 4, 7):
        mutated = data[:i] + bytes([data[i] ^ 0x20]) + data[i + 1 :]
        try:
            assert not hb.verify(hb.decode(mutated), KEYS, KEY)
        except DecodeError:
            pass
