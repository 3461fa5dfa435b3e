"""Dump signals (pyvrrp.observe.dump_signals): USR1/USR2/JSON/STATS_CLEAR write keepalived's files; reload notify."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
from pathlib import Path

import pytest
from _observe_fakes import fake_daemon, start, to_master

from pyvrrp.observe import dump_signals

CONF = """
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  virtual_ipaddress {
    198.18.0.150/24
  }
}
"""


def test_signal_numbers_match_keepalived() -> None:
    assert dump_signals.sig_json() == 36 and dump_signals.sig_stats_clear() == 63


def test_tmp_dir_rule() -> None:
    assert dump_signals.tmp_dir({"TMPDIR": "/var/tmp/x"}) == "/var/tmp/x"
    assert dump_signals.tmp_dir({"TMPDIR": "relative"}) == "/tmp"
    assert dump_signals.tmp_dir({}) == "/tmp"


def test_signals_write_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    d = fake_daemon(CONF)

    async def main() -> dict[str, str]:
        loop = asyncio.get_running_loop()
        start(d, loop.time())
        to_master(d.drivers["VI_1"], loop.time())
        await dump_signals.attach(d)
        try:
            out = {}
            for sig, name in (
                (signal.SIGUSR1, "keepalived.data"),
                (signal.SIGUSR2, "keepalived.stats"),
                (dump_signals.sig_json(), "keepalived.json"),
            ):
                os.kill(os.getpid(), sig)
                for _ in range(100):
                    await asyncio.sleep(0.01)
                    if (tmp_path / name).exists():
                        break
                out[name] = (tmp_path / name).read_text()
                (tmp_path / name).unlink()
            assert d.drivers["VI_1"].machine.stats.advert_sent > 0
            os.kill(os.getpid(), dump_signals.sig_stats_clear())
            for _ in range(100):
                await asyncio.sleep(0.01)
                if (tmp_path / "keepalived.stats").exists():
                    break
            out["cleared"] = (tmp_path / "keepalived.stats").read_text()
            return out
        finally:
            for s in (
                signal.SIGUSR1,
                signal.SIGUSR2,
                dump_signals.sig_json(),
                dump_signals.sig_stats_clear(),
            ):
                loop.remove_signal_handler(s)

    out = asyncio.run(main())
    assert " VRRP Instance = VI_1" in out["keepalived.data"]
    assert "   State = MASTER" in out["keepalived.data"]
    assert "    Sent: 1\n" in out["keepalived.stats"]
    assert json.loads(out["keepalived.json"])[0]["data"]["state"] == 2
    # STATS_CLEAR writes the counters first, then zeroes them
    assert "  Became master: 1\n" in out["cleared"]
    assert d.drivers["VI_1"].machine.stats.become_master == 0
    assert stat.S_IMODE(os.stat(tmp_path / "keepalived.stats").st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_json_needs_an_instance(tmp_path: Path) -> None:
    d = fake_daemon("global_defs {\n router_id x\n}\n")
    assert dump_signals.write_dump(d, "json", str(tmp_path)) is None
    assert not (tmp_path / "keepalived.json").exists()
    with pytest.raises(ValueError, match="unknown dump"):
        dump_signals.write_dump(d, "bogus", str(tmp_path))
