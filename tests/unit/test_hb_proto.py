"""heartbeat node state machine: two machines back to back on a fake clock, mirroring captures 01-08."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from pyvrrp.proto import heartbeat as hp
from pyvrrp.wire import heartbeat as hw

KEY = hw.AuthKey(3, "md5", b"Hello!")
VIP = "198.18.0.150/24/eth0:0"
PING = "198.18.0.1"


def params(node: str, generation: int = 100, **kw) -> hp.HbParams:
    base = dict(
        node=node,
        nodes=("master", "slave"),
        groups=(("master", VIP),),
        ping_nodes=(PING,),
        keepalive=1.0,
        deadtime=5.0,
        warntime=3.0,
        initdead=10.0,
        deadping=5.0,
        auto_failback=True,
        ipfail=True,
        uuid=(b"M" if node == "master" else b"S") * 16,
        generation=generation,
        wall_offset=1_800_000_000.0,
        seed=7 if node == "master" else 11,
    )
    base.update(kw)
    return hp.HbParams(**base)


@dataclass
class Sim:
    """A fake network: messages go through the real codec, resource ops take ``op_delay``."""

    latency: float = 0.002
    op_delay: float = 0.2
    now: float = 0.0
    nodes: dict[str, hp.HbNode] = field(default_factory=dict)
    alive: dict[str, bool] = field(default_factory=dict)
    held: dict[str, list[str]] = field(default_factory=dict)
    ping_ok: dict[str, bool] = field(default_factory=dict)
    drop: Callable[[str, str, hw.HbMessage], bool] = lambda s, d, m: False
    log: list[tuple[float, str, hp.Action]] = field(default_factory=list)
    wire: list[tuple[float, str, hw.HbMessage]] = field(default_factory=list)
    exits: dict[str, float] = field(default_factory=dict)
    _q: list = field(default_factory=list)
    _n: int = 0

    def add(self, p: hp.HbParams, at: float | None = None) -> hp.HbNode:
        node = hp.HbNode(p)
        self.nodes[p.node] = node
        self.alive[p.node] = True
        self.held.setdefault(p.node, [])
        self.ping_ok.setdefault(p.node, True)
        self._at(self.now if at is None else at, p.node, hp.Start())
        return node

    def _at(self, t: float, name: str, ev: hp.Event) -> None:
        self._n += 1
        heapq.heappush(self._q, (t, self._n, name, ev))

    def crash(self, name: str) -> None:
        self.alive[name] = False

    def deliver(self, name: str, ev: hp.Event) -> None:
        self._apply(name, self.nodes[name].handle(ev, self.now))

    def _apply(self, name: str, actions: list[hp.Action]) -> None:
        node = self.nodes[name]
        for a in actions:
            self.log.append((self.now, name, a))
            if isinstance(a, hp.Send):
                data = hw.encode(a.msg, KEY)
                self.wire.append((self.now, name, a.msg))
                for other in self.nodes:
                    if other == name or not self.alive[other] or self.drop(name, other, a.msg):
                        continue
                    rx = hw.decode(data)
                    assert hw.verify(rx, {3: KEY}, KEY)
                    self._at(self.now + self.latency, other, hp.MsgIn(rx.msg))
            elif isinstance(a, hp.Acquire):
                for g in a.groups:
                    if g not in self.held[name]:
                        self.held[name].append(g)
                self._at(self.now + self.op_delay, name, hp.ResourceOpDone(a.op))
            elif isinstance(a, hp.Release):
                self.held[name] = [g for g in self.held[name] if g not in a.groups]
                self._at(self.now + self.op_delay, name, hp.ResourceOpDone(a.op))
            elif isinstance(a, hp.PingProbe):
                if self.ping_ok[name]:
                    self._at(self.now + self.latency, name, hp.PingIn(PING))
            elif isinstance(a, hp.Exit):
                self.exits[name] = self.now
                self.alive[name] = False
        del node

    def run(self, until: float) -> None:
        guard = 0
        while True:
            guard += 1
            assert guard < 500_000
            cands = []
            if self._q:
                cands.append(self._q[0][0])
            for name, node in self.nodes.items():
                if self.alive[name] and node.started:
                    d = node.next_deadline()
                    if d is not None:
                        cands.append(d)
            if not cands or min(cands) > until:
                self.now = until
                return
            t = min(cands)
            self.now = max(self.now, t)
            if self._q and self._q[0][0] <= t:
                _, _, name, ev = heapq.heappop(self._q)
                if self.alive[name]:
                    self.deliver(name, ev)
                continue
            for name, node in self.nodes.items():
                d = node.next_deadline() if self.alive[name] and node.started else None
                if d is not None and d <= t:
                    self.deliver(name, hp.Tick())

    # -- queries
    def first(
        self, name: str, kind: type, pred: Callable[[hp.Action], bool] = lambda a: True, after: float = 0.0
    ):
        for t, n, a in self.log:
            if n == name and t >= after and isinstance(a, kind) and pred(a):
                return t
        return None

    def sent(self, name: str, t: str, after: float = 0.0) -> list[hw.HbMessage]:
        return [m for ts, n, m in self.wire if n == name and ts >= after and m.get("t") == t]


def pair(start_slave_at: float = 1.1) -> Sim:
    sim = Sim()
    sim.add(params("master"))
    sim.add(params("slave", generation=200), at=start_slave_at)
    return sim


def test_01_simultaneous_start_owner_holds_vip() -> None:
    sim = pair()
    sim.run(30)
    m, s = sim.nodes["master"], sim.nodes["slave"]
    assert sim.held == {"master": [VIP], "slave": []}
    assert m.status == s.status == "active"
    assert m.node_status("slave") == "active" and s.node_status("master") == "active"
    assert m.rstate == s.rstate == hp.RscState.STABLE
    assert m.resource_state() == "local" and s.resource_state() == "local"
    # reqnodes/repnodes before active (§8), starting at comm-up, then the 10 s stability rule (§9.1)
    assert sim.sent("master", "reqnodes") and sim.sent("slave", "repnodes")
    t_acq = sim.first("master", hp.Acquire, lambda a: VIP in a.groups)
    assert t_acq is not None and 10.0 < t_acq < 16.0
    # status carries dt: deadtime+2 s while starting, then 5000 ms (1388)
    dts = [m.get("dt") for m in sim.sent("master", "status")]
    assert dts[0] == "1b58" and dts[-1] == "1388"
    # control fields as heartbeat sends them (§4.3)
    st = sim.sent("master", "status")[0]
    assert [f.name for f in st.fields] == [
        "t", "st", "dt", "protocol", "src", "srcuuid", "seq", "hg", "ts", "ld", "ttl"
    ]  # fmt: skip
    assert st.get("seq") == "1" and st.get("hg") == "64" and st.get("ttl") == "4"
    # acks flow (protocol=1): every 10th seq with a per-peer trigger
    acks = sim.sent("slave", "NS_ackmsg")
    assert acks and all(a.get("dest") == "master" for a in acks)
    assert "seq" not in acks[0] and "ld" not in acks[0]
    assert m.stats.lost_packets == 0 and m.stats.hb_replay == 0


def test_02_steady_no_changes() -> None:
    sim = pair()
    sim.run(30)
    n = len(sim.log)
    sim.run(120)
    later = [a for t, _, a in sim.log[n:] if isinstance(a, hp.Acquire | hp.Release | hp.NodeStatus)]
    # ipfail's balanced check may run a no-op "foreign" standby cycle (§10), nothing moves
    assert all(not getattr(a, "groups", ()) for a in later if isinstance(a, hp.Acquire | hp.Release))
    assert sim.held == {"master": [VIP], "slave": []}


def test_alone_start_takes_everything_after_initdead() -> None:
    sim = Sim()
    sim.add(params("slave"))
    sim.run(25)
    s = sim.nodes["slave"]
    assert sim.held["slave"] == [VIP]
    assert s.node_status("master") == "dead" and s.status == "active"
    t = sim.first("slave", hp.Acquire, lambda a: VIP in a.groups)
    assert t is not None and 10.0 <= t < 11.0  # initdead
    st = sim.sent("slave", "stonith")
    assert st and st[0].get("result") == "n_stnth" and st[0].get("node") == "master"
    assert s.resource_state() == "all"


def test_03_04_ipfail_giveup_and_failback() -> None:
    sim = pair()
    sim.run(30)
    sim.ping_ok["master"] = False  # iptables -I INPUT -p icmp -j DROP on the master
    sim.run(50)
    assert sim.held == {"master": [], "slave": [VIP]}
    t_slave = sim.first("slave", hp.Acquire, lambda a: VIP in a.groups, after=30)
    assert t_slave is not None and t_slave - 30 < 5 + 6  # deadping + exchange (03: ~10 s)
    assert sim.sent("master", "num_ping_nodes", after=30)[0].get("num_ping") == "0"
    assert sim.sent("slave", "you_are_dead", after=30)
    ask = sim.sent("master", "ask_resources", after=30)[0]
    assert (ask.get("rsc_hold"), ask.get("info"), ask.get("from_id")) == ("all", "me", "ipfail")
    # 04: rule removed -> balanced -> slave gives foreign back (auto_failback)
    sim.ping_ok["master"] = True
    sim.run(70)
    assert sim.held == {"master": [VIP], "slave": []}
    t_back = sim.first("master", hp.Acquire, lambda a: VIP in a.groups, after=50)
    assert t_back is not None and t_back - 50 < 8
    assert sim.sent("slave", "abort_giveup", after=50)
    assert sim.nodes["master"].is_stable() and sim.nodes["slave"].is_stable()


def test_05_06_graceful_stop_and_restart_failback() -> None:
    sim = pair()
    sim.run(30)
    sim.deliver("master", hp.Stop())
    sim.run(40)
    assert "master" in sim.exits
    shutdone = [t for t, n, m in sim.wire if n == "master" and m.get("t") == "shutdone"]
    assert shutdone
    msgs = [m.get("t") for m in sim.sent("master", "resource", after=30)]
    assert msgs and sim.sent("master", "resource", after=30)[0].get("info") == "shutdown"
    t_take = sim.first("slave", hp.Acquire, lambda a: VIP in a.groups, after=30)
    assert t_take is not None and t_take - shutdone[0] < 2.0  # §9.4: ~0.7 s
    assert sim.held == {"master": [], "slave": [VIP]}
    assert sim.sent("slave", "stonith", after=30)[0].get("result") == "unneeded"
    # 06: master comes back with generation+1 -> auto_failback via the 3-phase standby
    sim.add(params("master", generation=101))
    t0 = sim.now
    sim.run(70)
    assert sim.held == {"master": [VIP], "slave": []}
    assert any("Heartbeat restart on node master" in a.msg for _, n, a in sim.log if isinstance(a, hp.Log))
    infos = [m.get("info") for m in sim.sent("slave", "ask_resources", after=t0)]
    assert infos[:2] == ["me", "done"]
    assert sim.nodes["slave"].stats.hb_replay == 0


def test_07_08_crash_takeover_after_deadtime_and_restart() -> None:
    sim = pair()
    sim.run(30)
    last = max(t for t, n, m in sim.wire if n == "master" and m.get("t") == "status")
    sim.crash("master")
    sim.run(45)
    t_take = sim.first("slave", hp.Acquire, lambda a: VIP in a.groups, after=30)
    assert t_take is not None and 5.0 <= t_take - last < 6.5  # dt=5000 (07: 5.4 s)
    assert sim.sent("slave", "stonith", after=30)[0].get("result") == "n_stnth"
    mach = [m for m in sim.sent("slave", "resource", after=30) if m.get("info") == "mach_down"]
    assert mach and mach[0].get("rsc_hold") == "foreign"
    # 08: restart several times; hg always higher -> never locked out
    for i, gen in enumerate((101, 102, 103)):
        sim.nodes["master"] = hp.HbNode(params("master", generation=gen))
        sim.alive["master"] = True
        sim.held["master"] = []
        sim._at(sim.now, "master", hp.Start())
        start = sim.now
        sim.run(start + 20)
        assert sim.held == {"master": [VIP], "slave": []}, i
        sim.crash("master")
        sim.run(sim.now + 10)
        assert sim.held["slave"] == [VIP]
    assert sim.nodes["slave"].stats.hb_replay == 0


def test_admin_standby_and_takeover() -> None:
    sim = pair()
    sim.run(30)
    sim.deliver("master", hp.AdminStandby("all"))
    sim.run(35)
    assert sim.held == {"master": [], "slave": [VIP]}
    # the slave holds foreign now; ipfail/auto_failback give it back once the master asks
    sim.deliver("master", hp.AdminTakeover("all"))
    sim.run(45)
    assert sim.held["master"] == [VIP]
    assert sim.sent("master", "hb_takeover")[0].get("rsc_hold") == "all"


def test_05_loss_repaired_by_rexmit_no_spurious_takeover() -> None:
    rnd = random.Random(3)
    sim = pair()
    sim.run(30)
    sim.drop = lambda s, d, m: 30 < sim.now < 90 and rnd.random() < 0.3
    sim.run(90)
    sim.drop = lambda s, d, m: False
    sim.run(100)
    m, s = sim.nodes["master"], sim.nodes["slave"]
    assert sim.held == {"master": [VIP], "slave": []}
    assert m.node_status("slave") == "active" and s.node_status("master") == "active"
    assert s.stats.rexmit_req_sent > 0 and m.stats.rexmit_sent > 0
    assert not m.peers["slave"].missing and not s.peers["master"].missing
    # retransmissions are the stored message (byte-identical on the wire)
    rex = [a.msg for _, n, a in sim.log if n == "master" and isinstance(a, hp.Send) and a.rexmit]
    originals = {m.get("seq"): m for m in sim.sent("master", "status") + sim.sent("master", "NS_ackmsg")}
    assert rex and all(hw.encode(r, KEY) == hw.encode(originals.get(r.get("seq"), r), KEY) for r in rex)


def _msg(node: hp.HbNode, **fields: str) -> hw.HbMessage:
    return hw.HbMessage.build(*fields.items())


def test_06_rejections_counted_no_state_change() -> None:
    sim = pair()
    sim.run(30)
    m = sim.nodes["master"]
    before = (m.snapshot()["nodes"], sim.held["master"], m.i_hold)
    hg = m.peers["slave"].generation
    # lower generation from a forged "slave"
    forged = hw.HbMessage.build(
        ("t", "resource"), ("rsc_hold", "all"), ("rtype", "full"), ("isstable", "1"),
        ("src", "slave"), ("seq", "9999"), ("hg", format(hg - 1, "x")), ("ts", "6b080d63"),
    )  # fmt: skip
    sim.deliver("master", hp.MsgIn(forged))
    assert m.stats.hb_replay == 1
    # unknown node name
    sim.deliver("master", hp.MsgIn(forged.set("src", "intruder").set("hg", format(hg, "x"))))
    assert m.stats.hb_unknown_node == 1
    # wrong key: the runtime counts it and the machine sees only the counter
    sim.deliver("master", hp.BadPacket("hb_auth_err", "netstring authentication failed"))
    assert m.stats.hb_auth_err == 1
    # missing ts / seq
    sim.deliver("master", hp.MsgIn(hw.HbMessage.build(("t", "status"), ("src", "slave"), ("seq", "1"))))
    assert m.stats.hb_bad_field == 1
    sim.run(40)
    assert (m.snapshot()["nodes"], sim.held["master"], m.i_hold) == before


def test_unknown_before_start_and_snapshot() -> None:
    node = hp.HbNode(params("master"))
    assert node.handle(hp.Tick(), 0.0) == []
    assert node.next_deadline() is None
    acts = node.handle(hp.Start(), 0.0)
    sends = [a.msg.get("st") for a in acts if isinstance(a, hp.Send)]
    assert sends == ["init", "up"]
    assert any(isinstance(a, hp.PingProbe) for a in acts)
    snap = node.snapshot()
    assert snap["status"] == "up" and snap["resources"] == "transition"
    assert node.next_deadline() == pytest.approx(1.0)


def test_nak_for_unknown_seq_and_flow_control_off() -> None:
    sim = pair()
    sim.run(30)
    m = sim.nodes["master"]
    rexreq = hw.HbMessage.build(
        ("t", "NS_rexmit"), ("dest", "master"), ("firstseq", "99999"), ("lastseq", "99999"),
        ("src", "slave"), ("hg", format(m.peers["slave"].generation, "x")), ("ts", "6b080d63"),
    )  # fmt: skip
    acts = m.handle(hp.MsgIn(rexreq), sim.now)
    naks = [a.msg for a in acts if isinstance(a, hp.Send) and a.msg.get("t") == "NS_nak_rexmit"]
    assert naks and naks[0].get("firstseq") == format(99999, "x") and naks[0].get("dest") == "slave"
    # a status without protocol disables flow control (B2)
    st = hw.HbMessage.build(
        ("t", "status"), ("st", "active"), ("src", "slave"),
        ("seq", format(m.peers["slave"].last_seq + 1, "x")),
        ("hg", format(m.peers["slave"].generation, "x")), ("ts", "6b080d63"),
    )  # fmt: skip
    m.handle(hp.MsgIn(st), sim.now)
    assert not m.flow_control


# ---------------------------------------------------------------------------------------------------
# Replays: the real heartbeat peer's datagrams from a capture, fed to our machine at their capture times.

DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "heartbeat"
ADDR = {"master": "198.18.0.161", "slave": "198.18.0.162"}


def replay(capture: str, me: str, start_at: float, until: float) -> tuple[hp.HbNode, list, list[str]]:
    """Run ``me`` against the other node's messages in ``capture``; ping replies are immediate.
    Returns (machine, [(t, action)], [held groups])."""
    from test_hb_wire import pcap_frames, udp694_datagrams

    other = ADDR["slave" if me == "master" else "master"]
    rows = list(udp694_datagrams(DATA / capture))
    t0 = next(pcap_frames(DATA / capture))[0]  # times as in the capture's text dump
    feed = [(ts - t0, hw.decode(p).msg) for ts, src, p in rows if src == other]
    node = hp.HbNode(params(me, generation=0x6B080D4A - 1))
    out: list[tuple[float, hp.Action]] = []
    held: list[str] = []
    pending: list[tuple[float, hp.Event]] = [(start_at, hp.Start())]
    pending += [(t, hp.MsgIn(m)) for t, m in feed if t >= start_at]
    pending.sort(key=lambda x: x[0])
    now = start_at
    while True:
        nxt = node.next_deadline()
        t_ev = pending[0][0] if pending else None
        cands = [x for x in (nxt, t_ev) if x is not None]
        if not cands or min(cands) > until:
            break
        now = max(now, min(cands))
        ev = pending.pop(0)[1] if t_ev is not None and t_ev <= now else hp.Tick()
        for a in node.handle(ev, now):
            out.append((now, a))
            if isinstance(a, hp.PingProbe):
                pending.append((now + 0.001, hp.PingIn(PING)))
            elif isinstance(a, hp.Acquire):
                held += [g for g in a.groups if g not in held]
                pending.append((now + 0.1, hp.ResourceOpDone(a.op)))
            elif isinstance(a, hp.Release):
                held[:] = [g for g in held if g not in a.groups]
                pending.append((now + 0.1, hp.ResourceOpDone(a.op)))
        pending.sort(key=lambda x: x[0])
    return node, out, held


def test_replay_01_real_slave_against_our_master() -> None:
    """01-startup: our master, started when the real master did, sees the real slave's messages."""
    node, out, held = replay("01-startup.pcap", "master", start_at=1.07, until=22.0)
    assert node.status == "active" and node.node_status("slave") == "active"
    assert held == [VIP]
    t_acq = next(t for t, a in out if isinstance(a, hp.Acquire) and VIP in a.groups)
    assert 12.0 < t_acq < 16.0  # the real master took it at 14.68 s (10 s RQSTDELAY after comm-up)
    assert node.stats.hb_replay == 0 and node.stats.hb_unknown_node == 0
    assert node.peers["slave"].generation == 0x6B080D4C


def test_replay_01_real_master_against_our_slave() -> None:
    node, out, held = replay("01-startup.pcap", "slave", start_at=2.15, until=22.0)
    assert node.status == "active" and node.node_status("master") == "active"
    assert held == []
    sent = [a.msg.get("t") for _, a in out if isinstance(a, hp.Send)]
    assert "repnodes" in sent and "starting" in sent
    # the real master announced it holds its group: we never take it
    assert node.other_holds == hp.LOCAL and node.is_stable()


def test_replay_07_real_master_dies_our_slave_takes_over() -> None:
    """07-crash-deadtime: the real master's last status, then silence: takeover after its dt."""
    from test_hb_wire import pcap_frames, udp694_datagrams

    t0 = next(pcap_frames(DATA / "07-crash-deadtime.pcap"))[0]
    rows = [r for r in udp694_datagrams(DATA / "07-crash-deadtime.pcap") if r[1] == ADDR["master"]]
    last = rows[-1][0] - t0
    node, out, held = replay("07-crash-deadtime.pcap", "slave", start_at=0.0, until=last + 30.0)
    assert held == [VIP]
    t_acq = next(t for t, a in out if isinstance(a, hp.Acquire) and VIP in a.groups)
    assert t_acq > last  # only after the master went silent


def test_admin_standby_refused_while_in_transition() -> None:
    sim = pair()
    sim.run(5)  # comm is up, the 10 s stability rule still runs: resources in transition
    m = sim.nodes["master"]
    assert m.resource_state() == "transition"
    sim.deliver("master", hp.AdminStandby("all"))
    sim.deliver(
        "master", hp.LocalMsg(hw.HbMessage.build(("t", "ask_resources"), ("rsc_hold", "all"), ("info", "me")))
    )
    assert not sim.sent("master", "ask_resources")
    sim.run(30)
    assert sim.held == {"master": [VIP], "slave": []}
    # a FIFO message that is not a standby request is sent with our control fields
    sim.deliver(
        "master", hp.LocalMsg(hw.HbMessage.build(("t", "hb_takeover"), ("rsc_hold", "all"), ("seq", "1")))
    )
    sent = sim.sent("master", "hb_takeover")
    assert sent and sent[0].get("src") == "master" and sent[0].get("seq") != "1"
