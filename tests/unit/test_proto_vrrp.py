"""The VRRP instance state machine (pyvrrp.proto.vrrp) on a fake clock: RFC 3768/5798 §6.4 with keepalived
2.2.7's semantics, the §7.1 receive checks and their counters, trackers/FAULT, shutdown, reload, and two
machines back to back."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_interface

import pytest

from pyvrrp._types import State, TimerKind
from pyvrrp.clock import FakeClock
from pyvrrp.config.model import InstanceConfig, UnicastPeer, VipConfig
from pyvrrp.proto.actions import (
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
from pyvrrp.proto.vrrp import VrrpInstance
from pyvrrp.wire.vrrp import Advertisement

VIP = "198.18.0.150/24"
VIP_IP = IPv4Address("198.18.0.150")
ME = IPv4Address("198.18.0.161")
PEER_HI = IPv4Address("198.18.0.162")  # higher than ME
PEER_LO = IPv4Address("198.18.0.10")  # lower than ME
MCAST = IPv4Address("224.0.0.18")
MDI_100 = 3 + 156 / 256  # Master_Down_Interval, v2, priority 100, 1 s


def vip(s: str, **kw) -> VipConfig:
    return VipConfig(ip_interface(s), **kw)


def cfg(**kw) -> InstanceConfig:
    base: dict = dict(name="VI_1", interface="eth0", vrid=51, priority=100, vips=(vip(VIP),))
    base.update(kw)
    return InstanceConfig(**base)


def adv(
    priority: int = 100,
    src: IPv4Address | IPv6Address = PEER_HI,
    *,
    version: int = 2,
    adver_int: int = 1,
    addresses: tuple = (VIP_IP,),
    auth_type: int = 0,
    auth_data: bytes = b"\0" * 8,
    ttl: int = 255,
    dst: IPv4Address | IPv6Address | None = MCAST,
    vrid: int = 51,
    type: int = 1,
) -> AdvertReceived:
    a = Advertisement(version, vrid, priority, addresses, adver_int, auth_type, auth_data, type)
    return AdvertReceived(src=src, ttl=ttl, adv=a, dst=dst)


def types(acts: list) -> list[type]:
    return [type(a) for a in acts]


def nolog(acts: list) -> list:
    return [a for a in acts if not isinstance(a, Log)]


def logs(acts: list, detail: bool | None = None) -> list[str]:
    return [a.msg for a in acts if isinstance(a, Log) and (detail is None or a.detail == detail)]


def transitions(acts: list) -> list[Transition]:
    return [a for a in acts if isinstance(a, Transition)]


def sent(acts: list) -> list[Advertisement]:
    return [a.adv for a in acts if isinstance(a, SendAdvert)]


def started(c: InstanceConfig | None = None, now: float = 0.0, src: IPv4Address | None = ME) -> VrrpInstance:
    m = VrrpInstance(c or cfg(), src)
    m.handle(Startup(), now)
    return m


def as_master(c: InstanceConfig | None = None, src: IPv4Address | None = ME) -> tuple[VrrpInstance, float]:
    """A machine driven to MASTER by its down timer; returns it and the time it became master."""
    m = started(c, src=src)
    t = m.next_deadline()
    assert t is not None
    m.expire(t)
    assert m.state is State.MASTER
    return m, t


# ---------------------------------------------------------------------------- startup


class TestStartup:
    def test_init_to_backup(self) -> None:
        m = VrrpInstance(cfg(), ME)
        assert m.state is State.INIT and m.next_deadline() is None
        acts = m.handle(Startup(), 10.0)
        assert acts == [
            Log("Entering BACKUP STATE (init)"),
            Transition(State.INIT, State.BACKUP, 100, "init"),
        ]
        assert m.state is State.BACKUP
        assert m.next_deadline() == 10 + MDI_100
        assert m.timers() == {TimerKind.MASTER_DOWN: 10 + MDI_100}
        assert m.last_transition == 10.0 and m.last_reason == "init"
        assert m.master_down_interval() == MDI_100 and m.skew_time() == 156 / 256

    def test_design_example(self) -> None:
        m = VrrpInstance(cfg(), ME)
        m.handle(Startup(), now=0.0)
        assert m.state is State.BACKUP and m.next_deadline() == 3 + (256 - 100) / 256
        acts = m.handle(TimerFired(TimerKind.MASTER_DOWN), now=m.next_deadline())
        assert types(nolog(acts))[:3] == [SendAdvert, AddVips, SendGarp]

    def test_owner_with_state_master_goes_master_at_once(self) -> None:
        m = VrrpInstance(cfg(state="MASTER", priority=255), ME)
        acts = m.handle(Startup(), 0.0)
        assert m.state is State.MASTER
        assert types(nolog(acts)) == [SendAdvert, AddVips, SendGarp, Transition]
        assert sent(acts)[0].priority == 255
        t = transitions(acts)[0]
        assert (t.old, t.new, t.priority) == (State.INIT, State.MASTER, 255)
        assert m.timers() == {TimerKind.ADVERT: 1.0, TimerKind.GARP: 5.0}
        assert m.stats.become_master == 1

    def test_owner_with_state_backup_waits_the_down_timer(self) -> None:
        m = started(cfg(state="BACKUP", priority=255))
        assert m.state is State.BACKUP and m.next_deadline() == 3 + 1 / 256

    def test_state_master_below_owner_waits_the_full_down_timer(self) -> None:
        # keepalived 2.2.7 vrrp_init_state (verified in a namespace: ~3.4 s for priority 150 at 1 s):
        # the "one adver_int + minimum skew" wait only applies to a sync-group member whose group is BACKUP.
        m = started(cfg(state="MASTER", priority=150, advert_int=2.0), now=1.0)
        assert m.state is State.BACKUP
        assert m.next_deadline() == 1 + 6 + 106 / 256

    def test_fault_at_startup(self) -> None:
        m = VrrpInstance(cfg(), ME)
        assert m.handle(TrackerChanged("eth0", fault=True, reason="interface eth0 down"), 0.0) == []
        acts = m.handle(Startup(), 0.0)
        assert m.state is State.FAULT and m.next_deadline() is None
        assert acts == [
            Log("Entering FAULT STATE (init)"),
            Transition(State.INIT, State.FAULT, 100, "interface eth0 down"),
        ]

    def test_tracker_priority_before_startup_is_used(self) -> None:
        m = VrrpInstance(cfg(), ME)
        m.handle(TrackerChanged("chk", delta=-50), 0.0)
        assert m.effective_priority == 50
        m.handle(Startup(), 0.0)
        assert m.next_deadline() == 3 + 206 / 256

    def test_second_startup_is_ignored(self) -> None:
        m = started()
        assert m.handle(Startup(), 1.0) == []
        assert m.next_deadline() == MDI_100

    def test_nopreempt_and_preempt_delay_cleared_with_state_master(self) -> None:
        m = VrrpInstance(cfg(state="MASTER", priority=150, nopreempt=True, preempt_delay=5), ME)
        assert not m._nopreempt and m._preempt_delay == 0


# ---------------------------------------------------------------------------- becoming master


class TestBecomeMaster:
    def test_action_order_and_logs(self) -> None:
        m = started()
        t = m.next_deadline()
        acts = m.expire(t)
        assert types(nolog(acts)) == [SendAdvert, AddVips, SendGarp, Transition]
        assert logs(acts) == [
            "Receive advertisement timeout",
            "Entering MASTER STATE",
            "setting VIPs.",
            "Sending/queueing gratuitous ARPs on eth0 for 198.18.0.150",
        ]
        assert logs(acts, detail=False) == ["Entering MASTER STATE"]
        # keepalived: advert first, then the log line, then VIPs, GARP, notify
        i = types(acts)
        assert i.index(SendAdvert) < acts.index(Log("Entering MASTER STATE")) < i.index(AddVips)
        a = sent(acts)[0]
        assert a == Advertisement(2, 51, 100, (VIP_IP,), 1, 0, b"\0" * 8)
        garp = [x for x in acts if isinstance(x, SendGarp)][0]
        assert garp.repeat == 5 and garp.interval == 0.0 and garp.vips == (vip(VIP),)
        tr = transitions(acts)[0]
        assert tr == Transition(State.BACKUP, State.MASTER, 100, "master down timer expired")
        assert m.stats.become_master == 1 and m.stats.advert_sent == 1
        assert m.timers() == {TimerKind.ADVERT: t + 1, TimerKind.GARP: t + 5}
        assert m.vips_set and m.wantstate is State.MASTER

    def test_second_garp_burst_after_delay(self) -> None:
        m, t = as_master(cfg(garp_master_delay=5, garp_master_repeat=3, garp_interval=0.01))
        acts = m.expire(t + 4.99)
        assert SendGarp not in types(acts)
        acts = m.expire(t + 5)
        garps = [a for a in acts if isinstance(a, SendGarp)]
        assert len(garps) == 1 and garps[0].repeat == 3 and garps[0].interval == 0.01
        assert TimerKind.GARP not in m.timers()
        assert SendGarp not in types(m.expire(t + 30))

    def test_no_second_burst_with_zero_delay(self) -> None:
        m, t = as_master(cfg(garp_master_delay=0))
        assert m.timers() == {TimerKind.ADVERT: t + 1}

    def test_garp_refresh_at_advert_time(self) -> None:
        m, t = as_master(cfg(garp_master_delay=0, garp_master_refresh=10, garp_master_refresh_repeat=2))
        got = []
        for k in range(1, 25):
            acts = m.expire(t + k)
            assert len(sent(acts)) == 1
            got += [(k, a.repeat) for a in acts if isinstance(a, SendGarp)]
        assert got == [(10, 2), (20, 2)]

    def test_evips_are_added_and_garped_but_not_advertised(self) -> None:
        m, _ = as_master(cfg(evips=(vip("198.18.0.151/24", dev="eth1"), vip("2001:db8::151/64"))))
        acts = m.expire(0)  # nothing due
        assert acts == []
        m2 = started(
            cfg(evips=(vip("198.18.0.151/24", dev="eth1"), vip("2001:db8::151/64")), gna_interval=0.2)
        )
        acts = m2.expire(m2.next_deadline())
        add = [a for a in acts if isinstance(a, AddVips)][0]
        assert [str(v) for v in add.vips] == [VIP, "198.18.0.151/24", "2001:db8::151/64"]
        assert sent(acts)[0].addresses == (VIP_IP,)
        garps = [a for a in acts if isinstance(a, SendGarp)]
        assert [(len(g.vips), g.interval) for g in garps] == [(2, 0.0), (1, 0.2)]
        assert "Sending/queueing gratuitous ARPs on eth1 for 198.18.0.151" in logs(acts)
        assert "Sending/queueing Unsolicited Neighbour Adverts on eth0 for 2001:db8::151" in logs(acts)
        assert "setting E-VIPs." in logs(acts)

    def test_ipv6_instance_is_v3(self) -> None:
        m, _ = as_master(cfg(vips=(vip("fe80::150/64"), vip("2001:db8::150/64"))), src=None)
        assert m.version == 3
        a = sent(m.expire(m.next_deadline()))[0]
        assert a.version == 3 and a.adver_int == 100
        assert a.addresses == (IPv6Address("fe80::150"), IPv6Address("2001:db8::150"))

    def test_advert_timer(self) -> None:
        m, t = as_master(cfg(garp_master_delay=0))
        for k in range(1, 4):
            acts = m.expire(t + k)
            assert nolog(acts) == [SendAdvert(Advertisement(2, 51, 100, (VIP_IP,), 1))]
            assert m.next_deadline() == t + k + 1
        assert m.stats.advert_sent == 4

    def test_advert_carries_effective_priority(self) -> None:
        m, t = as_master(cfg(garp_master_delay=0))
        m.handle(TrackerChanged("chk", delta=20), t)
        assert sent(m.expire(t + 1))[0].priority == 120

    def test_pass_auth_advert(self) -> None:
        m, t = as_master(cfg(auth_type=1, auth_pass=b"secret"))
        a = sent(m.expire(t + 1))[0]
        assert a.auth_type == 1 and a.auth_data == b"secret\0\0"

    def test_auth_ignored_with_v3(self) -> None:
        m, t = as_master(cfg(version=3, auth_type=1, auth_pass=b"secret"))
        a = sent(m.expire(t + 1))[0]
        assert a.auth_type == 0 and a.auth_data == b"\0" * 8

    def test_expire_accepts_a_wakeup_1us_early(self) -> None:
        m = started()
        assert m.expire(MDI_100 - 2e-6) == [] and m.state is State.BACKUP
        m.expire(MDI_100 - 5e-7)
        assert m.state is State.MASTER

    def test_expire_on_idle_time_does_nothing(self) -> None:
        m = started()
        assert m.expire(1.0) == [] and m.state is State.BACKUP

    def test_timer_fired_for_unarmed_kind_is_ignored(self) -> None:
        m = started()
        assert m.handle(TimerFired(TimerKind.ADVERT), 1.0) == []
        assert m.handle(TimerFired(TimerKind.PREEMPT), 1.0) == []
        assert m.state is State.BACKUP and m.next_deadline() == MDI_100


# ---------------------------------------------------------------------------- MASTER receives


class TestMasterReceive:
    def test_higher_priority_steps_down(self) -> None:
        m, t = as_master()
        acts = m.handle(adv(150, PEER_LO), t + 0.5)
        assert logs(acts) == [
            "Master received advert from 198.18.0.10 with higher priority 150, ours 100",
            "Entering BACKUP STATE",
            "removing VIPs.",
        ]
        assert types(nolog(acts)) == [RemoveVips, Transition]
        assert transitions(acts)[0] == Transition(
            State.MASTER, State.BACKUP, 100, "higher priority advert from 198.18.0.10"
        )
        assert m.state is State.BACKUP and not m.vips_set
        assert m.timers() == {TimerKind.MASTER_DOWN: t + 0.5 + MDI_100}
        assert m.stats.release_master == 1 and m.stats.advert_rcvd == 1
        assert (m.master_src, m.master_priority) == (PEER_LO, 150)

    def test_equal_priority_higher_ip_wins(self) -> None:
        m, t = as_master()
        acts = m.handle(adv(100, PEER_HI), t + 0.5)
        assert m.state is State.BACKUP
        assert logs(acts)[0] == (
            "Master received advert from 198.18.0.162 with same priority 100 but higher IP address than ours"
        )

    def test_equal_priority_lower_ip_loses(self) -> None:
        m, t = as_master()
        acts = m.handle(adv(100, PEER_LO), t + 0.5)
        assert m.state is State.MASTER
        assert logs(acts, detail=False)[0] == (
            "Received advert from 198.18.0.10 with lower priority 100, ours 100, forcing new election"
        )
        assert NotifyRxLowerPri in types(acts)

    def test_ip_compare_is_numeric_not_textual(self) -> None:
        # "198.18.0.9" > "198.18.0.10" as text, but lower as a number
        m, t = as_master(src=IPv4Address("198.18.0.10"))
        m.handle(adv(100, IPv4Address("198.18.0.9")), t + 0.5)
        assert m.state is State.MASTER

    def test_equal_priority_without_our_address(self) -> None:
        m, t = as_master(src=None)
        acts = m.handle(adv(100, PEER_HI), t + 0.5)
        assert m.state is State.MASTER
        assert logs(acts) == [
            "WARNING - equal priority advert received from remote host with our IP address."
        ]
        assert nolog(acts) == []

    def test_lower_priority_forces_new_election(self) -> None:
        m, t = as_master(cfg(garp_master_delay=5, garp_master_repeat=5))
        m.expire(t + 5)  # second master burst done
        now = t + 5.5
        acts = m.handle(adv(50, PEER_HI), now)
        assert types(nolog(acts)) == [SendAdvert, SendGarp, NotifyRxLowerPri]
        assert sent(acts)[0].priority == 100
        assert [a.repeat for a in acts if isinstance(a, SendGarp)] == [5]
        assert acts[-1] == NotifyRxLowerPri(100)
        assert m.state is State.MASTER
        # the advert timer restarts from the advert just sent; a lower-prio GARP burst follows after the delay
        assert m.timers() == {TimerKind.ADVERT: now + 1, TimerKind.GARP: now + 5}
        assert [a.repeat for a in m.expire(now + 5) if isinstance(a, SendGarp)] == [5]

    def test_lower_priority_garp_settings(self) -> None:
        m, t = as_master(cfg(garp_master_delay=0, garp_lower_prio_repeat=2, garp_lower_prio_delay=0))
        acts = m.handle(adv(50, PEER_HI), t)
        assert [a.repeat for a in acts if isinstance(a, SendGarp)] == [2]
        assert TimerKind.GARP not in m.timers()
        m2, t2 = as_master(cfg(garp_lower_prio_repeat=0))
        assert SendGarp not in types(m2.handle(adv(50, PEER_HI), t2))

    def test_lower_prio_no_advert(self) -> None:
        m, t = as_master(cfg(lower_prio_no_advert=True, garp_master_delay=0))
        acts = m.handle(adv(50, PEER_HI), t + 0.5)
        assert SendAdvert not in types(acts)
        assert logs(acts)[0] == "Received advert from 198.18.0.162 with lower priority 50, ours 100"
        assert m.timers()[TimerKind.ADVERT] == t + 1

    def test_priority_zero_sends_advert_at_once(self) -> None:
        m, t = as_master()
        acts = m.handle(adv(0, PEER_HI), t + 0.3)
        assert nolog(acts) == [SendAdvert(Advertisement(2, 51, 100, (VIP_IP,), 1))]
        assert m.state is State.MASTER and m.stats.pri_zero_rcvd == 1
        assert m.timers()[TimerKind.ADVERT] == t + 1.3

    def test_higher_prio_send_advert(self) -> None:
        m, t = as_master(cfg(higher_prio_send_advert=True))
        acts = m.handle(adv(150, PEER_HI), t + 0.5)
        assert types(nolog(acts)) == [SendAdvert, RemoveVips, Transition]
        assert m.state is State.BACKUP

    def test_two_owners(self) -> None:
        m = VrrpInstance(cfg(state="MASTER", priority=255), ME)
        m.handle(Startup(), 0.0)
        acts = m.handle(adv(255, PEER_HI), 0.5)
        assert any(s.startswith("CONFIGURATION ERROR") for s in logs(acts))
        assert m.base_priority == 254 and m.state is State.BACKUP

    def test_v3_adopts_interval_when_stepping_down(self) -> None:
        m, t = as_master(cfg(version=3))
        m.handle(adv(150, PEER_HI, version=3, adver_int=200), t)
        assert m.master_adver_int == 2.0
        assert m.next_deadline() == pytest.approx(t + 6 + 2 * 156 / 256)


# ---------------------------------------------------------------------------- BACKUP receives


class TestBackupReceive:
    def test_higher_priority_rearms_down_timer(self) -> None:
        m = started()
        for k in range(1, 20):
            acts = m.handle(adv(150, PEER_HI), k)
            assert acts == []
            assert m.expire(k) == []
            assert m.next_deadline() == k + MDI_100
        assert m.state is State.BACKUP and m.stats.advert_rcvd == 19
        assert (m.master_src, m.master_priority) == (PEER_HI, 150)

    def test_equal_priority_is_accepted(self) -> None:
        m = started()
        m.handle(adv(100, PEER_LO), 2.0)
        assert m.next_deadline() == 2 + MDI_100

    def test_master_silent_then_takeover_at_down_interval(self) -> None:
        m = started()
        m.handle(adv(150), 1.0)
        assert m.expire(1 + MDI_100 - 0.001) == []
        acts = m.expire(1 + MDI_100)
        assert m.state is State.MASTER and transitions(acts)[0].reason == "master down timer expired"

    def test_priority_zero_gives_skew_time(self) -> None:
        m = started()
        m.handle(adv(150), 1.0)
        acts = m.handle(adv(0), 2.0)
        assert logs(acts) == ["Backup received priority 0 advertisement"]
        assert m.next_deadline() == 2 + 156 / 256
        assert m.stats.pri_zero_rcvd == 1
        m.expire(2 + 156 / 256)
        assert m.state is State.MASTER

    def test_lower_priority_with_preempt_is_discarded(self) -> None:
        m = started()
        acts = m.handle(adv(50, PEER_HI), 1.0)
        assert acts == [Log("received lower priority (50) advert from 198.18.0.162 - discarding")]
        assert m.next_deadline() == MDI_100  # the timer keeps running
        assert m.stats.advert_rcvd == 1
        assert m.master_src == PEER_HI and m.master_priority is None
        for k in (2.0, 3.0):
            m.handle(adv(50, PEER_HI), k)
        m.expire(MDI_100)
        assert m.state is State.MASTER

    def test_nopreempt_accepts_lower_priority(self) -> None:
        m = started(cfg(nopreempt=True))
        for k in range(1, 30):
            assert m.handle(adv(50, PEER_HI), k) == []
            m.expire(k)
        assert m.state is State.BACKUP and m.next_deadline() == 29 + MDI_100
        assert m.master_priority == 50

    def test_preempt_delay(self) -> None:
        # The delay starts at the first lower-priority advert (not at startup); while it runs the
        # adverts are accepted; after it, they are discarded and the down timer runs out.
        m = started(cfg(preempt_delay=5.0))
        assert m.preempt_time is None
        m.handle(adv(50), 1.0)
        assert m.preempt_time == 6.0 and m.next_deadline() == 1 + MDI_100
        for k in (2.0, 3.0, 4.0, 5.0):
            assert m.handle(adv(50), k) == []
            m.expire(k)
        assert m.next_deadline() == 5 + MDI_100
        acts = m.handle(adv(50), 6.0)
        assert logs(acts) == ["received lower priority (50) advert from 198.18.0.162 - discarding"]
        m.handle(adv(50), 7.0)
        m.handle(adv(50), 8.0)
        assert m.expire(8.5) == [] and m.state is State.BACKUP
        m.expire(5 + MDI_100)
        assert m.state is State.MASTER and m.preempt_time is None

    def test_preempt_delay_stopped_by_higher_advert(self) -> None:
        m = started(cfg(preempt_delay=5.0))
        m.handle(adv(50), 1.0)
        assert m.preempt_time == 6.0
        acts = m.handle(adv(150), 2.0)
        assert m.preempt_time is None and logs(acts) == ["stop preempt delay"]
        m.handle(adv(50), 3.0)
        assert m.preempt_time == 8.0

    def test_v3_backup_adopts_master_interval(self) -> None:
        m = started(cfg(version=3, advert_int=1.0))
        acts = m.handle(adv(150, version=3, adver_int=50), 1.0)
        assert logs(acts) == ["advertisement interval updated from 1000ms to 500ms by master"]
        assert m.master_adver_int == 0.5
        assert m.next_deadline() == pytest.approx(1 + 1.5 + 156 * 0.5 / 256)
        assert m.skew_time() == pytest.approx(156 * 0.5 / 256)
        acts = m.expire(m.next_deadline())
        assert m.state is State.MASTER
        assert sent(acts)[0].adver_int == 100  # our own interval again
        assert m.master_adver_int == 1.0
        assert "changing advert interval from 500ms to locally configured 1000ms" in logs(acts)

    def test_v2_interval_mismatch_dropped_uncounted(self) -> None:
        m = started()
        acts = m.handle(adv(150, adver_int=2), 1.0)
        assert logs(acts) == ["advertisement interval mismatch mine=1 sec rcv'd=2 sec"]
        assert m.next_deadline() == MDI_100
        assert sum(m.stats.as_dict().values()) == 0

    def test_v3_interval_mismatch_is_not_a_drop(self) -> None:
        m = started(cfg(version=3))
        m.handle(adv(150, version=3, adver_int=300), 1.0)
        assert m.stats.advert_rcvd == 1 and m.master_adver_int == 3.0


# ---------------------------------------------------------------------------- receive checks (§7.1)


def _check(c: InstanceConfig, a: AdvertReceived) -> VrrpInstance:
    m = started(c)
    m.handle(a, 1.0)
    return m


class TestReceiveChecks:
    @pytest.mark.parametrize(
        ("c", "a", "counter", "rcvd"),
        [
            (cfg(), adv(150, ttl=254), "ip_ttl_err", 0),
            (cfg(), adv(150, version=3, adver_int=100), "version_err", 0),
            (cfg(), adv(150, auth_type=7), "invalid_authtype", 0),
            (cfg(), adv(150, auth_type=1, auth_data=b"x" * 8), "authtype_mismatch", 0),
            (cfg(auth_type=1, auth_pass=b"pw"), adv(150, auth_type=0), "authtype_mismatch", 0),
            (
                cfg(auth_type=1, auth_pass=b"pw"),
                adv(150, auth_type=1, auth_data=b"pX\0\0\0\0\0\0"),
                "auth_failure",
                0,
            ),
            (cfg(), adv(150, type=2), "invalid_type_rcvd", 0),
            (cfg(), adv(150, addresses=(VIP_IP, PEER_LO)), "addr_list_err", 0),
            (cfg(), adv(150, addresses=(PEER_LO,)), "addr_list_err", 1),
            (cfg(), adv(150, dst=PEER_LO), "addr_list_err", 0),
            (cfg(unicast_peers=(UnicastPeer(PEER_HI),)), adv(150, dst=MCAST), "addr_list_err", 0),
        ],
    )
    def test_drop_and_count(self, c: InstanceConfig, a: AdvertReceived, counter: str, rcvd: int) -> None:
        m = _check(c, a)
        st = m.stats.as_dict()
        assert st.pop(counter) == 1
        assert st.pop("advert_rcvd") == rcvd
        assert sum(st.values()) == 0
        assert m.next_deadline() == MDI_100 and m.master_src is None  # ignored

    def test_each_check_logs_one_line(self) -> None:
        m = started()
        assert logs(m.handle(adv(150, ttl=64), 1.0)) == ["invalid TTL/HL. Received 64 and expect 255"]
        assert logs(m.handle(adv(150, version=3), 1.0)) == ["wrong version. Received 3 and expect 2"]
        assert logs(m.handle(adv(150, auth_type=9), 1.0)) == ["Invalid auth type: 9"]
        assert logs(m.handle(adv(150, auth_type=1), 1.0)) == ["received a 1 auth, expecting 0!"]
        assert logs(m.handle(adv(150, addresses=()), 1.0)) == [
            "received an unexpected ip number count 0, expected 1!"
        ]
        assert logs(m.handle(adv(150, addresses=(PEER_LO,)), 1.0)) == [
            "ip address associated with VRID 51 not present in MASTER advert: 198.18.0.150"
        ]

    def test_password_is_nul_padded_to_8(self) -> None:
        m = _check(cfg(auth_type=1, auth_pass=b"pw"), adv(150, auth_type=1, auth_data=b"pw\0\0\0\0\0\0"))
        assert m.stats.advert_rcvd == 1 and m.next_deadline() == 1 + MDI_100
        # only 8 characters count
        m = _check(cfg(auth_type=1, auth_pass=b"12345678"), adv(150, auth_type=1, auth_data=b"12345678"))
        assert m.stats.auth_failure == 0 and m.stats.advert_rcvd == 1

    def test_unicast_has_no_ttl_check(self) -> None:
        m = _check(cfg(unicast_peers=(UnicastPeer(PEER_HI),)), adv(150, ttl=64, dst=ME))
        assert m.stats.ip_ttl_err == 0 and m.stats.advert_rcvd == 1

    def test_check_unicast_src(self) -> None:
        c = cfg(unicast_peers=(UnicastPeer(PEER_HI, min_ttl=250, max_ttl=255),), check_unicast_src=True)
        m = _check(c, adv(150, PEER_LO, dst=ME))
        assert logs(m.handle(adv(150, PEER_LO, dst=ME), 1.5)) == [
            "unicast source address 198.18.0.10 not a unicast peer"
        ]
        assert m.stats.advert_rcvd == 2 and m.stats.ip_ttl_err == 0 and m.master_src is None
        m = _check(c, adv(150, PEER_HI, dst=ME, ttl=64))
        assert m.stats.ip_ttl_err == 1 and m.master_src is None
        m = _check(c, adv(150, PEER_HI, dst=ME, ttl=254))
        assert m.master_src == PEER_HI

    def test_skip_check_adv_addr_same_master_only(self) -> None:
        c = cfg(skip_check_adv_addr=True)
        m = started(c)
        m.handle(adv(150, PEER_HI), 1.0)
        m.handle(adv(150, PEER_HI, addresses=()), 2.0)
        assert m.stats.addr_list_err == 0 and m.next_deadline() == 2 + MDI_100
        m.handle(adv(150, PEER_LO, addresses=()), 3.0)
        assert m.stats.addr_list_err == 1 and m.next_deadline() == 2 + MDI_100

    def test_checks_also_apply_in_master(self) -> None:
        m, t = as_master()
        acts = m.handle(adv(250, ttl=1), t + 0.1)
        assert m.state is State.MASTER and m.stats.ip_ttl_err == 1 and nolog(acts) == []

    def test_packet_error_counts(self) -> None:
        m = started()
        m.handle(PacketError("checksum_err", "bad checksum"), 1.0)
        m.handle(PacketError("packet_len_err"), 1.0)
        m.handle(PacketError("no_such_counter"), 1.0)
        assert m.stats.checksum_err == 1 and m.stats.packet_len_err == 1
        assert m.next_deadline() == MDI_100

    def test_other_vrid_is_ignored(self) -> None:
        m = started()
        assert m.handle(adv(150, vrid=52, ttl=1), 1.0) == []
        assert sum(m.stats.as_dict().values()) == 0 and m.next_deadline() == MDI_100

    def test_fault_and_init_ignore_packets(self) -> None:
        m = VrrpInstance(cfg(), ME)
        m.handle(adv(150), 0.0)
        m.handle(PacketError("checksum_err"), 0.0)
        m.handle(TrackerChanged("if", fault=True), 0.0)
        m.handle(Startup(), 0.0)
        assert m.handle(adv(150), 1.0) == []
        m.handle(PacketError("checksum_err"), 1.0)
        assert sum(m.stats.as_dict().values()) == 0


# ---------------------------------------------------------------------------- trackers


class TestTrackers:
    def test_priority_change_in_backup_moves_the_deadline(self) -> None:
        m = started()
        acts = m.handle(TrackerChanged("chk", delta=-30), 1.0)
        assert acts == [Log("Changing effective priority from 100 to 70")]
        assert m.effective_priority == 70 and m.base_priority == 100
        assert m.next_deadline() == pytest.approx(3 + 186 / 256)
        assert m.handle(TrackerChanged("chk", delta=-30), 1.5) == []  # no change, no log
        m.handle(TrackerChanged("chk", delta=0), 2.0)
        assert m.effective_priority == 100 and m.next_deadline() == MDI_100

    def test_clamped(self) -> None:
        m = started(cfg(priority=250))
        m.handle(TrackerChanged("a", delta=100), 1.0)
        assert m.effective_priority == 254
        m.handle(TrackerChanged("b", delta=-500), 1.0)
        assert m.effective_priority == 1

    def test_owner_never_changes(self) -> None:
        m = VrrpInstance(cfg(state="MASTER", priority=255), ME)
        m.handle(Startup(), 0.0)
        assert m.handle(TrackerChanged("chk", delta=-100), 0.5) == []
        assert m.effective_priority == 255

    def test_lower_effective_priority_then_preempted_by_backup(self) -> None:
        a, t = as_master(cfg(priority=150, garp_master_delay=0))
        a.handle(TrackerChanged("chk", delta=-100), t + 0.1)
        assert sent(a.expire(t + 1))[0].priority == 50
        assert a.state is State.MASTER  # no transition by itself

    def test_fault_in_backup(self) -> None:
        m = started()
        acts = m.handle(TrackerChanged("eth0", fault=True, reason="interface eth0 down"), 1.0)
        assert acts == [
            Log("Entering FAULT STATE"),
            Transition(State.BACKUP, State.FAULT, 100, "interface eth0 down"),
        ]
        assert m.state is State.FAULT and m.next_deadline() is None and m.wantstate is State.FAULT

    def test_fault_in_master(self) -> None:
        m, t = as_master()
        acts = m.handle(TrackerChanged("chk_nginx", fault=True, reason="chk_nginx failed"), t + 0.5)
        # keepalived vrrp_state_leave_master(advF=true): a priority-0 advert in leave_master and
        # another in vrrp_restore_interface, then the VIPs go.
        assert types(nolog(acts)) == [SendAdvert, SendAdvert, RemoveVips, Transition]
        assert [a.priority for a in sent(acts)] == [0, 0]
        assert logs(acts) == ["Entering FAULT STATE", "sent 0 priority", "removing VIPs."]
        assert transitions(acts)[0] == Transition(State.MASTER, State.FAULT, 100, "chk_nginx failed")
        assert m.stats.pri_zero_sent == 1 and m.stats.release_master == 1
        assert m.next_deadline() is None and not m.vips_set

    def test_leave_fault(self) -> None:
        m = started()
        m.handle(TrackerChanged("a", fault=True, reason="a down"), 1.0)
        m.handle(TrackerChanged("b", fault=True, reason="b down"), 2.0)
        assert m.handle(TrackerChanged("a", fault=False, reason="a up"), 3.0) == []
        assert m.state is State.FAULT
        acts = m.handle(TrackerChanged("b", fault=False, reason="b up"), 4.0)
        assert acts == [Log("Entering BACKUP STATE"), Transition(State.FAULT, State.BACKUP, 100, "b up")]
        assert m.next_deadline() == 4 + MDI_100 and m.wantstate is State.BACKUP

    def test_leave_fault_owner_goes_through_backup(self) -> None:
        m = VrrpInstance(cfg(state="MASTER", priority=255), ME)
        m.handle(Startup(), 0.0)
        m.handle(TrackerChanged("a", fault=True), 1.0)
        m.handle(TrackerChanged("a"), 2.0)
        assert m.state is State.BACKUP and m.next_deadline() == 2 + 3 + 1 / 256

    def test_fault_startup_recovery(self) -> None:
        m = VrrpInstance(cfg(), ME)
        m.handle(TrackerChanged("a", fault=True), 0.0)
        m.handle(Startup(), 0.0)
        acts = m.handle(TrackerChanged("a"), 5.0)
        assert transitions(acts)[0].reason == "a recovered"
        assert m.state is State.BACKUP and m.next_deadline() == 5 + MDI_100

    def test_priority_change_while_faulted(self) -> None:
        m = started()
        m.handle(TrackerChanged("if", fault=True), 1.0)
        m.handle(TrackerChanged("chk", delta=-10), 2.0)
        assert m.effective_priority == 90 and m.state is State.FAULT and m.next_deadline() is None


# ---------------------------------------------------------------------------- shutdown, VIP deleted


class TestShutdown:
    def test_master(self) -> None:
        m, t = as_master()
        acts = m.handle(Shutdown(), t + 0.5)
        assert types(nolog(acts)) == [SendAdvert, RemoveVips, Transition]
        assert sent(acts)[0].priority == 0
        assert logs(acts) == ["sent 0 priority", "removing VIPs."]
        assert transitions(acts)[0] == Transition(State.MASTER, State.STOP, 100, "shutdown")
        assert m.state is State.STOP and m.next_deadline() is None
        assert m.stats.pri_zero_sent == 1
        assert m.handle(adv(150), t + 1) == [] and m.expire(t + 100) == []
        assert m.handle(Shutdown(), t + 2) == []

    def test_backup(self) -> None:
        m = started()
        acts = m.handle(Shutdown(), 1.0)
        assert acts == [Transition(State.BACKUP, State.STOP, 100, "shutdown")]
        assert m.next_deadline() is None

    def test_fault(self) -> None:
        m = started()
        m.handle(TrackerChanged("x", fault=True), 0.5)
        assert nolog(m.handle(Shutdown(), 1.0)) == [Transition(State.FAULT, State.STOP, 100, "shutdown")]


class TestVipDeleted:
    def test_master_goes_backup_and_reelects_quickly(self) -> None:
        m, t = as_master()
        acts = m.handle(VipDeleted("198.18.0.150/24"), t + 1.5)
        assert types(nolog(acts)) == [SendAdvert, RemoveVips, Transition]
        assert sent(acts)[0].priority == 0
        assert transitions(acts)[0].new is State.BACKUP
        assert m.next_deadline() == t + 1.5 + 156 / 256
        acts = m.expire(m.next_deadline())
        assert m.state is State.MASTER and AddVips in types(acts)

    def test_matches_by_address_only(self) -> None:
        m, t = as_master()
        m.handle(VipDeleted("198.18.0.150"), t)
        assert m.state is State.BACKUP

    def test_ignored_when_not_ours_or_not_master(self) -> None:
        m, t = as_master()
        assert m.handle(VipDeleted("198.18.0.99/24"), t) == []
        assert m.handle(VipDeleted("garbage"), t) == []
        assert m.state is State.MASTER
        b = started()
        assert b.handle(VipDeleted(VIP), 1.0) == []


# ---------------------------------------------------------------------------- reload


class TestUpdateConfig:
    def test_master_diffs_vips(self) -> None:
        old = cfg(vips=(vip(VIP), vip("198.18.0.151/24")), garp_master_delay=0)
        m, t = as_master(old)
        new = cfg(vips=(vip(VIP), vip("198.18.0.152/24")), advert_int=2, garp_master_delay=0)
        acts = m.update_config(new, t + 0.5)
        assert types(nolog(acts)) == [RemoveVips, AddVips, SendGarp]
        assert acts[0] == RemoveVips((vip("198.18.0.151/24"),))
        assert [a for a in acts if isinstance(a, AddVips)] == [AddVips((vip("198.18.0.152/24"),))]
        g = [a for a in acts if isinstance(a, SendGarp)][0]
        assert [str(v) for v in g.vips] == [VIP, "198.18.0.152/24"]
        assert m.state is State.MASTER and Transition not in types(acts)
        # an advert is due at once (keepalived reload_master), then every new advert_int
        assert m.next_deadline() == t + 0.5
        a = sent(m.expire(t + 0.5))[0]
        assert a.adver_int == 2 and a.addresses == (VIP_IP, IPv4Address("198.18.0.152"))
        assert m.next_deadline() == t + 2.5

    def test_backup_rearms_with_new_interval_and_priority(self) -> None:
        m = started()
        acts = m.update_config(cfg(priority=200, advert_int=2), 1.0)
        assert acts == [Log("Changing effective priority from 100 to 200")]
        assert m.state is State.BACKUP and m.next_deadline() == 1 + 6 + 56 / 256

    def test_stats_and_trackers_survive(self) -> None:
        m = started()
        m.handle(adv(150), 1.0)
        m.handle(TrackerChanged("chk", delta=-10), 1.0)
        m.update_config(cfg(priority=120), 2.0)
        assert m.stats.advert_rcvd == 1 and m.effective_priority == 110

    def test_fault_stays_fault(self) -> None:
        m = started()
        m.handle(TrackerChanged("x", fault=True), 1.0)
        assert m.update_config(cfg(advert_int=3), 2.0) == []
        assert m.state is State.FAULT and m.next_deadline() is None


# ---------------------------------------------------------------------------- two machines back to back


class Lan:
    """Zero-latency multicast LAN: every SendAdvert is delivered to every other running machine."""

    def __init__(self, machines: dict[IPv4Address, VrrpInstance]) -> None:
        self.m = machines
        self.down: set[IPv4Address] = set()
        self.partitioned = False  # adverts are lost, machines keep running
        self.clock = FakeClock()
        self.history: list[tuple[float, IPv4Address, Transition]] = []

    def deliver(self, src: IPv4Address, acts: list) -> None:
        queue = [(src, a) for a in acts]
        while queue:
            s, a = queue.pop(0)
            if isinstance(a, Transition):
                self.history.append((self.clock.now(), s, a))
            if isinstance(a, SendAdvert) and s not in self.down and not self.partitioned:
                for ip, other in self.m.items():
                    if ip != s and ip not in self.down:
                        out = other.handle(AdvertReceived(s, 255, a.adv, MCAST), self.clock.now())
                        queue += [(ip, x) for x in out]

    def start(self, ip: IPv4Address) -> None:
        self.down.discard(ip)
        self.deliver(ip, self.m[ip].handle(Startup(), self.clock.now()))

    def run_until(self, t_end: float) -> None:
        for _ in range(100_000):
            deadlines = [
                (d, ip)
                for ip, m in self.m.items()
                if ip not in self.down and (d := m.next_deadline()) is not None
            ]
            if not deadlines or min(deadlines)[0] > t_end:
                break
            t, ip = min(deadlines)
            self.clock.t = max(self.clock.t, t)
            self.deliver(ip, self.m[ip].expire(t))
        self.clock.t = max(self.clock.t, t_end)

    def masters(self) -> list[IPv4Address]:
        return [ip for ip, m in self.m.items() if ip not in self.down and m.state is State.MASTER]


def _pair(pa: int, pb: int, **kw) -> tuple[Lan, IPv4Address, IPv4Address]:
    a, b = ip_address("198.18.0.161"), ip_address("198.18.0.162")
    lan = Lan({a: VrrpInstance(cfg(priority=pa, **kw), a), b: VrrpInstance(cfg(priority=pb, **kw), b)})
    return lan, a, b


class TestBackToBack:
    def test_election_and_failover(self) -> None:
        lan, a, b = _pair(150, 100)
        lan.start(a)
        lan.start(b)
        lan.run_until(10)
        assert lan.masters() == [a]
        # steady state: the backup never times out while the master advertises
        lan.run_until(100)
        assert lan.masters() == [a] and lan.m[b].stats.become_master == 0
        assert lan.m[b].master_src == a and lan.m[b].master_priority == 150
        # graceful stop: priority 0 -> takeover after Skew_Time
        t0 = lan.clock.now()
        lan.deliver(a, lan.m[a].handle(Shutdown(), t0))
        lan.down.add(a)
        lan.run_until(t0 + 0.7)
        assert lan.masters() == [b]
        took = [t for t, ip, tr in lan.history if ip == b and tr.new is State.MASTER]
        assert took == [pytest.approx(t0 + 156 / 256)]

    def test_crash_failover_and_preempt_back(self) -> None:
        lan, a, b = _pair(150, 100)
        lan.start(a)
        lan.start(b)
        lan.run_until(10)
        assert lan.masters() == [a]
        lan.down.add(a)  # silent crash: no priority 0
        t0 = lan.clock.now()
        lan.run_until(t0 + 3)
        assert lan.masters() == []
        lan.run_until(t0 + MDI_100 + 1)
        assert lan.masters() == [b]
        # a restarts (fresh machine) and preempts b
        lan.m[a] = VrrpInstance(cfg(priority=150), a)
        lan.start(a)
        lan.run_until(lan.clock.now() + 10)
        assert lan.masters() == [a]
        assert lan.m[b].stats.release_master == 1

    def test_equal_priority_backup_accepts_first_master(self) -> None:
        # RFC 3768 §6.4.2: a backup accepts an equal-priority advert, so whoever times out first stays master
        lan, a, b = _pair(100, 100)
        lan.start(a)
        lan.run_until(1)
        lan.start(b)
        lan.run_until(20)
        assert lan.masters() == [a]

    def test_split_brain_heals_to_higher_ip(self) -> None:
        lan, a, b = _pair(100, 100)
        lan.partitioned = True
        lan.start(a)
        lan.start(b)
        lan.run_until(10)
        assert sorted(lan.masters()) == [a, b]
        lan.partitioned = False
        lan.run_until(20)
        assert lan.masters() == [b]
        assert lan.m[a].last_reason == "equal priority advert from higher address 198.18.0.162"

    def test_simultaneous_state_master_converges(self) -> None:
        lan, a, b = _pair(150, 120, state="MASTER")
        lan.start(a)
        lan.start(b)
        lan.run_until(10)
        assert lan.masters() == [a]

    def test_nopreempt_keeps_the_current_master(self) -> None:
        lan, a, b = _pair(150, 100, nopreempt=True)
        lan.start(b)
        lan.run_until(10)
        assert lan.masters() == [b]
        lan.start(a)
        lan.run_until(60)
        assert lan.masters() == [b]

    def test_tracker_lowers_master_below_backup(self) -> None:
        lan, a, b = _pair(150, 100)
        lan.start(a)
        lan.start(b)
        lan.run_until(10)
        lan.deliver(a, lan.m[a].handle(TrackerChanged("chk", delta=-60), lan.clock.now()))
        lan.run_until(20)
        assert lan.masters() == [b]
        lan.deliver(a, lan.m[a].handle(TrackerChanged("chk", delta=0), lan.clock.now()))
        lan.run_until(30)
        assert lan.masters() == [a]

    def test_fault_hands_over_immediately(self) -> None:
        lan, a, b = _pair(150, 100)
        lan.start(a)
        lan.start(b)
        lan.run_until(10)
        t0 = lan.clock.now()
        lan.deliver(a, lan.m[a].handle(TrackerChanged("eth0", fault=True), t0))
        lan.run_until(t0 + 1)
        assert lan.masters() == [b] and lan.m[a].state is State.FAULT

    def test_v3_fast_adverts(self) -> None:
        lan, a, b = _pair(150, 100, version=3, advert_int=0.1)
        lan.start(a)
        lan.start(b)
        lan.run_until(2)
        assert lan.masters() == [a]
        lan.down.add(a)
        t0 = lan.clock.now()
        lan.run_until(t0 + 0.3 + 156 * 0.1 / 256 + 0.01)
        assert lan.masters() == [b]
