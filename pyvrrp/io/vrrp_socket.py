"""Raw VRRP sockets (IP protocol 112): one per (interface, family), shared by every instance on it.

IPv4: ``SOCK_RAW``/112 with ``IP_HDRINCL`` (we write the header: TOS 0xC0, TTL 255 as keepalived),
bound to the interface, joined to 224.0.0.18 on it (without the join nothing arrives), multicast loop off.
IPv6: ``SOCK_RAW``/112, the kernel computes the checksum (``IPV6_CHECKSUM`` offset 6), hop limit 255,
joined to ff02::12; hop limit and destination come from ancillary data.

Received datagrams are handed to a callback as :class:`Received` (raw VRRP payload plus IP facts);
decoding happens in the runtime through :mod:`pyvrrp.wire`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from pyvrrp.errors import DecodeError, PyvrrpError
from pyvrrp.wire import ipv4 as wire_ipv4

log = logging.getLogger("pyvrrp.io")

VRRP_PROTO = 112
MCAST4 = IPv4Address("224.0.0.18")
MCAST6 = IPv6Address("ff02::12")
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
IP_MULTICAST_ALL = 49
IPV6_CHECKSUM = getattr(socket, "IPV6_CHECKSUM", 7)
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)
IPV6_RECVHOPLIMIT = getattr(socket, "IPV6_RECVHOPLIMIT", 51)
IPV6_HOPLIMIT = getattr(socket, "IPV6_HOPLIMIT", 52)


@dataclass(frozen=True, slots=True)
class Received:
    ifname: str
    family: int
    src: IPv4Address | IPv6Address
    dst: IPv4Address | IPv6Address
    ttl: int
    payload: bytes


class SocketError(PyvrrpError):
    pass


class VrrpSocket:
    """One raw VRRP socket on one interface for one family."""

    def __init__(
        self,
        ifname: str,
        family: int,
        on_packet: Callable[[Received], None],
        on_error: Callable[[DecodeError, str], None] | None = None,
        group: IPv4Address | IPv6Address | None = None,
    ) -> None:
        self.ifname = ifname
        self.family = family
        self.group = group or (MCAST4 if family == 4 else MCAST6)
        self.on_packet = on_packet
        self.on_error = on_error
        self.sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self) -> None:
        try:
            ifindex = socket.if_nametoindex(self.ifname)
        except OSError as e:
            raise SocketError(f"unknown interface '{self.ifname}'") from e
        try:
            if self.family == 4:
                s = socket.socket(socket.AF_INET, socket.SOCK_RAW, VRRP_PROTO)
            else:
                s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, VRRP_PROTO)
        except PermissionError as e:
            raise SocketError("raw sockets need root or CAP_NET_RAW: cannot open the VRRP socket") from e
        try:
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.ifname.encode())
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            if self.family == 4:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
                with contextlib.suppress(OSError):
                    s.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
                mreqn = struct.pack("=4s4si", self.group.packed, b"\0" * 4, ifindex)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
            else:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, 6)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
                mreq = struct.pack("=16sI", self.group.packed, ifindex)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        except OSError as e:
            s.close()
            raise SocketError(f"cannot set up the VRRP socket on {self.ifname}: {e.strerror or e}") from e
        self.sock = s
        self.ifindex = ifindex

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.sock is None:
            self.open()
        assert self.sock is not None
        self._loop = loop
        loop.add_reader(self.sock.fileno(), self._readable)

    def close(self) -> None:
        if self.sock is not None:
            if self._loop is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None

    # -- receive -----------------------------------------------------------------------------
    def _readable(self) -> None:
        assert self.sock is not None
        for _ in range(64):  # drain a burst, bounded so timers are not starved
            try:
                if self.family == 4:
                    data = self.sock.recv(65535)
                    self._handle4(data)
                else:
                    data, anc, _flags, addr = self.sock.recvmsg(65535, 256)
                    self._handle6(data, anc, addr)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                log.warning("%s: VRRP socket receive error: %s", self.ifname, e.strerror or e)
                return

    def _handle4(self, data: bytes) -> None:
        try:
            pkt = wire_ipv4.split(data)
        except DecodeError as e:
            if self.on_error:
                self.on_error(e, self.ifname)
            return
        self.on_packet(Received(self.ifname, 4, pkt.src, pkt.dst, pkt.ttl, pkt.payload))

    def _handle6(self, data: bytes, anc: list, addr: tuple) -> None:
        hop = -1
        dst: IPv6Address = self.group  # type: ignore[assignment]
        for level, typ, cdata in anc:
            if level == socket.IPPROTO_IPV6 and typ == IPV6_HOPLIMIT and len(cdata) >= 4:
                hop = struct.unpack("=i", cdata[:4])[0]
            elif level == socket.IPPROTO_IPV6 and typ == IPV6_PKTINFO and len(cdata) >= 16:
                dst = IPv6Address(cdata[:16])
        src = ip_address(addr[0].split("%")[0])
        self.on_packet(Received(self.ifname, 6, src, dst, hop, data))

    # -- send --------------------------------------------------------------------------------
    def send(
        self,
        payload: bytes,
        src: IPv4Address | IPv6Address | None,
        dst: IPv4Address | IPv6Address,
        ttl: int = 255,
        ident: int = 0,
    ) -> bool:
        """Send one VRRP payload. Errors are logged, never raised (a send failure must not kill the daemon).
        ``ident``: the IPv4 identification field (keepalived numbers each instance's adverts 1, 2, ...)."""
        if self.sock is None:
            return False
        try:
            if self.family == 4:
                assert isinstance(src, IPv4Address) and isinstance(dst, IPv4Address)
                frame = wire_ipv4.build(src, dst, payload, proto=VRRP_PROTO, ttl=ttl, tos=0xC0, ident=ident)
                self.sock.sendto(frame, (str(dst), 0))
            else:
                if dst.is_multicast:
                    self.sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
                anc = []
                if src is not None:
                    # the interface's own link-local, never a link-local VIP the kernel might prefer
                    anc = [(socket.IPPROTO_IPV6, IPV6_PKTINFO, src.packed + struct.pack("=I", self.ifindex))]
                self.sock.sendmsg([payload], anc, 0, (str(dst), 0, 0, self.ifindex))
            return True
        except OSError as e:
            if e.errno not in (errno.ENETDOWN, errno.ENETUNREACH):
                log.warning("%s: VRRP send to %s failed: %s", self.ifname, dst, e.strerror or e)
            return False
