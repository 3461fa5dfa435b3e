"""keepalived dump files (pyvrrp.observe.dump) against keepalived 2.2.7's own output.

The vectors in tests/data/keepalived/dumps/ were written by keepalived 2.2.7 (``keepalived.*`` from
node-a.conf; ``trackers.*`` from trackers.conf, scripts/track_interface/eVIPs) in a namespace.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from _observe_fakes import DATA, fake_daemon, start, to_master

from pyvrrp._types import State
from pyvrrp.observe import dump
from pyvrrp.observe.view import snapshot
from pyvrrp.proto.events import TrackerChanged


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    cur = ""
    for line in text.splitlines():
        m = re.match(r"^------< (.*) >------$", line)
        if m:
            cur = m.group(1)
            out[cur] = []
        else:
            out.setdefault(cur, []).append(line)
    return out


def _instances(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    cur = ""
    for line in lines:
        if line.startswith(" VRRP Instance = "):
            cur = line.split("=", 1)[1].strip()
            out[cur] = []
        elif cur:
            out[cur].append(line)
    return out


def _vector_times(data: str) -> dict[str, tuple[float, float]]:
    times: dict[str, tuple[float, float]] = {}
    for name, lines in _instances(_sections(data)["VRRP Topology"]).items():
        lt = next(float(line.split("=")[1].split()[0]) for line in lines if "Last transition" in line)
        rt = next(float(line.split("=")[1].split()[0]) for line in lines if "Read timeout" in line)
        times[name] = (lt, rt)
    return times


def node_a_view():
    """pyvrrp's view of node-a.conf with every instance MASTER, times and counters as in the vectors."""
    d = fake_daemon((DATA / "node-a.conf").read_text())
    start(d, now=100.0)
    for drv in d.drivers.values():
        to_master(drv, 100.0)
    vec = json.loads((DATA / "keepalived.json").read_text())
    for entry in vec:
        st = d.drivers[entry["data"]["iname"]].machine.stats
        for k, v in entry["stats"].items():
            setattr(st, k, v)
    view = snapshot(d, wall_now=1_795_689_690.0, loop_now=200.0)
    times = _vector_times((DATA / "keepalived.data").read_text())
    for iv in view.instances:
        iv.last_transition, iv.read_timeout = times[iv.name]
        iv.ifindex = 14
    return view


def test_data_topology_matches_keepalived_line_for_line() -> None:
    view = node_a_view()
    ours = _instances(_sections(dump.format_data(view))["VRRP Topology"])
    theirs = _instances(_sections((DATA / "keepalived.data").read_text())["VRRP Topology"])
    assert list(ours) == list(theirs)
    for name in theirs:
        # fd numbers are keepalived internals pyvrrp does not have
        want = [line for line in theirs[name] if not line.startswith("   fd_in")]
        assert ours[name] == want, name


def test_data_global_keys_match_keepalived() -> None:
    ours = _sections(dump.format_data(node_a_view()))["Global definitions"]
    theirs = _sections((DATA / "keepalived.data").read_text())["Global definitions"]
    key = lambda line: line.split("=")[0].strip()  # noqa: E731
    # pyvrrp has no nftables: the libnftnl build line is the only one left out
    assert [key(x) for x in ours] == [key(x) for x in theirs if "libnftnl" not in x]
    assert " Router ID = cva" in ours


def test_stats_match_keepalived_exactly() -> None:
    view = node_a_view()
    vec = json.loads((DATA / "keepalived.json").read_text())
    text = dump.format_stats(view)
    # the vector .stats was written a few adverts before the .json: compare the structure, then values
    theirs = (DATA / "keepalived.stats").read_text()
    strip = lambda s: re.sub(r"\d+", "N", s)  # noqa: E731
    assert strip(text) == strip(theirs)
    v2 = next(e for e in vec if e["data"]["iname"] == "V2_PASS")
    assert (
        f"VRRP Instance: V2_PASS\n  Advertisements:\n    Received: 0\n    Sent: {v2['stats']['advert_sent']}\n"
        in text
    )


def test_json_matches_keepalived_byte_for_byte() -> None:
    view = node_a_view()
    assert dump.format_json(view) == (DATA / "keepalived.json").read_text()


def test_json_without_instances_is_not_written() -> None:
    d = fake_daemon("global_defs {\n router_id x\n}\n")
    assert dump.format_json(snapshot(d, 0.0, 0.0)) is None


def trackers_view():
    d = fake_daemon((DATA / "trackers.conf").read_text())
    for drv in list(d.drivers.values()):
        if drv.name == "VI_M":
            del d.drivers[drv.name]
    vi = d.drivers["VI_B"]
    vi.machine.src_ip = vi.machine.src_ip  # 198.18.0.161 as in the capture
    trk = {
        "VI_B": [
            TrackerChanged("chk_ok", 0, False, "chk_ok succeeded"),
            TrackerChanged("chk_bad", -5, False, "chk_bad failed (weight -5)"),
            TrackerChanged("vb", 0, False, "vb up"),
        ]
    }
    start(d, 100.0, trk)
    to_master(vi, 100.0)
    d.script_status = {"chk_ok": True, "chk_bad": False}
    vec = json.loads((DATA / "trackers.json").read_text())[0]
    for k, v in vec["stats"].items():
        setattr(vi.machine.stats, k, v)
    view = snapshot(d, wall_now=1_795_697_660.0, loop_now=200.0)
    times = _vector_times((DATA / "trackers.data").read_text())
    view.instances[0].last_transition, view.instances[0].read_timeout = times["VI_B"]
    return view


def test_trackers_evips_and_notify_lines_match_keepalived() -> None:
    view = trackers_view()
    iv = view.instances[0]
    assert iv.state is State.MASTER and iv.effective_priority == 95
    ours = _instances(_sections(dump.format_data(view))["VRRP Topology"])["VI_B"]
    theirs = _instances(_sections((DATA / "trackers.data").read_text())["VRRP Topology"])["VI_B"]
    # keepalived resolves /bin/true to /usr/bin/true in notify lines: compare those by key only
    norm = lambda lines: [  # noqa: E731
        re.sub(r"'/(usr/)?bin/", "'/bin/", x) for x in lines if not x.startswith(("   fd_in", "   Flags:"))
    ]
    assert norm(ours) == norm(theirs)


def test_script_section_matches_keepalived() -> None:
    view = trackers_view()
    ours = _sections(dump.format_data(view))["VRRP Scripts"]
    theirs = _sections((DATA / "trackers.data").read_text())["VRRP Scripts"]
    norm = lambda lines: [re.sub(r"'/(usr/)?bin/", "'/bin/", x) for x in lines]  # noqa: E731
    assert norm(ours) == norm(theirs)


def test_trackers_json_matches_keepalived() -> None:
    view = trackers_view()
    ours = json.loads(dump.format_json(view) or "null")[0]
    theirs = json.loads((DATA / "trackers.json").read_text())[0]
    norm = lambda s: re.sub(r"'/(usr/)?bin/", "'/bin/", s) if isinstance(s, str) else s  # noqa: E731
    for k in theirs["data"]:
        v = theirs["data"][k]
        v = [norm(x) for x in v] if isinstance(v, list) else norm(v)
        assert ours["data"].get(k) == v, k
    assert list(ours["data"]) == list(theirs["data"])
    assert ours["stats"] == theirs["stats"]


def test_backup_lines_name_the_master_and_drop_set() -> None:
    from _observe_fakes import advert_from

    conf = (DATA / "node-a.conf").read_text()
    d = fake_daemon(conf)
    start(d, 100.0)
    drv = d.drivers["V3_V4"]
    advert_from(drv, "198.18.0.162", 200, 100.5)
    view = snapshot(d, wall_now=1_795_689_690.0, loop_now=101.0)
    lines = _instances(_sections(dump.format_data(view))["VRRP Topology"])["V3_V4"]
    i = lines.index("   State = BACKUP")
    assert lines[i + 1 : i + 4] == [
        "   Master router = 198.18.0.162",
        "   Master priority = 200",
        "   Master advert int = 0.50 sec",
    ]
    assert "     198.18.0.155/24 dev eth0 scope global" in lines
    doc = json.loads(dump.format_json(view) or "[]")
    v = next(e["data"] for e in doc if e["data"]["iname"] == "V3_V4")
    assert v["state"] == 1 and v["master_priority"] == 200 and v["vipset"] is False


def test_vip_format() -> None:
    from ipaddress import ip_interface

    from pyvrrp.config.model import VipConfig

    assert (
        dump.format_vip(VipConfig(ip_interface("198.18.0.151/32")), "eth0", True)
        == "198.18.0.151 dev eth0 scope global set"
    )
    assert (
        dump.format_vip(VipConfig(ip_interface("2001:db8::155/64")), "eth0", False)
        == "2001:db8::155/64 dev eth0 scope global preferred_lft forever"
    )
    assert os.sep == "/"
