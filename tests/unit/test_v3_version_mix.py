"""A v2/v3 mix on one VRID (a misconfigured peer, issue 8): every packet is counted in ``version_err`` and
dropped (no transition, the down timer keeps running), the "wrong version" line is logged once per source."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_interface

from pyvrrp._types import State, TimerKind
from pyvrrp.config.model import InstanceConfig, VipConfig
from pyvrrp.proto.actions import Log, SendAdvert, Transition
from pyvrrp.proto.events import AdvertReceived, Startup
from pyvrrp.proto.vrrp import VERSION_WARN_PEERS, VrrpInstance
from pyvrrp.wire.vrrp import AUTH_PASS, Advertisement

VIP4 = IPv4Address("198.18.0.150")
ME4 = IPv4Address("198.18.0.161")
PEER_A = IPv4Address("198.18.0.162")
PEER_B = IPv4Address("198.18.0.10")
WRONG = "wrong version. Received {} and expect {}"


def v2_cfg(**kw: object) -> InstanceConfig:
    base: dict = dict(
        name="VI_1",
        interface="eth0",
        vrid=51,
        priority=100,
        auth_type=AUTH_PASS,
        auth_pass=b"Hello",
        vips=(VipConfig(ip_interface("198.18.0.150/24")),),
    )
    base.update(kw)
    return InstanceConfig(**base)


def v3_adv(priority: int = 254, addr: object = VIP4, adver_int: int = 5) -> Advertisement:
    return Advertisement(3, 51, priority, (addr,), adver_int)


def v2_adv(priority: int = 254) -> Advertisement:
    return Advertisement(2, 51, priority, (VIP4,), 1, AUTH_PASS, b"Hello\0\0\0")


def logs(acts: list) -> list[str]:
    return [a.msg for a in acts if isinstance(a, Log)]


def backup(cfg: InstanceConfig, src: IPv4Address | IPv6Address = ME4) -> VrrpInstance:
    m = VrrpInstance(cfg, src)
    m.handle(Startup(), 0.0)
    assert m.state is State.BACKUP
    return m


def test_v3_adverts_to_a_v2_backup_counted_logged_once_per_source() -> None:
    m = backup(v2_cfg())
    down = m.timers()[TimerKind.MASTER_DOWN]
    seen: list[str] = []
    for i in range(20):
        for src in (PEER_A, PEER_B):
            acts = m.handle(AdvertReceived(src=src, ttl=255, adv=v3_adv()), 0.01 * i)
            assert not any(isinstance(a, (Transition, SendAdvert)) for a in acts)
            seen += logs(acts)
    assert seen == [WRONG.format(3, 2)] * 2  # one line per peer, not 40
    assert m.stats.version_err == 40
    assert m.stats.advert_rcvd == 0
    # dropped before anything else: the down timer was not restarted by the intruder's priority 254
    assert m.timers()[TimerKind.MASTER_DOWN] == down
    assert m.state is State.BACKUP


def test_a_correct_v2_master_still_works_among_v3_noise() -> None:
    m = backup(v2_cfg())
    t = 0.0
    for _ in range(10):
        t += 1.0
        m.handle(AdvertReceived(src=PEER_B, ttl=255, adv=v3_adv(254)), t)
        m.handle(AdvertReceived(src=PEER_A, ttl=255, adv=v2_adv(150)), t)
        assert m.state is State.BACKUP
    assert m.stats.advert_rcvd == 10 and m.stats.version_err == 10
    # the real master stops: we take over on our own down timer, the v3 noise does not hold us back
    m.expire(t + m.master_down_interval())
    assert m.state is State.MASTER


def test_v2_adverts_to_a_v3_master_do_not_make_it_step_down() -> None:
    m = VrrpInstance(v2_cfg(version=3, auth_type=0, auth_pass=b"", state="MASTER", priority=200), ME4)
    m.handle(Startup(), 0.0)
    m.expire(m.next_deadline() or 0.0)
    assert m.state is State.MASTER
    msgs: list[str] = []
    for i in range(5):
        msgs += logs(m.handle(AdvertReceived(src=PEER_A, ttl=255, adv=v2_adv(254)), 1.0 + i))
    assert msgs == [WRONG.format(2, 3)]
    assert m.state is State.MASTER and m.stats.version_err == 5


def test_the_set_of_logged_sources_is_bounded() -> None:
    m = backup(v2_cfg())
    n_logs = 0
    for i in range(VERSION_WARN_PEERS + 20):
        src = IPv4Address(int(IPv4Address("198.18.0.0")) + i % 256)
        n_logs += len(logs(m.handle(AdvertReceived(src=src, ttl=255, adv=v3_adv()), 0.001 * i)))
    assert n_logs == VERSION_WARN_PEERS
    assert m.stats.version_err == VERSION_WARN_PEERS + 20


def test_ipv6_v3_instance_counts_v3_only() -> None:
    """An IPv6 instance is always v3 (even with ``version 2`` in the model); its own version's adverts are fine."""
    cfg = v2_cfg(
        version=2,
        auth_type=0,
        auth_pass=b"",
        vips=(VipConfig(ip_interface("fe80::150/64")), VipConfig(ip_interface("2001:db8::150/64"))),
    )
    m = backup(cfg, IPv6Address("fe80::1"))
    assert m.version == 3
    a = Advertisement(3, 51, 150, (IPv6Address("fe80::150"), IPv6Address("2001:db8::150")), 100)
    acts = m.handle(AdvertReceived(src=IPv6Address("fe80::2"), ttl=255, adv=a), 1.0)
    assert not any("wrong version" in x for x in logs(acts))
    assert m.stats.advert_rcvd == 1 and m.stats.version_err == 0
