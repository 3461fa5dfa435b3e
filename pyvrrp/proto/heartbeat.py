"""heartbeat 3.0.6 node state machine (sans-I/O): membership, sequencing, nice_failback resources, ipfail.

This module owns what one heartbeat v1 node *decides*: its own status (init/up/active), every peer's
status with ``dt``/warntime/deadtime/initdead timers, per-sender sequence tracking with gap detection,
``NS_rexmit``/``NS_nak_rexmit``/``NS_ackmsg``, the ``reqnodes``/``repnodes`` comm-up exchange, the
nice_failback resource protocol (``starting``/``resource``, the 10 s RQSTDELAY rule, the 3-phase
``ask_resources`` standby exchange, ``shutdone``, mach_down takeover, auto_failback) and the ipfail
client's ping-node-count exchange. Events go in with the current (monotonic) time; actions come out.

References (heartbeat 3.0.6 sources, see docs/heartbeat.md): ``heartbeat.c`` (process_clustermsg,
should_drop_message, HBDoMsg_T_STATUS, check_for_timeouts, check_comm_isup, send_reqnodes_msg,
comm_now_up, send_ack_if_needed), ``hb_rexmit.c``, ``hb_resource.c`` (process_resources,
ask_for_resources, go_standby, hb_rsc_recover_dead_resources, takeover_from_node, req_our_resources,
hb_giveup_resources, PerformAutoFailback), ``contrib/ipfail/ipfail.c`` and the shell side
(mach_down, hb_standby, hb_takeover). Section numbers "§n" refer to heartbeat-protocol.md.

The machine never encodes bytes: it emits :class:`Send` with a :class:`HbMessage` carrying all control
fields (the runtime signs and encodes it). Retransmissions re-send the stored message, which encodes to
the same bytes. Persistent identity (``srcuuid``, generation ``hg``) is given to the machine.
"""

from __future__ import annotations

import enum
import random
from collections import OrderedDict
from dataclasses import dataclass, field

from pyvrrp.wire.heartbeat import FieldType, HbField, HbMessage

__all__ = [
    "Acquire",
    "AdminStandby",
    "AdminTakeover",
    "BadPacket",
    "Exit",
    "HbNode",
    "HbParams",
    "HbStats",
    "LocalMsg",
    "Log",
    "MsgIn",
    "NodeStatus",
    "PingIn",
    "PingProbe",
    "Release",
    "ResourceOpDone",
    "RscState",
    "Send",
    "Standby",
    "Start",
    "Stop",
    "Tick",
]

# resource sets (hb_resource.h HB_NO_RSC..HB_ALL_RSC); names as on the wire (rsc_msg[])
NONE, LOCAL, FOREIGN, ALL = 0, 1, 2, 3
RSC_NAMES = ("none", "local", "foreign", "all")

RQSTDELAY = 10.0  # heartbeat.h: local takeover delay when nobody is stable
STANDBY_INIT_TO = 10.0  # hb_resource.c STANDBY_INIT_TO_MS
STANDBY_RSC_TO = 3600.0  # HB_STANDBY_RSC_TO_MS
MAXMSGHIST = 500  # heartbeat.h: transmit history
FLOWCONTROL_LIMIT = MAXMSGHIST // 2
ACK_MSG_DIV = 10
MAX_REXMIT_PER_REQ = 50
REQNODES_INTERVAL = 1.0
DT_EXTRA = 2.0  # hb_add_deadtime(2000) while starting / spawning clients
RESTART_EXIT = 100  # Exit code asking the runtime to restart the node (heartbeat's cause_shutdown_restart)


def rsc_encode(name: str | None) -> int:
    """``encode_resources``: unknown strings count as none (heartbeat logs and uses 0)."""
    try:
        return RSC_NAMES.index(name or "")
    except ValueError:
        return NONE


class RscState(enum.IntEnum):
    """hb_resource.h ``enum hb_rsc_state``."""

    INIT = 0
    STARTING = 1
    BOTHSTARTING = 2
    RSCRCVD = 3
    STABLE = 4
    SHUTDOWN = 5


class Standby(enum.IntEnum):
    """hb_resource.h ``enum standby`` (the 3-phase ask_resources protocol)."""

    NOT = 0
    ME = 1
    OTHER = 2
    DONE = 3


# ---------------------------------------------------------------------------------------------- params


@dataclass(frozen=True, slots=True)
class HbParams:
    """What the machine needs from ha.cf/haresources (times in seconds)."""

    node: str
    nodes: tuple[str, ...]  # every normal node, including this one
    groups: tuple[tuple[str, str], ...] = ()  # (owner node, group key) in haresources order
    ping_nodes: tuple[str, ...] = ()
    keepalive: float = 2.0
    deadtime: float = 30.0
    warntime: float = 10.0
    initdead: float = 30.0
    deadping: float = 30.0
    auto_failback: bool = True
    ipfail: bool = False
    hopfudge: int = 1
    flow_control: bool = True  # advertise protocol=1 (§8, §13.5a)
    max_rexmit_delay: float = 0.25
    uuid: bytes = b"\0" * 16
    generation: int = 1
    wall_offset: float = 0.0  # wall clock = now + wall_offset (for the ``ts`` field)
    seed: int | None = None

    @property
    def peers(self) -> tuple[str, ...]:
        return tuple(n for n in self.nodes if n != self.node)


# ---------------------------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Start:
    """The daemon starts: send status init/up, arm initdead."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Graceful stop (SIGTERM): release resources, send ``shutdone``, then :class:`Exit`."""


@dataclass(frozen=True, slots=True)
class Tick:
    """Timers may be due (the runtime calls at :meth:`HbNode.next_deadline`)."""


@dataclass(frozen=True, slots=True)
class MsgIn:
    """An authenticated message from a UDP medium (decoded and verified by the runtime)."""

    msg: HbMessage
    iface: str = "eth0"


@dataclass(frozen=True, slots=True)
class PingIn:
    """An ICMP echo reply from ping node ``node`` (ping plugin: a heartbeat from that node)."""

    node: str


@dataclass(frozen=True, slots=True)
class BadPacket:
    """A datagram failed decoding or authentication; ``counter`` is an :class:`HbStats` field."""

    counter: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ResourceOpDone:
    """The runtime finished the resource operation ``op`` (see :class:`Acquire`/:class:`Release`)."""

    op: int
    ok: bool = True


@dataclass(frozen=True, slots=True)
class AdminStandby:
    """``hb_standby [all|foreign|local|failback]``: give resources to the peer."""

    rsc: str = "all"


@dataclass(frozen=True, slots=True)
class AdminTakeover:
    """``hb_takeover [all|foreign|local|failback]``: ask the peer to give resources to us."""

    rsc: str = "all"


@dataclass(frozen=True, slots=True)
class LocalMsg:
    """A message from a local tool (the FIFO ``/var/lib/heartbeat/fifo`` that hb_standby/hb_takeover
    write to): sent to the cluster with our control fields, as heartbeat does."""

    msg: HbMessage


Event = (
    Start
    | Stop
    | Tick
    | MsgIn
    | PingIn
    | BadPacket
    | ResourceOpDone
    | AdminStandby
    | AdminTakeover
    | LocalMsg
)

# ---------------------------------------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True)
class Send:
    """Sign, encode and send ``msg`` on every medium. ``rexmit``: a history copy (same bytes)."""

    msg: HbMessage
    rexmit: bool = False


@dataclass(frozen=True, slots=True)
class Acquire:
    """Take resource groups (haresources keys, in order); answer with ``ResourceOpDone(op)``."""

    op: int
    groups: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Release:
    """Release resource groups (the runtime releases in reverse order); answer ``ResourceOpDone``."""

    op: int
    groups: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class PingProbe:
    """Send one ICMP echo to every ping node (the ping plugin does so with every status)."""


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """A node's status changed (``init``/``up``/``active``/``dead``/``ping``) — for status and logs."""

    node: str
    status: str


@dataclass(frozen=True, slots=True)
class Log:
    msg: str
    level: str = "info"


@dataclass(frozen=True, slots=True)
class Exit:
    """Graceful stop complete: the runtime exits with ``code``."""

    code: int = 0


Action = Send | Acquire | Release | PingProbe | NodeStatus | Log | Exit


@dataclass(slots=True)
class HbStats:
    """Counters (shown by ``pyvrrp status``): every dropped message is counted here."""

    rx: int = 0
    tx: int = 0
    rexmit_sent: int = 0
    rexmit_req_sent: int = 0
    nak_sent: int = 0
    lost_packets: int = 0
    duplicates: int = 0
    hb_format_err: int = 0
    hb_auth_err: int = 0
    hb_unknown_node: int = 0
    hb_replay: int = 0
    hb_bad_field: int = 0
    hb_own_msg: int = 0
    hb_old_seq: int = 0


# ---------------------------------------------------------------------------------------------- peers


@dataclass(slots=True)
class _Peer:
    """heartbeat's ``struct node_info`` + ``struct seqtrack`` for one remote node."""

    name: str
    ping: bool = False
    status: str = "init"
    uuid: bytes | None = None
    dt: float = 0.0  # their dead time (from dt=, or ours)
    last_update: float = 0.0  # local time of the last status (liveness)
    rmt_lastupdate: int = 0  # their ts of that status
    status_seqno: int = 0
    anypacketsyet: bool = False
    generation: int = 0
    last_seq: int | None = None
    missing: set[int] = field(default_factory=set)
    first_missing: int = 0
    next_rexmit_req: float | None = None
    ack_trigger: int = 0
    has_resources: bool = True


# ---------------------------------------------------------------------------------------------- machine


class HbNode:
    """One heartbeat v1 node. ``handle(event, now) -> [Action]``; ``next_deadline()`` for the timer."""

    def __init__(self, params: HbParams) -> None:
        p = self.p = params
        self.rng = random.Random(p.seed)
        self.stats = HbStats()
        self.status = "init"
        self.started = False
        self.start_time = 0.0
        self.comm_state_linksup = False
        self.comm_up = False
        self.flow_control = p.flow_control
        self.got_reqnodes_reply = False
        self.reqnodes_at: float | None = None
        self.dt_extra_until = 0.0
        self.seq = 0
        self.history: OrderedDict[int, HbMessage] = OrderedDict()
        self.rexmit_sent_at: dict[int, float] = {}
        self.peers: dict[str, _Peer] = {}
        for n in p.peers:
            self.peers[n] = _Peer(n, dt=p.deadtime, ack_trigger=self.rng.randrange(ACK_MSG_DIV))
        for n in p.ping_nodes:
            self.peers[n] = _Peer(n, ping=True, dt=p.deadping)
        self.next_status: float | None = None
        # hb_resource.c globals
        self.rstate = RscState.INIT
        self.i_hold = NONE
        self.other_holds = NONE
        self.other_is_stable = False
        self.takeover_in_progress = False
        self.going_standby = Standby.NOT
        self.standby_running: float | None = None
        self.standby_rsctype = ALL
        self.rsc_needs_failback = False
        self.rsc_needs_shutdown = False
        self.shutdown_in_progress = False
        self.resource_shutdown_started = False
        self.local_takeover_time: float | None = None
        self.autofailback_at: float | None = None
        self.exit_at: float | None = None
        self.exit_code = 0
        self.restart_at: float | None = None
        self.shutdown_force_at: float | None = None
        self.ops: dict[int, tuple[str, tuple]] = {}
        self.next_op = 1
        # ipfail (contrib/ipfail/ipfail.c)
        self.ipfail_running = False
        self.ipfail_node_stable = False
        self.ipfail_need_standby = False
        self.ipfail_giveup_at: float | None = None
        self.ipfail_giveup_rsc = "all"
        self.ipfail_recheck_at: float | None = None
        # per-event scratch
        self._out: list[Action] = []
        self._loop: list[HbMessage] = []
        self.now = 0.0
        self.ld = "0.00 0.00 0.00 1/1 1"

    # ------------------------------------------------------------------ public API

    def handle(self, ev: Event, now: float) -> list[Action]:
        self.now = now
        self._out = []
        if isinstance(ev, Start):
            self._start()
        elif not self.started:
            return []
        self._timers()
        if isinstance(ev, MsgIn):
            self._rx(ev.msg)
        elif isinstance(ev, PingIn):
            self._ping_in(ev.node)
        elif isinstance(ev, BadPacket):
            if hasattr(self.stats, ev.counter):
                setattr(self.stats, ev.counter, getattr(self.stats, ev.counter) + 1)
        elif isinstance(ev, ResourceOpDone):
            self._op_done(ev.op, ev.ok)
        elif isinstance(ev, Stop):
            self._initiate_shutdown()
        elif isinstance(ev, AdminStandby):
            self._hb_standby(ev.rsc)
        elif isinstance(ev, LocalMsg):
            control = {"src", "srcuuid", "seq", "hg", "ts", "ld", "ttl", "auth", "destuuid"}
            clean = HbMessage(tuple(f for f in ev.msg.fields if f.name not in control))
            if clean.get("t") == "ask_resources" and clean.get("info") == "me" and not self._standby_ok():
                pass
            elif clean.get("t"):
                self._send_cluster(clean)
        elif isinstance(ev, AdminTakeover):
            rsc = "foreign" if ev.rsc == "failback" else ev.rsc
            self._send_cluster(HbMessage.build(("t", "hb_takeover"), ("rsc_hold", rsc)))
        self._drain_loopback()
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> float | None:
        if not self.started:
            return None
        cands = [
            self.next_status,
            self.reqnodes_at,
            self.standby_running,
            self.autofailback_at,
            self.exit_at,
            self.restart_at,
            self.shutdown_force_at,
            self.ipfail_giveup_at,
            self.ipfail_recheck_at,
        ]
        if self.rstate == RscState.RSCRCVD and self.local_takeover_time is not None:
            cands.append(self.local_takeover_time)
        if self.dt_extra_until > self.now:
            cands.append(self.dt_extra_until)
        for peer in self.peers.values():
            if peer.status != "dead":
                cands.append(peer.last_update + self._dead_ticks(peer))
            if peer.next_rexmit_req is not None:
                cands.append(peer.next_rexmit_req)
        live = [c for c in cands if c is not None]
        return min(live) if live else None

    def is_stable(self) -> bool:
        """``hb_rsc_isstable``."""
        if self.shutdown_in_progress and self.rstate == RscState.INIT:
            return True
        return (
            self.other_is_stable
            and not self.takeover_in_progress
            and self.going_standby == Standby.NOT
            and self.standby_running is None
            and not self.ops
            and self.rstate in (RscState.STABLE, RscState.SHUTDOWN, RscState.INIT)
        )

    def resource_state(self) -> str:
        """``cl_status rscstatus``: none/local/foreign/all, or ``transition``."""
        return RSC_NAMES[self.i_hold] if self.is_stable() else "transition"

    def node_status(self, name: str) -> str:
        if name == self.p.node:
            return self.status
        peer = self.peers.get(name)
        return peer.status if peer else "unknown"

    def snapshot(self) -> dict:
        """Node and resource status for ``pyvrrp status`` / logs."""
        return {
            "node": self.p.node,
            "status": self.status,
            "generation": self.p.generation,
            "seq": self.seq,
            "resources": self.resource_state(),
            "i_hold": RSC_NAMES[self.i_hold],
            "other_holds": RSC_NAMES[self.other_holds],
            "rsc_state": self.rstate.name,
            "standby": self.going_standby.name,
            "nodes": {n: p.status for n, p in self.peers.items()},
            "stats": {k: getattr(self.stats, k) for k in HbStats.__dataclass_fields__},
        }

    # ------------------------------------------------------------------ helpers

    def _log(self, msg: str, level: str = "info") -> None:
        self._out.append(Log(msg, level))

    def _wall(self) -> int:
        return int(self.now + self.p.wall_offset)

    def _dt_ms(self) -> int:
        extra = DT_EXTRA if self.now < self.dt_extra_until else 0.0
        return int(round((self.p.deadtime + extra) * 1000))

    def _dead_ticks(self, peer: _Peer) -> float:
        if not self.comm_state_linksup:
            return self.p.initdead
        return peer.dt

    def _groups(self, which: int, owner: str | None = None) -> tuple[str, ...]:
        me = self.p.node
        out = []
        for node, key in self.p.groups:
            if owner is not None:
                if node == owner:
                    out.append(key)
            elif (which & LOCAL and node == me) or (which & FOREIGN and node != me):
                out.append(key)
        return tuple(out)

    def _control(self, msg: HbMessage) -> HbMessage:
        """``add_control_msg_fields`` (§4.3): destuuid, src, srcuuid, seq, hg, ts, ld, ttl."""
        t = msg.get("t") or ""
        noseq = t.startswith("NS_")
        fields = list(msg.fields)
        names = {f.name for f in fields}

        def add(name: str, value: str | bytes) -> None:
            if name in names:
                return
            names.add(name)
            if isinstance(value, bytes):
                fields.append(HbField(name, value, FieldType.BINARY))
            else:
                fields.append(HbField(name, value.encode()))

        dest = msg.get("dest")
        if dest is not None:
            peer = self.peers.get(dest)
            uuid = self.p.uuid if dest == self.p.node else (peer.uuid if peer else None)
            if uuid:
                add("destuuid", uuid)
        add("src", self.p.node)
        add("srcuuid", self.p.uuid)
        if not noseq:
            self.seq += 1
            add("seq", format(self.seq, "x"))
        add("hg", format(self.p.generation, "x"))
        add("ts", format(max(self._wall(), 1), "x"))
        if not noseq:
            add("ld", self.ld)
        add("ttl", str(self.p.hopfudge + len(self.p.nodes) + len(self.p.ping_nodes)))
        return HbMessage(tuple(fields))

    def _send_cluster(self, msg: HbMessage) -> HbMessage:
        """``send_cluster_msg``: add control fields, keep seq'd messages in the history, loop back."""
        full = self._control(msg)
        t = full.get("t") or ""
        if not t.startswith("NS_"):
            self.history[self.seq] = full
            while len(self.history) > MAXMSGHIST:
                self.history.popitem(last=False)
            # heartbeat reads its own messages back (§3); the resource protocol depends on it
            if t in ("resource", "starting", "ask_resources", "shutdone"):
                self._loop.append(full)
        self._out.append(Send(full))
        self.stats.tx += 1
        return full

    def _drain_loopback(self) -> None:
        guard = 0
        while self._loop and guard < 100:
            guard += 1
            msg = self._loop.pop(0)
            self._dispatch(msg, msg.get("t") or "", None)

    def _new_op(self, kind: str, acquire: bool, groups: tuple[str, ...], data: tuple, reason: str) -> None:
        op = self.next_op
        self.next_op += 1
        self.ops[op] = (kind, data)
        self._out.append((Acquire if acquire else Release)(op, groups, reason))

    # ------------------------------------------------------------------ start / status

    def _start(self) -> None:
        if self.started:
            return
        self.started = True
        self.start_time = self.now
        self.dt_extra_until = self.now + 5.0
        for peer in self.peers.values():
            peer.last_update = self.now
        self._log(f"Heartbeat generation: {self.p.generation}")
        self._set_local_status("init")
        self._set_local_status("up")
        self.next_status = self.now + self.p.keepalive
        self._out.append(PingProbe())

    def _status_msg(self) -> HbMessage:
        pairs: list[tuple[str, str]] = [
            ("t", "status"),
            ("st", self.status),
            ("dt", format(self._dt_ms(), "x")),
        ]
        if self.p.flow_control:
            pairs.append(("protocol", "1"))
        return HbMessage.build(*pairs)

    def _set_local_status(self, st: str) -> None:
        if st != self.status or st == "init":
            self.status = st
            self._log(f"Local status now set to: '{st}'")
            self._out.append(NodeStatus(self.p.node, st))
        self._send_cluster(self._status_msg())

    def _timers(self) -> None:
        now = self.now
        if self.next_status is not None and now >= self.next_status:
            self._send_cluster(self._status_msg())
            self._out.append(PingProbe())
            self.next_status = max(self.next_status + self.p.keepalive, now + self.p.keepalive / 2)
        if self.dt_extra_until and now >= self.dt_extra_until:
            self.dt_extra_until = 0.0
            self._send_cluster(self._status_msg())
        self._check_for_timeouts()
        if not self.comm_state_linksup:
            self._check_comm_isup()
        if self.reqnodes_at is not None and now >= self.reqnodes_at:
            self._send_reqnodes()
        for peer in self.peers.values():
            if peer.next_rexmit_req is not None and now >= peer.next_rexmit_req:
                self._request_rexmit(peer)
        # heartbeat.c polled_input_dispatch: "local resource transition completed"
        if (
            self.rstate == RscState.RSCRCVD
            and self.local_takeover_time is not None
            and now >= self.local_takeover_time
        ):
            self.rstate = RscState.STABLE
            self._req_our_resources(False)
            self._log("local resource transition completed.")
            self._send_resources_held(True)
        if self.standby_running is not None and now >= self.standby_running:
            self.standby_running = None
            self.other_is_stable = True
            self.going_standby = Standby.NOT
            self._log("No reply to standby request.  Standby request cancelled.", "warning")
            self._shutdown_if_needed()
        if self.autofailback_at is not None and now >= self.autofailback_at:
            self.autofailback_at = None
            self._perform_auto_failback()
        if self.ipfail_giveup_at is not None and now >= self.ipfail_giveup_at:
            self.ipfail_giveup_at = None
            self._ipfail_giveup()
        if self.ipfail_recheck_at is not None and now >= self.ipfail_recheck_at:
            self.ipfail_recheck_at = None
            self._ipfail_ask(self._ping_count())
        if self.shutdown_force_at is not None and now >= self.shutdown_force_at:
            self.shutdown_force_at = None
            if self.rsc_needs_shutdown:
                self._log("Resource activity did not settle; shutting down anyway.", "warning")
                self.other_is_stable = True
                self.going_standby = Standby.NOT
                self.standby_running = None
                self.takeover_in_progress = False
                self.rsc_needs_shutdown = False
                self._giveup_resources(force=True)
        if self.restart_at is not None and now >= self.restart_at:
            self.restart_at = None
            self._log("Giving up resources and restarting (cluster partition healed).", "warning")
            self.exit_code = RESTART_EXIT
            self._initiate_shutdown()
        if self.exit_at is not None and now >= self.exit_at:
            self.exit_at = None
            self._out.append(Exit(self.exit_code))

    # ------------------------------------------------------------------ membership

    def _check_for_timeouts(self) -> None:
        for peer in self.peers.values():
            if peer.status == "dead":
                continue
            if self.now >= peer.last_update + self._dead_ticks(peer):
                self._mark_node_dead(peer)

    def _check_comm_isup(self) -> None:
        if all(p.anypacketsyet or p.status == "dead" for p in self.peers.values()):
            self.comm_state_linksup = True
            if self.flow_control:
                self._send_reqnodes()
            else:
                self._comm_now_up()

    def _send_reqnodes(self) -> None:
        self.reqnodes_at = None
        if self.got_reqnodes_reply or self.comm_up:
            return
        dest = next((n for n in self.p.peers if self.peers[n].status != "dead"), None)
        if dest is None:
            self.got_reqnodes_reply = True
            self._comm_now_up()
            return
        self._send_cluster(HbMessage.build(("t", "reqnodes"), ("dest", dest)))
        self.reqnodes_at = self.now + REQNODES_INTERVAL

    def _comm_now_up(self) -> None:
        if self.comm_up:
            return
        self.comm_up = True
        self.reqnodes_at = None
        self.dt_extra_until = max(self.dt_extra_until, self.now + 3.0)
        self._log("Comm_now_up(): updating status to active")
        self._set_local_status("active")
        # comm_up_resource_action: nice_failback -> send_local_starting
        self._send_cluster(HbMessage.build(("t", "starting")))
        self.rstate = RscState.STARTING
        if self.p.ipfail and not self.shutdown_in_progress:
            self._ipfail_start()

    def _mark_node_dead(self, peer: _Peer) -> None:
        self._log(f"node {peer.name}: is dead", "warning")
        peer.status = "dead"
        self._out.append(NodeStatus(peer.name, "dead"))
        self._recover_dead_resources(peer)
        peer.rmt_lastupdate = 0
        peer.anypacketsyet = False
        self._reset_seqtrack(peer)
        if self.ipfail_running:
            self._ipfail_link_dead()

    def _reset_seqtrack(self, peer: _Peer) -> None:
        peer.last_seq = None
        peer.missing.clear()
        peer.first_missing = 0
        peer.next_rexmit_req = None

    def _ping_in(self, name: str) -> None:
        peer = self.peers.get(name)
        if peer is None or not peer.ping:
            return
        if peer.status != "dead" and peer.anypacketsyet:
            interval = self.now - peer.last_update
            if interval > self.p.deadping:
                self._log(
                    f"Late heartbeat: Node {name}: interval {int(interval * 1000)} ms (> deadtime)", "crit"
                )
        peer.anypacketsyet = True
        peer.last_update = self.now
        if peer.status != "ping":
            peer.status = "ping"
            self._log(f"Status update for node {name}: status ping")
            self._out.append(NodeStatus(name, "ping"))
            if self.ipfail_running:
                self._log("A ping node just came up.")
                self._ipfail_ask(self._ping_count())
        if not self.comm_state_linksup:
            self._check_comm_isup()

    # ------------------------------------------------------------------ receive path

    def _rx(self, msg: HbMessage) -> None:
        """``process_clustermsg`` + ``should_drop_message``."""
        self.stats.rx += 1
        t, src, ts = msg.get("t"), msg.get("src"), msg.get("ts")
        if not t or not src or not ts:
            self.stats.hb_bad_field += 1
            self._log(f"process_clustermsg: missing from/ts/type (from {src or '<?>'})", "error")
            return
        try:
            msgtime = int(ts, 16)
        except ValueError:
            msgtime = 0
        if msgtime <= 0:
            self.stats.hb_bad_field += 1  # silently dropped by heartbeat
            return
        noseq = t.startswith("NS_")
        seq = 0
        if not noseq:
            try:
                seq = int(msg.get("seq") or "", 16)
            except ValueError:
                seq = 0
            if seq <= 0:
                self.stats.hb_bad_field += 1
                self._log(f"process_clustermsg: missing or bad seqno from {src}", "error")
                return
        if src == self.p.node:
            self.stats.hb_own_msg += 1
            return
        peer = self.peers.get(src)
        if peer is None or peer.ping:
            self.stats.hb_unknown_node += 1
            self._log(f"process_status_message: bad node [{src}] in message", "error")
            return
        uuid = msg.raw("srcuuid")
        if uuid and len(uuid) == 16 and uuid != peer.uuid:
            if peer.uuid is not None:
                self._log(f"node {src} changed its uuid")
            peer.uuid = uuid
        dest = msg.get("dest")
        to_us = dest is None or dest == self.p.node
        if noseq:
            if t == "NS_nak_rexmit":
                try:
                    nseq = int(msg.get("firstseq") or "", 16)
                except ValueError:
                    return
                if to_us:
                    self._log(f"Irretrievably lost packet: node {src} seq {nseq}", "error")
                self._is_lost_packet(peer, nseq)
                return
            if not to_us:
                return
            peer.anypacketsyet = True
            if t == "NS_rexmit":
                self._process_rexmit(peer, msg)
            # NS_ackmsg: we keep a fixed-size history and never pause, so acks need no action
            return
        try:
            gen = int(msg.get("hg") or "0", 16)
        except ValueError:
            self.stats.hb_bad_field += 1
            return
        is_status = t == "status"
        if gen < peer.generation:
            self.stats.hb_replay += 1
            self._log(
                f"should_drop_message: attempted replay attack [{src}]? "
                f"[gen = {gen}, curgen = {peer.generation}]",
                "error",
            )
            return
        if is_status:
            if gen > peer.generation:
                if peer.generation > 0:
                    self._log(f"Heartbeat restart on node {src}")
                self._reset_seqtrack(peer)
                peer.rmt_lastupdate = 0
                peer.status_seqno = 0
                peer.has_resources = True
            elif gen == peer.generation and gen > 0 and peer.status == "dead":
                if seq <= peer.status_seqno:
                    self.stats.hb_old_seq += 1
                    return
                # should_drop_message: split brain healed -> heartbeat restarts itself in 2 s
                self._log(f"Cluster node {src} returning after partition.", "crit")
                self._log("Deadtime value may be too small.", "warning")
                if self.restart_at is None and not self.shutdown_in_progress:
                    self._send_cluster(self._status_msg())
                    self.restart_at = self.now + 2.0
            peer.generation = gen
        keep = self._seq_check(peer, seq, msg)
        if keep is None:
            return
        peer.anypacketsyet = True
        if not keep:
            return
        handled = self._dispatch(msg, t, peer)
        if not self.comm_state_linksup:
            self._check_comm_isup()
            if not handled and self.comm_up:
                self._dispatch(msg, t, peer)  # callbacks registered by comm_now_up just now

    def _seq_check(self, peer: _Peer, seq: int, msg: HbMessage) -> bool | None:
        """Sequence tracking (should_drop_message). True: process; False: tracked, not for us;
        None: drop (duplicate/old)."""
        dest = msg.get("dest")
        to_us = dest is None or dest == self.p.node
        if peer.last_seq is None or seq == peer.last_seq + 1:
            peer.last_seq = seq
            self._ack_if_needed(peer, seq)
            return to_us
        if seq == peer.last_seq:
            self.stats.duplicates += 1
            return None
        if seq > peer.last_seq:
            nlost = seq - (peer.last_seq + 1)
            self.stats.lost_packets += nlost
            self._log(f"{nlost} lost packet(s) for [{peer.name}] [{peer.last_seq}:{seq}]", "warning")
            if nlost > FLOWCONTROL_LIMIT:
                self._reset_seqtrack(peer)
                peer.last_seq = seq
                self._log("lost a lot of packets!", "error")
                return to_us
            if peer.first_missing == 0 or peer.first_missing > peer.last_seq + 1:
                peer.first_missing = peer.last_seq + 1
            for k in range(peer.last_seq + 1, seq):
                peer.missing.add(k)
            peer.last_seq = seq
            if peer.next_rexmit_req is None:
                # hb_rexmit.c: first request after a random delay up to max_rexmit_delay
                delay = self.rng.uniform(0.05, max(0.05, self.p.max_rexmit_delay))
                peer.next_rexmit_req = self.now + delay
            return to_us
        if self._is_lost_packet(peer, seq):
            return to_us
        self.stats.hb_old_seq += 1
        return None

    def _is_lost_packet(self, peer: _Peer, seq: int) -> bool:
        if seq not in peer.missing:
            return False
        peer.missing.discard(seq)
        if not peer.missing:
            self._log(f"No pkts missing from {peer.name}!")
            peer.first_missing = 0
            peer.next_rexmit_req = None
        if self.flow_control and seq == peer.first_missing:
            old = peer.first_missing
            peer.first_missing = min(peer.missing) if peer.missing else 0
            last_ok = (peer.last_seq or 0) if not peer.first_missing else peer.first_missing - 1
            trig = peer.ack_trigger
            base = last_ok // ACK_MSG_DIV
            ack = (
                base * ACK_MSG_DIV + trig
                if last_ok % ACK_MSG_DIV >= trig
                else (base - 1) * ACK_MSG_DIV + trig
            )
            if ack >= old:
                self._ack_if_needed(peer, ack)
        elif peer.missing:
            peer.first_missing = min(peer.missing)
        return True

    def _ack_if_needed(self, peer: _Peer, seq: int) -> None:
        """send_ack_if_needed: every 10th seq (per-peer random trigger), not beyond a gap."""
        if not self.flow_control:
            return
        if (peer.first_missing and seq > peer.first_missing) or seq % ACK_MSG_DIV != peer.ack_trigger:
            return
        self._send_cluster(
            HbMessage.build(("t", "NS_ackmsg"), ("dest", peer.name), ("ackseq", format(seq, "x")))
        )

    def _request_rexmit(self, peer: _Peer) -> None:
        """hb_rexmit.c: one NS_rexmit per missing seq (decimal), repeated every max_rexmit_delay."""
        if not peer.missing or peer.status == "dead":
            peer.next_rexmit_req = None
            return
        for k in sorted(peer.missing)[:MAX_REXMIT_PER_REQ]:
            self._send_cluster(
                HbMessage.build(
                    ("t", "NS_rexmit"), ("dest", peer.name), ("firstseq", str(k)), ("lastseq", str(k))
                )
            )
            self.stats.rexmit_req_sent += 1
        peer.next_rexmit_req = self.now + self.p.max_rexmit_delay

    def _process_rexmit(self, peer: _Peer, msg: HbMessage) -> None:
        """process_rexmit: resend stored packets unchanged, NAK what the history lost."""
        try:
            first = int(msg.get("firstseq") or "")
            last = int(msg.get("lastseq") or "")
        except ValueError:
            self.stats.hb_bad_field += 1
            return
        if first <= 0 or last < first:
            return
        for k in range(first, min(last, first + MAX_REXMIT_PER_REQ - 1) + 1):
            stored = self.history.get(k)
            if stored is None:
                info = "seqno too low" if self.history and k < next(iter(self.history)) else "seqno not found"
                self._send_cluster(
                    HbMessage.build(
                        ("t", "NS_nak_rexmit"),
                        ("firstseq", format(k, "x")),
                        ("dest", peer.name),
                        ("info", info),
                    )
                )
                self.stats.nak_sent += 1
                continue
            last_sent = self.rexmit_sent_at.get(k)
            if last_sent is not None and self.now - last_sent < self.p.max_rexmit_delay - 0.01:
                continue
            self.rexmit_sent_at[k] = self.now
            if len(self.rexmit_sent_at) > MAXMSGHIST:
                for old in sorted(self.rexmit_sent_at)[: len(self.rexmit_sent_at) - MAXMSGHIST]:
                    del self.rexmit_sent_at[old]
            self._out.append(Send(stored, rexmit=True))
            self.stats.rexmit_sent += 1

    def _dispatch(self, msg: HbMessage, t: str, peer: _Peer | None) -> bool:
        """HBDoMsgCallback. ``peer`` None = our own message read back. Returns whether handled."""
        fromme = peer is None
        if t == "status":
            if peer is not None:
                self._status_in(peer, msg)
            return True
        if t == "reqnodes":
            if peer is not None:
                nodes = "".join(n + " " for n in self.p.nodes)
                self._send_cluster(
                    HbMessage.build(
                        ("dest", peer.name), ("t", "repnodes"), ("nodelist", nodes), ("delnodelist", " ")
                    )
                )
            return True
        if t == "repnodes":
            if peer is not None and not self.got_reqnodes_reply:
                self.got_reqnodes_reply = True
                self._comm_now_up()
            return True
        if t == "shutdone":
            if self.comm_state_linksup:
                self._process_resources(t, msg, fromme)
            if fromme:
                # hb_mcp_final_shutdown one second later
                self.exit_at = self.now + 1.0
            elif peer is not None:
                peer.has_resources = False
                self.other_is_stable = False
                self.other_holds = NONE
                self._log(f"Received shutdown notice from '{peer.name}'.")
                self._takeover_from_node(peer.name)
            return True
        if t == "stonith":
            if peer is not None:
                self._log(f"stonith from {peer.name}: node {msg.get('node')} result {msg.get('result')}")
            return True
        if not self.comm_up:
            return False  # the other callbacks are registered by comm_up_resource_action
        if t in ("starting", "resource"):
            self._process_resources(t, msg, fromme)
            if t == "resource" and peer is not None and self.ipfail_running:
                self._ipfail_msg_resources(msg)
            return True
        if t == "ask_resources":
            self._ask_for_resources(msg, fromme)
            return True
        if t == "hb_takeover":
            if peer is not None:  # rc.d/hb_takeover: hb_standby the complement
                hold = msg.get("rsc_hold")
                standby = {"all": "all", "local": "foreign", "foreign": "local"}.get(hold or "")
                if standby:
                    self._hb_standby(standby)
            return True
        if t in ("num_ping_nodes", "you_are_dead", "abort_giveup", "hbapi-clstat"):
            if peer is not None and self.ipfail_running:
                self._ipfail_rx(t, msg, peer)
            return True
        return True

    def _status_in(self, peer: _Peer, msg: HbMessage) -> None:
        """HBDoMsg_T_STATUS."""
        st = msg.get("st")
        if not st:
            self._log("HBDoMsg_T_STATUS: status update without st field", "error")
            return
        msgtime = int(msg.get("ts") or "0", 16)
        seqno = int(msg.get("seq") or "0", 16)
        if msgtime < peer.rmt_lastupdate and seqno < peer.status_seqno:
            return
        if self.flow_control and msg.get("protocol") is None:
            self._log("flow control disabled due to different version heartbeat")
            self.flow_control = False
        if peer.rmt_lastupdate or peer.status not in ("init", "dead"):
            interval = self.now - peer.last_update
            if peer.status != "dead" and interval > self.p.deadtime:
                self._log(
                    f"Late heartbeat: Node {peer.name}: interval {int(interval * 1000)} ms (> deadtime)",
                    "crit",
                )
                self._mark_node_dead(peer)  # as heartbeat does; the status below revives it
            elif peer.status != "dead" and interval > self.p.warntime:
                self._log(f"Late heartbeat: Node {peer.name}: interval {int(interval * 1000)} ms", "warning")
        if st != peer.status:
            self._log(f"Status update for node {peer.name}: status {st}")
            peer.status = st
            self._out.append(NodeStatus(peer.name, st))
        dt = msg.get("dt")
        if dt:
            try:
                peer.dt = int(dt, 16) / 1000.0
            except ValueError:
                pass
        peer.rmt_lastupdate = msgtime
        peer.last_update = self.now
        peer.status_seqno = seqno

    # ------------------------------------------------------------------ resources (hb_resource.c)

    def _send_resources_held(self, stable: bool, comment: str | None = None) -> None:
        pairs = [
            ("t", "resource"),
            ("rsc_hold", RSC_NAMES[self.i_hold]),
            ("rtype", "full"),
            ("isstable", "1" if stable else "0"),
        ]
        if comment:
            pairs.append(("info", comment))
        self._send_cluster(HbMessage.build(*pairs))

    def _send_standby_msg(self, state: Standby) -> None:
        info = ("not", "me", "other", "done")[state]
        self._send_cluster(
            HbMessage.build(
                ("t", "ask_resources"), ("rsc_hold", RSC_NAMES[self.standby_rsctype]), ("info", info)
            )
        )

    def _process_resources(self, t: str, msg: HbMessage, fromme: bool) -> None:
        self._shutdown_if_needed()
        newr = self.rstate
        if t == "starting" and not fromme:
            if self.rstate in (RscState.RSCRCVD, RscState.STABLE, RscState.SHUTDOWN):
                pass
            elif self.rstate == RscState.STARTING:
                newr = RscState.BOTHSTARTING
            else:
                self._log(f"Received 'starting' message in state {int(self.rstate)}", "error")
                return
            self.other_is_stable = False
            if self.takeover_in_progress:
                self._log("T_STARTING received during takeover.", "warning")
            self._send_resources_held(self.rstate == RscState.STABLE)
        if t == "resource":
            n = rsc_encode(msg.get("rsc_hold"))
            if msg.get("rsc_hold") is None:
                self._log("resource message without rsc_hold field.", "error")
                return
            full = msg.get("rtype") == "full"
            if self.rstate in (RscState.BOTHSTARTING, RscState.STARTING):
                newr = RscState.RSCRCVD
            elif self.rstate not in (RscState.RSCRCVD, RscState.STABLE, RscState.SHUTDOWN):
                self._log(f"T_RESOURCES message received in state {int(self.rstate)}", "error")
                return

            def upd(cur: int) -> int:
                return n if full else (NONE if n == NONE else n | cur)

            if not fromme:
                self.other_holds = upd(self.other_holds)
                stable = msg.get("isstable")
                if stable is not None:
                    if stable == "1":
                        if not self.other_is_stable:
                            self._log("remote resource transition completed.")
                            self.other_is_stable = True
                            self._send_resources_held(self.rstate == RscState.STABLE)
                            self._perform_auto_failback()
                    else:
                        self.other_is_stable = False
                if self.rstate not in (RscState.STABLE, RscState.SHUTDOWN) and self.other_is_stable:
                    self._log("remote resource transition completed.")
                    self._req_our_resources(False)
                    newr = RscState.STABLE
                    self._send_resources_held(True)
                    self._perform_auto_failback()
            else:
                self.i_hold = upd(self.i_hold)
                comment = msg.get("info")
                if comment == "mach_down":
                    self._log("mach_down takeover complete.")
                    self.takeover_in_progress = False
                    self.i_hold |= FOREIGN
                    self.rsc_needs_failback = True
                    self.other_is_stable = True
                elif comment == "shutdown":
                    newr = RscState.SHUTDOWN
        if t == "shutdone":
            if not fromme:
                self.other_is_stable = True
                self.other_holds = NONE
                if self.i_hold != ALL and not self.shutdown_in_progress:
                    rtype = {FOREIGN: LOCAL, LOCAL: FOREIGN}.get(self.i_hold, ALL)
                    self.going_standby = Standby.DONE
                    self._go_standby(Standby.OTHER, rtype)
            else:
                newr = RscState.SHUTDOWN
                self.i_hold = NONE
        self.rstate = newr
        if self.rstate == RscState.RSCRCVD and self.local_takeover_time is None:
            self.local_takeover_time = self.now + RQSTDELAY
        self._audit()
        self._shutdown_if_needed()

    def _audit(self) -> None:
        if self.i_hold & LOCAL and self.other_holds & FOREIGN:
            self._log("Both machines own our resources!", "error")
        if self.other_holds & LOCAL and self.i_hold & FOREIGN:
            self._log("Both machines own foreign resources!", "error")

    def _req_our_resources(self, getthemanyway: bool) -> None:
        if self.shutdown_in_progress:
            return
        if (self.other_holds & FOREIGN or self.i_hold & LOCAL) and not getthemanyway:
            if self.going_standby == Standby.NOT:
                self._log("Local Resource acquisition completed. (none)")
                return
        self.i_hold |= LOCAL
        self._new_op("req_our_resources", True, self._groups(LOCAL), (), "req_our_resources")

    def _takeover_from_node(self, name: str) -> None:
        if self.shutdown_in_progress:
            self._log("Resource takeover cancelled - shutdown in progress.")
            self._shutdown_if_needed()
            return
        peer = self.peers.get(name)
        if peer is None or peer.ping:
            return
        self._log(f"Resources being acquired from {name}.")
        self._new_op("mach_down", True, self._groups(ALL, owner=name), (name,), f"mach_down {name}")
        self.i_hold |= FOREIGN
        self.other_holds = NONE
        self.other_is_stable = True
        self.takeover_in_progress = True
        self._req_our_resources(True)
        peer.anypacketsyet = True

    def _recover_dead_resources(self, peer: _Peer) -> None:
        if peer.ping:
            return
        if self.going_standby != Standby.NOT:
            self._log("Cancelling pending standby operation")
            self.going_standby = Standby.NOT
            self.standby_running = None
            if not self.other_is_stable and (self.i_hold & ALL) == ALL:
                self.other_is_stable = True
            self._shutdown_if_needed()
        if self.shutdown_in_progress:
            if self.rstate in (RscState.SHUTDOWN, RscState.STABLE):
                return
            self._giveup_resources()
            return
        self.rsc_needs_failback = True
        need_stonith = not (peer.anypacketsyet and self.other_holds == NONE)
        if need_stonith:
            self._send_stonith(peer.name, "n_stnth")
            self._log("No STONITH device configured.", "warning")
            self._log("Shared disks are not protected.", "warning")
            self._takeover_from_node(peer.name)
        else:
            self._log(f"Dead node {peer.name} gave up resources.")
            self._send_stonith(peer.name, "unneeded")
            if (self.i_hold & ALL) == ALL:
                self.other_is_stable = True
                return
            if not self.i_hold & LOCAL:
                self._req_our_resources(True)
            if not self.i_hold & FOREIGN:
                self._takeover_from_node(peer.name)

    def _send_stonith(self, node: str, result: str) -> None:
        self._send_cluster(HbMessage.build(("t", "stonith"), ("node", node), ("result", result)))

    def _perform_auto_failback(self) -> None:
        if (
            self.shutdown_in_progress
            or not self.i_hold & FOREIGN
            or not self.rsc_needs_failback
            or not self.p.auto_failback
        ):
            self.rsc_needs_failback = False
            self._shutdown_if_needed()
            return
        if self.going_standby != Standby.NOT or not self.other_is_stable or self.rstate != RscState.STABLE:
            self._log("Auto failback delayed.", "debug")
            self.autofailback_at = self.now + 1.0
            return
        self.standby_rsctype = FOREIGN
        self._send_standby_msg(Standby.ME)
        self.rsc_needs_failback = False

    def _ask_for_resources(self, msg: HbMessage, fromme: bool) -> None:
        """ask_for_resources: the 3-phase standby protocol, as giver (ME) and taker (OTHER)."""
        if self.rstate == RscState.SHUTDOWN:
            return
        info, frm = msg.get("info"), msg.get("src")
        rtype = ALL if msg.get("rsc_hold") is None else rsc_encode(msg.get("rsc_hold"))
        if info is None or frm is None:
            self._log("Received standby message without info/from", "error")
            return
        if self.standby_running is not None and self.now < self.standby_running and info.lower() == "me":
            left = int(self.standby_running - self.now + 0.999)
            self._log(f"Standby in progress- new request from {frm} ignored [{left} seconds left]", "warning")
            return
        orig = self.going_standby
        ignored = False
        gs = self.going_standby
        if gs == Standby.NOT:
            if not self.other_is_stable:
                self._log(f"standby message [{info}] from {frm} ignored.  Other side is in flux.", "warning")
                return
            if self.rstate != RscState.STABLE:
                self._log(
                    f"standby message [{info}] from {frm} ignored.  local resources in flux.", "warning"
                )
                return
            self.standby_rsctype = rtype
            if info.lower() == "me":
                self.other_is_stable = False
                self._log(f"{frm} wants to go standby [{RSC_NAMES[rtype]}]")
                if fromme:
                    self.standby_running = self.now + STANDBY_INIT_TO
                    self.going_standby = Standby.ME
                else:
                    self.going_standby = Standby.OTHER
                    self._send_standby_msg(Standby.OTHER)
                    self.standby_running = self.now + STANDBY_RSC_TO
            else:
                ignored = True
        elif gs == Standby.ME:
            if not fromme:
                self.standby_rsctype = rtype
                self.standby_running = self.now + STANDBY_RSC_TO
                if info.lower() == "other":
                    self._log(f"standby: {frm} can take our {RSC_NAMES[rtype]} resources")
                    self._go_standby(Standby.ME, rtype)
                else:
                    ignored = True
            elif info.lower() == "done":
                self._log(f"Local standby process completed [{RSC_NAMES[rtype]}].")
                self.going_standby = Standby.DONE
                self.i_hold &= ~self.standby_rsctype & ALL
                self.standby_running = self.now + STANDBY_RSC_TO
            else:
                ignored = True
        elif gs == Standby.OTHER:
            self.standby_rsctype = rtype
            if info.lower() == "done":
                self.standby_running = self.now + STANDBY_RSC_TO
                if not fromme:
                    self._log(f"standby: acquire [{RSC_NAMES[rtype]}] resources from {frm}")
                    self._go_standby(Standby.OTHER, self.standby_rsctype)
                    self.going_standby = Standby.DONE
                else:
                    ignored = True
            elif not fromme or info.lower() != "other":
                ignored = True
        else:  # DONE
            self.standby_rsctype = rtype
            if info == "done":
                self.standby_running = None
                self.going_standby = Standby.NOT
                if fromme:
                    self._log(f"Standby resource acquisition done [{RSC_NAMES[rtype]}].")
                    rup = {LOCAL: FOREIGN, FOREIGN: LOCAL, ALL: ALL}.get(rtype, NONE)
                    self.i_hold |= rup
                else:
                    self._log(f"Other node completed standby takeover of {RSC_NAMES[rtype]} resources.")
                self._send_resources_held(True)
                self.going_standby = Standby.NOT
            else:
                ignored = True
        if ignored:
            self._log(f"Ignored standby message '{info}' from {frm} in state {int(orig)}", "error")
        self._shutdown_if_needed()

    def _go_standby(self, who: Standby, resourceset: int) -> None:
        if who == Standby.ME:
            self.other_is_stable = False
            self.i_hold &= ~resourceset & ALL
            self._send_resources_held(False, "standby")
        if resourceset == FOREIGN:
            act = FOREIGN if who == Standby.ME else LOCAL
        elif resourceset == LOCAL:
            act = LOCAL if who == Standby.ME else FOREIGN
        elif resourceset == ALL:
            act = ALL
        else:
            self._log(f"no resources to {'give up' if who == Standby.ME else 'acquire'}", "error")
            return
        action = "give up" if who == Standby.ME else "acquire"
        self._log(f"{action} {RSC_NAMES[act]} HA resources (standby).")
        self._new_op("go_standby", who != Standby.ME, self._groups(act), (act, who), f"standby {action}")

    def _hb_standby(self, rsc: str) -> None:
        """/usr/share/heartbeat/hb_standby: ``ask_resources rsc_hold=R info=me``."""
        rsc = "foreign" if rsc == "failback" else rsc
        if rsc not in ("all", "foreign", "local"):
            self._log(f"hb_standby: wrong resources({rsc})", "error")
            return
        if not self._standby_ok():
            return
        self._log(f"Going standby [{rsc}].")
        self._send_cluster(HbMessage.build(("t", "ask_resources"), ("rsc_hold", rsc), ("info", "me")))

    def _standby_ok(self) -> bool:
        """pyvrrp refuses a local standby request while resources are in flux. heartbeat would send
        it anyway: the peer may accept it while we ignore our own request, leaving the peer waiting in
        standby state OTHER for an hour (STANDBY_RSC_TO) and refusing every later request."""
        if self.comm_up and self.is_stable():
            return True
        self._log("standby request refused: resources are in transition, try again", "warning")
        return False

    def _op_done(self, op: int, ok: bool) -> None:
        entry = self.ops.pop(op, None)
        if entry is None:
            return
        kind, data = entry
        if not ok:
            self._log(f"resource operation {kind} failed", "error")
        if kind == "req_our_resources":
            self._log("Local Resource acquisition completed.")
            self._send_resources_held(True, "req_our_resources()")
        elif kind == "go_standby":
            act, who = data
            what = "acquisition" if who != Standby.ME else "release"
            self._log(f"{RSC_NAMES[act]} HA resource {what} completed (standby).")
            self._send_standby_msg(Standby.DONE)
        elif kind == "mach_down":
            self._log(f"mach_down takeover complete for node {data[0]}.")
            self._send_cluster(
                HbMessage.build(("t", "resource"), ("rsc_hold", "foreign"), ("info", "mach_down"))
            )
        elif kind == "giveup":
            self._log("All HA resources relinquished.")
            self._send_cluster(HbMessage.build(("t", "shutdone"), ("st", "dead")))
            if self.p.ipfail and self.ipfail_running:
                self.ipfail_running = False
                self._send_cluster(
                    HbMessage.build(
                        ("t", "hbapi-clstat"),
                        ("st", "leave"),
                        ("from_id", "ipfail"),
                        ("to_id", "ipfail"),
                        ("src", self.p.node),
                        ("info", "died"),
                        ("client_gen", "0"),
                    )
                )
        self._shutdown_if_needed()

    # ------------------------------------------------------------------ shutdown

    def _initiate_shutdown(self) -> None:
        if self.shutdown_in_progress or self.rsc_needs_shutdown:
            return
        self._log("Heartbeat shutdown in progress.")
        if not self.comm_up:
            self.shutdown_in_progress = True
        self.shutdown_force_at = self.now + max(30.0, 2 * self.p.deadtime)
        self._giveup_resources()

    def _shutdown_if_needed(self) -> None:
        if self.rsc_needs_shutdown:
            self._giveup_resources()

    def _giveup_resources(self, force: bool = False) -> None:
        if not force and not self.is_stable():
            if not self.rsc_needs_shutdown:
                self._log("Shutdown delayed until current resource activity finishes.", "warning")
                self.rsc_needs_shutdown = True
            return
        self.rsc_needs_shutdown = False
        self.shutdown_in_progress = True
        if self.resource_shutdown_started:
            return
        self.resource_shutdown_started = True
        self.shutdown_force_at = None
        self.i_hold = NONE
        self.rstate = RscState.SHUTDOWN
        self._send_resources_held(False, "shutdown")
        self._log("Giving up all HA resources.")
        self._new_op("giveup", False, self._groups(ALL), (), "shutdown")

    # ------------------------------------------------------------------ ipfail (contrib/ipfail/ipfail.c)

    def _api_fields(self, msg: HbMessage, dest: str | None) -> HbMessage:
        out = msg
        if dest is not None:
            out = out.set("dest", dest)
        return out.set("from_id", "ipfail").set("to_id", "ipfail").set("client_gen", "0")

    def _ipfail_start(self) -> None:
        self.ipfail_running = True
        self.ipfail_node_stable = self.is_stable()
        # heartbeat announces the API client's signon (hbapi-clstat join)
        self._send_cluster(
            HbMessage.build(
                ("t", "hbapi-clstat"),
                ("st", "join"),
                ("from_id", "ipfail"),
                ("to_id", "ipfail"),
                ("src", self.p.node),
                ("info", "signon"),
                ("client_gen", "0"),
            )
        )

    def _other_node(self) -> str | None:
        return self.p.peers[0] if self.p.peers else None

    def _ping_count(self) -> int:
        return sum(1 for p in self.peers.values() if p.ping and p.status == "ping")

    def _ipfail_ask(self, num: int) -> None:
        other = self._other_node()
        if other is None:
            return
        self._log("Asking other side for ping node count.")
        msg = HbMessage.build(("t", "num_ping_nodes"), ("src", self.p.node), ("num_ping", str(num)))
        self._send_cluster(self._api_fields(msg, other))

    def _ipfail_link_dead(self) -> None:
        num = self._ping_count()
        if num:
            self._log("Checking remote count of ping nodes.")
        else:
            self._log("We are dead. :<")
        self._ipfail_ask(num)

    def _ipfail_delay_giveup(self, rsc: str) -> None:
        self._log(f"Delayed giveup in {int(self.p.keepalive * 2)} seconds.")
        self.ipfail_giveup_at = self.now + 2 * self.p.keepalive
        self.ipfail_giveup_rsc = rsc

    def _ipfail_giveup(self) -> None:
        self._log("giveup() called (timeout worked)")
        if self.is_stable():
            msg = HbMessage.build(
                ("t", "ask_resources"),
                ("rsc_hold", self.ipfail_giveup_rsc),
                ("src", self.p.node),
                ("info", "me"),
            )
            self._send_cluster(self._api_fields(msg, None))
            self.ipfail_need_standby = False
        else:
            self.ipfail_need_standby = True

    def _ipfail_rx(self, t: str, msg: HbMessage, peer: _Peer) -> None:
        if msg.get("to_id") not in (None, "ipfail") and t != "hbapi-clstat":
            return
        if t == "hbapi-clstat":
            if msg.get("st") == "join" and msg.get("from_id") == "ipfail":
                self._ipfail_ask(self._ping_count())
        elif t == "num_ping_nodes":
            try:
                theirs = int(msg.get("num_ping") or "0")
            except ValueError:
                theirs = 0
            ours = self._ping_count()
            if ours > theirs:
                self._log("Telling other node that we have more visible ping nodes.")
                self._send_cluster(self._api_fields(HbMessage.build(("t", "you_are_dead")), peer.name))
            elif ours < theirs:
                self._log("Giving up because we have less visible ping nodes.")
                self._ipfail_delay_giveup("all")
            else:
                self._log("Ping node count is balanced.")
                msg = HbMessage.build(("t", "abort_giveup"), ("src", self.p.node))
                self._send_cluster(self._api_fields(msg, peer.name))
                if self.ipfail_giveup_at is not None:
                    self._log("Aborted delayed giveup")
                    self.ipfail_giveup_at = None
                elif self.p.auto_failback and self.is_stable():
                    self._log("Giving up foreign resources (auto_failback).")
                    self._ipfail_delay_giveup("foreign")
        elif t == "you_are_dead":
            self._log("Giving up because we were told that we have less ping nodes.")
            self._ipfail_delay_giveup("all")
        elif t == "abort_giveup":
            if self.ipfail_giveup_at is not None:
                self._log("Aborted delayed giveup")
                self.ipfail_giveup_at = None
            else:
                self._log("No giveup timer to abort.")

    def _ipfail_msg_resources(self, msg: HbMessage) -> None:
        stable = msg.get("isstable")
        if stable is None:
            return
        if stable == "1" and msg.get("info") is None:
            self.ipfail_node_stable = True
            if self.ipfail_need_standby:
                # ipfail sleeps 10 s, then re-checks the ping node counts
                self.ipfail_recheck_at = self.now + 10.0
                self.ipfail_need_standby = False
        elif stable == "0":
            self.ipfail_node_stable = False
