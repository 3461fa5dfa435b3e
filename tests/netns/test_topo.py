"""The namespace fixture itself: what it builds, and that it leaves nothing behind, even when building fails."""

from __future__ import annotations

import subprocess

import pytest

from pyvrrp.lab.topo import Topology, TopologyError

pytestmark = pytest.mark.netns


def namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix + "-")]


def test_builds_nodes_on_one_bridge_and_removes_them() -> None:
    with Topology({"master": "198.18.0.161/24", "slave": "198.18.0.162/24"}, gateway="198.18.0.1/24") as t:
        assert sorted(namespaces(t.prefix)) == sorted(t.ns(n) for n in ("master", "slave", "gateway")) + [
            t.switch
        ]
        assert t.has_addr("master", "198.18.0.161")
        assert t.run("master", ["ping", "-c1", "-W2", "198.18.0.1"]).returncode == 0
        p = t.spawn("slave", ["sleep", "60"])
    assert p.poll() is not None, "a process started in the topology survived it"
    assert namespaces(t.prefix) == []


def test_a_failed_build_leaves_nothing() -> None:
    t = Topology({"master": "198.18.0.161/24", "slave": "198.18.0.162/24"}, v6={"slave": "2001:db8::zz/64"})
    with pytest.raises(TopologyError):
        t.up()
    assert namespaces(t.prefix) == []


def test_refuses_addresses_outside_the_lab_range() -> None:
    with pytest.raises(TopologyError):
        Topology({"master": "198.19.0.161/24"})
