"""Two-node clusters in namespaces: pyvrrp+pyvrrp and mixed pyvrrp/keepalived in both roles.

Real daemons, real packets, real VIPs. Protocol bounds (RFC 3768 §6.4 timers) are checked on a capture
taken in the client namespace: the wire timestamps, not the test's own polling, decide.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
from nshelpers import need, record

from pyvrrp.lab.capture import adverts, garps, read_events
from pyvrrp.lab.cluster import Cluster, Node, vrrp_conf

pytestmark = pytest.mark.netns

VIP = "198.18.0.150"
M_IP, S_IP = "198.18.0.161", "198.18.0.162"
M_PRIO, S_PRIO = 150, 100
ADVERT_INT = 1.0


def mdi(prio: int, adv: float = ADVERT_INT) -> float:
    """Master_Down_Interval (RFC 3768 §6.1)."""
    return 3 * adv + (256 - prio) / 256


def skew(prio: int) -> float:
    return (256 - prio) / 256


def start_pair(
    c: Cluster, kinds: tuple[str, str], extra: str = "", state_m: str = "MASTER"
) -> tuple[Node, Node]:
    for k in kinds:
        if k == "keepalived":
            need("keepalived")
    m = c.node("master", kinds[0], conf=vrrp_conf(priority=M_PRIO, state=state_m, extra=extra))
    s = c.node("slave", kinds[1], conf=vrrp_conf(priority=S_PRIO, extra=extra))
    # the master first: started together, the slave's shorter Python-free start could win the first
    # election for a moment (a real race, but not what these tests are about)
    m.start()
    c.wait_owner(VIP, "master", timeout=mdi(M_PRIO) + 5)
    s.start()
    # the slave is ready once it is BACKUP and has heard at least one advert
    cluster_ready = c.topo.wait_for(lambda: "Entering BACKUP STATE" in s.log_text(), 10)
    assert cluster_ready, diagnostics(m, s)
    time.sleep(ADVERT_INT * 1.5)
    return m, s


def diagnostics(*nodes: Node) -> str:
    return "\n".join(f"---- {n.name} ({n.kind})\n{n.log_text()[-3000:]}" for n in nodes)


PAIRS = [("pyvrrp", "pyvrrp"), ("pyvrrp", "keepalived"), ("keepalived", "pyvrrp")]


@pytest.mark.parametrize("kinds", PAIRS, ids=["py-py", "py-ka", "ka-py"])
def test_election_failover_failback(cluster: Cluster, kinds: tuple[str, str], tmp_path) -> None:
    """Election, SIGKILL takeover within Master_Down_Interval + 0.5 s of the last advert, 5+5 GARPs,
    failback with preempt, SIGTERM takeover within Skew_Time + 0.5 s of the priority-0 advert."""
    topo = cluster.topo
    need("tcpdump")
    pcap = tmp_path / "link.pcap"
    cap = topo.capture("client", pcap, "vrrp or arp")
    m, s = start_pair(cluster, kinds)
    try:
        # election: the higher priority owns the VIP, the other does not
        assert cluster.wait_owner(VIP, "master", timeout=mdi(M_PRIO) + 5), diagnostics(m, s)
        time.sleep(1.5)
        assert cluster.owners(VIP) == ["master"], diagnostics(m, s)

        # crash of the master: the backup takes over on its own down timer
        t_kill = time.time()
        m.stop(signal.SIGKILL)
        assert topo.wait_for(lambda: s.has_vip(VIP), mdi(S_PRIO) + 3), diagnostics(m, s)
        time.sleep(6.0)  # the second GARP burst comes garp_master_delay (5 s) after the first
        assert s.has_vip(VIP)

        # failback: the master comes back and preempts (it removes its leftover VIP at start)
        t_back = time.time()
        m.start()
        assert cluster.wait_owner(VIP, "master", timeout=mdi(M_PRIO) + 5), diagnostics(m, s)
        time.sleep(1.5)

        # graceful stop: priority 0, the backup takes over after Skew_Time
        t_term = time.time()
        assert m.stop(signal.SIGTERM) == 0, diagnostics(m, s)
        assert cluster.wait_owner(VIP, "slave", timeout=skew(S_PRIO) + 3), diagnostics(m, s)
        time.sleep(0.5)
    finally:
        topo.stop(cap)
    ev = read_events(pcap)
    assert ev, "the capture is empty"

    # -- SIGKILL: last advert of the master -> first advert of the new master
    last_m = [e for e in adverts(ev, M_IP) if e.ts < t_kill + 0.05]
    first_s = [e for e in adverts(ev, S_IP) if e.ts > t_kill]
    assert last_m and first_s, diagnostics(m, s)
    takeover_kill = first_s[0].ts - last_m[-1].ts
    assert takeover_kill <= mdi(S_PRIO) + 0.5, (takeover_kill, diagnostics(m, s))
    assert takeover_kill >= mdi(S_PRIO) - 0.3, f"took over before the master was down: {takeover_kill}"

    # -- GARPs: 5 at the takeover, 5 more garp_master_delay (5 s) later
    t0 = first_s[0].ts
    first_burst = [g for g in garps(ev, VIP, after=t0 - 0.1) if g.ts < t0 + 1.5]
    second_burst = [g for g in garps(ev, VIP, after=t0 + 4.0) if g.ts < min(t0 + 6.5, t_back)]
    assert len(first_burst) == 5, ([(round(g.ts - t0, 3), g.mac.hex()) for g in first_burst], diagnostics(s))
    assert len(second_burst) == 5, [round(g.ts - t0, 3) for g in second_burst]
    assert {g.src for g in first_burst + second_burst} == {__import__("ipaddress").ip_address(VIP)}

    # -- failback: the master preempts after its down timer
    back_m = [e for e in adverts(ev, M_IP) if e.ts > t_back and e.priority == M_PRIO]
    assert back_m, "the restarted master never advertised"

    # -- SIGTERM: priority-0 advert -> first advert of the backup
    zero = [e for e in adverts(ev, M_IP) if e.priority == 0 and e.ts > t_term - 0.05]
    assert zero, "no priority-0 advert on SIGTERM"
    after_zero = [e for e in adverts(ev, S_IP) if e.ts > zero[0].ts]
    assert after_zero, [
        (round(e.ts - t_term, 3), e.kind, str(e.src), e.priority) for e in ev if e.ts > t_term - 1
    ]
    takeover_term = after_zero[0].ts - zero[0].ts
    assert takeover_term <= skew(S_PRIO) + 0.5, takeover_term

    record(
        "failover",
        master=kinds[0],
        slave=kinds[1],
        takeover_kill_s=round(takeover_kill, 4),
        kill_excess_s=round(takeover_kill - mdi(S_PRIO), 4),
        takeover_term_s=round(takeover_term, 4),
        term_excess_s=round(takeover_term - skew(S_PRIO), 4),
    )


@pytest.mark.parametrize("kinds", [("pyvrrp", "pyvrrp"), ("keepalived", "pyvrrp")], ids=["py-py", "ka-py"])
def test_nopreempt_keeps_new_master(cluster: Cluster, kinds: tuple[str, str]) -> None:
    """With nopreempt (both BACKUP) the returning higher-priority node does not take the VIP back."""
    m, s = start_pair(cluster, kinds, extra="    nopreempt\n", state_m="BACKUP")
    assert cluster.wait_owner(VIP, "master", timeout=mdi(M_PRIO) + 5), diagnostics(m, s)
    m.stop(signal.SIGTERM)
    assert cluster.wait_owner(VIP, "slave", timeout=skew(S_PRIO) + 3), diagnostics(m, s)
    m.start()
    # the master would preempt after its down timer (3.4 s) if it could: give it that and more
    deadline = time.monotonic() + mdi(M_PRIO) + 2.0
    while time.monotonic() < deadline:
        assert cluster.owners(VIP) == ["slave"], diagnostics(m, s)
        time.sleep(0.1)


def test_sighup_keeps_vip_without_gap(cluster: Cluster) -> None:
    """SIGHUP re-reads the config: an unchanged master keeps its VIP (no gap, no transition); an added VIP
    appears; a broken file is rejected and the running configuration stays."""
    m, s = start_pair(cluster, ("pyvrrp", "pyvrrp"))
    assert cluster.wait_owner(VIP, "master", timeout=mdi(M_PRIO) + 5), diagnostics(m, s)
    entering = m.log_text().count("Entering")

    gaps: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not m.has_vip(VIP):
                gaps.append(time.monotonic())
            time.sleep(0.01)

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    try:
        # 1. unchanged file
        m.send_signal(signal.SIGHUP)
        assert cluster.topo.wait_for(lambda: "Reload finished" in m.log_text(), 5), diagnostics(m)
        # 2. a VIP added
        m.write_conf(
            vrrp_conf(
                priority=M_PRIO,
                state="MASTER",
                vips=("198.18.0.150/24 dev eth0 label eth0:0", "198.18.0.151/24 dev eth0"),
            )
        )
        m.send_signal(signal.SIGHUP)
        assert cluster.topo.wait_for(lambda: m.has_vip("198.18.0.151"), 5), diagnostics(m)
        # 3. a broken file: rejected, the VIPs stay
        m.write_conf("vrrp_instance VI_1 {\n    virtual_router_id 999\n    bogus_keyword\n")
        m.send_signal(signal.SIGHUP)
        assert cluster.topo.wait_for(lambda: "Reload of configuration failed" in m.log_text(), 5), (
            diagnostics(m)
        )
        time.sleep(1.5)
    finally:
        stop.set()
        w.join(2)
    assert not gaps, f"the VIP disappeared during reload ({len(gaps)} samples)"
    assert m.has_vip(VIP) and m.has_vip("198.18.0.151")
    assert m.log_text().count("Entering") == entering, "reload caused a state transition"
    assert m.proc is not None and m.proc.poll() is None, "the daemon died on a broken config"
    assert not s.has_vip(VIP)


MALFORMED = r"""
import socket, struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b)//2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def vrrp(vrid, prio, ver=2, typ=1, naddr=1, auth=1, pw=b"Hello\0\0\0", adv=1, extra=b""):
    body = struct.pack("!BBBBBBH", ver << 4 | typ, vrid, prio, naddr, auth, adv, 0) + socket.inet_aton("198.18.0.150") * naddr + pw + extra
    c = csum(body)
    return body[:6] + struct.pack("!H", c) + body[8:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.SOL_SOCKET, 25, b"eth0")
pk = [
    vrrp(51, 254, extra=b"\0" * 4),                   # wrong length
    vrrp(51, 254)[:6] + b"\xde\xad" + vrrp(51, 254)[8:],  # bad checksum
    vrrp(51, 254, typ=2),                            # wrong type
    vrrp(51, 254, ver=5),                            # wrong version
    vrrp(51, 254, auth=7),                           # invalid auth type
    vrrp(51, 254, pw=b"Wrong\0\0\0"),                 # auth failure
    vrrp(51, 254, adv=3),                            # interval mismatch
    vrrp(51, 254, naddr=0),                          # address list
    struct.pack("!BBBBBBH", 0x21, 51, 254, 0, 0, 1, 0) + bytes(28),  # CARP-sized (36 bytes)
    bytes(range(7)),                                 # truncated
]
for _ in range(5):
    for p in pk:
        s.sendto(p, ("224.0.0.18", 0))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 64)
s.sendto(vrrp(51, 254), ("224.0.0.18", 0))          # TTL != 255
if "--valid" in sys.argv:                           # positive control: the same path, a valid advert
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
    s.sendto(vrrp(51, 254), ("224.0.0.18", 0))
print("sent")
"""


def test_malformed_packets_do_not_disturb(cluster: Cluster) -> None:
    """Garbage on protocol 112 (bad length, checksum, version, auth, CARP-sized, TTL 64 with priority 254) is
    dropped: no crash, no transition, the master stays master."""
    m, s = start_pair(cluster, ("pyvrrp", "pyvrrp"))
    assert cluster.wait_owner(VIP, "master", timeout=mdi(M_PRIO) + 5), diagnostics(m, s)
    entering = m.log_text().count("Entering"), s.log_text().count("Entering")
    r = cluster.topo.run("client", ["python3", "-c", MALFORMED], timeout=20)
    assert r.returncode == 0 and "sent" in r.stdout, r.stderr
    time.sleep(2.5)
    assert m.proc is not None and m.proc.poll() is None and s.proc is not None and s.proc.poll() is None
    assert cluster.owners(VIP) == ["master"], diagnostics(m, s)
    assert (m.log_text().count("Entering"), s.log_text().count("Entering")) == entering, diagnostics(m, s)
    assert "Traceback" not in m.log_text() + s.log_text()
    # positive control: a valid higher-priority advert over the same path does make the master step down
    r = cluster.topo.run("client", ["python3", "-c", MALFORMED, "--valid"], timeout=20)
    assert r.returncode == 0, r.stderr
    assert cluster.topo.wait_for(
        lambda: "Master received advert from 198.18.0.10 with higher priority 254" in m.log_text(), 5
    ), diagnostics(m)
