"""track_file (poll-based) and vrrp_track_process (/proc scan): values, matching, quorum with delays."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
from pathlib import Path

from pyvrrp.config.model import TrackFileConfig, TrackProcessConfig
from pyvrrp.io.netlink import LinkEvent
from pyvrrp.track.file import FileTracker, read_value
from pyvrrp.track.interface import LinkTracker
from pyvrrp.track.process import ProcessTracker, ProcInfo, matches, scan_proc


class TestTrackFile:
    def test_read_value(self, tmp_path: Path) -> None:
        p = tmp_path / "v"
        assert read_value(str(p)) == 0  # missing
        p.write_text("")
        assert read_value(str(p)) == 0
        p.write_text("-20\n")
        assert read_value(str(p)) == -20
        p.write_text("99999999999")
        assert read_value(str(p)) is None

    def test_init_file(self, tmp_path: Path) -> None:
        p = tmp_path / "v"
        t = FileTracker(TrackFileConfig(name="tf", path=str(p), init_file=5), lambda *_: None)
        assert p.read_text().strip() == "5" and t.value == 5
        p.write_text("7")
        t = FileTracker(TrackFileConfig(name="tf", path=str(p), init_file=5), lambda *_: None)
        assert t.value == 7  # existing file kept
        t = FileTracker(
            TrackFileConfig(name="tf", path=str(p), init_file=3, init_overwrite=True), lambda *_: None
        )
        assert t.value == 3

    def test_poll_reports_changes(self, tmp_path: Path) -> None:
        p = tmp_path / "v"
        p.write_text("1")
        seen: list[int] = []

        async def main() -> None:
            t = FileTracker(
                TrackFileConfig(name="tf", path=str(p)), lambda _t, v: seen.append(v), interval=0.05
            )
            t.start()
            await asyncio.sleep(0.2)
            p.write_text("-30\n")
            for _ in range(40):
                if seen:
                    break
                await asyncio.sleep(0.05)
            p.write_text("garbage-ignored 0x")  # no digits: 0
            await asyncio.sleep(0.3)
            p.unlink()  # missing: 0 again, no change
            await asyncio.sleep(0.3)
            await t.stop()

        asyncio.run(main())
        assert seen == [-30, 0]


def fake(pid: int, comm: str, *argv: str, zombie: bool = False) -> ProcInfo:
    return ProcInfo(pid, comm, b"".join(a.encode() + b"\0" for a in argv), zombie)


class TestProcessMatch:
    def test_comm_exact(self) -> None:
        c = TrackProcessConfig(name="p", process="nginx")
        assert matches(c, fake(1, "nginx", "/usr/sbin/nginx", "-g", "daemon off;"))
        assert not matches(c, fake(1, "nginx: worker", "nginx: worker process"))
        assert not matches(c, fake(1, "nginx", "nginx", zombie=True))

    def test_full_command(self) -> None:
        c = TrackProcessConfig(name="p", process="/usr/sbin/nginx", full_command=True)
        assert matches(c, fake(1, "nginx", "/usr/sbin/nginx", "-g", "x"))
        assert not matches(c, fake(1, "nginx", "nginx"))

    def test_params_exact_initial_partial(self) -> None:
        exact = TrackProcessConfig(name="p", process="/bin/app", args="-a b")
        assert matches(exact, fake(1, "app", "/bin/app", "-a", "b"))
        assert not matches(exact, fake(1, "app", "/bin/app", "-a", "b", "c"))
        assert not matches(exact, fake(1, "app", "/bin/app", "-a"))
        initial = TrackProcessConfig(name="p", process="/bin/app", args="-a b", param_match="initial")
        assert matches(initial, fake(1, "app", "/bin/app", "-a", "bcd"))
        assert matches(initial, fake(1, "app", "/bin/app", "-a", "b", "more"))
        assert not matches(initial, fake(1, "app", "/bin/app", "-x"))
        partial = TrackProcessConfig(name="p", process="/bin/app", args="-a", param_match="partial")
        assert matches(partial, fake(1, "app", "/bin/app", "-a", "z"))
        assert not matches(partial, fake(1, "app", "/bin/app", "-b"))

    def test_scan_sees_ourselves(self) -> None:
        me = [p for p in scan_proc() if p.pid == os.getpid()]
        assert me and me[0].cmdline.split(b"\0")[0]


class TestProcessQuorum:
    def test_quorum_and_delay_on_fake_clock(self) -> None:
        procs = [fake(10, "worker"), fake(11, "worker")]
        now = [0.0]
        seen: list[tuple[str, bool]] = []
        cfg = TrackProcessConfig(name="w", process="worker", quorum=2, delay=2.0)
        t = ProcessTracker(
            [cfg], lambda n, q: seen.append((n, q)), scan=lambda: list(procs), clock=lambda: now[0]
        )
        assert t.have_quorum("w")
        procs.pop()
        now[0] = 1.0
        t.poll()
        assert seen == [] and t.next_wakeup() == 1.0  # wakes at the delay's end, before the 1 s poll
        now[0] = 3.0
        t.poll()
        assert seen == [("w", False)]
        procs.append(fake(12, "worker"))
        now[0] = 3.5
        t.poll()
        now[0] = 4.0
        procs.pop()  # lost again within the fork delay: cancelled
        t.poll()
        now[0] = 9.0
        t.poll()
        assert seen == [("w", False)]

    def test_real_processes(self, tmp_path: Path) -> None:
        name = f"pvtp{secrets.token_hex(3)}"  # comm is the exec'd file name: unique per run
        exe = tmp_path / name
        exe.symlink_to("/bin/sleep")
        seen: list[bool] = []
        cfg = TrackProcessConfig(name="tp", process=name, quorum=2)
        procs = [subprocess.Popen([str(exe), "30"]) for _ in range(2)]
        try:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and sum(p.comm == name for p in scan_proc()) < 2:
                time.sleep(0.02)
            t = ProcessTracker([cfg], lambda _n, q: seen.append(q), interval=0.05)
            assert t.have_quorum("tp") and t.counts["tp"] == 2
            procs[0].kill()
            procs[0].wait()

            async def main() -> None:
                t.start()
                for _ in range(100):
                    if seen:
                        break
                    await asyncio.sleep(0.05)
                await t.stop()

            asyncio.run(main())
            assert seen == [False]
        finally:
            for p in procs:
                p.kill()
                p.wait()


class TestLinkTracker:
    def test_events_change_state(self) -> None:
        seen: list[tuple[str, bool]] = []
        t = LinkTracker(lambda n, up: seen.append((n, up)))
        t.state = {"eth0": True, "eth1": True}
        t.on_link(LinkEvent(name="eth0", index=2, lower_up=False))
        t.on_link(LinkEvent(name="eth0", index=2, lower_up=False))  # no change, no report
        t.on_link(LinkEvent(name="lo", index=1, lower_up=False))  # not tracked
        t.on_link(LinkEvent(name="eth1", index=3, lower_up=True, deleted=True))
        t.on_link(LinkEvent(name="eth0", index=2, lower_up=True))
        assert seen == [("eth0", False), ("eth1", False), ("eth0", True)]
