"""Netlink: the VIPs (add/replace/remove), interface facts, and link/address events. pyroute2's AsyncIPRoute.

Two sockets, as pyroute2 advises: :class:`NetlinkOps` for commands, :class:`NetlinkMonitor` for events.
``flags=0`` everywhere: pyroute2's default would silently create a missing network namespace.
Links are judged by IFF_LOWER_UP (carrier), not by IFF_UP.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from pyvrrp.config.model import VipConfig

log = logging.getLogger("pyvrrp.netlink")

IFF_UP = 0x1
IFF_RUNNING = 0x40
IFF_MULTICAST = 0x1000
IFF_LOWER_UP = 0x10000

RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100

SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
IFA_F_NODAD = 0x02


@dataclass(frozen=True, slots=True)
class LinkInfo:
    name: str
    index: int
    mac: bytes
    flags: int
    mtu: int

    @property
    def lower_up(self) -> bool:
        return bool(self.flags & IFF_LOWER_UP) and bool(self.flags & IFF_UP)


@dataclass(frozen=True, slots=True)
class LinkEvent:
    name: str
    index: int
    lower_up: bool
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class AddrEvent:
    added: bool
    index: int
    address: IPv4Address | IPv6Address
    prefixlen: int


def _mac_bytes(text: str | None) -> bytes:
    if not text:
        return b"\0" * 6
    return bytes(int(x, 16) for x in text.split(":"))


class NetlinkOps:
    """Commands over one netlink socket. Use as ``async with NetlinkOps() as nl:``."""

    def __init__(self) -> None:
        self._ipr: AsyncIPRoute | None = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> NetlinkOps:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def open(self) -> None:
        self._ipr = AsyncIPRoute(flags=0)
        await self._ipr.setup_endpoint()

    def close(self) -> None:
        if self._ipr is not None:
            with contextlib.suppress(Exception):
                self._ipr.close()
            self._ipr = None

    @property
    def ipr(self) -> AsyncIPRoute:
        if self._ipr is None:
            raise RuntimeError("NetlinkOps is not open")
        return self._ipr

    async def link(self, name: str) -> LinkInfo | None:
        try:
            idx = socket.if_nametoindex(name)
        except OSError:
            return None
        async with self._lock:
            links = [x async for x in await self.ipr.get_links(idx)]
        if not links:
            return None
        msg = links[0]
        return LinkInfo(
            name=msg.get("IFLA_IFNAME") or name,
            index=msg["index"],
            mac=_mac_bytes(msg.get("IFLA_ADDRESS")),
            flags=msg["flags"],
            mtu=msg.get("IFLA_MTU") or 1500,
        )

    async def addresses(
        self, name: str, family: int | None = None
    ) -> list[tuple[IPv4Address | IPv6Address, int, str | None]]:
        """(address, prefixlen, label) of an interface, in kernel order (the primary first)."""
        try:
            idx = socket.if_nametoindex(name)
        except OSError:
            return []
        kw: dict[str, object] = {"index": idx}
        if family is not None:
            kw["family"] = socket.AF_INET if family == 4 else socket.AF_INET6
        async with self._lock:
            msgs = [x async for x in await self.ipr.get_addr(**kw)]
        out = []
        for m in msgs:
            addr = m.get("IFA_LOCAL") or m.get("IFA_ADDRESS")
            if addr:
                out.append((ip_address(addr), m["prefixlen"], m.get("IFA_LABEL")))
        return out

    async def primary_address(
        self, name: str, family: int = 4, exclude: set[str] | None = None
    ) -> IPv4Address | IPv6Address | None:
        """The interface's primary address (IPv4), or its link-local address (IPv6); VIPs excluded."""
        exclude = exclude or set()
        for addr, _plen, _label in await self.addresses(name, family):
            if str(addr) in exclude:
                continue
            if family == 6 and not addr.is_link_local:
                continue
            return addr
        return None

    async def add_vip(self, ifname: str, vip: VipConfig) -> None:
        """Install a VIP (``replace`` so a leftover or a reload never fails)."""
        idx = socket.if_nametoindex(ifname)
        iface = vip.address
        kw: dict[str, object] = {
            "index": idx,
            "address": str(iface.ip),
            "prefixlen": iface.network.prefixlen,
            "scope": SCOPES.get(vip.scope, 0),
        }
        if iface.version == 4:
            kw["label"] = vip.label or ifname
            if vip.brd == "+":
                kw["broadcast"] = str(iface.network.broadcast_address)
            elif vip.brd and vip.brd != "-":
                kw["broadcast"] = vip.brd
        else:
            if vip.nodad:
                kw["flags"] = IFA_F_NODAD
            if vip.preferred_lft is not None:
                kw["IFA_CACHEINFO"] = {
                    "ifa_preferred": vip.preferred_lft,
                    "ifa_valid": 0xFFFFFFFF,
                }
        if vip.peer is not None:
            kw["address"] = str(vip.peer)
            kw["local"] = str(iface.ip)
        async with self._lock:
            await self.ipr.addr("replace", **kw)

    async def remove_vip(self, ifname: str, vip: VipConfig) -> bool:
        """Remove a VIP; returns False when it was not there."""
        try:
            idx = socket.if_nametoindex(ifname)
        except OSError:
            return False
        iface = vip.address
        try:
            async with self._lock:
                await self.ipr.addr(
                    "del", index=idx, address=str(iface.ip), prefixlen=iface.network.prefixlen
                )
        except NetlinkError as e:
            if e.code in (errno.EADDRNOTAVAIL, errno.ENOENT, errno.ENODEV):
                return False
            raise
        return True

    async def has_address(self, ifname: str, ip: IPv4Address | IPv6Address) -> bool:
        return any(a == ip for a, _p, _l in await self.addresses(ifname, ip.version))


class NetlinkMonitor:
    """Link and address events from a separate netlink socket."""

    def __init__(self) -> None:
        self._ipr: AsyncIPRoute | None = None

    async def open(self) -> None:
        self._ipr = AsyncIPRoute(flags=0)
        await self._ipr.bind(groups=RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)

    def close(self) -> None:
        if self._ipr is not None:
            with contextlib.suppress(Exception):
                self._ipr.close()
            self._ipr = None

    async def events(self) -> AsyncIterator[LinkEvent | AddrEvent]:
        if self._ipr is None:
            await self.open()
        assert self._ipr is not None
        while True:  # pyroute2's get() returns after each received batch
            async for msg in self._ipr.get():
                for out in self._convert(msg):
                    yield out

    @staticmethod
    def _convert(msg: dict) -> list[LinkEvent | AddrEvent]:
        ev = msg.get("event")
        if ev in ("RTM_NEWLINK", "RTM_DELLINK"):
            flags = msg["flags"]
            return [
                LinkEvent(
                    name=msg.get("IFLA_IFNAME") or "",
                    index=msg["index"],
                    lower_up=bool(flags & IFF_LOWER_UP) and bool(flags & IFF_UP),
                    deleted=ev == "RTM_DELLINK",
                )
            ]
        if ev in ("RTM_NEWADDR", "RTM_DELADDR"):
            addr = msg.get("IFA_LOCAL") or msg.get("IFA_ADDRESS")
            if addr:
                return [
                    AddrEvent(
                        added=ev == "RTM_NEWADDR",
                        index=msg["index"],
                        address=ip_address(addr),
                        prefixlen=msg["prefixlen"],
                    )
                ]
        return []
