"""pyvrrp.runtime.tracking: which trackers reach which instance, with which weight (keepalived's
``add_vrrp_to_interface`` merge, sync-group trackers, implicit tracking), and the glue's push/notify logic
against a fake daemon (no sockets, no root)."""

from __future__ import annotations

import asyncio
from ipaddress import ip_interface
from pathlib import Path
from typing import Any

from pyvrrp._types import State
from pyvrrp.config.model import (
    Config,
    InstanceConfig,
    Notify,
    ScriptConfig,
    SyncGroupConfig,
    TrackFileConfig,
    TrackProcessConfig,
    TrackRef,
    VipConfig,
)
from pyvrrp.proto.actions import Transition
from pyvrrp.proto.events import TrackerChanged
from pyvrrp.runtime.tracking import Binding, Tracking, bindings_for


def vip(addr: str, dev: str | None = None, no_track: bool = False) -> VipConfig:
    return VipConfig(ip_interface(addr), dev=dev, no_track=no_track)


def inst(**kw: Any) -> InstanceConfig:
    kw.setdefault("name", "VI_1")
    kw.setdefault("interface", "eth0")
    kw.setdefault("vrid", 51)
    kw.setdefault("vips", (vip("198.18.0.150/24"),))
    return InstanceConfig(**kw)


def ifaces(b: dict[str, Binding]) -> dict[str, tuple[int, bool]]:
    return {x.target: (x.weight, x.reverse) for x in b.values() if x.kind == "interface"}


class TestInterfaces:
    def test_primary_is_tracked_with_weight_zero(self) -> None:
        assert ifaces(bindings_for(inst(), Config(source="t"))) == {"eth0": (0, False)}

    def test_dont_track_primary(self) -> None:
        assert ifaces(bindings_for(inst(dont_track_primary=True), Config(source="t"))) == {}

    def test_vip_dev_tracked_unless_no_track(self) -> None:
        i = inst(
            vips=(
                vip("198.18.0.150/24"),
                vip("198.18.0.151/24", "eth1"),
                vip("198.18.0.152/24", "eth2", True),
            )
        )
        assert ifaces(bindings_for(i, Config(source="t"))) == {"eth0": (0, False), "eth1": (0, False)}

    def test_vip_on_primary_not_tracked_with_dont_track_primary(self) -> None:
        i = inst(dont_track_primary=True, vips=(vip("198.18.0.150/24"), vip("198.18.0.151/24", "eth1")))
        assert ifaces(bindings_for(i, Config(source="t"))) == {"eth1": (0, False)}

    def test_weighted_track_interface_on_primary_becomes_fault_trigger(self) -> None:
        # keepalived: the implicit weight-0 tracking of the primary overrides the weighted entry
        i = inst(track_interfaces=(TrackRef("eth0", -20), TrackRef("eth3", 15, True)))
        assert ifaces(bindings_for(i, Config(source="t"))) == {"eth0": (0, False), "eth3": (15, True)}

    def test_weighted_track_interface_on_primary_kept_with_dont_track_primary(self) -> None:
        i = inst(dont_track_primary=True, vips=(), track_interfaces=(TrackRef("eth0", -20),))
        assert ifaces(bindings_for(i, Config(source="t"))) == {"eth0": (-20, False)}

    def test_sync_group_interface_weight(self) -> None:
        i = inst(track_interfaces=(TrackRef("eth3", -10),))
        g = SyncGroupConfig(
            name="G", members=("VI_1",), track_interfaces=(TrackRef("eth3", -30), TrackRef("eth4", 0))
        )
        assert ifaces(bindings_for(i, Config(source="t"), g)) == {
            "eth0": (0, False),
            "eth3": (
                -30,
                False,
            ),  # "We will use the sync group's weight unless the vrrp setting is unweighted"
            "eth4": (0, False),
        }


class TestScriptsFilesProcesses:
    def test_weights_resolved(self) -> None:
        cfg = Config(
            source="t",
            scripts=(
                ScriptConfig("chk", ("/bin/true",), weight=-30),
                ScriptConfig("rev", ("/bin/true",), weight=5, reverse=True),
            ),
            track_files=(TrackFileConfig("tf", "/x", weight=3),),
            track_processes=(TrackProcessConfig("tp", "nginx", weight=-7),),
        )
        i = inst(
            track_scripts=(TrackRef("chk"), TrackRef("rev", 8, False), TrackRef("undefined")),
            track_files=(TrackRef("tf", None, True),),
            track_processes=(TrackRef("tp", 0),),
        )
        b = bindings_for(i, cfg)
        assert b["script:chk"] == Binding("script", "chk", -30, False)
        assert b["script:rev"] == Binding("script", "rev", 8, False)  # the override wins, noreverse
        assert "script:undefined" not in b  # the parser warned with file:line; ignored
        assert b["file:tf"] == Binding("file", "tf", 3, True)
        assert b["process:tp"] == Binding("process", "tp", 0, False)

    def test_group_scripts_reach_every_member(self) -> None:
        cfg = Config(source="t", scripts=(ScriptConfig("chk", ("/bin/true",)),))
        g = SyncGroupConfig(name="G", members=("VI_1", "VI_2"), track_scripts=(TrackRef("chk"),))
        for name in g.members:
            assert "script:chk" in bindings_for(inst(name=name), cfg, g)

    def test_weight_clamped(self) -> None:
        cfg = Config(source="t", scripts=(ScriptConfig("chk", ("/bin/true",), weight=-254),))
        assert bindings_for(inst(track_scripts=(TrackRef("chk"),)), cfg)["script:chk"].weight == -253


class FakeDriver:
    def __init__(self, cfg: InstanceConfig) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.machine = type("M", (), {"effective_priority": cfg.priority, "state": State.BACKUP})()


class FakeDaemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.drivers: dict[str, Any] = {}
        self.fed: list[tuple[str, TrackerChanged]] = []
        self.transition_hooks: list[Any] = []
        self.rx_lower_hooks: list[Any] = []
        self.reload_hooks: list[Any] = []
        self.link_hooks: list[Any] = []
        self.stop_hooks: list[Any] = []
        self.initial_trackers: list[Any] = []

    def update_tracker(self, name: str, ch: TrackerChanged) -> None:
        self.fed.append((name, ch))

    def now(self) -> float:
        return 0.0


def test_glue_pushes_only_changes_and_notifies(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rec.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/rec.log"\n')
    rec.chmod(0o755)
    i = inst(
        priority=150,
        track_scripts=(TrackRef("chk"),),
        dont_track_primary=True,
        vips=(),
        notify=Notify((str(rec),)),
    )
    cfg = Config(
        source="t", instances=(i,), scripts=(ScriptConfig("chk", ("/bin/true",), weight=-60, fall=2),)
    )

    async def main() -> FakeDaemon:
        d = FakeDaemon(cfg)
        t = Tracking(d)  # type: ignore[arg-type]
        initial = t.initial_for(i)
        assert initial == [TrackerChanged("script:chk", 0, False, "chk no result yet (weight -60)")]
        d.drivers["VI_1"] = FakeDriver(i)
        t.register_hooks()
        sc = t.scripts["chk"]
        from pyvrrp.track.script import RunResult

        sc.feed(RunResult(True, "succeeded", 0))
        # OK with a negative weight: still delta 0; only the reason (status text) changes
        assert d.fed == [("VI_1", TrackerChanged("script:chk", 0, False, "chk succeeded (weight -60)"))]
        d.fed.clear()
        sc.feed(RunResult(False, "failed", 1))
        assert d.fed == []  # one failure < fall: nothing reported
        sc.feed(RunResult(False, "failed", 1))
        assert d.fed == [("VI_1", TrackerChanged("script:chk", -60, False, "chk failed (weight -60)"))]
        sc.feed(RunResult(False, "failed", 1))
        assert len(d.fed) == 1  # still failed: no repeat
        d.transition_hooks[0](d.drivers["VI_1"], Transition(State.BACKUP, State.MASTER, 90, "x"))
        await t.notifier.drain(5)
        return d

    asyncio.run(main())
    assert (tmp_path / "rec.log").read_text() == "INSTANCE VI_1 MASTER 90\n"


class FakeNl:
    async def link(self, name: str) -> None:
        return None


def test_reload_carries_script_state_and_clears_removed_trackers(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rec.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/rec.log"\n')
    rec.chmod(0o755)
    scripts = (
        ScriptConfig("a", ("/bin/true",), weight=-10, fall=3),
        ScriptConfig("b", ("/bin/true",), weight=-5),
    )
    i1 = inst(priority=150, dont_track_primary=True, vips=(), track_scripts=(TrackRef("a"), TrackRef("b")))
    old = Config(source="t", instances=(i1,), scripts=scripts)
    i2 = inst(priority=150, dont_track_primary=True, vips=(), track_scripts=(TrackRef("a", -30),))
    gone = inst(name="VI_9", vrid=9, notify=Notify((str(rec),)))
    new = Config(
        source="t", instances=(i2,), scripts=(ScriptConfig("a", ("/bin/true",), weight=-10, fall=1),)
    )

    async def main() -> tuple[FakeDaemon, Tracking]:
        d = FakeDaemon(old)
        d.nl = FakeNl()  # type: ignore[attr-defined]
        t = Tracking(d)  # type: ignore[arg-type]
        t.initial_for(i1)
        d.drivers["VI_1"] = FakeDriver(i1)
        from pyvrrp.track.script import RunResult

        for name in ("a", "b"):
            for _ in range(3):
                t.scripts[name].feed(RunResult(False, "failed", 1))
        assert t.scripts["a"].ok is False
        d.fed.clear()
        d.config = new
        await t.reload(new)
        await t._stop_probes()
        # removed instance notified as FAULT (no notify_deleted) when its STOP transition comes in
        t.on_transition(FakeDriver(gone), Transition(State.BACKUP, State.STOP, 100, "removed"))  # type: ignore[arg-type]
        await t.notifier.drain(5)
        return d, t

    d, t = asyncio.run(main())
    assert t.scripts["a"].ok is False  # "considered unsuccessful on reload"
    assert "b" not in t.scripts  # no longer used
    fed = dict((ch.name, ch) for _n, ch in d.fed)
    assert fed["script:a"].delta == -30  # the new weight applies to the carried state
    assert fed["script:b"].delta == 0 and not fed["script:b"].fault  # cleared
    assert (tmp_path / "rec.log").read_text() == "INSTANCE VI_9 FAULT 100\n"
