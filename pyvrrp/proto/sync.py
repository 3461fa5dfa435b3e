"""VRRP sync groups (sans-I/O): ``vrrp_sync_group`` members change state together (keepalived ``vrrp_sync.c``).

Rules (keepalived 2.2.7):

* A member goes MASTER only when the group is MASTER or every *other* member wants MASTER
  (``vrrp_sync_can_goto_master``); otherwise its down timer is re-armed and it stays BACKUP wanting MASTER.
* When a member becomes MASTER (the TSM B->M, M->M, F->M handlers) the others follow (``vrrp_sync_master``).
* One member going MASTER -> BACKUP takes every member to BACKUP (``vrrp_sync_backup``), as does the last
  member leaving FAULT.
* One member entering FAULT puts every member in FAULT (``vrrp_sync_fault``); the group leaves FAULT only when
  no member has a fault of its own.
* Startup: the group starts FAULT if any member has a fault, MASTER if every member is an address owner with
  ``state MASTER``, else BACKUP; a member with ``state MASTER`` in a BACKUP group waits one advert interval plus
  the minimum skew (``vrrp_init_state``).
* A MASTER member receiving a lower-priority advert makes the other MASTER members send their lower-priority
  GARPs as well.

API (a pure wrapper: it owns no timers; members keep theirs)::

    g = SyncGroup(members: list[VrrpInstance], name: str = "")     # installs itself as member.sync
    g.handle(member_name, event, now) -> SyncResult   # instead of member.handle(event, now)
    g.expire(member_name, now) -> SyncResult          # instead of member.expire(now)
    g.startup(now) -> SyncResult                      # Startup for every member, in order
    g.shutdown(now) -> SyncResult                     # Shutdown for every member, in order
    g.next_deadline() -> float | None                 # earliest timer of any member
    g.expire_all(now) -> SyncResult                   # every member's due timers, earliest first
    g.state: State   g.last_transition: float | None   g.name: str   g.members: list[VrrpInstance]
    g.member(name) -> VrrpInstance

``SyncResult.actions`` maps member name -> its actions, in the order to perform them (the member the event was
for first, then the others in group order); ``SyncResult.group`` holds group-level ``Log`` lines (keepalived
prints them without an instance prefix, e.g. ``VRRP_Group(G1) Syncing instances to MASTER state``) and
``GroupTransition`` entries (run the group's notify scripts: generic notify gets ``GROUP G1 MASTER 0``).

Group-level trackers (``track_script`` in the ``vrrp_sync_group`` block) are fed by the runtime to every
member as ``TrackerChanged``; ignoring members' weights without ``sync_group_tracking_weight`` is the tracking
layer's job (keepalived zeroes those weights at config time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyvrrp._types import State
from pyvrrp.proto import priority as prio
from pyvrrp.proto.actions import Action, Log, NotifyRxLowerPri
from pyvrrp.proto.events import Shutdown, Startup, VipDeleted
from pyvrrp.proto.vrrp import VrrpInstance


@dataclass(frozen=True, slots=True)
class GroupTransition:
    """The sync group changed state (keepalived ``send_group_notifies``)."""

    group: str
    old: State
    new: State
    reason: str


@dataclass(slots=True)
class SyncResult:
    """Actions per member (insertion order = execution order) and group-level entries."""

    actions: dict[str, list[Action]] = field(default_factory=dict)
    group: list[GroupTransition | Log] = field(default_factory=list)

    def add(self, name: str, acts: list[Action]) -> None:
        if acts:
            self.actions.setdefault(name, []).extend(acts)

    def merge(self, other: SyncResult) -> None:
        for name, acts in other.actions.items():
            self.add(name, acts)
        self.group.extend(other.group)

    def for_member(self, name: str) -> list[Action]:
        return self.actions.get(name, [])

    def transitions(self) -> list[GroupTransition]:
        return [g for g in self.group if isinstance(g, GroupTransition)]


class SyncGroup:
    """A ``vrrp_sync_group``: post-processes members' transitions as keepalived's TSM does."""

    def __init__(self, members: list[VrrpInstance], name: str = "") -> None:
        if not members:
            raise ValueError("a sync group needs at least one member")
        names = [m.name for m in members]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate member in sync group {name}: {names}")
        self.name = name
        self.members = list(members)
        self.state: State = State.INIT
        self.last_transition: float | None = None
        for m in self.members:
            if m.sync is not None and m.sync is not self:
                raise ValueError(f"{m.name} is already in a sync group")
            m.sync = self

    # ------------------------------------------------------------------ SyncHooks (called by members)

    def startup_state(self, m: VrrpInstance) -> State:
        if self.state is not State.INIT:
            return self.state
        return self._initial_state()

    def can_goto_master(self, m: VrrpInstance) -> bool:
        if self.state is State.MASTER:
            return True
        # "Only sync to master if everyone wants to, i.e. prefer backup state to avoid thrashing"
        return all(o.wantstate is State.MASTER for o in self.members if o is not m)

    def held_in_fault(self, m: VrrpInstance) -> bool:
        return any(prio.faulted(o.trackers) for o in self.members if o is not m)

    # ------------------------------------------------------------------ driving

    def member(self, name: str) -> VrrpInstance:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(name)

    def next_deadline(self) -> float | None:
        ds = [d for m in self.members if (d := m.next_deadline()) is not None]
        return min(ds) if ds else None

    def handle(self, name: str, event: object, now: float) -> SyncResult:
        m = self.member(name)
        prev = m.state
        res = SyncResult()
        acts = m.handle(event, now)
        res.add(m.name, acts)
        self._post(m, prev, acts, event, now, res)
        return res

    def expire(self, name: str, now: float) -> SyncResult:
        m = self.member(name)
        prev = m.state
        res = SyncResult()
        acts = m.expire(now)
        res.add(m.name, acts)
        self._post(m, prev, acts, None, now, res)
        return res

    def expire_all(self, now: float) -> SyncResult:
        res = SyncResult()
        for _ in range(64 * len(self.members)):
            due = [
                (d, i)
                for i, m in enumerate(self.members)
                if (d := m.next_deadline()) is not None and d <= now
            ]
            if not due:
                break
            _, i = min(due)
            res.merge(self.expire(self.members[i].name, now))
        return res

    def startup(self, now: float) -> SyncResult:
        res = SyncResult()
        for m in self.members:
            res.merge(self.handle(m.name, Startup(), now))
        return res

    def shutdown(self, now: float) -> SyncResult:
        res = SyncResult()
        for m in self.members:
            res.merge(self.handle(m.name, Shutdown(), now))
        return res

    # ------------------------------------------------------------------ keepalived's TSM

    def _initial_state(self) -> State:
        """``vrrp_sync_set_group`` + tracker init: FAULT if any member is faulted, MASTER if all are owners
        wanting MASTER, else BACKUP."""
        if any(prio.faulted(m.trackers) for m in self.members):
            return State.FAULT
        if all(
            m.configured_state is State.MASTER and m.base_priority == prio.PRIO_OWNER for m in self.members
        ):
            return State.MASTER
        return State.BACKUP

    def _set_state(self, new: State, now: float, reason: str, res: SyncResult) -> None:
        old = self.state
        if old is new:
            return
        self.state = new
        self.last_transition = now
        res.group.append(GroupTransition(self.name, old, new, reason))

    def _post(
        self, m: VrrpInstance, prev: State, acts: list[Action], event: object, now: float, res: SyncResult
    ) -> None:
        new = m.state
        if any(isinstance(a, NotifyRxLowerPri) for a in acts):
            # vrrp_state_master_rx: the other members send their lower-priority GARPs too.
            for o in self.members:
                if o is not m:
                    res.add(o.name, o.lower_prio_garp(now))
        if new is prev:
            if new is State.MASTER and self.state is not State.MASTER:
                self._sync_master(m, now, res)  # TSM M->M
            return
        if self.state is State.INIT and new in (State.BACKUP, State.MASTER, State.FAULT):
            # vrrp_init_state: the group's initial state, notified without a "Syncing" line.
            self._set_state(new, now, "init", res)
            return
        if new is State.STOP:
            if all(o.state is State.STOP for o in self.members):
                self._set_state(State.STOP, now, "shutdown", res)
            return
        reason = f"{m.name}: {m.last_reason}"
        if new is State.FAULT:
            self._sync_fault(m, now, reason, res)
        elif new is State.MASTER:
            self._sync_master(m, now, res)
        elif new is State.BACKUP and prev in (State.MASTER, State.FAULT):
            self._sync_backup(m, now, reason, res, quick=isinstance(event, VipDeleted))

    def _sync_master(self, m: VrrpInstance, now: float, res: SyncResult) -> None:
        """``vrrp_sync_master``."""
        if self.state is State.MASTER or not self.can_goto_master(m):
            return
        res.group.append(Log(f"VRRP_Group({self.name}) Syncing instances to MASTER state"))
        reason = f"sync group {self.name} (from {m.name})"
        for o in self.members:
            if o is not m and o.state is not State.MASTER:
                o.wantstate = State.MASTER
                res.add(o.name, o.force_state(State.MASTER, now, reason))
        self._set_state(State.MASTER, now, f"{m.name}: {m.last_reason}", res)

    def _sync_backup(self, m: VrrpInstance, now: float, reason: str, res: SyncResult, quick: bool) -> None:
        """``vrrp_sync_backup`` (and ``set_vrrp_backup`` with ``quick`` after a deleted VIP)."""
        if self.state is State.BACKUP:
            return
        res.group.append(Log(f"VRRP_Group({self.name}) Syncing instances to BACKUP state"))
        why = f"sync group {self.name} (from {m.name})"
        for o in self.members:
            if o is not m and o.state is not State.BACKUP:
                res.add(o.name, o.force_state(State.BACKUP, now, why, quick=quick))
        self._set_state(State.BACKUP, now, reason, res)

    def _sync_fault(self, m: VrrpInstance, now: float, reason: str, res: SyncResult) -> None:
        """``vrrp_sync_fault``."""
        if self.state is State.FAULT:
            return
        res.group.append(Log(f"VRRP_Group({self.name}) Syncing instances to FAULT state"))
        why = f"sync group {self.name} (from {m.name})"
        for o in self.members:
            if o is not m and o.state is not State.FAULT:
                res.add(o.name, o.force_state(State.FAULT, now, why))
        self._set_state(State.FAULT, now, reason, res)
