"""Control socket (pyvrrp.observe.status) and `pyvrrp status` (pyvrrp.observe.status_cli)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading
from pathlib import Path

import pytest
from _observe_fakes import fake_daemon, start, to_master
from typer.testing import CliRunner

from pyvrrp.observe import status, status_cli
from pyvrrp.proto.events import TrackerChanged

CONF = """
vrrp_script chk_nginx {
  script "/bin/true"
  weight -30
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  track_script {
    chk_nginx
  }
  virtual_ipaddress {
    198.18.0.150/24
  }
}
"""


def make_daemon():
    d = fake_daemon(CONF)
    start(d, 100.0, {"VI_1": [TrackerChanged("chk_nginx", 0, False, "")]})
    to_master(d.drivers["VI_1"], 100.0)
    d.drivers["VI_1"].machine.handle(
        TrackerChanged("chk_nginx", -30, False, "chk_nginx failed (weight -30)"), 104.0
    )
    d.script_status = {"chk_nginx": False}
    return d


class Served:
    """Run a daemon's control socket on a background event loop for CLI tests."""

    def __init__(self, d, path: str) -> None:
        self.d, self.path = d, path
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.d.settings = {"control_socket": self.path}
            self.d.stop_hooks = []
            await status.attach(self.d)
            self.ready.set()

        self.loop.run_until_complete(main())
        self.loop.run_forever()

    def __enter__(self):
        self.t.start()
        assert self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            for h in self.d.stop_hooks:
                await h()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.t.join(5)
        self.loop.close()


def test_socket_mode_and_status_document(tmp_path: Path) -> None:
    path = str(tmp_path / "run" / "pyvrrp" / "control.sock")
    d = make_daemon()
    with Served(d, path):
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        doc = status.request(path, "status")
    assert doc["ok"] is True
    (i,) = doc["instances"]
    assert i["name"] == "VI_1" and i["state"] == "MASTER" and i["state_code"] == 2
    assert i["priority"] == {"base": 150, "effective": 120}
    assert i["master"]["self"] is True and i["master"]["address"] == "198.18.0.161"
    assert i["master"]["since"] == 1_795_000_000.0
    assert i["last_transition"]["reason"]  # the machine's reason text
    (t,) = i["trackers"]
    assert t == {
        "name": "chk_nginx",
        "kind": "script",
        "weight": -30,
        "delta": -30,
        "fault": False,
        "reason": "chk_nginx failed (weight -30)",
        "reported": True,
    }
    assert i["counters"]["become_master"] == 1
    assert doc["scripts"] == [{"name": "chk_nginx", "status": "BAD", "running": False, "weight": -30}]
    assert not os.path.exists(path)  # removed at stop


def test_commands(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sock")
    d = make_daemon()
    status.register_command(d, "standby", lambda args: {"standby": args})
    with Served(d, path):
        assert status.request(path, "ping")["ok"] is True
        assert status.request(path, "reload") == {"reloading": True, "ok": True}
        assert status.request(path, "standby all") == {"standby": ["all"], "ok": True}
        bad = status.request(path, "frobnicate")
        assert bad["ok"] is False and "unknown command" in bad["error"]
        assert "status" in status.request(path, "help")["commands"]
        j = status.request(path, "dump json-data")["json"]
        assert j[0]["data"]["iname"] == "VI_1" and j[0]["data"]["effective_priority"] == 120
        err = status.request(path, "dump nope")
        assert err["ok"] is False and "unknown dump" in err["error"]
    assert d.reloads == 1


def test_refuses_a_live_socket_and_replaces_a_stale_one(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sock")
    with Served(make_daemon(), path):

        async def second() -> None:
            await status.ControlServer(path, {}).start()

        with pytest.raises(status.ControlError, match="in use"):
            asyncio.run(second())
    import socket

    s = socket.socket(socket.AF_UNIX)
    s.bind(path)  # a stale socket file nobody listens on
    s.close()
    with Served(make_daemon(), path):
        assert status.request(path, "ping")["ok"]


def test_client_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(status.ControlError, match="no such socket"):
        status.request(str(tmp_path / "none.sock"), "status")


def test_cli_table_and_json(tmp_path: Path) -> None:
    import typer

    app = typer.Typer()

    @app.callback()
    def root() -> None:
        pass

    status_cli.register(app)
    path = str(tmp_path / "c.sock")
    runner = CliRunner()
    with Served(make_daemon(), path):
        r = runner.invoke(app, ["status", "--control-socket", path])
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert lines[0].split() == [
            "INSTANCE",
            "VRID",
            "IFACE",
            "STATE",
            "PRIO",
            "MASTER",
            "SINCE",
            "LAST",
            "REASON",
        ]
        assert lines[1].split()[:6] == ["VI_1", "51", "eth0", "MASTER", "120/150", "198.18.0.161"]
        assert "script chk_nginx weight -30: ok, delta -30 (chk_nginx failed (weight -30))" in r.output
        assert "chk_nginx: BAD" in r.output
        r = runner.invoke(app, ["status", "--json", "--control-socket", path])
        assert r.exit_code == 0
        doc = json.loads(r.output)
        assert doc["instances"][0]["priority"]["effective"] == 120
    r = runner.invoke(app, ["status", "--control-socket", path])
    assert r.exit_code == 1
    assert "cannot reach the daemon" in r.output and "Traceback" not in r.output


def test_real_cli_registers_status(tmp_path: Path) -> None:
    from pyvrrp import cli

    cli._register_subcommands()
    r = CliRunner().invoke(cli.app, ["status", "--control-socket", str(tmp_path / "x.sock")])
    assert r.exit_code == 1 and "no such socket" in r.output


def test_tracker_keys_from_the_tracking_runtime() -> None:
    """The tracking runtime keys trackers "kind:name"; a tracker a reload removed (delta 0) is not listed."""
    from pyvrrp.observe.view import snapshot

    conf = CONF.replace(
        "  track_script {\n    chk_nginx\n  }\n",
        "  track_script {\n    chk_nginx weight -10\n  }\n  track_interface {\n    eth1\n  }\n",
    )
    d = fake_daemon(conf)
    start(
        d,
        100.0,
        {
            "VI_1": [
                TrackerChanged("script:chk_nginx", -10, False, "chk_nginx failed (weight -10)"),
                TrackerChanged("interface:eth1", 0, True, "interface eth1 down (weight 0)"),
                TrackerChanged("script:chk_old", 0, False, "script:chk_old no longer tracked"),
            ]
        },
    )
    (iv,) = snapshot(d, 1000.0, 100.0).instances
    got = {t.name: (t.kind, t.weight, t.delta, t.fault) for t in iv.trackers}
    assert got == {"chk_nginx": ("script", -10, -10, False), "eth1": ("interface", 0, 0, True)}
    assert iv.state.name == "FAULT"
    doc = status.status_doc(snapshot(d, 1000.0, 100.0))
    assert doc["instances"][0]["master"] is None
    assert doc["instances"][0]["last_transition"]["reason"] == "interface eth1 down (weight 0)"


def test_table_in_heartbeat_mode_shows_node_peers_and_groups() -> None:
    from pyvrrp.observe.status_cli import render_table

    doc = {
        "ok": True,
        "mode": "heartbeat",
        "instances": [],
        "heartbeat": {
            "node": "slave",
            "status": "active",
            "resources": "foreign",
            "other_holds": "none",
            "rsc_state": "R_STABLE",
            "standby": "NOT",
            "nodes": {"master": "dead", "198.18.0.1": "ping"},
            "groups": [{"owner": "master", "key": "198.18.0.150/24/eth0:0"}],
        },
    }
    out = render_table(doc)
    assert "NODE slave: active, resources foreign" in out and "standby" not in out
    assert "  master: dead" in out and "  198.18.0.1: ping" in out
    assert "master: 198.18.0.150/24/eth0:0" in out
