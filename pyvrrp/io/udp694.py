"""heartbeat media: UDP port 694 (ucast/bcast/mcast) and the ping plugin's ICMP echo.

This module owns the sockets of heartbeat mode (heartbeat-protocol.md §3, heartbeat
``lib/plugins/HBcomm/{ucast,bcast,mcast,ping}.c``):

* receive: one socket per interface bound ``0.0.0.0:udpport`` with ``SO_BINDTODEVICE`` (ucast and bcast
  share it; mcast has its own socket joined to the group on that interface). heartbeat does not check
  the source address, so neither do we: the HMAC is the only admission check.
* send: one socket per medium with ``SO_BINDTODEVICE`` and ``IPTOS_LOWDELAY``, from an ephemeral port,
  to ``peer:udpport`` (ucast), ``255.255.255.255:udpport`` (bcast) or ``group:port`` (mcast).
* ping: a raw ICMP socket; every probe carries a signed ``NS_st`` message as echo data (ping.c), and a
  reply counts as a heartbeat from that ping node when its id matches and its payload authenticates.

Callbacks run in the event loop (``loop.add_reader``); nothing here blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyvrrp.wire.checksum import inet_checksum

log = logging.getLogger("pyvrrp.heartbeat.io")

IPTOS_LOWDELAY = 0x10
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
MAX_DATAGRAM = 262143  # heartbeat MAXMSG - 1
ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0


@dataclass(frozen=True, slots=True)
class MediumSpec:
    """One configured medium (from ha.cf): kind ``ucast``/``bcast``/``mcast``."""

    kind: str
    dev: str
    dest: str  # peer / group address ("255.255.255.255" for bcast)
    port: int
    ttl: int = 1
    loop: bool = False


def _bind_dev(s: socket.socket, dev: str) -> None:
    s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode() + b"\0")


class Udp694:
    """All UDP media of a node. ``on_datagram(data, (ip, port), dev)`` is called for each datagram."""

    def __init__(self, media: Iterable[MediumSpec]) -> None:
        self.media = tuple(media)
        self.rx: list[tuple[socket.socket, str]] = []
        self.tx: list[tuple[socket.socket, MediumSpec]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0
        self.send_errors = 0

    def open(self, loop: asyncio.AbstractEventLoop, on_datagram: Callable[[bytes, tuple, str], None]) -> None:
        self.loop = loop
        seen: set[tuple[str, int, str]] = set()
        try:
            for m in self.media:
                key = (m.dev, m.port, m.dest if m.kind == "mcast" else "")
                if key not in seen:
                    seen.add(key)
                    self.rx.append((self._rx_socket(m), m.dev))
                self.tx.append((self._tx_socket(m), m))
        except OSError:
            self.close()
            raise
        for s, dev in self.rx:
            loop.add_reader(s.fileno(), self._readable, s, dev, on_datagram)

    def _rx_socket(self, m: MediumSpec) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with contextlib.suppress(OSError):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            _bind_dev(s, m.dev)
            if m.kind == "mcast":
                idx = socket.if_nametoindex(m.dev)
                mreqn = socket.inet_aton(m.dest) + socket.inet_aton("0.0.0.0") + struct.pack("@i", idx)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
                s.bind((m.dest, m.port))
            else:
                s.bind(("0.0.0.0", m.port))
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        return s

    def _tx_socket(self, m: MediumSpec) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, IPTOS_LOWDELAY)
            _bind_dev(s, m.dev)
            if m.kind == "bcast":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            elif m.kind == "mcast":
                idx = socket.if_nametoindex(m.dev)
                mreqn = socket.inet_aton(m.dest) + socket.inet_aton("0.0.0.0") + struct.pack("@i", idx)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, m.ttl)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(m.loop))
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        return s

    @staticmethod
    def _readable(s: socket.socket, dev: str, cb: Callable[[bytes, tuple, str], None]) -> None:
        for _ in range(64):
            try:
                data, addr = s.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                log.debug("%s: receive error: %s", dev, e)
                return
            cb(data, addr, dev)

    def send(self, data: bytes) -> int:
        """Send one datagram on every medium; returns how many sends succeeded."""
        n = 0
        for s, m in self.tx:
            try:
                s.sendto(data, (m.dest, m.port))
                n += 1
            except OSError as e:
                self.send_errors += 1
                log.debug("%s %s %s: send failed: %s", m.kind, m.dev, m.dest, e)
        self.sent += n
        return n

    def close(self) -> None:
        for s, _dev in self.rx:
            if self.loop is not None:
                with contextlib.suppress(Exception):
                    self.loop.remove_reader(s.fileno())
            s.close()
        for s, _m in self.tx:
            s.close()
        self.rx.clear()
        self.tx.clear()


def icmp_echo(ident: int, seq: int, payload: bytes, kind: int = ICMP_ECHO_REQUEST) -> bytes:
    """An ICMP echo request/reply with ``payload`` as data."""
    hdr = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    csum = inet_checksum(hdr + payload)
    return struct.pack("!BBHHH", kind, 0, csum, ident, seq) + payload


def parse_echo_reply(packet: bytes) -> tuple[str, int, int, bytes] | None:
    """(source address, ident, seq, data) of an IPv4 ICMP echo reply read from a raw socket."""
    if len(packet) < 28 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0xF) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8 or icmp[0] != ICMP_ECHO_REPLY:
        return None
    _t, _c, _sum, ident, seq = struct.unpack("!BBHHH", icmp[:8])
    return socket.inet_ntoa(packet[12:16]), ident, seq, icmp[8:]


class IcmpPinger:
    """heartbeat's ping plugin: echo requests with a signed payload, replies -> ``on_reply(address, data)``."""

    def __init__(self, targets: Iterable[str]) -> None:
        self.targets = tuple(targets)
        self.ident = os.getpid() & 0xFFFF
        self.seq = 0
        self.sock: socket.socket | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0
        self.errors = 0

    def open(self, loop: asyncio.AbstractEventLoop, on_reply: Callable[[str, bytes], None]) -> None:
        if not self.targets:
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        s.setblocking(False)
        self.sock, self.loop = s, loop
        loop.add_reader(s.fileno(), self._readable, on_reply)

    def _readable(self, on_reply: Callable[[str, bytes], None]) -> None:
        assert self.sock is not None
        for _ in range(64):
            try:
                pkt = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            r = parse_echo_reply(pkt)
            if r is None or r[1] != self.ident or r[0] not in self.targets:
                continue
            on_reply(r[0], r[3])

    def send(self, payload_for: Callable[[str], bytes]) -> None:
        """One echo request per target; ``payload_for(target)`` gives the signed NS_st message."""
        if self.sock is None:
            return
        for target in self.targets:
            self.seq = (self.seq + 1) & 0xFFFF
            try:
                self.sock.sendto(icmp_echo(self.ident, self.seq, payload_for(target)), (target, 0))
                self.sent += 1
            except OSError as e:
                self.errors += 1
                log.debug("ping %s: %s", target, e)

    def close(self) -> None:
        if self.sock is not None:
            if self.loop is not None:
                with contextlib.suppress(Exception):
                    self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
