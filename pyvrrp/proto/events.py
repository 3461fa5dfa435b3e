"""Events the VRRP instance state machine consumes (frozen). The runtime turns I/O into these."""

from __future__ import annotations

from dataclasses import dataclass

from pyvrrp._types import IPAddress, TimerKind
from pyvrrp.wire.vrrp import Advertisement


@dataclass(frozen=True, slots=True)
class Startup:
    """The instance starts (RFC 3768 §6.4.1 Startup event)."""


@dataclass(frozen=True, slots=True)
class Shutdown:
    """SIGTERM/SIGINT: a master sends priority 0 and releases its VIPs."""


@dataclass(frozen=True, slots=True)
class AdvertReceived:
    """A syntactically valid advertisement for this instance's VRID (decoded by wire.vrrp)."""

    src: IPAddress
    ttl: int
    adv: Advertisement
    dst: IPAddress | None = None  # the IP destination (multicast group or our unicast address)


@dataclass(frozen=True, slots=True)
class PacketError:
    """A packet for this VRID failed decoding; ``counter`` is the VrrpStats field to bump."""

    counter: str
    reason: str = ""
    src: IPAddress | None = None


@dataclass(frozen=True, slots=True)
class TimerFired:
    kind: TimerKind


@dataclass(frozen=True, slots=True)
class TrackerChanged:
    """A tracker's contribution changed. ``delta`` adds to the base priority; ``fault`` True puts the
    instance in FAULT (weight-0 tracker failed, interface down). ``reason`` is human text for logs/status
    ("chk_nginx failed (weight -30)")."""

    name: str
    delta: int = 0
    fault: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class VipDeleted:
    """Someone else removed one of our VIPs while we are MASTER (netlink RTM_DELADDR)."""

    address: str
