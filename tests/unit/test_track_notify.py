"""pyvrrp.io.notify: exact argv of notify scripts, FIFO lines, the bounded notify_stop, refused scripts."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from pyvrrp._types import State
from pyvrrp.config.model import Config, GlobalConfig, InstanceConfig, Notify, SyncGroupConfig
from pyvrrp.io.notify import Notifier, fifo_line, shell_command


def recorder(tmp: Path, name: str) -> Path:
    """A notify script appending its argv (one line, args separated by |) to ``tmp/name.log``."""
    s = tmp / name
    s.write_text(
        # one write per line: notify scripts are fire-and-forget and may run at the same time
        f'#!/bin/sh\nline="$0"\nfor a; do line="$line|$a"; done\nprintf \'%s\\n\' "$line" >> "{tmp}/{name}.log"\n'
    )
    s.chmod(0o755)
    return s


def lines(p: Path) -> list[str]:
    return p.read_text().splitlines() if p.exists() else []


def wait_file(p: Path, n: int, timeout: float = 5) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = lines(p)
        if len(got) >= n:
            return got
        time.sleep(0.02)
    return lines(p)


def read_fifo(fd: int) -> str:
    try:
        return os.read(fd, 65536).decode()
    except BlockingIOError:
        return ""


def test_fifo_line_format() -> None:
    assert fifo_line("INSTANCE", "VI_1", "MASTER", 110) == 'INSTANCE "VI_1" MASTER 110\n'
    assert fifo_line("GROUP", "G1", "BACKUP", 0) == 'GROUP "G1" BACKUP 0\n'


def test_shell_command_quotes_like_keepalived() -> None:
    assert shell_command(["/x/y", "a b", "c"]) == "/x/y 'a b' c"
    assert shell_command(["</etc/hostname"]) == "</etc/hostname"


def test_instance_notifies_exact_argv_and_fifo(tmp_path: Path) -> None:
    m, b, f, g = (recorder(tmp_path, n) for n in ("master", "backup", "fault", "generic"))
    fifo = tmp_path / "notify.fifo"
    vfifo = tmp_path / "vrrp.fifo"
    inst = InstanceConfig(
        name="VI_1",
        interface="eth0",
        vrid=51,
        notify_master=Notify((str(m), "arg one")),
        notify_backup=Notify((str(b),)),
        notify_fault=Notify((str(f), "x")),
        notify=Notify((str(g), "extra1")),
    )
    cfg = Config(
        source="t",
        globals=GlobalConfig(notify_fifo=str(fifo), vrrp_notify_fifo=str(vfifo)),
        instances=(inst,),
    )

    async def main() -> tuple[str, str, Notifier]:
        n = Notifier(cfg)
        rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        vrd = os.open(vfifo, os.O_RDONLY | os.O_NONBLOCK)
        n.instance(inst, State.BACKUP, 100)
        n.instance(inst, State.MASTER, 110)
        n.instance(inst, State.FAULT, 110)
        await n.drain(5)
        out = read_fifo(rd), read_fifo(vrd)
        os.close(rd)
        os.close(vrd)
        n.close()
        return out[0], out[1], n

    text, vtext, n = asyncio.run(main())
    assert lines(tmp_path / "master.log") == [f"{m}|arg one"]  # exactly as configured, nothing appended
    assert lines(tmp_path / "backup.log") == [f"{b}"]
    assert lines(tmp_path / "fault.log") == [f"{f}|x"]
    assert sorted(lines(tmp_path / "generic.log")) == sorted(
        [
            f"{g}|extra1|INSTANCE|VI_1|BACKUP|100",
            f"{g}|extra1|INSTANCE|VI_1|MASTER|110",
            f"{g}|extra1|INSTANCE|VI_1|FAULT|110",
        ]
    )
    expected = 'INSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_1" MASTER 110\nINSTANCE "VI_1" FAULT 110\n'
    assert text == expected and vtext == expected
    assert not fifo.exists() and not vfifo.exists()  # created by us: unlinked at close
    assert n.started == 6


def test_existing_fifo_is_kept(tmp_path: Path) -> None:
    fifo = tmp_path / "f"
    os.mkfifo(fifo, 0o600)
    cfg = Config(source="t", globals=GlobalConfig(vrrp_notify_fifo=str(fifo)))

    async def main() -> None:
        n = Notifier(cfg)
        n.fifo("INSTANCE", "VI_1", "MASTER", 5)
        n.close()

    asyncio.run(main())
    assert fifo.exists()


def test_full_fifo_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "f"
    cfg = Config(source="t", globals=GlobalConfig(vrrp_notify_fifo=str(fifo)))

    async def main() -> Notifier:
        n = Notifier(cfg)
        for _ in range(20000):  # ~600 kB, far more than a pipe holds, nobody reading
            n.fifo("INSTANCE", "VI_1", "MASTER", 110)
        n.close()
        return n

    t0 = time.monotonic()
    n = asyncio.run(main())
    assert time.monotonic() - t0 < 10
    assert n.fifo_dropped > 0


def test_group_notifies_priority_zero(tmp_path: Path) -> None:
    gm, gen = recorder(tmp_path, "gmaster"), recorder(tmp_path, "ggeneric")
    sg = SyncGroupConfig(
        name="G1", members=("VI_1", "VI_2"), notify_master=Notify((str(gm),)), notify=Notify((str(gen),))
    )
    fifo = tmp_path / "f"
    cfg = Config(source="t", globals=GlobalConfig(vrrp_notify_fifo=str(fifo)), sync_groups=(sg,))

    async def main() -> str:
        n = Notifier(cfg)
        rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        n.group(sg, State.MASTER)
        await n.drain(5)
        out = read_fifo(rd)
        os.close(rd)
        n.close()
        return out

    assert asyncio.run(main()) == 'GROUP "G1" MASTER 0\n'
    assert lines(tmp_path / "gmaster.log") == [str(gm)]
    assert lines(tmp_path / "ggeneric.log") == [f"{gen}|GROUP|G1|MASTER|0"]


def test_deleted_reports_fault_without_notify_deleted(tmp_path: Path) -> None:
    gen = recorder(tmp_path, "gen")
    inst = InstanceConfig(name="VI_9", interface="eth0", vrid=9, notify=Notify((str(gen),)))

    async def main() -> None:
        n = Notifier(Config(source="t"))
        n.instance(inst, State.DELETED, 100)
        await n.drain(5)

    asyncio.run(main())
    assert lines(tmp_path / "gen.log") == [f"{gen}|INSTANCE|VI_9|FAULT|100"]


def test_notify_stop_is_bounded(tmp_path: Path) -> None:
    started = tmp_path / "started"
    s = tmp_path / "stop"
    s.write_text(f'#!/bin/sh\ntouch "{started}"\nexec sleep 30\n')
    s.chmod(0o755)
    inst = InstanceConfig(name="VI_1", interface="eth0", vrid=1, notify_stop=Notify((str(s),)))

    async def main() -> float:
        n = Notifier(Config(source="t"))
        t0 = time.monotonic()
        n.instance(inst, State.STOP, 100)
        await n.wait_stop()
        return time.monotonic() - t0

    took = asyncio.run(main())
    assert started.exists()
    assert 0.9 <= took < 3.5  # 1 s timeout, then the group is killed


def test_fire_and_forget_does_not_block_the_loop(tmp_path: Path) -> None:
    s = tmp_path / "slow"
    s.write_text("#!/bin/sh\nexec sleep 5\n")
    s.chmod(0o755)
    inst = InstanceConfig(name="VI_1", interface="eth0", vrid=1, notify_master=Notify((str(s),)))

    async def main() -> float:
        n = Notifier(Config(source="t"))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        n.instance(inst, State.MASTER, 100)
        await asyncio.sleep(0.1)
        lag = loop.time() - t0
        for t in list(n._tasks):
            t.cancel()
        return lag

    assert asyncio.run(main()) < 1.0


def test_missing_notify_script_refused_once(tmp_path: Path) -> None:
    inst = InstanceConfig(
        name="VI_1", interface="eth0", vrid=1, notify_master=Notify((str(tmp_path / "nope"),))
    )

    async def main() -> Notifier:
        n = Notifier(Config(source="t"))
        n.instance(inst, State.MASTER, 100)
        n.instance(inst, State.MASTER, 100)
        await n.drain(2)
        return n

    n = asyncio.run(main())
    assert n.refused == 2 and n.started == 0
