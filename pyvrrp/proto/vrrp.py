"""The VRRP instance state machine (sans-I/O). RFC 3768 §6.4 / RFC 5798 §6.4 plus keepalived's FAULT.

CONTRACT (the runtime relies on it; keep it):

    m = VrrpInstance(cfg: InstanceConfig, src_ip: IPAddress | None)
        src_ip: our primary address on the interface (or unicast_src_ip) — used for the equal-priority
        tie-break and as advert source. May be updated later with ``m.src_ip = ...``.
    m.handle(event, now: float) -> list[Action]     events from proto.events, actions from proto.actions
    m.next_deadline() -> float | None               earliest armed timer (absolute, same clock as now)
    m.expire(now) -> list[Action]                   fire every timer due at ``now`` (handle(TimerFired) each)
    m.state: State   m.wantstate: State   m.base_priority: int   m.effective_priority: int
    m.stats: VrrpStats (keepalived's JSON stats names)
    m.master_src: IPAddress | None   m.master_priority: int | None   (last master heard, for status)
    m.last_transition: float | None (now of the last state change)   m.last_reason: str
    m.master_down_interval() -> float   m.skew_time() -> float
    m.trackers: dict[str, TrackerChanged]  the latest tracker contributions

Additions (also part of the contract):

    m.update_config(new_cfg, now) -> list[Action]   reload: keeps state and stats (see the method)
    m.name -> str                                   the instance name (for log prefixes)
    m.cfg: InstanceConfig                            the current configuration
    m.master_adver_int: float                        Master_Adver_Interval in seconds (v3 adopts the master's)
    m.preempt_time: float | None                     when the running preempt_delay ends (None: not running)
    m.timers() -> dict[TimerKind, float]             a copy of the armed timers (status, tests)
    m.vips_set: bool                                 True while this instance holds its VIPs (MASTER)
    m.configured_state: State                        the configured ``state`` (MASTER or BACKUP)
    m.version: int   m.adver_int: float              effective VRRP version and our advert interval (s)
    m.sync: SyncHooks | None                         set by proto.sync.SyncGroup for group members
    m.force_state(new, now, reason, quick=False)     sync-group imposed transition (proto.sync uses it)
    m.lower_prio_garp(now) -> list[Action]           sync peer's lower-priority GARPs (proto.sync uses it)

Event handling rules, all following keepalived 2.2.7 (``vrrp/vrrp.c``, ``vrrp_scheduler.c``, ``vrrp_track.c``):

* Send the initial ``TrackerChanged`` events *before* ``Startup``: a fault then makes Startup go to FAULT.
* Timers are absolute deadlines kept inside the machine; the runtime only asks :meth:`next_deadline` and calls
  :meth:`expire` (or ``handle(TimerFired(kind))``). A ``TimerFired`` for a kind that is not armed is ignored.
  Invariant: MASTER has ADVERT armed (and maybe GARP), BACKUP has MASTER_DOWN armed, INIT/FAULT/STOP none.
* Adverts and packet errors are ignored in INIT, FAULT and STOP (keepalived's dispatcher drops them before
  any check, so no counter moves). After ``Shutdown`` (state STOP) every event is ignored.
* Actions come out in the order the executor must perform them; ``Log`` lines are keepalived's words without
  the ``(VI_1)`` prefix, ``detail=True`` for those keepalived only shows with ``--log-detail``.
* An advert whose VRID is not ours is ignored (demultiplexing is the runtime's job).

Deliberate differences from keepalived 2.2.7 (each one harmless on the wire):

* An owner with ``state MASTER`` goes MASTER inside ``Startup`` (keepalived: BACKUP, then a 1 µs down timer;
  no BACKUP notify either way).
* A MASTER restarts its advert timer only when it actually sent an advert on receipt (priority 0, lower
  priority, ``higher_prio_send_advert``); keepalived restarts it after any received packet.
* Master_Adver_Interval is always reset to our own interval on becoming MASTER (keepalived only does it when
  ``--log-detail`` is on).
* ``PacketError`` counters move only in BACKUP/MASTER (keepalived checks length etc. after dropping packets
  received in FAULT/INIT). AH authentication (auth_type 2) is matched by type only, not verified.
* Startup does not emit ``RemoveVips`` for leftover addresses (keepalived's ``remove_residual_vips``/
  "removing VIPs." at init): the runtime does that before ``Startup``.
* "wrong version" (a v2/v3 mix on one VRID) is logged once per source address (at most
  ``VERSION_WARN_PEERS`` sources); ``version_err`` still counts every packet. keepalived logs each packet.
* ``TimerKind.PREEMPT`` is never armed: as in keepalived, preempt_delay only changes which adverts are
  accepted (``preempt_time``); the takeover happens when MASTER_DOWN expires.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from ipaddress import ip_interface
from typing import Protocol

from pyvrrp._types import IPAddress, State, TimerKind
from pyvrrp.config.model import InstanceConfig, VipConfig
from pyvrrp.proto import priority as prio
from pyvrrp.proto import timers
from pyvrrp.proto.actions import (
    Action,
    AddVips,
    Log,
    NotifyRxLowerPri,
    RemoveVips,
    SendAdvert,
    SendGarp,
    Transition,
)
from pyvrrp.proto.events import (
    AdvertReceived,
    PacketError,
    Shutdown,
    Startup,
    TimerFired,
    TrackerChanged,
    VipDeleted,
)
from pyvrrp.wire.vrrp import ADVERTISEMENT, AUTH_AH, AUTH_NONE, AUTH_PASS, Advertisement

VRRP_IP_TTL = 255  # RFC 3768 §7.1 / RFC 5798 §7.1
VERSION_WARN_PEERS = 64  # sources remembered for the once-per-peer "wrong version" log (bounded)
_MAX_EXPIRE_ROUNDS = 64  # expire() safety bound; every fired timer re-arms strictly later
_EXPIRE_SLACK = (
    1e-6  # expire() fires timers due within 1 µs (keepalived's resolution; event loops wake early)
)


@dataclass(slots=True)
class VrrpStats:
    """Per-instance counters, named as keepalived's JSON dump (``vrrp_json.c``)."""

    advert_rcvd: int = 0
    advert_sent: int = 0
    become_master: int = 0
    release_master: int = 0
    packet_len_err: int = 0
    advert_interval_err: int = 0
    ip_ttl_err: int = 0
    invalid_type_rcvd: int = 0
    addr_list_err: int = 0
    invalid_authtype: int = 0
    authtype_mismatch: int = 0
    auth_failure: int = 0
    pri_zero_rcvd: int = 0
    pri_zero_sent: int = 0
    # pyvrrp-only (not in keepalived's dumps)
    checksum_err: int = 0
    version_err: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def clear(self) -> None:
        for f in fields(self):
            setattr(self, f.name, 0)


_STAT_NAMES = frozenset(f.name for f in fields(VrrpStats))


class SyncHooks(Protocol):
    """What a sync group (:class:`pyvrrp.proto.sync.SyncGroup`) decides for its members."""

    def startup_state(self, m: VrrpInstance) -> State:
        """The state ``m`` starts towards (keepalived: the group's state)."""
        ...

    def can_goto_master(self, m: VrrpInstance) -> bool:
        """``vrrp_sync_can_goto_master``: may ``m`` become MASTER now?"""
        ...

    def held_in_fault(self, m: VrrpInstance) -> bool:
        """True while another member's own fault keeps the whole group in FAULT."""
        ...


def _addr_cmp(a: IPAddress, b: IPAddress | None) -> int:
    """keepalived ``vrrp_saddr_cmp``: sign of ``a - b`` as integers; 0 when ``b`` is unknown or of another family."""
    if b is None or a.version != b.version:
        return 0
    ia, ib = int(a), int(b)
    return (ia > ib) - (ia < ib)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class VrrpInstance:
    """One ``vrrp_instance``: a pure state machine over (event, now) -> actions. See the module docstring."""

    def __init__(self, cfg: InstanceConfig, src_ip: IPAddress | None = None) -> None:
        self.src_ip: IPAddress | None = src_ip
        self.stats = VrrpStats()
        self.trackers: dict[str, TrackerChanged] = {}
        self.state: State = State.INIT
        self.master_src: IPAddress | None = None
        self.master_priority: int | None = None
        self.last_transition: float | None = None
        self.last_reason: str = ""
        self.preempt_time: float | None = None
        self.vips_set = False
        self._timers: dict[TimerKind, float] = {}
        self._garp_pending: list[tuple[float, int]] = []  # (deadline, repeat): delayed GARP bursts
        self._garp_refresh_at: float | None = None
        self._last_master_saddr: IPAddress | None = None  # keepalived's master_saddr (skip_check_adv_addr)
        self._version_warned: set[IPAddress] = set()  # sources already logged for a version mismatch
        self.sync: SyncHooks | None = None  # set by proto.sync.SyncGroup
        self._apply_config(cfg)
        self.wantstate: State = self._configured_want
        self.effective_priority: int = prio.effective_from_trackers(self.base_priority, self.trackers)
        self.master_adver_int: float = self.adver_int
        self._ms_down_timer: float = self.master_down_interval()

    # ------------------------------------------------------------------ configuration

    def _apply_config(self, cfg: InstanceConfig) -> None:
        """Derive the working parameters from ``cfg`` as ``vrrp_complete_instance`` does."""
        self.cfg = cfg
        self.version = 3 if cfg.version == 3 or cfg.family == 6 else 2
        self.base_priority = max(1, min(prio.PRIO_OWNER, cfg.priority))
        self._configured_want = State.MASTER if cfg.state.upper() == "MASTER" else State.BACKUP
        self._adver_int_wire = timers.adver_int_to_wire(self.version, cfg.advert_int)
        self.adver_int = timers.adver_int_from_wire(self.version, self._adver_int_wire)
        # vrrp_complete_instance: no auth with v3 or strict mode, or without a password.
        if self.version == 3 or cfg.strict_mode or (cfg.auth_type == AUTH_PASS and not cfg.auth_pass):
            self._auth_type = AUTH_NONE
        else:
            self._auth_type = cfg.auth_type
        if self._auth_type == AUTH_PASS:
            self._auth_data = cfg.auth_pass[:8].ljust(8, b"\0")
        else:
            self._auth_data = b"\0" * 8  # keepalived sends a zeroed field
        # nopreempt/preempt_delay are cleared with state MASTER; preempt_delay also by strict/nopreempt.
        self._nopreempt = cfg.nopreempt and self._configured_want is not State.MASTER
        self._preempt_delay = cfg.preempt_delay
        if self._configured_want is State.MASTER or cfg.strict_mode or self._nopreempt:
            self._preempt_delay = 0.0
        self._lower_prio_no_advert = cfg.lower_prio_no_advert or cfg.strict_mode
        self._higher_prio_send_advert = cfg.higher_prio_send_advert and not cfg.strict_mode
        self._down_timer_adverts = 3 if cfg.strict_mode else max(1, cfg.down_timer_adverts)
        rep = cfg.garp_lower_prio_repeat
        self._garp_lower_prio_repeat = (
            0 if cfg.strict_mode else (cfg.garp_master_repeat if rep is None else rep)
        )
        delay = cfg.garp_lower_prio_delay
        self._garp_lower_prio_delay = cfg.garp_master_delay if delay is None else delay

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def configured_state(self) -> State:
        """The configured initial wish (``state MASTER|BACKUP``)."""
        return self._configured_want

    def _all_vips(self) -> tuple[VipConfig, ...]:
        return tuple(self.cfg.vips) + tuple(self.cfg.evips)

    # ------------------------------------------------------------------ timers

    def skew_time(self) -> float:
        """Skew_Time for the effective priority (v3: of Master_Adver_Interval)."""
        return timers.skew_time(self.version, self.effective_priority, self.master_adver_int)

    def master_down_interval(self) -> float:
        """``down_timer_adverts * Master_Adver_Interval + Skew_Time`` (keepalived ``VRRP_MS_DOWN_TIMER``)."""
        return timers.master_down_interval(
            self.version, self.effective_priority, self.master_adver_int, self._down_timer_adverts
        )

    def next_deadline(self) -> float | None:
        return min(self._timers.values()) if self._timers else None

    def timers(self) -> dict[TimerKind, float]:
        return dict(self._timers)

    def expire(self, now: float) -> list[Action]:
        """Fire every timer due at ``now`` (earliest first; 1 µs early counts as due)."""
        acts: list[Action] = []
        for _ in range(_MAX_EXPIRE_ROUNDS):
            due = [(t, k) for k, t in self._timers.items() if t <= now + _EXPIRE_SLACK]
            if not due:
                break
            _, kind = min(due, key=lambda tk: tk[0])
            acts += self.handle(TimerFired(kind), now)
        return acts

    def _arm_backup(self, now: float, down: float) -> None:
        """Enter the BACKUP timer set: only MASTER_DOWN at ``now + down``."""
        self._ms_down_timer = down
        self._timers = {TimerKind.MASTER_DOWN: now + down}
        self._garp_pending.clear()
        self._garp_refresh_at = None

    def _arm_garp(self) -> None:
        if self._garp_pending:
            self._timers[TimerKind.GARP] = min(t for t, _ in self._garp_pending)
        else:
            self._timers.pop(TimerKind.GARP, None)

    # ------------------------------------------------------------------ dispatch

    def handle(self, event: object, now: float) -> list[Action]:
        """Process one event at time ``now``; return the actions to perform, in order."""
        if self.state is State.STOP:
            return []
        if isinstance(event, AdvertReceived):
            return self._on_advert(event, now)
        if isinstance(event, TimerFired):
            return self._on_timer(event.kind, now)
        if isinstance(event, TrackerChanged):
            return self._on_tracker(event, now)
        if isinstance(event, PacketError):
            if self.state in (State.BACKUP, State.MASTER) and event.counter in _STAT_NAMES:
                setattr(self.stats, event.counter, getattr(self.stats, event.counter) + 1)
            return []
        if isinstance(event, Startup):
            return self._on_startup(now)
        if isinstance(event, Shutdown):
            return self._on_shutdown(now)
        if isinstance(event, VipDeleted):
            return self._on_vip_deleted(event, now)
        raise TypeError(f"unknown VRRP event {event!r}")

    # ------------------------------------------------------------------ transitions

    def _transition(self, acts: list[Action], new: State, now: float, reason: str) -> None:
        old = self.state
        self.state = new
        self.last_transition = now
        self.last_reason = reason
        acts.append(Transition(old, new, self.effective_priority, reason))

    def _on_startup(self, now: float) -> list[Action]:
        """``vrrp_init_state`` (vrrp_scheduler.c): INIT -> BACKUP, FAULT, or MASTER for an owner.

        ``new_state`` is the sync group's state for a group member, else the configured ``state``.
        keepalived 2.2.7 (verified): a standalone ``state MASTER`` below 255 waits the full
        Master_Down_Interval; only a sync-group member that wants MASTER while its group is BACKUP waits
        one interval plus the minimum skew.
        """
        if self.state is not State.INIT:
            return []
        acts: list[Action] = []
        self.master_adver_int = self.adver_int
        new_state = self.sync.startup_state(self) if self.sync is not None else self._configured_want
        if prio.faulted(self.trackers) or new_state is State.FAULT:
            self.wantstate = State.FAULT
            acts.append(Log("Entering FAULT STATE (init)"))
            self._timers.clear()
            reason = prio.fault_reason(self.trackers) or "sync group in FAULT"
            self._transition(acts, State.FAULT, now, reason)
            return acts
        if (
            new_state is State.MASTER
            and self._configured_want is State.MASTER
            and self.base_priority == prio.PRIO_OWNER
        ):
            # keepalived: BACKUP with a 1 µs down timer, i.e. MASTER at once; we go there directly.
            self._goto_master(acts, now, "address owner (priority 255) with state MASTER")
            return acts
        if new_state is State.BACKUP and self._configured_want is State.MASTER:
            # "We need to allow one adver_int to pass to ensure there is no other master"
            down = self.master_adver_int + timers.min_skew_time(self.version, self.master_adver_int)
        else:
            down = self.master_down_interval()
        acts.append(Log("Entering BACKUP STATE (init)"))
        self._arm_backup(now, down)
        self._transition(acts, State.BACKUP, now, "init")
        return acts

    def _on_shutdown(self, now: float) -> list[Action]:
        """``restore_vrrp_interfaces``: a master sends priority 0 and removes its VIPs; then STOP."""
        acts: list[Action] = []
        if self.state is State.MASTER:
            self._restore_interface(acts, adv_f=True)
        self._timers.clear()
        self._garp_pending.clear()
        self._garp_refresh_at = None
        self.preempt_time = None
        self._transition(acts, State.STOP, now, "shutdown")
        return acts

    def _send_advert(self, acts: list[Action], priority: int) -> None:
        """``vrrp_send_adv``: one advertisement (the runtime copies it to every unicast peer)."""
        adv = Advertisement(
            version=self.version,
            vrid=self.cfg.vrid,
            priority=priority,
            addresses=tuple(v.address.ip for v in self.cfg.vips),
            adver_int=self._adver_int_wire,
            auth_type=self._auth_type if self.version == 2 else AUTH_NONE,
            auth_data=self._auth_data if self.version == 2 else b"\0" * 8,
        )
        acts.append(SendAdvert(adv))
        self.stats.advert_sent += 1

    def _send_link_update(self, acts: list[Action], repeat: int) -> None:
        """``vrrp_send_link_update``: GARP/NA bursts for every VIP and eVIP, only while the VIPs are set."""
        if not self.vips_set or repeat <= 0:
            return
        v4 = tuple(v for v in self._all_vips() if v.address.version == 4)
        v6 = tuple(v for v in self._all_vips() if v.address.version == 6)
        for v in self._all_vips():
            what = "gratuitous ARPs" if v.address.version == 4 else "Unsolicited Neighbour Adverts"
            dev = v.dev or self.cfg.interface or "?"
            acts.append(Log(f"Sending/queueing {what} on {dev} for {v.address.ip}", detail=True))
        if v4:
            acts.append(SendGarp(v4, repeat, self.cfg.garp_interval))
        if v6:
            acts.append(SendGarp(v6, repeat, self.cfg.gna_interval))

    def _goto_master(self, acts: list[Action], now: float, reason: str) -> None:
        """``vrrp_state_goto_master`` + ``vrrp_state_master_tx`` + ``vrrp_state_become_master`` (vrrp.c).

        Advert first ("the old master needs to remove the VIPs before we send the gratuitous ARPs"),
        then VIPs, GARP burst, notify; second GARP burst after garp_master_delay; refresh timer.
        """
        self.wantstate = State.MASTER
        self._send_advert(acts, self.effective_priority)
        acts.append(Log("Entering MASTER STATE"))
        self.stats.become_master += 1
        if self.version == 3 and self.master_adver_int != self.adver_int:
            acts.append(
                Log(
                    f"changing advert interval from {_ms(self.master_adver_int)}ms to locally configured "
                    f"{_ms(self.adver_int)}ms",
                    detail=True,
                )
            )
        self.master_adver_int = self.adver_int
        if self.cfg.vips:
            acts.append(Log("setting VIPs.", detail=True))
        if self.cfg.evips:
            acts.append(Log("setting E-VIPs.", detail=True))
        if self._all_vips():
            acts.append(AddVips(self._all_vips()))
        self.vips_set = True
        self._send_link_update(acts, self.cfg.garp_master_repeat)
        self.preempt_time = None
        self._timers = {TimerKind.ADVERT: now + self.adver_int}
        self._garp_pending = []
        if self.cfg.garp_master_delay > 0 and self.cfg.garp_master_repeat > 0:
            self._garp_pending.append((now + self.cfg.garp_master_delay, self.cfg.garp_master_repeat))
        self._arm_garp()
        self._garp_refresh_at = (
            now + self.cfg.garp_master_refresh if self.cfg.garp_master_refresh > 0 else None
        )
        self._transition(acts, State.MASTER, now, reason)

    def _restore_interface(self, acts: list[Action], adv_f: bool) -> None:
        """``vrrp_restore_interface``: optional priority-0 advert, then remove VIPs/eVIPs."""
        if adv_f:
            self._send_advert(acts, prio.PRIO_STOP)
            self.stats.pri_zero_sent += 1
            acts.append(Log("sent 0 priority", detail=True))
        self._garp_pending.clear()
        self._garp_refresh_at = None
        self._timers.pop(TimerKind.GARP, None)
        if self.vips_set:
            if self.cfg.vips:
                acts.append(Log("removing VIPs.", detail=True))
            if self.cfg.evips:
                acts.append(Log("removing E-VIPs.", detail=True))
            if self._all_vips():
                acts.append(RemoveVips(self._all_vips()))
            self.vips_set = False

    def _leave_master(self, acts: list[Action], now: float, new: State, adv_f: bool, reason: str) -> None:
        """``vrrp_state_leave_master``: MASTER -> BACKUP or FAULT."""
        self.wantstate = new
        if new is State.BACKUP:
            acts.append(Log("Entering BACKUP STATE"))
            self.preempt_time = None
        else:
            acts.append(Log("Entering FAULT STATE"))
            # keepalived sends a priority-0 advert here and (with advF) another in restore_interface.
            self._send_advert(acts, prio.PRIO_STOP)
        self._restore_interface(acts, adv_f)
        self.stats.release_master += 1
        if new is State.BACKUP:
            self._arm_backup(now, self.master_down_interval())
        else:
            self.master_adver_int = self.adver_int
            self._timers.clear()
        self._transition(acts, new, now, reason)

    # ------------------------------------------------------------------ timers fired

    def _on_timer(self, kind: TimerKind, now: float) -> list[Action]:
        if kind not in self._timers:
            return []
        acts: list[Action] = []
        if kind is TimerKind.MASTER_DOWN and self.state is State.BACKUP:
            # vrrp_dispatcher_read_timeout: RFC 3768 §6.4.2 Master_Down_Timer fires.
            acts.append(Log("Receive advertisement timeout", detail=True))
            if self.sync is not None and not self.sync.can_goto_master(self):
                # vrrp_state_goto_master: held in BACKUP by the sync group, wanting MASTER.
                self.wantstate = State.MASTER
                self._arm_backup(now, self.master_down_interval())
            else:
                self._goto_master(acts, now, "master down timer expired")
        elif kind is TimerKind.ADVERT and self.state is State.MASTER:
            # RFC 3768 §6.4.3: Adver_Timer fires -> send an advertisement, reset the timer.
            self._send_advert(acts, self.effective_priority)
            if self._garp_refresh_at is not None and now >= self._garp_refresh_at:
                # vrrp_state_master_tx: the GARP refresh is checked at advert time.
                self._send_link_update(acts, self.cfg.garp_master_refresh_repeat)
                self._garp_refresh_at = now + self.cfg.garp_master_refresh
            self._timers[TimerKind.ADVERT] = now + self.adver_int
        elif kind is TimerKind.GARP and self.state is State.MASTER:
            due = [rep for t, rep in self._garp_pending if t <= now]
            self._garp_pending = [(t, rep) for t, rep in self._garp_pending if t > now]
            if not due:  # fired a little early: do the earliest one
                earliest = min(self._garp_pending)
                self._garp_pending.remove(earliest)
                due = [earliest[1]]
            for rep in due:
                self._send_link_update(acts, rep)
            self._arm_garp()
        else:  # a stale timer for another state: drop it
            del self._timers[kind]
        return acts

    # ------------------------------------------------------------------ receive

    def _check_packet(self, ev: AdvertReceived, check_addr: bool, acts: list[Action]) -> bool:
        """``vrrp_check_packet`` (vrrp.c), RFC 3768 §7.1 / RFC 5798 §7.1, in keepalived's order."""
        adv = ev.adv
        cfg = self.cfg
        st = self.stats
        unicast = cfg.unicast
        # MUST verify that the IP TTL is 255 (not for unicast).
        if not unicast and ev.ttl >= 0 and ev.ttl != VRRP_IP_TTL:
            acts.append(Log(f"invalid TTL/HL. Received {ev.ttl} and expect {VRRP_IP_TTL}"))
            st.ip_ttl_err += 1
            return False
        # MUST verify the VRRP version. A v2/v3 mix on one VRID is a misconfigured peer that sends
        # every interval: counted each time, logged once per source (keepalived logs every packet).
        if adv.version != self.version:
            if ev.src not in self._version_warned and len(self._version_warned) < VERSION_WARN_PEERS:
                self._version_warned.add(ev.src)
                acts.append(Log(f"wrong version. Received {adv.version} and expect {self.version}"))
            st.version_err += 1
            return False
        if self.version == 2:
            if adv.auth_type not in (AUTH_NONE, AUTH_PASS, AUTH_AH):
                acts.append(Log(f"Invalid auth type: {adv.auth_type}"))
                st.invalid_authtype += 1
                return False
            # MUST perform authentication specified by Auth Type.
            if adv.auth_type != self._auth_type:
                acts.append(Log(f"received a {adv.auth_type} auth, expecting {self._auth_type}!"))
                st.authtype_mismatch += 1
                return False
            if self._auth_type == AUTH_PASS and bytes(adv.auth_data[:8]).ljust(8, b"\0") != self._auth_data:
                acts.append(Log("received an invalid passwd!"))
                st.auth_failure += 1
                return False
            # MUST verify the Adver Interval (v2): dropped, logged only (2.2.7 never counts advert_interval_err).
            if adv.adver_int != self._adver_int_wire:
                acts.append(
                    Log(
                        f"advertisement interval mismatch mine={self._adver_int_wire} sec "
                        f"rcv'd={adv.adver_int} sec"
                    )
                )
                return False
        if adv.type != ADVERTISEMENT:
            acts.append(Log(f"Invalid packet type. {adv.type} and expect {ADVERTISEMENT}"))
            st.invalid_type_rcvd += 1
            return False
        n_vips = len(cfg.vips)
        if check_addr and len(adv.addresses) != n_vips:
            acts.append(
                Log(f"received an unexpected ip number count {len(adv.addresses)}, expected {n_vips}!")
            )
            st.addr_list_err += 1
            return False
        if ev.dst is not None and ev.dst.is_multicast == unicast:
            mode, got = ("un", "mult") if unicast else ("mult", "un")
            acts.append(Log(f"Expected {mode}icast packet but received {got}icast packet"))
            st.addr_list_err += 1
            return False
        # Correct type, version, and length: count as a VRRP advertisement.
        st.advert_rcvd += 1
        if check_addr:
            # MAY verify that the IP address(es) associated with the VRID are valid.
            for v in cfg.vips:
                if v.address.ip not in adv.addresses:
                    acts.append(
                        Log(
                            f"ip address associated with VRID {cfg.vrid} not present in MASTER advert: "
                            f"{v.address.ip}"
                        )
                    )
                    st.addr_list_err += 1
                    return False
            # 2.2.7: the source-is-a-peer and per-peer min_ttl/max_ttl checks only run with check_unicast_src.
            if unicast and cfg.check_unicast_src:
                peer = next((p for p in cfg.unicast_peers if p.address == ev.src), None)
                if peer is None:
                    acts.append(Log(f"unicast source address {ev.src} not a unicast peer"))
                    return False
                lo = 0 if peer.min_ttl is None else peer.min_ttl
                hi = 255 if peer.max_ttl is None else peer.max_ttl
                if ev.ttl >= 0 and not lo <= ev.ttl <= hi:
                    st.ip_ttl_err += 1
                    acts.append(Log(f"TTL/HL {ev.ttl} not in range {lo} - {hi}"))
                    return False
        if adv.priority == 0:
            st.pri_zero_rcvd += 1
        return True

    def _on_advert(self, ev: AdvertReceived, now: float) -> list[Action]:
        if ev.adv.vrid != self.cfg.vrid:
            return []
        if self.state is State.BACKUP:
            return self._backup_rx(ev, now)
        if self.state is State.MASTER:
            return self._master_rx(ev, now)
        return []  # INIT/FAULT: keepalived ignores the packet before any check

    def _adopt_interval(self, acts: list[Action], adv: Advertisement) -> None:
        """RFC 5798 §6.4.2: a v3 backup sets Master_Adver_Interval from the advertisement."""
        if self.version != 3:
            return
        interval = timers.adver_int_from_wire(3, adv.adver_int)
        if interval != self.master_adver_int:
            acts.append(
                Log(
                    f"advertisement interval updated from {_ms(self.master_adver_int)}ms to "
                    f"{_ms(interval)}ms by master",
                    detail=True,
                )
            )
            self.master_adver_int = interval

    def _backup_rx(self, ev: AdvertReceived, now: float) -> list[Action]:
        """``vrrp_state_backup`` (vrrp.c), RFC 3768 §6.4.2."""
        acts: list[Action] = []
        adv = ev.adv
        check_addr = not self.cfg.skip_check_adv_addr or self._last_master_saddr != ev.src
        if not self._check_packet(ev, check_addr, acts):
            return acts  # ignored: the down timer keeps running
        eff = self.effective_priority
        if adv.priority == 0:
            # RFC 3768 §6.4.2: priority 0 -> Master_Down_Timer = Skew_Time.
            acts.append(Log("Backup received priority 0 advertisement", detail=True))
            self._arm_backup(now, self.skew_time())
        elif (
            self._nopreempt
            or adv.priority >= eff
            or (self._preempt_delay > 0 and (self.preempt_time is None or self.preempt_time > now))
        ):
            self._adopt_interval(acts, adv)
            self._arm_backup(now, self.master_down_interval())
            self._last_master_saddr = ev.src
            self.master_src = ev.src
            self.master_priority = adv.priority
            if self._preempt_delay > 0:
                if adv.priority >= eff:
                    if self.preempt_time is not None:
                        acts.append(Log("stop preempt delay", detail=True))
                        self.preempt_time = None
                elif self.preempt_time is None:
                    acts.append(Log(f"start preempt delay ({self._preempt_delay:.6f})", detail=True))
                    self.preempt_time = now + self._preempt_delay
            self.wantstate = State.BACKUP
        else:
            # RFC 3768 §6.4.2 (preempt, lower priority): discard; the down timer keeps running.
            acts.append(Log(f"received lower priority ({adv.priority}) advert from {ev.src} - discarding"))
            self._last_master_saddr = ev.src
            self.master_src = ev.src
        return acts

    def _master_rx(self, ev: AdvertReceived, now: float) -> list[Action]:
        """``vrrp_state_master_rx`` (vrrp.c), RFC 3768 §6.4.3."""
        acts: list[Action] = []
        adv = ev.adv
        if not self._check_packet(ev, True, acts):
            return acts
        cmp = _addr_cmp(ev.src, self.src_ip)
        eff = self.effective_priority
        if adv.priority == 0 or (
            self._higher_prio_send_advert and (adv.priority > eff or (adv.priority == eff and cmp > 0))
        ):
            self._send_advert(acts, eff)
            self._timers[TimerKind.ADVERT] = now + self.adver_int
            if adv.priority == 0:
                # RFC 3768 §6.4.3: priority 0 -> send an advertisement at once.
                acts.append(Log("Master received priority 0 message", detail=True))
                return acts
        if adv.priority == eff:
            if cmp == 0:
                acts.append(
                    Log("WARNING - equal priority advert received from remote host with our IP address.")
                )
            elif eff == prio.PRIO_OWNER:
                acts.append(
                    Log(
                        "CONFIGURATION ERROR: local instance and a remote instance are both configured as "
                        "address owner, please fix - reducing local priority"
                    )
                )
                self.base_priority = self.effective_priority = prio.PRIO_OWNER - 1
                eff = self.effective_priority
        if adv.priority < eff or (adv.priority == eff and cmp < 0):
            # We receive a lower prio adv: refresh the remote ARP caches, force a new election.
            suffix = "" if self._lower_prio_no_advert else ", forcing new election"
            acts.append(
                Log(f"Received advert from {ev.src} with lower priority {adv.priority}, ours {eff}{suffix}")
            )
            if not self._lower_prio_no_advert:
                self._send_advert(acts, eff)
                self._timers[TimerKind.ADVERT] = now + self.adver_int
            if self._garp_lower_prio_repeat:
                self._send_link_update(acts, self._garp_lower_prio_repeat)
                if self._garp_lower_prio_delay > 0:
                    self._garp_pending.append(
                        (now + self._garp_lower_prio_delay, self._garp_lower_prio_repeat)
                    )
                    self._arm_garp()
            acts.append(NotifyRxLowerPri(eff))
            return acts
        if adv.priority > eff or (adv.priority == eff and cmp > 0):
            if adv.priority > eff:
                acts.append(
                    Log(
                        f"Master received advert from {ev.src} with higher priority {adv.priority}, ours {eff}"
                    )
                )
                reason = f"higher priority advert from {ev.src}"
            else:
                acts.append(
                    Log(
                        f"Master received advert from {ev.src} with same priority {adv.priority} "
                        "but higher IP address than ours"
                    )
                )
                reason = f"equal priority advert from higher address {ev.src}"
            self._adopt_interval(acts, adv)
            self.master_src = ev.src
            self.master_priority = adv.priority
            self._leave_master(acts, now, State.BACKUP, adv_f=False, reason=reason)
        return acts

    # ------------------------------------------------------------------ trackers, VIPs

    def _on_tracker(self, ev: TrackerChanged, now: float) -> list[Action]:
        """``vrrp_set_effective_priority`` / ``down_instance`` / ``try_up_instance`` (vrrp_track.c, scheduler)."""
        acts: list[Action] = []
        self.trackers[ev.name] = ev
        self._update_priority(acts, now)
        if self.state is State.INIT:
            return acts  # Startup decides
        if prio.faulted(self.trackers):
            if self.state is not State.FAULT:
                reason = ev.reason if ev.fault and ev.reason else prio.fault_reason(self.trackers)
                self._down_instance(acts, now, reason)
        elif self.state is State.FAULT and not (self.sync is not None and self.sync.held_in_fault(self)):
            self._up_instance(acts, now, ev.reason or f"{ev.name} recovered")
        return acts

    def _update_priority(self, acts: list[Action], now: float) -> None:
        if self.base_priority == prio.PRIO_OWNER:
            return  # "Don't change priority if address owner"
        new = prio.effective_from_trackers(self.base_priority, self.trackers)
        if new == self.effective_priority:
            return
        acts.append(Log(f"Changing effective priority from {self.effective_priority} to {new}"))
        self.effective_priority = new
        old_down = self._ms_down_timer
        self._ms_down_timer = self.master_down_interval()
        if self.state is State.BACKUP and TimerKind.MASTER_DOWN in self._timers:
            # keepalived moves the running deadline by the change of the down timer.
            self._timers[TimerKind.MASTER_DOWN] += self._ms_down_timer - old_down

    def _down_instance(self, acts: list[Action], now: float, reason: str) -> None:
        if self.state is State.FAULT:
            return
        if self.state is State.MASTER:
            self._leave_master(acts, now, State.FAULT, adv_f=True, reason=reason)
            return
        # vrrp_state_leave_fault with wantstate FAULT
        self.wantstate = State.FAULT
        acts.append(Log("Entering FAULT STATE"))
        self.master_adver_int = self.adver_int
        self._timers.clear()
        self.preempt_time = None
        self._transition(acts, State.FAULT, now, reason)

    def _up_instance(self, acts: list[Action], now: float, reason: str) -> None:
        """``try_up_instance``: FAULT -> BACKUP with the full down timer."""
        self.wantstate = State.BACKUP
        self.master_adver_int = self.adver_int
        self.preempt_time = None
        acts.append(Log("Entering BACKUP STATE"))
        self._arm_backup(now, self.master_down_interval())
        self._transition(acts, State.BACKUP, now, reason)

    def _on_vip_deleted(self, ev: VipDeleted, now: float) -> list[Action]:
        """keepalived_netlink.c ``set_vrrp_backup``: someone removed our VIP while MASTER -> BACKUP,
        priority-0 advert, VIPs removed, and a quick re-election (down timer = Skew_Time)."""
        if self.state is not State.MASTER:
            return []
        try:
            ip = ip_interface(ev.address.strip()).ip
        except ValueError:
            return []
        if all(v.address.ip != ip for v in self._all_vips()):
            return []
        acts: list[Action] = []
        self._leave_master(acts, now, State.BACKUP, adv_f=True, reason=f"VIP {ip} deleted")
        self._arm_backup(now, self.skew_time())
        return acts

    # ------------------------------------------------------------------ sync group entry points

    def force_state(self, new: State, now: float, reason: str, quick: bool = False) -> list[Action]:
        """A transition imposed by the sync group (``vrrp_sync_master``/``_backup``/``_fault``, vrrp_sync.c).

        MASTER: from BACKUP only (``vrrp_state_goto_master``). BACKUP: from MASTER (``leave_master``, no
        priority-0 advert) or FAULT (``leave_fault``); ``quick`` arms the down timer at Skew_Time
        (``set_vrrp_backup`` after a deleted VIP). FAULT: from MASTER (``leave_master``: one priority-0
        advert) or BACKUP. Anything else (same state, INIT, STOP) returns ``[]``.
        """
        acts: list[Action] = []
        cur = self.state
        if new is State.MASTER and cur is State.BACKUP:
            self._goto_master(acts, now, reason)
        elif new is State.BACKUP and cur is State.MASTER:
            self._leave_master(acts, now, State.BACKUP, adv_f=False, reason=reason)
        elif new is State.BACKUP and cur is State.FAULT:
            self._up_instance(acts, now, reason)
        elif new is State.FAULT and cur is State.MASTER:
            self._leave_master(acts, now, State.FAULT, adv_f=False, reason=reason)
        elif new is State.FAULT and cur is State.BACKUP:
            self._down_instance(acts, now, reason)
        else:
            return []
        if quick and self.state is State.BACKUP:
            self._arm_backup(now, self.skew_time())
        return acts

    def lower_prio_garp(self, now: float) -> list[Action]:
        """A sync-group peer received a lower-priority advert: send our ``garp_lower_prio_repeat`` GARPs
        now and after ``garp_lower_prio_delay`` (``vrrp_state_master_rx``); only while MASTER."""
        acts: list[Action] = []
        if self.state is not State.MASTER or not self._garp_lower_prio_repeat:
            return acts
        self._send_link_update(acts, self._garp_lower_prio_repeat)
        if self._garp_lower_prio_delay > 0:
            self._garp_pending.append((now + self._garp_lower_prio_delay, self._garp_lower_prio_repeat))
            self._arm_garp()
        return acts

    # ------------------------------------------------------------------ reload

    def update_config(self, new_cfg: InstanceConfig, now: float) -> list[Action]:
        """Reload (SIGHUP) with a matching instance (``InstanceConfig.key()`` equal): keep state, stats,
        trackers and the master heard; apply the new parameters.

        * MASTER: ``RemoveVips`` of VIPs no longer configured, ``AddVips`` of new ones, then one GARP burst
          (``garp_master_repeat``) for all; an advert is due at once (keepalived ``reload_master``:
          ``sands = now``) and then every new ``advert_int``.
        * BACKUP: Master_Adver_Interval = the new ``advert_int``; MASTER_DOWN re-armed at ``now`` + the new
          Master_Down_Interval (``vrrp_init_state`` on reload).
        * A changed effective priority is logged (``Changing effective priority ...``). No ``Transition``.
        """
        acts: list[Action] = []
        old_all = self._all_vips()
        self._apply_config(new_cfg)
        if self.state is State.INIT:
            self.wantstate = self._configured_want
        if self.base_priority == prio.PRIO_OWNER:
            if self.effective_priority != prio.PRIO_OWNER:
                acts.append(
                    Log(f"Changing effective priority from {self.effective_priority} to {prio.PRIO_OWNER}")
                )
            self.effective_priority = prio.PRIO_OWNER
        else:
            self._update_priority(acts, now)
        if self.state is State.MASTER:
            new_all = self._all_vips()
            removed = tuple(v for v in old_all if v not in new_all)
            added = tuple(v for v in new_all if v not in old_all)
            if removed:
                acts.append(RemoveVips(removed))
            if added:
                acts.append(AddVips(added))
            self._send_link_update(acts, self.cfg.garp_master_repeat)
            self.master_adver_int = self.adver_int
            self._timers[TimerKind.ADVERT] = now
            if self.cfg.garp_master_refresh > 0:
                self._garp_refresh_at = now + self.cfg.garp_master_refresh
            else:
                self._garp_refresh_at = None
        elif self.state is State.BACKUP:
            self.master_adver_int = self.adver_int
            self.preempt_time = None if self._preempt_delay <= 0 else self.preempt_time
            self._arm_backup(now, self.master_down_interval())
        else:
            self.master_adver_int = self.adver_int
            self._ms_down_timer = self.master_down_interval()
        return acts
