"""pyvrrp.track.script: the vrrp_script runner with real subprocesses (no root needed except where marked):
exit codes, timeout -> SIGTERM -> SIGKILL, no overlap, bounded output, refused scripts, user switching."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pyvrrp.config.model import GlobalConfig, ScriptConfig
from pyvrrp.io.notify import Creds, ScriptRefused, check_script, insecure_component, resolve_creds
from pyvrrp.track.script import VrrpScript, run_once

SH = "/bin/sh"


def script(path: Path, body: str, mode: int = 0o755) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(mode)
    return path


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


class TestRunOnce:
    def test_exit_codes(self) -> None:
        assert run(run_once((SH, "-c", "exit 0"), None, 5)).success
        r = run(run_once((SH, "-c", "exit 3"), None, 5))
        assert not r.success and r.status == 3 and r.kind == "failed"

    def test_signal_is_failure(self) -> None:
        r = run(run_once((SH, "-c", "kill -9 $$"), None, 5))
        assert not r.success and r.signal == 9

    def test_timeout_sigterm(self) -> None:
        t0 = time.monotonic()
        r = run(run_once((SH, "-c", "sleep 30"), None, 0.3, grace=5))
        assert not r.success and r.kind == "timed_out"
        assert time.monotonic() - t0 < 5  # sleep dies on SIGTERM, no need for the SIGKILL grace

    def test_timeout_sigkill_after_grace(self, tmp_path: Path) -> None:
        # ignores SIGTERM: killed by SIGKILL after the grace period, still a timeout (failure)
        s = script(tmp_path / "stubborn", "trap '' TERM\nwhile :; do sleep 0.05; done")
        t0 = time.monotonic()
        r = run(run_once((str(s),), None, 0.2, grace=0.5))
        took = time.monotonic() - t0
        assert r.kind == "timed_out" and not r.success
        assert 0.6 <= took < 5

    def test_group_killed_with_children(self, tmp_path: Path) -> None:
        pidfile = tmp_path / "child.pid"
        s = script(tmp_path / "parent", f"sleep 60 & echo $! > {pidfile}\nwait")
        run(run_once((str(s),), None, 0.5, grace=0.5))
        pid = int(pidfile.read_text())
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            try:  # reaped by init or still a zombie of the shell? check state
                if Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z":
                    break
            except OSError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the script's child survived the timeout")

    def test_missing_executable(self, tmp_path: Path) -> None:
        r = run(run_once((str(tmp_path / "nope"),), None, 1))
        assert not r.success and "Error exec-ing" in r.error

    def test_no_shebang_runs_through_sh(self, tmp_path: Path) -> None:
        s = tmp_path / "noshebang"
        s.write_text("exit 0\n")
        s.chmod(0o755)
        assert run(run_once((str(s),), None, 5)).success

    def test_megabytes_of_output_are_discarded(self) -> None:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        code = "import sys\nb=b'x'*1048576\nfor _ in range(200): sys.stdout.buffer.write(b); sys.stderr.buffer.write(b)"
        r = run(run_once((sys.executable, "-c", code), None, 30))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert r.success
        assert after - before < 100 * 1024  # KiB: 400 MB written, nothing buffered by us


def cfg(argv: tuple[str, ...], **kw: object) -> ScriptConfig:
    return ScriptConfig(name=kw.pop("name", "chk"), argv=argv, **kw)  # type: ignore[arg-type]


class TestVrrpScript:
    def test_rise_fall_with_a_state_file(self, tmp_path: Path) -> None:
        state = tmp_path / "state"
        state.write_text("0")
        s = script(tmp_path / "chk", f'exit $(cat "{state}")')
        changes: list[bool] = []

        async def main() -> VrrpScript:
            v = VrrpScript(
                cfg((str(s),), interval=0.1, rise=2, fall=3),
                GlobalConfig(),
                lambda _s, ok: changes.append(ok),
            )
            await v.run_and_record()
            assert changes == [True]
            state.write_text("1")
            for _ in range(2):
                await v.run_and_record()
            assert changes == [True]  # two failures < fall
            await v.run_and_record()
            assert changes == [True, False]
            state.write_text("0")
            await v.run_and_record()
            assert changes == [True, False]
            await v.run_and_record()
            assert changes == [True, False, True]
            return v

        v = run(main())
        assert v.runs == 6 and v.ok is True

    def test_periodic_no_overlap(self, tmp_path: Path) -> None:
        lock = tmp_path / "lock"
        s = script(tmp_path / "slow", f'mkdir "{lock}" || exit 7\nsleep 0.35\nrmdir "{lock}"')

        async def main() -> VrrpScript:
            v = VrrpScript(cfg((str(s),), interval=0.1, timeout=2), GlobalConfig(), lambda _s, _ok: None)
            v.start()
            await asyncio.sleep(1.2)
            await v.stop()
            return v

        v = run(main())
        assert v.runs >= 2
        assert v.skipped >= 2  # ticks that found it running were skipped
        assert v.last_status in (0, None)  # never 7: two runs never overlapped
        assert v.ok is True

    def test_first_run_is_immediate(self, tmp_path: Path) -> None:
        s = script(tmp_path / "ok", "exit 0")
        seen: list[float] = []

        async def main() -> float:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            v = VrrpScript(
                cfg((str(s),), interval=5), GlobalConfig(), lambda _s, _ok: seen.append(loop.time() - t0)
            )
            v.start()
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.02)
            await v.stop()
            return seen[0]

        assert run(main()) < 1.5

    def test_missing_script_counts_as_failing(self, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
        changes: list[bool] = []

        async def main() -> VrrpScript:
            v = VrrpScript(
                cfg((str(tmp_path / "missing"), "arg")), GlobalConfig(), lambda _s, ok: changes.append(ok)
            )
            await v.run_and_record()
            return v

        with caplog.at_level("INFO"):
            v = run(main())
        assert v.refused is not None and "cannot be accessed" in v.refused
        assert changes == [False]
        assert any("counted as failing" in r.getMessage() for r in caplog.records)

    def test_not_executable_counts_as_failing(self, tmp_path: Path) -> None:
        s = script(tmp_path / "noexec", "exit 0", mode=0o644)

        async def main() -> VrrpScript:
            v = VrrpScript(cfg((str(s),)), GlobalConfig(), lambda _s, _ok: None)
            await v.run_and_record()
            return v

        v = run(main())
        assert v.refused is not None and "not executable" in v.refused
        assert v.ok is False

    def test_bare_name_path_search(self) -> None:
        creds = resolve_creds(None, None, GlobalConfig())
        argv = check_script(("true",), creds, False)
        assert argv[0].startswith("/") and argv[0].endswith("/true")
        with pytest.raises(ScriptRefused, match="Cannot find script"):
            check_script(("no-such-command-pyvrrp",), creds, False)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run scripts as another user")


@needs_root
class TestSecurity:
    def test_world_writable_dir_refused_with_script_security(self, tmp_path: Path) -> None:
        d = tmp_path / "open"
        d.mkdir()
        d.chmod(0o777)  # no sticky bit
        s = script(d / "chk", "exit 0")
        root = Creds(0, 0, "root")
        assert insecure_component(str(s)) == str(d)
        with pytest.raises(ScriptRefused, match="Unsafe permissions"):
            check_script((str(s),), root, True)
        assert check_script((str(s),), root, False)[0] == str(s)  # only a warning without security

    def test_sticky_world_writable_dir_is_fine(self, tmp_path: Path) -> None:
        d = tmp_path / "sticky"
        d.mkdir()
        d.chmod(0o1777)
        s = script(d / "chk", "exit 0")
        assert insecure_component(str(s)) is None

    def test_group_writable_script_refused(self, tmp_path: Path) -> None:
        s = script(tmp_path / "chk", "exit 0", mode=0o775)
        os.chown(s, 0, 100)
        assert insecure_component(str(s)) == str(s)
        os.chown(s, 0, 0)
        assert insecure_component(str(s)) is None  # group root may write

    def test_default_user_missing_is_an_error_under_security(self) -> None:
        try:
            import pwd

            pwd.getpwnam("keepalived_script")
            pytest.skip("keepalived_script exists here")
        except KeyError:
            pass
        with pytest.raises(ScriptRefused, match="Unable to set default user"):
            resolve_creds(None, None, GlobalConfig(enable_script_security=True))
        assert resolve_creds(None, None, GlobalConfig()).uid == os.geteuid()
        assert resolve_creds(None, None, GlobalConfig(script_user="nobody")).user == "nobody"
        with pytest.raises(ScriptRefused, match="does not exist"):
            resolve_creds("no-such-user-pyvrrp", None, GlobalConfig())

    def test_runs_as_configured_user(self) -> None:
        base = Path(tempfile.mkdtemp(prefix="pyvrrp-user-", dir="/tmp"))  # traversable by nobody
        try:
            base.chmod(0o755)
            out = base / "out"
            out.mkdir()
            out.chmod(0o777)
            s = script(base / "whoami", f'id -u > "{out}/uid"; id -G > "{out}/groups"')

            async def main() -> VrrpScript:
                v = VrrpScript(cfg((str(s),), user="nobody"), GlobalConfig(), lambda _s, _ok: None)
                await v.run_and_record()
                return v

            v = run(main())
            self._check(v, out)
        finally:
            shutil.rmtree(base, ignore_errors=True)

    @staticmethod
    def _check(v: VrrpScript, out: Path) -> None:
        assert v.ok is True, v.last_result
        import pwd

        nobody = pwd.getpwnam("nobody")
        assert (out / "uid").read_text().strip() == str(nobody.pw_uid)
        assert (out / "groups").read_text().split() == [str(nobody.pw_gid)]  # setgroups(1, &gid)
        assert (out / "uid").stat().st_uid == nobody.pw_uid  # written by nobody


def test_hung_script_never_blocks_the_loop(tmp_path: Path) -> None:
    """A script that ignores SIGTERM and never exits is killed at timeout (+2 s for the SIGKILL) while the
    event loop keeps ticking: an advert timer would never be delayed."""
    s = script(tmp_path / "hung", "trap '' TERM\nwhile :; do sleep 1; done")
    gaps: list[float] = []

    async def main() -> VrrpScript:
        loop = asyncio.get_running_loop()
        v = VrrpScript(cfg((str(s),), interval=1, timeout=0.5), GlobalConfig(), lambda _s, _ok: None)
        v.start()
        last = loop.time()
        end = last + 3.5
        while loop.time() < end:
            await asyncio.sleep(0.02)
            now = loop.time()
            gaps.append(now - last)
            last = now
        await v.stop()
        return v

    v = run(main())
    assert v.last_result is not None and v.last_result.kind == "timed_out"
    assert v.ok is False
    assert max(gaps) < 0.5  # 20 ms ticks; generous bound for a loaded CI machine
    assert gone(s), "a SIGTERM-ignoring script outlived stop()"


def survivors(path: Path) -> list[int]:
    """PIDs whose command line runs ``path`` (only our own test script's unique tmp path)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if str(path).encode() in (d / "cmdline").read_bytes():
                    out.append(int(d.name))
            except OSError:
                continue
    return out


def test_stop_during_a_run_kills_a_script_that_ignores_sigterm(tmp_path: Path) -> None:
    s = script(tmp_path / "stubborn", "trap '' TERM\nwhile :; do sleep 1; done")

    async def main() -> None:
        v = VrrpScript(cfg((str(s),), interval=1, timeout=10), GlobalConfig(), lambda _s, _ok: None)
        v.start()
        await asyncio.sleep(0.5)  # running, far from its timeout
        await v.stop()

    run(main())
    assert gone(s), "a SIGTERM-ignoring script outlived stop()"


def gone(path: Path, timeout: float = 3.0) -> bool:
    """True once no process runs ``path`` (SIGKILL is asynchronous: allow a bounded moment)."""
    deadline = time.monotonic() + timeout
    while survivors(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
