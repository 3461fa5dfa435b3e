"""`pyvrrp lab` end to end, as CI runs it: the quick story succeeds step by step and leaves nothing behind
(namespaces, veths, processes, files), also when interrupted; a kept lab is reachable with `lab shell` and
removed by `lab down`; `lab bench --quick` produces a complete JSON (numbers are reported, never asserted).

Every run uses its own namespace prefix (``pvt`` + random) so it never meets a developer's ``pvlab`` lab.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvrrp.lab.topo import leftover_namespaces

pytestmark = pytest.mark.netns

ROOT = Path(__file__).resolve().parents[2]
STEPS = 9  # the story's timeline (election, slave joins, client served, 3 x failover+failback)


@pytest.fixture
def prefix() -> Iterator[str]:
    p = f"pvt{secrets.token_hex(3)}"
    yield p
    # whatever happened, remove what a failed run may have left (the assertions ran before this)
    subprocess.run([*pyvrrp(), "lab", "down", "--prefix", p], capture_output=True, timeout=60)


def pyvrrp() -> list[str]:
    return [sys.executable, "-m", "pyvrrp"]


def env(prefix: str) -> dict[str, str]:
    e = dict(os.environ)
    e["PYVRRP_LAB_PREFIX"] = prefix
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def lab_pids(prefix: str) -> list[int]:
    """Processes started by this lab: they carry PYVRRP_LAB=<prefix> in their environment."""
    mark = f"PYVRRP_LAB={prefix}\0".encode()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                if mark in f.read():
                    out.append(int(d))
        except OSError:
            continue
    return out


def root_links() -> set[str]:
    res = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
    return {line.split(":")[1].strip().split("@")[0] for line in res.stdout.splitlines() if ":" in line}


def assert_nothing_left(prefix: str, links_before: set[str]) -> None:
    assert leftover_namespaces(f"{prefix}-") == [], "namespaces left behind"
    deadline = time.monotonic() + 5  # SIGKILLed processes may take a moment to be reaped
    while lab_pids(prefix) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lab_pids(prefix) == [], "processes of the lab left behind"
    new = {n for n in root_links() - links_before if re.fullmatch(r"p\d+l\d+|eth\d+|br\d+", n)}
    assert not new, f"links left in the root namespace: {new}"
    assert not (Path(tempfile.gettempdir()) / f"{prefix}-lab").exists(), "work directory left behind"


def test_quick_story_succeeds_and_cleans_up(prefix: str, tmp_path: Path) -> None:
    before = root_links()
    t0 = time.monotonic()
    report = tmp_path / "story.json"
    r = subprocess.run(
        [*pyvrrp(), "lab", "--quick", "--json", str(report)],
        capture_output=True,
        text=True,
        env=env(prefix),
        timeout=150,
        cwd=ROOT,
    )
    took = time.monotonic() - t0
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Traceback" not in out
    steps = re.findall(r"^\s+(\S+)\s+(\d+)\. ", r.stdout, re.M)
    assert [int(n) for _, n in steps] == list(range(1, STEPS + 1)), out
    assert all(mark in ("\u2713", "ok") for mark, _ in steps), out
    assert f"All {STEPS} steps succeeded" in out
    # the story measured each failover and failback
    assert (
        len(re.findall(r"VIP moved to (?:slave|master) in \d+\.\d s, client outage \d+\.\d s", out)) == 6
    ), out
    assert "192.168.0.x rewritten to 198.18.0.x" in out
    assert "Lab removed" in out
    doc = json.loads(report.read_text())
    assert doc["outcome"] == "ok" and len(doc["steps"]) == STEPS and all(x["ok"] for x in doc["steps"])
    moves = [x for x in doc["steps"] if x["client_outage_s"] is not None]
    assert len(moves) == 6 and all(isinstance(x["seconds"], float) for x in moves)
    print(f"TIMING lab --quick {took:.1f}s")
    assert_nothing_left(prefix, before)


def _start_and_interrupt(prefix: str, sig: int) -> tuple[int, str]:
    p = subprocess.Popen(
        [*pyvrrp(), "lab", "--quick"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(prefix),
        cwd=ROOT,
    )
    lines: list[str] = []
    got = threading.Event()

    def reader() -> None:
        assert p.stdout is not None
        for line in p.stdout:
            lines.append(line)
            if "1. election" in line:
                got.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        assert got.wait(60), "".join(lines)
        # daemons, web servers and the probe are up now
        assert len(lab_pids(prefix)) >= 3, "".join(lines)
        p.send_signal(sig)
        rc = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    t.join(5)
    return rc, "".join(lines)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_story_cleans_up(prefix: str, sig: int) -> None:
    before = root_links()
    rc, out = _start_and_interrupt(prefix, sig)
    assert rc == 130, out
    assert "interrupted" in out and "Traceback" not in out
    # an interrupted run keeps its logs only when a step failed; here none did: nothing at all is left
    assert_nothing_left(prefix, before)


def test_kept_lab_shell_and_down(prefix: str) -> None:
    before = root_links()
    e = env(prefix)
    r = subprocess.run(
        [*pyvrrp(), "lab", "--quick", "--keep"], capture_output=True, text=True, env=e, timeout=150
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "The lab stays up" in r.stdout
    assert len(leftover_namespaces(f"{prefix}-")) == 5
    # a command in the client namespace reaches the VIP, served by the master
    get = "import urllib.request as u;print(u.urlopen('http://198.18.0.150/',timeout=3).read().decode())"
    r = subprocess.run(
        [*pyvrrp(), "lab", "shell", "client", sys.executable, "-c", get],
        capture_output=True,
        text=True,
        env=e,
        timeout=30,
    )
    assert r.returncode == 0 and r.stdout.strip() == "served by master", r.stdout + r.stderr
    # a second lab refuses to start over the kept one and says how to remove it; nothing is touched
    r = subprocess.run(
        [*pyvrrp(), "lab", "--quick"],
        capture_output=True,
        text=True,
        env=e,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "pyvrrp lab down" in r.stderr, r.stderr
    assert len(leftover_namespaces(f"{prefix}-")) == 5
    # unknown node: one line
    r = subprocess.run(
        [*pyvrrp(), "lab", "shell", "router"], capture_output=True, text=True, env=e, timeout=30
    )
    assert r.returncode == 1 and "no node 'router'" in r.stderr
    r = subprocess.run([*pyvrrp(), "lab", "down"], capture_output=True, text=True, env=e, timeout=60)
    assert r.returncode == 0 and "lab removed" in r.stdout, r.stdout + r.stderr
    assert_nothing_left(prefix, before)


@pytest.mark.interop
def test_bench_quick_writes_complete_json(prefix: str, tmp_path: Path) -> None:
    before = root_links()
    out = tmp_path / "bench.json"
    t0 = time.monotonic()
    r = subprocess.run(
        [*pyvrrp(), "lab", "bench", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        env=env(prefix),
        timeout=300,
    )
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    data = json.loads(out.read_text())
    kinds = ["pyvrrp"] + (
        ["keepalived"] if shutil.which("keepalived") or os.path.exists("/usr/sbin/keepalived") else []
    )
    reps = data["params"]["reps"]
    assert reps == 1
    for profile in ("v2_1s", "v3_50ms"):
        for kind in kinds:
            res = data["failover"][profile][kind]
            for key in (
                "kill_takeover_s",
                "kill_excess_s",
                "kill_outage_s",
                "term_takeover_s",
                "term_excess_s",
                "term_outage_s",
                "garp_delay_s",
                "startup_s",
            ):
                assert len(res[key]) == reps, (profile, kind, key, res[key])
                assert all(isinstance(x, float) for x in res[key]), (profile, kind, key)
            assert res["advert_intervals"] > 0
    for kind in kinds:
        for n in data["params"]["scale_sizes"]:
            point = data["scale"][kind][str(n)]
            for key in ("cpu_s_per_min", "rss_mb", "jitter_p50_ms", "jitter_p99_ms"):
                assert isinstance(point[key], float), (kind, n, key, point)
    assert data["summary"] and set(kinds) <= set(data["summary"][0])
    assert data["versions"]["pyvrrp"] and data["machine"]["cpus"]
    # the table was printed
    assert "| metric (median)" in r.stdout
    print(f"TIMING lab bench --quick {took:.1f}s")
    assert_nothing_left(prefix, before)
