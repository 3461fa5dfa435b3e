"""Small shared types: states (keepalived's numbering), timer kinds, address aliases."""

from __future__ import annotations

import enum
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

IPAddress = IPv4Address | IPv6Address
IPInterface = IPv4Interface | IPv6Interface


class State(enum.IntEnum):
    """VRRP instance state, numbered as keepalived (dumps, JSON, metrics)."""

    INIT = 0  # RFC 3768 §6.4.1 Initialize
    BACKUP = 1  # RFC 3768 §6.4.2
    MASTER = 2  # RFC 3768 §6.4.3
    FAULT = 3  # keepalived: a tracked item is down
    STOP = 98  # only used for notifies at shutdown
    DELETED = 99  # only used for notifies on reload


class TimerKind(enum.Enum):
    MASTER_DOWN = "master_down"  # backup: Master_Down_Timer
    ADVERT = "advert"  # master: Adver_Timer
    PREEMPT = "preempt"  # backup: preempt_delay expiry
    GARP = "garp"  # master: second GARP burst / refresh
