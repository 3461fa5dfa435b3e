"""Fixtures for namespace tests: a fresh reference topology per test (removed even on failure)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from pyvrrp.lab.cluster import Cluster
from pyvrrp.lab.topo import Topology

NODES = {"master": "198.18.0.161/24", "slave": "198.18.0.162/24"}


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    topo = Topology(NODES, gateway="198.18.0.1/24", client="198.18.0.10/24")
    topo.up()
    c = Cluster(topo)
    try:
        yield c
    finally:
        c.close()
        shutil.rmtree(c.base, ignore_errors=True)
