"""Operations on a live two-node pyvrrp cluster in namespaces (issue 6).

One cluster for the module (master .161 priority 150, slave .162 priority 100, VRID 51, VIP .150), driven
through what an operator uses: /metrics scraped from the client namespace, ``pyvrrp status --json``, the
keepalived dump signals, SIGHUP reloads (a VIP added; a broken file) and systemd's notify socket. The tests run
in file order; the failover comes last.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pyvrrp.lab.cluster import Cluster, Node, vrrp_conf
from pyvrrp.lab.topo import Topology, TopologyError

pytestmark = pytest.mark.netns

VIP = "198.18.0.150"
VIP2 = "198.18.0.151"
DATA = Path(__file__).resolve().parent.parent / "data" / "keepalived" / "dumps"
SCRAPE = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"


class Notify:
    """A systemd NOTIFY_SOCKET stand-in: a unix datagram socket collecting messages."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.msgs: list[str] = []

    def poll(self) -> list[str]:
        while True:
            try:
                self.msgs.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.msgs

    def wait(self, pred, timeout: float) -> bool:  # type: ignore[no-untyped-def]
        return Topology.wait_for(lambda: pred(self.poll()), timeout)

    def close(self) -> None:
        self.sock.close()


class Ops:
    def __init__(self, cluster: Cluster) -> None:
        self.c = cluster
        self.topo = cluster.topo
        self.notify: dict[str, Notify] = {}

    def node(self, name: str) -> Node:
        return self.c.nodes[name]

    def add(self, name: str, addr: str, priority: int) -> Node:
        n = self.c.node(name, "pyvrrp", conf=vrrp_conf(priority=priority), metrics_listen=f"{addr}:9165")
        self.notify[name] = Notify(n.workdir / "notify.sock")
        n.start(env={"NOTIFY_SOCKET": self.notify[name].path})
        return n

    def scrape(self, name: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        addr = self.node(name).metrics_listen
        r = self.topo.run("client", [sys.executable, "-c", SCRAPE, f"http://{addr}/metrics"], timeout=15)
        assert r.returncode == 0, r.stderr
        assert "_created" not in r.stdout
        out = {}
        for fam in text_string_to_metric_families(r.stdout):
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    def status(self, name: str) -> dict:
        sock = str(self.node(name).workdir / "control.sock")
        r = self.topo.run(
            name, [sys.executable, "-m", "pyvrrp", "status", "--json", "--control-socket", sock], timeout=15
        )
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def signal(self, name: str, sig: int) -> None:
        p = self.node(name).proc
        assert p is not None and p.poll() is None, self.node(name).log_text()[-2000:]
        p.send_signal(sig)

    def log_since(self, name: str, mark: int) -> str:
        return self.node(name).log_text()[mark:]


def L(**kw: str) -> tuple[tuple[str, str], ...]:  # noqa: N802
    return tuple(sorted(kw.items()))


IDS = {"iname": "VI_1", "intf": "eth0", "vrid": "51"}


@pytest.fixture(scope="module")
def ops() -> Iterator[Ops]:
    try:
        topo = Topology({"master": "198.18.0.161/24", "slave": "198.18.0.162/24"}, client="198.18.0.10/24")
        topo.up()
    except TopologyError as e:
        pytest.fail(f"cannot build the namespace topology: {e}")
    c = Cluster(topo)
    o = Ops(c)
    try:
        # the master first: started together, a slow Python start on a loaded machine can let the slave's
        # down timer (3.61 s) expire before the master's (3.41 s) — a real race, not what these tests check
        o.add("master", "198.18.0.161", 150)
        assert c.wait_owner(VIP, "master", 15) is not None, o.node("master").log_text()[-3000:]
        o.add("slave", "198.18.0.162", 100)
        assert Topology.wait_for(lambda: "Startup complete" in o.node("slave").log_text(), 10)
        # the slave has heard the master at least once
        assert Topology.wait_for(lambda: "198.18.0.161" in json.dumps(o.status("slave")["instances"]), 10)
        yield o
    finally:
        for n in o.notify.values():
            n.close()
        c.close()
        shutil.rmtree(c.base, ignore_errors=True)


def test_ready_sent_to_systemd(ops: Ops) -> None:
    for name in ("master", "slave"):
        assert ops.notify[name].wait(lambda m: "READY=1" in m, 5), ops.notify[name].msgs


def test_metrics_and_status_agree_before_failover(ops: Ops) -> None:
    m, s = ops.scrape("master"), ops.scrape("slave")
    assert m[("keepalived_up", ())] == 1 and s[("keepalived_up", ())] == 1
    assert m[("keepalived_vrrp_state", L(**IDS, ip_address="198.18.0.150/24"))] == 2
    assert s[("keepalived_vrrp_state", L(**IDS, ip_address="198.18.0.150/24"))] == 1
    assert m[("keepalived_become_master_total", L(**IDS))] == 1
    assert s[("keepalived_become_master_total", L(**IDS))] == 0
    assert m[("keepalived_advertisements_sent_total", L(**IDS))] >= 1
    assert s[("keepalived_advertisements_received_total", L(**IDS))] >= 1
    assert s[("keepalived_advertisements_sent_total", L(**IDS))] == 0
    assert m[("keepalived_vrrp_priority_effective", L(**IDS))] == 150
    assert s[("keepalived_vrrp_priority_base", L(**IDS))] == 100
    # the slave hears exactly one master: the other node
    seen = [dict(k[1]) for k in s if k[0] == "pyvrrp_vrrp_master_seen"]
    assert seen == [{"vrid": "51", "address": "198.18.0.161", "priority": "150"}]
    assert s[("pyvrrp_config_reload_failures_total", ())] == 0

    st_m, st_s = ops.status("master"), ops.status("slave")
    (im,), (is_,) = st_m["instances"], st_s["instances"]
    assert im["state"] == "MASTER" and im["state_code"] == 2 and im["master"]["self"] is True
    assert im["priority"] == {"base": 150, "effective": 150}
    assert im["last_transition"]["reason"]
    assert is_["state"] == "BACKUP" and is_["master"] == {
        "address": "198.18.0.161",
        "priority": 150,
        "self": False,
        "since": is_["last_transition"]["time"],
    }
    assert im["counters"]["become_master"] == m[("keepalived_become_master_total", L(**IDS))]
    # the counters are live: the status read a moment later has seen at least as many adverts
    assert im["counters"]["advert_sent"] >= m[("keepalived_advertisements_sent_total", L(**IDS))]


def _wait_file(path: Path, since: float, timeout: float = 5) -> str:
    assert Topology.wait_for(lambda: path.exists() and path.stat().st_mtime >= since, timeout), path
    return path.read_text()


def test_dump_signals_write_files_that_parse_back(ops: Ops) -> None:
    wd = ops.node("master").workdir  # the node's TMPDIR
    t0 = time.time() - 1
    ops.signal("master", signal.SIGUSR1)
    data = _wait_file(wd / "keepalived.data", t0)
    ops.signal("master", signal.SIGUSR2)
    stats = _wait_file(wd / "keepalived.stats", t0)
    ops.signal("master", signal.SIGRTMIN + 2)
    doc = json.loads(_wait_file(wd / "keepalived.json", t0))

    # .data as the exporters read it
    inst = re.search(r"^ VRRP Instance = (\S+)$", data, re.M)
    assert inst and inst.group(1) == "VI_1"
    for line in (
        "   State = MASTER",
        "   Wantstate = MASTER",
        "   Interface = eth0",
        "   Virtual Router ID = 51",
    ):
        assert line + "\n" in data
    assert "     198.18.0.150/24 dev eth0 scope global label eth0:0 set\n" in data
    # same keys as keepalived 2.2.7's file for the same kind of instance (VRRPv2, PASS, multicast)
    theirs = (DATA / "keepalived.data").read_text()
    key = lambda line: line.split("=")[0].rstrip()  # noqa: E731

    def inst_keys(text: str, name: str) -> list[str]:
        block = (
            text.split(f" VRRP Instance = {name}\n", 1)[1]
            .split("\n VRRP Instance", 1)[0]
            .split("\n------<", 1)[0]
        )
        return [
            key(x)
            for x in block.splitlines()
            if x.startswith("   ") and not x.startswith(("     ", "   fd_in"))
        ]

    assert inst_keys(data, "VI_1") == inst_keys(theirs, "V2_PASS")

    # .stats: keepalived's text, the exporter's parser shape
    assert stats.startswith("VRRP Instance: VI_1\n  Advertisements:\n    Received: ")
    assert re.sub(r"\d+", "N", stats) == re.sub(
        r"\d+",
        "N",
        (DATA / "keepalived.stats")
        .read_text()
        .split("VRRP Instance: V2_NOAUTH_3VIP")[0]
        .replace("V2_PASS", "VI_1"),
    )
    assert "  Became master: 1\n" in stats

    # .json: the same field names, in keepalived's order
    vec = json.loads((DATA / "keepalived.json").read_text())
    (entry,) = doc
    assert list(entry["data"]) == list(vec[0]["data"])
    assert list(entry["stats"]) == list(vec[0]["stats"])
    assert entry["data"]["state"] == 2 and entry["data"]["vips"] == [
        "198.18.0.150/24 dev eth0 scope global label eth0:0 set"
    ]


def test_sighup_adds_a_vip_without_a_transition(ops: Ops) -> None:
    n = ops.node("master")
    vips = ("198.18.0.150/24 dev eth0 label eth0:0", f"{VIP2}/24")
    # as an operator does: the backup first (it must accept the master's new address list), then the master
    slave_mark = len(ops.node("slave").log_text())
    ops.node("slave").write_conf(vrrp_conf(priority=100, vips=vips))
    ops.signal("slave", signal.SIGHUP)
    assert Topology.wait_for(lambda: "Reload finished" in ops.log_since("slave", slave_mark), 10)
    before = ops.scrape("master")
    mark = len(n.log_text())
    n.write_conf(vrrp_conf(priority=150, vips=vips))
    ops.notify["master"].poll()
    ops.notify["master"].msgs.clear()
    ops.signal("master", signal.SIGHUP)
    assert Topology.wait_for(lambda: n.has_vip(VIP2), 10), ops.log_since("master", mark)
    assert n.has_vip(VIP)
    assert Topology.wait_for(lambda: "Reload finished" in ops.log_since("master", mark), 5)
    after = ops.scrape("master")
    for name in ("keepalived_become_master_total", "keepalived_release_master_total"):
        assert after[(name, L(**IDS))] == before[(name, L(**IDS))], name
    assert after[("keepalived_vrrp_state", L(**IDS, ip_address="198.18.0.151/24"))] == 2
    # counters were kept, not reset
    assert (
        after[("keepalived_advertisements_sent_total", L(**IDS))]
        >= before[("keepalived_advertisements_sent_total", L(**IDS))]
    )
    assert "Entering" not in ops.log_since("master", mark)
    # between the two reloads the backup may drop an advert with the old address list (as keepalived
    # does); once both run the new file, the master's adverts are accepted again
    errs = ops.status("slave")["instances"][0]["counters"]["addr_list_err"]
    time.sleep(2.5)  # two more adverts
    st = ops.status("slave")["instances"][0]
    assert st["state"] == "BACKUP" and st["counters"]["become_master"] == 0
    assert st["counters"]["addr_list_err"] == errs
    assert "Entering" not in ops.log_since("slave", slave_mark)
    # systemd saw the reload start and end
    assert ops.notify["master"].wait(lambda m: "READY=1" in m, 5)
    msgs = ops.notify["master"].msgs
    assert msgs[0].startswith("RELOADING=1") and "MONOTONIC_USEC=" in msgs[0] and msgs[-1] == "READY=1"


def test_sighup_with_a_broken_file_changes_nothing(ops: Ops) -> None:
    n = ops.node("master")
    before = ops.scrape("master")
    mark = len(n.log_text())
    n.write_conf(vrrp_conf(priority=150).replace("virtual_router_id 51", "virtual_router_id 999"))
    ops.signal("master", signal.SIGHUP)
    assert Topology.wait_for(lambda: "Reload of configuration failed" in ops.log_since("master", mark), 10), (
        ops.log_since("master", mark)
    )
    after = ops.scrape("master")
    assert (
        after[("pyvrrp_config_reload_failures_total", ())]
        == before[("pyvrrp_config_reload_failures_total", ())] + 1
    )
    assert after[("keepalived_vrrp_state", L(**IDS, ip_address="198.18.0.150/24"))] == 2
    assert after[("keepalived_vrrp_state", L(**IDS, ip_address="198.18.0.151/24"))] == 2
    assert (
        after[("keepalived_become_master_total", L(**IDS))]
        == before[("keepalived_become_master_total", L(**IDS))]
    )
    assert n.has_vip(VIP) and n.has_vip(VIP2) and not ops.node("slave").has_vip(VIP)
    assert "Entering" not in ops.log_since("master", mark)
    assert n.proc is not None and n.proc.poll() is None


def test_metrics_after_failover(ops: Ops) -> None:
    before = ops.scrape("slave")
    mark = len(ops.node("slave").log_text())
    ops.node("master").stop(signal.SIGTERM)
    assert ops.notify["master"].wait(lambda m: "STOPPING=1" in m, 5)
    assert ops.c.wait_owner(VIP, "slave", 10) is not None, ops.log_since("slave", mark)
    after = ops.scrape("slave")
    assert after[("keepalived_vrrp_state", L(**IDS, ip_address="198.18.0.150/24"))] == 2
    assert after[("keepalived_become_master_total", L(**IDS))] == 1
    # the stopping master sent priority 0 (keepalived: a quick take-over after Skew_Time)
    assert after[("keepalived_priority_zero_received_total", L(**IDS))] >= 1
    assert after[("keepalived_advertisements_sent_total", L(**IDS))] >= 1
    ts = after[("keepalived_vrrp_last_transition_timestamp_seconds", L(**IDS))]
    assert ts > before[("keepalived_vrrp_last_transition_timestamp_seconds", L(**IDS))]
    assert abs(ts - time.time()) < 60
    st = ops.status("slave")["instances"][0]
    assert st["state"] == "MASTER" and st["master"]["self"] is True
    assert st["last_transition"]["reason"]
    with contextlib.suppress(Exception):
        ops.notify["master"].close()
