"""Reading a capture of a VRRP link into a timeline: adverts (who, priority, when) and GARPs/NAs.

Used by the namespace tests (protocol bounds measured on the wire), the lab (what happened, how long)
and the benchmarks (takeover excess, GARP delay, advert jitter).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from pyvrrp.errors import DecodeError
from pyvrrp.wire import arp as wire_arp
from pyvrrp.wire import ipv4 as wire_ipv4
from pyvrrp.wire import ndisc as wire_ndisc
from pyvrrp.wire import pcap as wire_pcap
from pyvrrp.wire import vrrp as wire_vrrp

ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD


@dataclass(frozen=True, slots=True)
class WireEvent:
    ts: float
    kind: str  # "advert", "garp", "na"
    src: IPv4Address | IPv6Address | None  # advert source / GARP or NA sender
    vrid: int | None = None
    priority: int | None = None
    version: int | None = None
    target: IPv4Address | IPv6Address | None = None  # the announced address for GARP/NA
    mac: bytes | None = None


def read_events(path: str | Path) -> list[WireEvent]:
    out: list[WireEvent] = []
    try:
        records = list(wire_pcap.read(path))
    except (OSError, ValueError):
        return out
    for ts, linktype, frame in records:
        nl = wire_pcap.network_layer(linktype, frame)
        if nl is None:
            continue
        etype, payload = nl
        if etype == ETH_P_IP:
            try:
                pkt = wire_ipv4.split(payload)
                adv = wire_vrrp.decode(pkt.payload, 4, pkt.src, pkt.dst)
            except DecodeError:
                continue
            out.append(WireEvent(ts, "advert", pkt.src, adv.vrid, adv.priority, adv.version))
        elif etype == ETH_P_ARP and linktype == wire_pcap.LINKTYPE_ETHERNET:
            a = wire_arp.parse_arp(frame)
            if a is not None and a.is_gratuitous:
                out.append(WireEvent(ts, "garp", a.sender_ip, target=a.target_ip, mac=a.sender_mac))
        elif etype == ETH_P_IPV6 and len(payload) >= 40:
            nh = payload[6]
            src = IPv6Address(payload[8:24])
            if nh == 112:
                try:
                    adv = wire_vrrp.decode(payload[40:], 6)
                except DecodeError:
                    continue
                out.append(WireEvent(ts, "advert", src, adv.vrid, adv.priority, adv.version))
            elif nh == 58 and linktype == wire_pcap.LINKTYPE_ETHERNET:
                na = wire_ndisc.parse_na(frame)
                if na is not None:
                    out.append(WireEvent(ts, "na", na.src, target=na.target, mac=na.eth_src))
    return out


def adverts(events: list[WireEvent], src: str | None = None, vrid: int | None = None) -> list[WireEvent]:
    return [
        e
        for e in events
        if e.kind == "advert" and (src is None or str(e.src) == src) and (vrid is None or e.vrid == vrid)
    ]


def garps(events: list[WireEvent], target: str, after: float = 0.0) -> list[WireEvent]:
    return [e for e in events if e.kind in ("garp", "na") and str(e.target) == target and e.ts >= after]


def intervals(ts: list[float]) -> list[float]:
    return [b - a for a, b in zip(ts, ts[1:], strict=False)]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]
