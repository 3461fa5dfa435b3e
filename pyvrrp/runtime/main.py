"""Entry point of the VRRP daemon's event loop: builds the :class:`Daemon`, plugs in the optional parts
(notify, tracking, metrics, status socket, dumps), writes pid files, runs until SIGTERM/SIGINT."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from pyvrrp.config.model import Config
from pyvrrp.runtime.daemon import Daemon, DaemonOptions, remove_pidfile, write_pidfile
from pyvrrp.runtime.process import sd_notify

log = logging.getLogger("pyvrrp.vrrp")

# Optional parts: each module exposes ``async def attach(daemon) -> None``. They are attached after
# daemon.prepare() (config loaded, netlink open) and before the instances start; a part that fails to attach is logged, never fatal for VRRP.
PLUGINS = (
    "pyvrrp.runtime.tracking",
    "pyvrrp.observe.metrics",
    "pyvrrp.observe.status",
    "pyvrrp.observe.dump_signals",
)


async def run_vrrp(
    loader: Callable[[], Config],
    *,
    log_detail: bool = False,
    release: bool = True,
    pidfiles: tuple[str | None, ...] = (),
    metrics_listen: str | None = None,
    control_socket: str | None = None,
    first_config: Config | None = None,
) -> int:
    first = [first_config]

    def load() -> Config:
        if first[0] is not None:
            cfg, first[0] = first[0], None
            return cfg
        return loader()

    daemon = Daemon(load, DaemonOptions(log_detail=log_detail, release_vips_on_exit=release))
    daemon.settings = {"metrics_listen": metrics_listen, "control_socket": control_socket}
    log.info("Starting pyvrrp (keepalived-compatible VRRP)")
    for p in pidfiles:
        write_pidfile(p)
    try:
        await daemon.prepare()
        for name in PLUGINS:
            try:
                mod = importlib.import_module(name)
            except ImportError:
                continue
            try:
                await mod.attach(daemon)
            except Exception as e:
                log.error("%s could not start: %s", name.rsplit(".", 1)[-1], e)
        await daemon.start_instances()
        log.info("Startup complete")
        sd_notify("READY=1")
        return await daemon.run_until_stopped()
    finally:
        sd_notify("STOPPING=1")
        for p in pidfiles:
            remove_pidfile(p)
