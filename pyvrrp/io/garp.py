"""Gratuitous ARP and unsolicited Neighbour Advertisements through one AF_PACKET socket per interface.

The frames are built by :mod:`pyvrrp.wire.arp` / :mod:`pyvrrp.wire.ndisc` (keepalived's exact bytes); this
module only keeps the socket open (scapy's ``sendp`` would open one per call) and paces bursts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address

from pyvrrp.config.model import VipConfig
from pyvrrp.wire import arp as wire_arp
from pyvrrp.wire import ndisc as wire_ndisc

log = logging.getLogger("pyvrrp.garp")

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD


def ipv6_forwarding(ifname: str) -> bool:
    """Whether ``ifname`` forwards IPv6 (keepalived ``get_ipv6_forwarding``: sets the NA's Router flag)."""
    try:
        with open(f"/proc/sys/net/ipv6/conf/{ifname}/forwarding") as f:
            return f.read().strip() not in ("", "0")
    except OSError:
        return False


class GarpSender:
    """Sends GARPs/NAs on one interface. ``mac`` is read from the socket address when not given."""

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        self.sock: socket.socket | None = None
        self.mac = b"\0" * 6
        self.sent = 0

    def open(self) -> None:
        # protocol 0: a send-only socket, the kernel queues nothing for us to read
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        s.bind((self.ifname, 0))
        s.setblocking(False)
        self.mac = s.getsockname()[4][:6]
        self.sock = s

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def refresh_mac(self) -> None:
        if self.sock is not None:
            self.mac = self.sock.getsockname()[4][:6]

    def send_once(self, vips: Iterable[VipConfig]) -> int:
        if self.sock is None:
            self.open()
        assert self.sock is not None
        n = 0
        router: bool | None = None
        for vip in vips:
            ip = vip.address.ip
            try:
                if isinstance(ip, IPv4Address):
                    self.sock.send(wire_arp.garp(self.mac, ip))
                else:
                    # keepalived 2.2.7 sends the NA from the VIP itself (seen in its captures), with the
                    # Router flag when the interface forwards IPv6 (vrrp_ndisc.c, checked at every send)
                    if router is None:
                        router = ipv6_forwarding(self.ifname)
                    self.sock.send(wire_ndisc.unsolicited_na(self.mac, ip, ip, router=router))
                n += 1
            except OSError as e:
                log.warning("%s: gratuitous ARP/NA for %s failed: %s", self.ifname, ip, e.strerror or e)
        self.sent += n
        return n

    async def burst(
        self,
        vips: tuple[VipConfig, ...],
        repeat: int,
        interval: float = 0.0,
        on_sent: Callable[[VipConfig], None] | None = None,
    ) -> None:
        """``repeat`` rounds of one frame per VIP, ``interval`` seconds apart; ``on_sent`` per frame."""
        for i in range(max(repeat, 0)):
            if i and interval > 0:
                await asyncio.sleep(interval)
            for vip in vips:
                if self.send_once((vip,)) and on_sent is not None:
                    on_sent(vip)


class GarpPool:
    """One :class:`GarpSender` per interface, opened on first use."""

    def __init__(self) -> None:
        self.senders: dict[str, GarpSender] = {}

    def get(self, ifname: str) -> GarpSender:
        s = self.senders.get(ifname)
        if s is None:
            s = GarpSender(ifname)
            s.open()
            self.senders[ifname] = s
        return s

    def close(self) -> None:
        for s in self.senders.values():
            with contextlib.suppress(Exception):
                s.close()
        self.senders.clear()
