"""heartbeat runtime pieces without namespaces: identity persistence, ICMP framing, UDP on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest

from pyvrrp.io import udp694
from pyvrrp.runtime.heartbeat import load_identity
from pyvrrp.wire.checksum import inet_checksum


def test_identity_is_persistent_and_monotonic(tmp_path: Path) -> None:
    state, lib = tmp_path / "state", tmp_path / "lib"
    state.mkdir()
    lib.mkdir()
    a = load_identity(str(state), str(lib))
    b = load_identity(str(state), str(lib))
    assert a.uuid == b.uuid and len(a.uuid) == 16
    assert b.generation == a.generation + 1
    raw = (lib / "hb_generation").read_bytes()
    assert len(raw) == 16 and raw == b"%15d\n" % b.generation  # heartbeat's "%15lu\n"
    assert (lib / "hb_uuid").read_bytes() == a.uuid
    # a real heartbeat ran in between and raised the file: we continue above it (never lower, §8)
    (lib / "hb_generation").write_bytes(b"%15d\n" % (b.generation + 50))
    c = load_identity(str(state), str(lib))
    assert c.generation == b.generation + 51
    assert (state / "hb_generation").read_bytes() == b"%15d\n" % c.generation
    # heartbeat's uuid file is adopted (no "changed its uuid" churn on the peer)
    (lib / "hb_uuid").write_bytes(b"\x01" * 16)
    (state / "hb_uuid").unlink()
    assert load_identity(str(state), str(lib)).uuid == b"\x01" * 16


def test_identity_first_start_uses_time(tmp_path: Path) -> None:
    ident = load_identity(str(tmp_path / "new"), str(tmp_path / "absent"))
    assert ident.generation > 1_700_000_000
    assert (tmp_path / "new" / "hb_generation").exists()


def test_icmp_echo_roundtrip() -> None:
    payload = b"###\n11:(0)t=NS_st,%%%\n"
    pkt = udp694.icmp_echo(0x1234, 7, payload)
    assert inet_checksum(pkt) == 0
    reply = bytearray(udp694.icmp_echo(0x1234, 7, payload, kind=udp694.ICMP_ECHO_REPLY))
    ip = bytes([0x45, 0, 0, 20 + len(reply)]) + bytes(8) + socket.inet_aton("198.18.0.1") + bytes(4)
    assert udp694.parse_echo_reply(ip + bytes(reply)) == ("198.18.0.1", 0x1234, 7, payload)
    assert udp694.parse_echo_reply(ip + pkt) is None  # a request is not a reply
    assert udp694.parse_echo_reply(b"\x45" + bytes(10)) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="SO_BINDTODEVICE needs CAP_NET_RAW (run as root)")
def test_udp_media_on_loopback() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> list[tuple[bytes, str]]:
        got: list[tuple[bytes, str]] = []
        media = udp694.Udp694([udp694.MediumSpec("ucast", "lo", "127.0.0.1", port)])
        media.open(asyncio.get_running_loop(), lambda d, a, dev: got.append((d, dev)))
        try:
            assert media.send(b"###\nhello") == 1
            for _ in range(100):
                if got:
                    break
                await asyncio.sleep(0.01)
        finally:
            media.close()
        return got

    got = asyncio.run(main())
    assert got == [(b"###\nhello", "lo")]
