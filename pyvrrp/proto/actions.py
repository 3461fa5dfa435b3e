"""Actions the VRRP state machine returns; the runtime's executor carries them out in order."""

from __future__ import annotations

from dataclasses import dataclass

from pyvrrp._types import State
from pyvrrp.config.model import VipConfig
from pyvrrp.wire.vrrp import Advertisement


@dataclass(frozen=True, slots=True)
class SendAdvert:
    """Send this advertisement (to the multicast group, or to every unicast peer)."""

    adv: Advertisement


@dataclass(frozen=True, slots=True)
class AddVips:
    vips: tuple[VipConfig, ...]


@dataclass(frozen=True, slots=True)
class RemoveVips:
    vips: tuple[VipConfig, ...]


@dataclass(frozen=True, slots=True)
class SendGarp:
    """Send ``repeat`` gratuitous ARPs (IPv4) / unsolicited NAs (IPv6) for each VIP, ``interval`` s apart."""

    vips: tuple[VipConfig, ...]
    repeat: int
    interval: float = 0.0


@dataclass(frozen=True, slots=True)
class Transition:
    """The instance changed state. The runtime runs notify scripts/FIFO, updates metrics and status."""

    old: State
    new: State
    priority: int  # effective priority, as passed to the generic notify
    reason: str


@dataclass(frozen=True, slots=True)
class NotifyRxLowerPri:
    """MASTER received a lower-priority advert (notify_master_rx_lower_pri, FIFO MASTER_RX_LOWER_PRI)."""

    priority: int


@dataclass(frozen=True, slots=True)
class Log:
    """A log line in keepalived's words, without the instance prefix, e.g. ``Entering MASTER STATE``.
    ``detail`` lines are only shown with -D (keepalived's --log-detail)."""

    msg: str
    level: str = "info"
    detail: bool = False


Action = SendAdvert | AddVips | RemoveVips | SendGarp | Transition | NotifyRxLowerPri | Log
