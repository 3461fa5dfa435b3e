"""Daemon.reload without sockets: systemd hears RELOADING=1 then READY=1, a rejected file keeps the old config."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from pyvrrp.config.keepalived import parse_text
from pyvrrp.runtime.daemon import Daemon

GOOD = """vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    virtual_ipaddress {
        198.18.0.150/24
    }
}
"""


def test_reload_notifies_systemd_and_keeps_config_on_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock_path = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(sock_path)
    listener.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", sock_path)
    texts = iter(["vrrp_instance VI_1 {\n    virtual_router_id 999\n    bogus_keyword\n"])
    d = Daemon(lambda: parse_text(next(texts), "broken.conf"))
    d.config = parse_text(GOOD, "good.conf")
    asyncio.run(d.reload())
    msgs = [listener.recv(4096).decode(), listener.recv(4096).decode()]
    listener.close()
    assert msgs[0].startswith("RELOADING=1\nMONOTONIC_USEC=") and int(msgs[0].split("=")[-1]) > 0
    assert msgs[1] == "READY=1"
    assert d.reload_failures == 1
    assert d.config.source.endswith("good.conf") or d.config.instances[0].vrid == 51
