"""Property tests for the VRRP state machine: random configurations and random event sequences never raise,
and after every step the timers, the VIPs held and the counters agree with the state."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_interface

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvrrp._types import State, TimerKind
from pyvrrp.config.model import InstanceConfig, UnicastPeer, VipConfig
from pyvrrp.proto.actions import AddVips, RemoveVips, SendAdvert, SendGarp, Transition
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

ME = IPv4Address("198.18.0.161")
PEERS = [IPv4Address("198.18.0.162"), IPv4Address("198.18.0.10"), ME]
VIPS = (VipConfig(ip_interface("198.18.0.150/24")), VipConfig(ip_interface("198.18.0.151/24")))
EVIP = VipConfig(ip_interface("2001:db8::150/64"))
MCAST = IPv4Address("224.0.0.18")


@st.composite
def configs(draw: st.DrawFn) -> InstanceConfig:
    unicast = draw(st.booleans())
    return InstanceConfig(
        name="VI_1",
        interface="eth0",
        vrid=51,
        version=draw(st.sampled_from([2, 3])),
        priority=draw(st.sampled_from([1, 50, 100, 150, 254, 255])),
        state=draw(st.sampled_from(["MASTER", "BACKUP"])),
        advert_int=draw(st.sampled_from([1.0, 2.0, 0.5])),
        auth_type=draw(st.sampled_from([0, 0, 1])),
        auth_pass=b"pw",
        vips=VIPS[: draw(st.integers(1, 2))],
        evips=draw(st.sampled_from([(), (EVIP,)])),
        nopreempt=draw(st.booleans()),
        preempt_delay=draw(st.sampled_from([0.0, 2.5])),
        garp_master_delay=draw(st.sampled_from([0.0, 5.0])),
        garp_master_refresh=draw(st.sampled_from([0.0, 3.0])),
        garp_lower_prio_repeat=draw(st.sampled_from([None, 0, 2])),
        lower_prio_no_advert=draw(st.booleans()),
        higher_prio_send_advert=draw(st.booleans()),
        skip_check_adv_addr=draw(st.booleans()),
        down_timer_adverts=draw(st.sampled_from([1, 3])),
        unicast_peers=(UnicastPeer(PEERS[0]),) if unicast else (),
        check_unicast_src=unicast and draw(st.booleans()),
    )


adverts = st.builds(
    lambda p, src, ver, ivl, n, ttl, auth, dst: (
        "adv",
        AdvertReceived(
            src,
            ttl,
            Advertisement(
                ver, 51, p, tuple(v.address.ip for v in VIPS[:n]), ivl, auth, b"pw".ljust(8, b"\0")
            ),
            dst,
        ),
    ),
    st.integers(0, 255),
    st.sampled_from(PEERS),
    st.sampled_from([2, 3]),
    st.sampled_from([1, 2, 50, 100, 200]),
    st.integers(0, 2),
    st.sampled_from([255, 255, 64]),
    st.sampled_from([0, 0, 1, 9]),
    st.sampled_from([MCAST, ME, None]),
)
time_steps = st.tuples(st.just("time"), st.floats(0, 6, allow_nan=False))
expires = st.tuples(st.just("expire"))
steps = st.one_of(
    adverts,
    adverts,
    time_steps,
    time_steps,
    expires,
    expires,
    st.tuples(st.just("fire"), st.sampled_from(list(TimerKind))),
    st.tuples(
        st.just("tracker"),
        st.builds(
            TrackerChanged,
            st.sampled_from(["a", "b", "c"]),
            st.integers(-300, 300),
            st.sampled_from([False, False, False, True]),
            st.sampled_from(["", "down"]),
        ),
    ),
    st.tuples(st.just("vipdel"), st.sampled_from(["198.18.0.150/24", "198.18.0.9", "2001:db8::150", "junk"])),
    st.tuples(st.just("perr"), st.sampled_from(["checksum_err", "packet_len_err", "bogus"])),
    st.tuples(st.just("startup")),
    st.tuples(st.just("reload"), configs()),
)


class Checker:
    """Replays a machine's actions and checks them against its state after every step."""

    def __init__(self, m: VrrpInstance) -> None:
        self.m = m
        self.held: set[VipConfig] = set()
        self.state = m.state
        self.sent = 0
        self.zero_sent = 0
        self.to_master = 0
        self.from_master = 0

    def step(self, acts: list, now: float) -> None:
        m = self.m
        n_trans = 0
        for a in acts:
            if isinstance(a, AddVips):
                assert not (set(a.vips) & self.held), "adding a VIP already held"
                self.held |= set(a.vips)
            elif isinstance(a, RemoveVips):
                assert set(a.vips) <= self.held, "removing a VIP not held"
                self.held -= set(a.vips)
            elif isinstance(a, SendGarp):
                assert set(a.vips) <= self.held and a.repeat > 0
            elif isinstance(a, SendAdvert):
                self.sent += 1
                assert a.adv.version == m.version and a.adv.vrid == 51
                assert a.adv.addresses == tuple(v.address.ip for v in m.cfg.vips)
                assert 0 <= a.adv.priority <= 255
            elif isinstance(a, Transition):
                n_trans += 1
                assert a.old is self.state and a.new is not a.old
                if a.new is State.MASTER:
                    self.to_master += 1
                if a.old is State.MASTER and a.new in (State.BACKUP, State.FAULT):
                    self.from_master += 1
                self.state = a.new
        assert n_trans <= 1
        assert self.state is m.state
        timers = m.timers()
        if m.state is State.MASTER:
            assert TimerKind.ADVERT in timers and TimerKind.MASTER_DOWN not in timers
            assert m.vips_set and self.held == set(m.cfg.vips) | set(m.cfg.evips)
        elif m.state is State.BACKUP:
            assert set(timers) == {TimerKind.MASTER_DOWN}
            assert not m.vips_set and not self.held
        else:
            assert timers == {} and not m.vips_set and not self.held
        assert m.next_deadline() == (min(timers.values()) if timers else None)
        assert 1 <= m.effective_priority <= 255
        if m.base_priority == 255:
            assert m.effective_priority == 255
        assert m.stats.advert_sent == self.sent
        assert m.stats.become_master == self.to_master
        assert m.stats.release_master == self.from_master
        assert all(v >= 0 for v in m.stats.as_dict().values())


def _event(step: tuple) -> object:
    kind = step[0]
    if kind in ("adv", "tracker"):
        return step[1]
    if kind == "fire":
        return TimerFired(step[1])
    if kind == "vipdel":
        return VipDeleted(step[1])
    if kind == "perr":
        return PacketError(step[1])
    return Startup() if kind == "startup" else Shutdown()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.lists(steps, max_size=60), st.lists(steps, max_size=4), st.booleans())
def test_random_event_sequences(cfg: InstanceConfig, seq: list, before: list, stop: bool) -> None:
    """``before`` runs in INIT (trackers etc. before Startup); ``stop`` ends with a Shutdown and more events."""
    m = VrrpInstance(cfg, ME)
    chk = Checker(m)
    now = 0.0
    full = [*before, ("startup",), *seq]
    if stop:
        full += [("shutdown",), *seq[:5]]
    for step in full:
        kind = step[0]
        if kind == "time":
            now += step[1]
            continue
        if kind == "expire":
            acts = m.expire(now)
            chk.step(acts, now)
            d = m.next_deadline()
            assert d is None or d > now, "expire left a due timer"
            continue
        if kind == "reload":
            new = step[1]
            acts = m.update_config(new, now)
            assert not any(isinstance(a, Transition) for a in acts)
            chk.step(acts, now)
            continue
        event = _event(step)
        chk.step(m.handle(event, now), now)


@settings(max_examples=200, deadline=None)
@given(configs(), st.lists(st.floats(0.01, 3, allow_nan=False), min_size=1, max_size=40))
def test_alone_becomes_master_and_stays(cfg: InstanceConfig, gaps: list[float]) -> None:
    """With nobody else on the link an instance is MASTER within Master_Down_Interval and stays there."""
    m = VrrpInstance(cfg, ME)
    chk = Checker(m)
    chk.step(m.handle(Startup(), 0.0), 0.0)
    limit = m.master_down_interval()

    def run_to(t: float) -> None:  # a punctual runtime: wake at every deadline up to t
        while (d := m.next_deadline()) is not None and d <= t:
            chk.step(m.expire(d), d)

    run_to(limit)
    assert m.state is State.MASTER
    now = limit
    for g in gaps:
        now += g
        run_to(now)
        assert m.state is State.MASTER
    # one advert when becoming master, then one per advert_int
    assert m.last_transition is not None
    n = (now - m.last_transition) / m.adver_int
    assert 1 + int(n - 1e-6) <= m.stats.advert_sent <= 1 + int(n + 1e-6)
