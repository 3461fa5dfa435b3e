"""Sync groups (pyvrrp.proto.sync): members go MASTER together, one BACKUP takes all to BACKUP, one FAULT
faults all (keepalived 2.2.7 vrrp_sync.c), on a fake clock."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_interface

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvrrp._types import State
from pyvrrp.config.model import InstanceConfig, VipConfig
from pyvrrp.proto.actions import AddVips, Log, NotifyRxLowerPri, RemoveVips, SendAdvert, SendGarp, Transition
from pyvrrp.proto.events import AdvertReceived, Shutdown, TrackerChanged, VipDeleted
from pyvrrp.proto.sync import GroupTransition, SyncGroup, SyncResult
from pyvrrp.proto.vrrp import VrrpInstance
from pyvrrp.wire.vrrp import Advertisement

ME = IPv4Address("198.18.0.161")
PEER = IPv4Address("198.18.0.162")
MCAST = IPv4Address("224.0.0.18")
VIP1 = "198.18.0.150/24"
VIP2 = "198.18.0.151/24"


def cfg(name: str, vrid: int, vip: str, **kw) -> InstanceConfig:
    base: dict = dict(name=name, interface="eth0", vrid=vrid, vips=(VipConfig(ip_interface(vip)),))
    base.update(kw)
    return InstanceConfig(**base)


def group(pa: int = 100, pb: int = 100, src: IPv4Address = ME, **kw) -> SyncGroup:
    a = VrrpInstance(cfg("VI_1", 51, VIP1, priority=pa, **kw), src)
    b = VrrpInstance(cfg("VI_2", 52, VIP2, priority=pb, **kw), src)
    return SyncGroup([a, b], name="G1")


def adv_for(m: VrrpInstance, priority: int, src: IPv4Address = PEER) -> AdvertReceived:
    a = Advertisement(2, m.cfg.vrid, priority, tuple(v.address.ip for v in m.cfg.vips), 1)
    return AdvertReceived(src, 255, a, MCAST)


def kinds(acts: list) -> list[type]:
    return [type(a) for a in acts if not isinstance(a, Log)]


def states(g: SyncGroup) -> list[State]:
    return [m.state for m in g.members]


def run_until(g: SyncGroup, t: float) -> SyncResult:
    res = SyncResult()
    while (d := g.next_deadline()) is not None and d <= t:
        res.merge(g.expire_all(d))
    return res


def master_group(**kw) -> tuple[SyncGroup, float]:
    g = group(**kw)
    g.startup(0.0)
    run_until(g, 10)
    assert states(g) == [State.MASTER, State.MASTER] and g.state is State.MASTER
    return g, 10.0


class TestConstruction:
    def test_rejects_bad_groups(self) -> None:
        with pytest.raises(ValueError):
            SyncGroup([])
        a = VrrpInstance(cfg("VI_1", 51, VIP1), ME)
        with pytest.raises(ValueError):
            SyncGroup([a, VrrpInstance(cfg("VI_1", 52, VIP2), ME)])
        SyncGroup([a], name="G1")
        with pytest.raises(ValueError):
            SyncGroup([a], name="G2")

    def test_member_lookup(self) -> None:
        g = group()
        assert g.member("VI_2") is g.members[1] and g.members[0].sync is g
        with pytest.raises(KeyError):
            g.member("nope")


class TestStartup:
    def test_backup(self) -> None:
        g = group()
        res = g.startup(0.0)
        assert states(g) == [State.BACKUP, State.BACKUP]
        assert res.transitions() == [GroupTransition("G1", State.INIT, State.BACKUP, "init")]
        assert [kinds(res.for_member(n)) for n in ("VI_1", "VI_2")] == [[Transition], [Transition]]
        assert not [x for x in res.group if isinstance(x, Log)]  # no "Syncing" line at init

    def test_all_owners_start_master(self) -> None:
        g = group(255, 255, state="MASTER")
        res = g.startup(0.0)
        assert states(g) == [State.MASTER, State.MASTER] and g.state is State.MASTER
        assert res.transitions() == [GroupTransition("G1", State.INIT, State.MASTER, "init")]

    def test_state_master_in_backup_group_waits_one_interval(self) -> None:
        # vrrp_init_state: new_state (group) BACKUP and wantstate MASTER -> adver_int + minimum skew
        g = group(255, 150, state="MASTER")
        g.startup(0.0)
        assert states(g) == [State.BACKUP, State.BACKUP]
        assert [m.next_deadline() for m in g.members] == [1 + 1 / 256, 1 + 1 / 256]
        res = run_until(g, 1.1)
        assert states(g) == [State.MASTER, State.MASTER]
        assert res.transitions() == [
            GroupTransition("G1", State.BACKUP, State.MASTER, "VI_1: master down timer expired")
        ]

    def test_fault_in_one_member_starts_all_in_fault(self) -> None:
        g = group()
        g.handle("VI_2", TrackerChanged("eth1", fault=True, reason="eth1 down"), 0.0)
        res = g.startup(0.0)
        assert states(g) == [State.FAULT, State.FAULT] and g.state is State.FAULT
        assert res.transitions() == [GroupTransition("G1", State.INIT, State.FAULT, "init")]
        assert all(m.next_deadline() is None for m in g.members)


class TestGoMasterTogether:
    def test_first_expiry_is_held_until_every_member_wants_master(self) -> None:
        g = group(120, 100)  # VI_1 times out first
        g.startup(0.0)
        a, b = g.members
        t_a, t_b = a.next_deadline(), b.next_deadline()
        assert t_a is not None and t_b is not None and t_a < t_b
        res = g.expire("VI_1", t_a)
        assert a.state is State.BACKUP and a.wantstate is State.MASTER
        assert Transition not in kinds(res.for_member("VI_1"))
        assert a.next_deadline() == pytest.approx(t_a + a.master_down_interval())
        res = g.expire("VI_2", t_b)
        assert states(g) == [State.MASTER, State.MASTER] and g.state is State.MASTER
        assert list(res.actions) == ["VI_2", "VI_1"]  # the trigger first
        assert kinds(res.for_member("VI_1")) == [SendAdvert, AddVips, SendGarp, Transition]
        assert res.group[0] == Log("VRRP_Group(G1) Syncing instances to MASTER state")
        assert res.transitions()[0].new is State.MASTER

    def test_backup_member_that_hears_a_master_blocks_the_group(self) -> None:
        g = group(120, 100)
        g.startup(0.0)
        a, b = g.members
        for k in range(1, 30):  # a remote master keeps VI_2 alive; VI_1's peer is gone
            g.handle("VI_2", adv_for(b, 200), float(k))
            run_until(g, float(k))
        assert states(g) == [State.BACKUP, State.BACKUP] and a.wantstate is State.MASTER
        run_until(g, 40)  # the remote master for VI_2 dies too
        assert states(g) == [State.MASTER, State.MASTER]


class TestOneBackupTakesAll:
    def test_higher_priority_on_one_member(self) -> None:
        g, t = master_group()
        res = g.handle("VI_1", adv_for(g.members[0], 200), t)
        assert states(g) == [State.BACKUP, State.BACKUP] and g.state is State.BACKUP
        # the forced member leaves master without a priority-0 advert (leave_master advF=false)
        assert kinds(res.for_member("VI_2")) == [RemoveVips, Transition]
        assert res.for_member("VI_2")[-1].reason == "sync group G1 (from VI_1)"
        assert res.group[0] == Log("VRRP_Group(G1) Syncing instances to BACKUP state")
        assert res.transitions()[0].new is State.BACKUP

    def test_vip_deleted_gives_quick_reelection_for_all(self) -> None:
        g, t = master_group()
        g.handle("VI_2", VipDeleted(VIP2), t)
        assert states(g) == [State.BACKUP, State.BACKUP]
        for m in g.members:
            assert m.next_deadline() == pytest.approx(t + m.skew_time())
        run_until(g, t + 1)
        assert states(g) == [State.MASTER, State.MASTER]


class TestOneFaultFaultsAll:
    def test_fault_and_recovery(self) -> None:
        g, t = master_group()
        res = g.handle("VI_1", TrackerChanged("eth1", fault=True, reason="eth1 down"), t)
        assert states(g) == [State.FAULT, State.FAULT] and g.state is State.FAULT
        assert kinds(res.for_member("VI_1")) == [SendAdvert, SendAdvert, RemoveVips, Transition]
        assert kinds(res.for_member("VI_2")) == [SendAdvert, RemoveVips, Transition]
        assert [a.adv.priority for a in res.for_member("VI_2") if isinstance(a, SendAdvert)] == [0]
        assert res.transitions() == [GroupTransition("G1", State.MASTER, State.FAULT, "VI_1: eth1 down")]
        # VI_2's own trackers are fine, but it is held in FAULT while VI_1 is faulted
        assert g.handle("VI_2", TrackerChanged("chk", delta=0), t + 1).actions == {}
        assert states(g) == [State.FAULT, State.FAULT]
        res = g.handle("VI_1", TrackerChanged("eth1", fault=False, reason="eth1 up"), t + 2)
        assert states(g) == [State.BACKUP, State.BACKUP] and g.state is State.BACKUP
        assert res.transitions() == [GroupTransition("G1", State.FAULT, State.BACKUP, "VI_1: eth1 up")]
        run_until(g, t + 10)
        assert states(g) == [State.MASTER, State.MASTER]

    def test_two_faults_both_must_clear(self) -> None:
        g, t = master_group()
        g.handle("VI_1", TrackerChanged("x", fault=True), t)
        g.handle("VI_2", TrackerChanged("y", fault=True), t)
        g.handle("VI_1", TrackerChanged("x"), t + 1)
        assert states(g) == [State.FAULT, State.FAULT]
        g.handle("VI_2", TrackerChanged("y"), t + 2)
        assert states(g) == [State.BACKUP, State.BACKUP]

    def test_fault_from_backup(self) -> None:
        g = group()
        g.startup(0.0)
        g.handle("VI_2", TrackerChanged("y", fault=True), 1.0)
        assert states(g) == [State.FAULT, State.FAULT]
        assert all(m.next_deadline() is None for m in g.members)


class TestOther:
    def test_lower_priority_garp_on_all_members(self) -> None:
        g, t = master_group(garp_master_delay=0)
        res = g.handle("VI_1", adv_for(g.members[0], 50), t)
        assert NotifyRxLowerPri in kinds(res.for_member("VI_1"))
        assert kinds(res.for_member("VI_2")) == [SendGarp]
        assert states(g) == [State.MASTER, State.MASTER]

    def test_shutdown(self) -> None:
        g, t = master_group()
        res = g.shutdown(t)
        assert states(g) == [State.STOP, State.STOP]
        assert res.transitions() == [GroupTransition("G1", State.MASTER, State.STOP, "shutdown")]
        assert [
            a.adv.priority for n in ("VI_1", "VI_2") for a in res.for_member(n) if isinstance(a, SendAdvert)
        ] == [
            0,
            0,
        ]

    def test_one_member_stopping_does_not_move_the_group(self) -> None:
        g, t = master_group()
        res = g.handle("VI_1", Shutdown(), t)
        assert res.group == [] and g.state is State.MASTER and g.members[1].state is State.MASTER


class TestTwoNodes:
    """Two nodes, each with the same sync group of two instances, on a zero-latency LAN."""

    def _nodes(self, pa: int, pb: int) -> dict[IPv4Address, SyncGroup]:
        return {
            ME: group(pa, pa, src=ME),
            PEER: group(pb, pb, src=PEER),
        }

    def _run(self, nodes: dict[IPv4Address, SyncGroup], t_end: float, down: set[IPv4Address]) -> None:
        def deliver(src: IPv4Address, res: SyncResult, now: float) -> None:
            queue = [(src, name, a) for name, acts in res.actions.items() for a in acts]
            while queue:
                s, name, a = queue.pop(0)
                if not isinstance(a, SendAdvert):
                    continue
                for ip, g in nodes.items():
                    if ip != s and ip not in down:
                        r = g.handle(name, AdvertReceived(s, 255, a.adv, MCAST), now)
                        queue += [(ip, n, x) for n, acts in r.actions.items() for x in acts]

        for _ in range(100_000):
            ds = [
                (d, ip) for ip, g in nodes.items() if ip not in down and (d := g.next_deadline()) is not None
            ]
            if not ds or min(ds)[0] > t_end:
                return
            t, ip = min(ds)
            deliver(ip, nodes[ip].expire_all(t), t)

    def test_election_and_failover(self) -> None:
        nodes = self._nodes(150, 100)
        for g in nodes.values():
            g.startup(0.0)
        self._run(nodes, 20, set())
        assert nodes[ME].state is State.MASTER and nodes[PEER].state is State.BACKUP
        assert states(nodes[PEER]) == [State.BACKUP, State.BACKUP]
        self._run(nodes, 60, {ME})  # ME crashes
        assert states(nodes[PEER]) == [State.MASTER, State.MASTER]


# ---------------------------------------------------------------------------- property


events = st.one_of(
    st.tuples(st.just("adv"), st.integers(0, 2), st.integers(0, 255)),
    st.tuples(st.just("time"), st.floats(0, 5, allow_nan=False)),
    st.tuples(
        st.just("tracker"),
        st.integers(0, 2),
        st.sampled_from(["x", "y"]),
        st.booleans(),
        st.integers(-50, 50),
    ),
    st.tuples(st.just("vipdel"), st.integers(0, 2)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from([50, 100, 150, 255]), min_size=2, max_size=3),
    st.sampled_from(["MASTER", "BACKUP"]),
    st.lists(events, max_size=50),
)
def test_members_always_agree(prios: list[int], state: str, seq: list) -> None:
    """Outside of transients inside one call, every running member is in the group's state."""
    vips = ["198.18.0.150/24", "198.18.0.151/24", "198.18.0.152/24"]
    ms = [
        VrrpInstance(cfg(f"VI_{i}", 51 + i, vips[i], priority=p, state=state), ME)
        for i, p in enumerate(prios)
    ]
    g = SyncGroup(ms, name="G")
    g.startup(0.0)
    now = 0.0

    def check() -> None:
        assert all(m.state is g.state for m in ms), (g.state, states(g))

    check()
    for ev in seq:
        if ev[0] == "time":
            now += ev[1]
            run_until(g, now)
        elif ev[0] == "adv":
            m = ms[ev[1] % len(ms)]
            g.handle(m.name, adv_for(m, ev[2]), now)
        elif ev[0] == "tracker":
            m = ms[ev[1] % len(ms)]
            g.handle(m.name, TrackerChanged(ev[2], delta=ev[4], fault=ev[3]), now)
        else:
            m = ms[ev[1] % len(ms)]
            g.handle(m.name, VipDeleted(str(m.cfg.vips[0].address)), now)
        check()
