"""Wiring :class:`pyvrrp.proto.sync.SyncGroup` into the daemon: every event for a ``vrrp_sync_group`` member
goes through its group, and the actions the group decides for the *other* members are executed on their
drivers; group transitions run the group notifies (``GROUP G1 MASTER 0``).

The daemon's :class:`~pyvrrp.runtime.daemon.InstanceDriver` feeds its machine directly. For a member,
:class:`SyncRuntime` is the driver's ``router`` (an :class:`~pyvrrp.runtime.daemon.EventRouter`), so everything
that reaches a member — adverts, timers, tracker changes, shutdown — is routed through
``SyncGroup.handle``/``expire``. Reload rebuilds the groups from the new configuration, keeping each group's
state when its name and members did not change.

A group is built when its last member's driver is created, before that member's ``Startup`` (the tracking
runtime's ``initial_trackers`` provider calls :meth:`SyncRuntime.install_group`): the members created
earlier already started on their own, so the group takes its state from them (FAULT if any is FAULT, else
BACKUP) and the last member starts as that state says (keepalived ``vrrp_init_state``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyvrrp._types import State
from pyvrrp.config.model import Config, SyncGroupConfig
from pyvrrp.proto.actions import Action, Log
from pyvrrp.proto.sync import GroupTransition, SyncGroup, SyncResult

if TYPE_CHECKING:
    from pyvrrp.runtime.daemon import Daemon, InstanceDriver

log = logging.getLogger("pyvrrp.vrrp")

GroupNotify = Callable[[SyncGroupConfig, State], None]


class SyncRuntime:
    """All sync groups of the running configuration."""

    def __init__(self, daemon: Daemon, on_group_state: GroupNotify | None = None) -> None:
        self.daemon = daemon
        self.on_group_state = on_group_state
        self.groups: dict[str, SyncGroup] = {}
        self.cfgs: dict[str, SyncGroupConfig] = {}
        self.member_of: dict[str, str] = {}  # instance name -> group name
        self._before: dict[str, State] = {}  # group state before the event being executed
        self._notified: set[str] = set()  # members that got at least one notify (keepalived notifies_sent)

    # -- install / uninstall -------------------------------------------------------------------------
    def install(self, config: Config) -> None:
        """Build every group of ``config`` over the current drivers (reload, or a late attach)."""
        old_states = {name: (tuple(m.name for m in g.members), g.state) for name, g in self.groups.items()}
        self.uninstall()
        for sg in config.sync_groups:
            prev = old_states.get(sg.name)
            self.install_group(sg, prev[1] if prev is not None and prev[0] == tuple(sg.members) else None)

    def install_group(self, sg: SyncGroupConfig, state: State | None = None) -> SyncGroup | None:
        """Build one group over its members' drivers and route the members through it. The group's state is
        ``state``, else derived from the members already started (members still in INIT are ignored, so
        the last member of a group being created starts as the group says)."""
        drivers = [self.daemon.drivers.get(n) for n in sg.members]
        present = [d for d in drivers if d is not None]
        if len(present) != len(sg.members):
            missing = [n for n, d in zip(sg.members, drivers, strict=True) if d is None]
            log.warning(
                "VRRP_Group(%s) member(s) %s not running - group ignored", sg.name, ", ".join(missing)
            )
            return None
        if any(d.name in self.member_of for d in present):
            log.warning("VRRP_Group(%s) shares an instance with another group - ignored", sg.name)
            return None
        for d in present:
            d.machine.sync = None
        try:
            group = SyncGroup([d.machine for d in present], sg.name)
        except ValueError as e:
            log.warning("VRRP_Group(%s) %s - ignored", sg.name, e)
            return None
        derived = state is None
        group.state = state if state is not None else self._state_from_members(group)
        self.groups[sg.name] = group
        self.cfgs[sg.name] = sg
        for d in present:
            self.member_of[d.name] = sg.name
            self._route(d)
        if derived and group.state is not State.INIT and self.on_group_state is not None:
            # the group's initial state (keepalived notifies it at start, without a "Syncing" line)
            try:
                self.on_group_state(sg, group.state)
            except Exception:
                log.exception("VRRP_Group(%s) notify failed", sg.name)
        return group

    def uninstall(self) -> None:
        for name in list(self.member_of):
            d = self.daemon.drivers.get(name)
            if d is not None:
                self._unroute(d)
                d.machine.sync = None
        self.groups.clear()
        self.cfgs.clear()
        self.member_of.clear()

    @staticmethod
    def _state_from_members(group: SyncGroup) -> State:
        states = [m.state for m in group.members if m.state is not State.INIT]
        if not states:
            return State.INIT  # nobody started: the first Startup decides (vrrp_init_state)
        if State.FAULT in states:
            return State.FAULT
        if all(s is State.MASTER for s in states):
            return State.MASTER
        return State.BACKUP

    def _route(self, d: InstanceDriver) -> None:
        d.router = self

    @staticmethod
    def _unroute(d: InstanceDriver) -> None:
        d.router = None

    # -- routing -------------------------------------------------------------------------------------
    def group_of(self, instance: str) -> SyncGroup | None:
        g = self.member_of.get(instance)
        return self.groups.get(g) if g else None

    def feed(self, d: InstanceDriver, event: object) -> list[Action]:
        group = self.group_of(d.name)
        if group is None:  # a stale route (should not happen): behave as the plain driver
            return d.feed_direct(event)
        before = group.state
        res = group.handle(d.name, event, self.daemon.now())
        self._execute(group, before, res)
        return res.for_member(d.name)

    def on_timer(self, d: InstanceDriver) -> None:
        d._timer = None
        group = self.group_of(d.name)
        if group is None:
            actions = d.machine.expire(self.daemon.now())
            d.execute(actions)
            d._rearm()
            return
        before = group.state
        res = group.expire(d.name, self.daemon.now())
        self._execute(group, before, res)

    def _execute(self, group: SyncGroup, before: State, res: SyncResult) -> None:
        self._before[group.name] = before
        try:
            for entry in res.group:
                if isinstance(entry, Log):
                    log.info("%s", entry.msg)
            for name, acts in res.actions.items():
                d = self.daemon.drivers.get(name)
                if d is not None:
                    d.execute(acts)
            for m in group.members:
                d = self.daemon.drivers.get(m.name)
                if d is not None:
                    d._rearm()
            for entry in res.group:
                if isinstance(entry, GroupTransition):
                    log.info("VRRP_Group(%s) Entering %s STATE", entry.group, entry.new.name)
                    cfg = self.cfgs.get(entry.group)
                    if cfg is not None and self.on_group_state is not None:
                        try:
                            self.on_group_state(cfg, entry.new)
                        except Exception:
                            log.exception("VRRP_Group(%s) notify failed", entry.group)
        finally:
            self._before.pop(group.name, None)

    # -- notify rules --------------------------------------------------------------------------------
    def suppress_member_notify(self, instance: str, state: State) -> bool:
        """keepalived ``send_instance_notifies``: a member that already sent notifies gets none when its group
        was already in that state."""
        gname = self.member_of.get(instance)
        if gname is None:
            return False
        group = self.groups[gname]
        first = instance not in self._notified
        self._notified.add(instance)
        if first:
            return False
        before = self._before.get(gname, group.state)
        return before is state
