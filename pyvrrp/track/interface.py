"""``track_interface`` and the implicit interface tracking (the instance interface, every VIP ``dev``): link
state per interface name.

An interface is *up* while it has IFF_UP and IFF_LOWER_UP (carrier), as keepalived's ``IF_FLAGS_UP``. The
state comes from one netlink query per interface at start (:meth:`LinkTracker.prime`) and then from the
daemon's netlink link events (``daemon.link_hooks`` -> :meth:`LinkTracker.on_link`): no polling. A missing or
deleted interface is down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from pyvrrp.io.netlink import LinkEvent, NetlinkOps

log = logging.getLogger("pyvrrp.vrrp")


class LinkTracker:
    """Up/down state of a set of interfaces; ``on_change(name, up)`` is called on every change."""

    def __init__(self, on_change: Callable[[str, bool], None]) -> None:
        self.on_change = on_change
        self.state: dict[str, bool] = {}

    @property
    def names(self) -> set[str]:
        return set(self.state)

    def up(self, name: str) -> bool:
        return self.state.get(name, False)

    async def prime(self, nl: NetlinkOps, names: Iterable[str]) -> None:
        """Query the current state of interfaces not known yet (no callback: this is the initial state)."""
        for name in names:
            if name in self.state:
                continue
            info = await nl.link(name)
            self.state[name] = bool(info is not None and info.lower_up)

    def forget(self, keep: Iterable[str]) -> None:
        keep = set(keep)
        for name in list(self.state):
            if name not in keep:
                del self.state[name]

    def set(self, name: str, up: bool) -> None:
        """Record a state; report it if it changed (used by :meth:`on_link` and tests)."""
        if name not in self.state:
            return
        if self.state[name] == up:
            return
        self.state[name] = up
        log.info("Netlink reports %s %s", name, "up" if up else "down")
        self.on_change(name, up)

    def on_link(self, ev: LinkEvent) -> None:
        """A ``daemon.link_hooks`` callback."""
        self.set(ev.name, ev.lower_up and not ev.deleted)
