"""The asyncio daemon: one driver per VRRP instance, the executor that carries out the machine's actions,
signals (TERM/INT stop, HUP reload) and reload with keepalived's semantics.

Protocol decisions live in :mod:`pyvrrp.proto`; this module only turns I/O into events and actions into I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Protocol

from pyvrrp._types import State
from pyvrrp.config.model import Config, Diagnostic, InstanceConfig, VipConfig
from pyvrrp.errors import DecodeError, PyvrrpError
from pyvrrp.io.garp import GarpPool
from pyvrrp.io.netlink import AddrEvent, LinkEvent, NetlinkMonitor, NetlinkOps
from pyvrrp.io.vrrp_socket import MCAST4, MCAST6, Received, VrrpSocket
from pyvrrp.observe.logmsg import DETAIL
from pyvrrp.proto.actions import (
    Action,
    AddVips,
    Log,
    NotifyRxLowerPri,
    RemoveVips,
    SendAdvert,
    SendGarp,
    Transition,
)
from pyvrrp.proto.events import AdvertReceived, PacketError, Shutdown, Startup, TrackerChanged, VipDeleted
from pyvrrp.proto.vrrp import VrrpInstance
from pyvrrp.runtime.process import sd_notify
from pyvrrp.wire import vrrp as wire_vrrp

log = logging.getLogger("pyvrrp.vrrp")

ConfigLoader = Callable[[], Config]


class StartupError(PyvrrpError):
    """The daemon cannot start (keepalived's -t exit code 4 situations)."""


@dataclass
class DaemonOptions:
    log_detail: bool = False
    release_vips_on_exit: bool = True  # -V turns this off
    shutdown_timeout: float = 5.0


class EventRouter(Protocol):
    """Takes over a driver's events and timers (a sync group: members move together)."""

    def feed(self, driver: InstanceDriver, event: object) -> list[Action]: ...

    def on_timer(self, driver: InstanceDriver) -> None: ...


class InstanceDriver:
    """Drives one :class:`VrrpInstance`: feeds events, keeps its timer, executes its actions.

    Adverts go out synchronously (timing matters); netlink and GARP work runs in order on a per-instance
    queue so a slow netlink call never delays an advert.
    """

    def __init__(self, daemon: Daemon, cfg: InstanceConfig, src_ip: IPv4Address | IPv6Address | None) -> None:
        self.daemon = daemon
        self.cfg = cfg
        self.machine = VrrpInstance(cfg, src_ip)
        self._timer: asyncio.TimerHandle | None = None
        self._ops: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.master_since: float | None = None
        self.ip_ident = 0  # IPv4 identification of the last advert sent
        # set by runtime/sync.py for sync-group members: routes events and timers through the group
        self.router: EventRouter | None = None

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def ifname(self) -> str:
        return self.cfg.interface or ""

    @property
    def family(self) -> int:
        return self.cfg.family

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._work(), name=f"ops-{self.name}")
        self.feed(Startup())

    def feed(self, event: object) -> list[Action]:
        if self.router is not None:  # a sync-group member: the group decides for all its members
            return self.router.feed(self, event)
        return self.feed_direct(event)

    def feed_direct(self, event: object) -> list[Action]:
        actions = self.machine.handle(event, self.daemon.now())
        self.execute(actions)
        self._rearm()
        return actions

    def _on_timer(self) -> None:
        self._timer = None
        if self.router is not None:
            self.router.on_timer(self)
            return
        actions = self.machine.expire(self.daemon.now())
        self.execute(actions)
        self._rearm()

    def _rearm(self) -> None:
        deadline = self.machine.next_deadline()
        if self._timer is not None:
            if deadline is not None and abs(self._timer.when() - deadline) < 1e-9:
                return
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- executor ----------------------------------------------------------------------------
    def execute(self, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, Log):
                level = logging.INFO if a.level == "info" else getattr(logging, a.level.upper(), logging.INFO)
                if a.detail and not self.daemon.opts.log_detail:
                    continue
                log.log(level, "(%s) %s", self.name, a.msg)
            elif isinstance(a, SendAdvert):
                self.daemon.send_advert(self, a.adv)
            elif isinstance(a, AddVips):
                self._enqueue(lambda vips=a.vips: self._add_vips(vips))
            elif isinstance(a, RemoveVips):
                self._enqueue(lambda vips=a.vips: self._remove_vips(vips))
            elif isinstance(a, SendGarp):
                self._enqueue(lambda g=a: self._garp(g))
            elif isinstance(a, Transition):
                if a.new is State.MASTER:
                    self.master_since = self.daemon.wallclock()
                for hook in self.daemon.transition_hooks:
                    try:
                        hook(self, a)
                    except Exception:  # a hook must never break the protocol
                        log.exception("(%s) transition hook failed", self.name)
            elif isinstance(a, NotifyRxLowerPri):
                for hook in self.daemon.rx_lower_hooks:
                    with contextlib.suppress(Exception):
                        hook(self, a)

    def _enqueue(self, fn: Callable[[], Awaitable[None]]) -> None:
        self._ops.put_nowait(fn)

    async def _work(self) -> None:
        while True:
            fn = await self._ops.get()
            try:
                await fn()
            except Exception as e:  # netlink refusing one VIP must not stop the daemon
                log.error("(%s) %s", self.name, e)
            finally:
                self._ops.task_done()

    async def drain(self, timeout: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._ops.join(), timeout)

    def stop_worker(self) -> None:
        self.cancel_timer()
        if self._worker is not None:
            self._worker.cancel()

    def vip_dev(self, vip: VipConfig) -> str:
        return vip.dev or self.ifname

    async def _add_vips(self, vips: tuple[VipConfig, ...]) -> None:
        for vip in vips:
            await self.daemon.nl.add_vip(self.vip_dev(vip), vip)

    async def _remove_vips(self, vips: tuple[VipConfig, ...]) -> None:
        for vip in vips:
            await self.daemon.nl.remove_vip(self.vip_dev(vip), vip)

    async def _garp(self, g: SendGarp) -> None:
        by_dev: dict[str, list[VipConfig]] = {}
        for vip in g.vips:
            by_dev.setdefault(self.vip_dev(vip), []).append(vip)
        for dev, vips in by_dev.items():
            await self.daemon.garp.get(dev).burst(tuple(vips), g.repeat, g.interval, self._log_garp(dev))

    def _log_garp(self, dev: str) -> Callable[[VipConfig], None] | None:
        """keepalived's -D lines, one per frame sent."""
        if not self.daemon.opts.log_detail:
            return None

        def on_sent(vip: VipConfig) -> None:
            if vip.address.version == 4:
                log.log(DETAIL, "Sending gratuitous ARP on %s for %s", dev, vip.address.ip)
            else:
                log.log(DETAIL, "Sending unsolicited Neighbour Advert on %s for %s", dev, vip.address.ip)

        return on_sent


@dataclass
class SocketKey:
    ifname: str
    family: int


@dataclass
class Daemon:
    """The VRRP daemon. ``load`` returns a fresh :class:`Config` (used at start and on SIGHUP)."""

    load: ConfigLoader
    opts: DaemonOptions = field(default_factory=DaemonOptions)

    def __post_init__(self) -> None:
        self.config: Config | None = None
        self.drivers: dict[str, InstanceDriver] = {}
        self.sockets: dict[tuple[str, int], VrrpSocket] = {}
        self.by_vrid: dict[tuple[str, int, int], InstanceDriver] = {}
        self.nl = NetlinkOps()
        self.monitor = NetlinkMonitor()
        self.garp = GarpPool()
        self.link_local: dict[str, IPv6Address] = {}
        self.transition_hooks: list[Callable[[InstanceDriver, Transition], None]] = []
        self.rx_lower_hooks: list[Callable[[InstanceDriver, NotifyRxLowerPri], None]] = []
        self.reload_hooks: list[Callable[[Config], None]] = []
        self.link_hooks: list[Callable[[LinkEvent], None]] = []
        # HOOKS for plugins (runtime/tracking.py, observe/*): attach() runs after prepare(), before instances start.
        # initial_trackers: called per instance before its Startup; returns the TrackerChanged events it starts with.
        self.initial_trackers: list[Callable[[InstanceConfig], list[TrackerChanged]]] = []
        # advert_hooks: every decoded advert (with its instance driver, or None for an unknown VRID), e.g. for
        # the metrics' "masters seen" (split-brain evidence). Observers only.
        self.advert_hooks: list[
            Callable[[Received, wire_vrrp.Advertisement, InstanceDriver | None], None]
        ] = []
        self.stop_hooks: list[Callable[[], Awaitable[None]]] = []
        # state the plugins keep on the daemon (None/empty until the plugin attaches):
        self.settings: dict[str, Any] = {}  # CLI settings for plugins: metrics_listen, control_socket
        self.tracking: Any = None  # runtime.tracking
        self.script_status: dict[str, bool] = {}  # vrrp_script name -> GOOD (runtime.tracking)
        self.scripts_running: set[str] = set()
        self.script_durations: Any = None  # observe.metrics histogram
        self.master_seen: Any = None  # observe.metrics: other masters heard
        self.metrics_server: Any = None
        self.control_commands: dict[str, Any] | None = None  # observe.status
        self.control_server: Any = None
        self.unknown_vrid = 0
        self.global_errors: dict[str, int] = {}
        self.reload_failures = 0
        self._stop = asyncio.Event()
        self._reload_task: asyncio.Task[None] | None = None
        self._monitor_task: asyncio.Task[None] | None = None
        self.started_at = 0.0

    # -- clocks ------------------------------------------------------------------------------
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    @staticmethod
    def wallclock() -> float:
        return time.time()

    # -- start / stop ------------------------------------------------------------------------
    async def start(self) -> None:
        """prepare() then start_instances() (tests and simple callers)."""
        await self.prepare()
        await self.start_instances()

    async def prepare(self) -> None:
        """Load and check the configuration, open netlink. Plugins attach after this and before
        :meth:`start_instances`, so trackers can give each instance its initial state (keepalived starts an
        instance whose weight-0 script has not reported yet in FAULT)."""
        cfg = self.load()
        for d in cfg.diagnostics:
            if d.level in ("error", "fatal", "warning"):
                log.warning("%s", d)
        if not cfg.runnable:
            bad = [d for d in cfg.diagnostics if d.level in ("fatal", "error")]
            raise StartupError(str(bad[0]) if bad else "the configuration cannot run")
        self.config = cfg
        self.started_at = self.wallclock()
        await self.nl.open()

    async def start_instances(self) -> None:
        assert self.config is not None
        for inst in self.config.instances:
            await self._start_instance(inst)
        self._monitor_task = asyncio.get_running_loop().create_task(
            self._watch_netlink(), name="netlink-monitor"
        )

    async def _src_ip(self, inst: InstanceConfig) -> IPv4Address | IPv6Address | None:
        if inst.unicast_src_ip is not None:
            return inst.unicast_src_ip
        assert self.config is not None
        vip_set = {str(v.address.ip) for i in self.config.instances for v in (*i.vips, *i.evips)}
        return await self.nl.primary_address(inst.interface or "", inst.family, exclude=vip_set)

    async def _start_instance(self, inst: InstanceConfig) -> InstanceDriver:
        ifname = inst.interface or ""
        key = (ifname, inst.family)
        if key not in self.sockets:
            s = VrrpSocket(
                ifname,
                inst.family,
                self.on_packet,
                self.on_socket_error,
                group=(
                    self.config.globals.vrrp_mcast_group4
                    if inst.family == 4
                    else self.config.globals.vrrp_mcast_group6
                )
                if self.config
                else None,
            )
            s.start(asyncio.get_running_loop())
            self.sockets[key] = s
        if inst.family == 6 and ifname not in self.link_local:
            vip_set = (
                {str(v.address.ip) for i in self.config.instances for v in (*i.vips, *i.evips)}
                if self.config
                else set()
            )
            ll = await self.nl.primary_address(ifname, 6, exclude=vip_set)
            if isinstance(ll, IPv6Address):
                self.link_local[ifname] = ll
        # keepalived remove_residual_vips: a VIP left by a crash would make two masters
        log.info("(%s) removing VIPs.", inst.name)
        for vip in (*inst.vips, *inst.evips):
            with contextlib.suppress(Exception):
                await self.nl.remove_vip(vip.dev or ifname, vip)
        drv = InstanceDriver(self, inst, await self._src_ip(inst))
        self.drivers[inst.name] = drv
        self.by_vrid[(ifname, inst.family, inst.vrid)] = drv
        # trackers' state known before the instance starts (recorded by the machine in INIT, no transition)
        for provider in self.initial_trackers:
            for change in provider(inst):
                drv.machine.handle(change, self.now())
        drv.start()
        return drv

    async def run_until_stopped(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        await self._stop.wait()
        await self.shutdown()
        return 0

    def request_stop(self) -> None:
        log.info("Stopping")
        self._stop.set()

    def request_reload(self) -> None:
        if self._reload_task is None or self._reload_task.done():
            self._reload_task = asyncio.get_running_loop().create_task(self.reload(), name="reload")

    async def shutdown(self) -> None:
        for drv in list(self.drivers.values()):
            if self.opts.release_vips_on_exit:
                drv.feed(Shutdown())
            else:
                drv.cancel_timer()
        await asyncio.gather(*(d.drain(self.opts.shutdown_timeout) for d in self.drivers.values()))
        for hook in self.stop_hooks:
            with contextlib.suppress(Exception):
                await hook()
        for drv in self.drivers.values():
            drv.stop_worker()
        if self._monitor_task is not None:
            self._monitor_task.cancel()
        for s in self.sockets.values():
            s.close()
        self.garp.close()
        self.monitor.close()
        self.nl.close()

    # -- reload ------------------------------------------------------------------------------
    async def reload(self) -> None:
        """SIGHUP: systemd hears RELOADING=1 then READY=1 (also when the new file is rejected)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        sd_notify(f"RELOADING=1\nMONOTONIC_USEC={usec}")
        try:
            await self._reload()
        finally:
            sd_notify("READY=1")

    async def _reload(self) -> None:
        log.info("Reloading")
        try:
            new = self.load()
            bad: list[Diagnostic] = [d for d in new.diagnostics if d.level in ("error", "fatal")]
            if bad:
                raise StartupError(str(bad[0]) + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""))
        except PyvrrpError as e:
            self.reload_failures += 1
            log.error("Reload of configuration failed, keeping the running configuration: %s", e)
            return
        except Exception as e:  # never lose the running state to a parser bug
            self.reload_failures += 1
            log.error("Reload of configuration failed, keeping the running configuration: %s", e)
            return
        old_by_key = {d.cfg.key(): d for d in self.drivers.values()}
        new_keys = {inst.key() for inst in new.instances}
        self.config = new
        # removed instances: a master sends priority 0 and releases (keepalived clear_diff_vrrp)
        for key, drv in old_by_key.items():
            if key not in new_keys:
                log.info("(%s) removed from the configuration", drv.name)
                drv.feed(Shutdown())
                await drv.drain(self.opts.shutdown_timeout)
                drv.stop_worker()
                self.drivers.pop(drv.name, None)
                self.by_vrid.pop((drv.ifname, drv.family, drv.cfg.vrid), None)
        for inst in new.instances:
            drv = old_by_key.get(inst.key())
            if drv is None:
                await self._start_instance(inst)
                continue
            if drv.name != inst.name:
                self.drivers.pop(drv.name, None)
            drv.cfg = inst
            self.drivers[inst.name] = drv
            actions = drv.machine.update_config(inst, self.now())
            drv.execute(actions)
            drv._rearm()
        for hook in self.reload_hooks:
            with contextlib.suppress(Exception):
                hook(new)
        log.info("Reload finished")

    # -- packets -----------------------------------------------------------------------------
    def send_advert(self, drv: InstanceDriver, adv: wire_vrrp.Advertisement) -> None:
        sock = self.sockets.get((drv.ifname, drv.family))
        if sock is None:
            return
        cfg = drv.cfg
        src = drv.machine.src_ip
        if cfg.family == 6:
            src = self.link_local.get(drv.ifname, src)
        if cfg.unicast_peers:
            dsts = [p.address for p in cfg.unicast_peers]
            ttl = cfg.unicast_ttl
        else:
            g = self.config.globals if self.config else None
            dsts = [
                cfg.mcast_dst_ip or (g.vrrp_mcast_group4 if g else MCAST4)
                if cfg.family == 4
                else (g.vrrp_mcast_group6 if g else MCAST6)
            ]
            ttl = 255
        for dst in dsts:
            if cfg.family == 4 and src is None:
                return
            payload = wire_vrrp.encode(adv, src, dst if cfg.family == 4 else None)
            drv.ip_ident = drv.ip_ident % 0xFFFF + 1  # 1..65535, never 0, as keepalived
            sock.send(payload, src, dst, ttl, ident=drv.ip_ident)

    def on_packet(self, rcv: Received) -> None:
        try:
            if rcv.family == 4:
                adv = wire_vrrp.decode(rcv.payload, 4, rcv.src, rcv.dst)
            else:
                adv = wire_vrrp.decode(rcv.payload, 6)
        except DecodeError as e:
            self.on_decode_error(e, rcv)
            return
        drv = self.by_vrid.get((rcv.ifname, rcv.family, adv.vrid))
        for hook in self.advert_hooks:
            try:
                hook(rcv, adv, drv)
            except Exception:  # observers never break the packet path
                log.exception("advert hook failed")
        if drv is None:
            self.unknown_vrid += 1
            if self.config and self.config.globals.log_unknown_vrids:
                log.info("%s: unknown VRID %d from %s", rcv.ifname, adv.vrid, rcv.src)
            return
        drv.feed(AdvertReceived(src=rcv.src, ttl=rcv.ttl, adv=adv, dst=rcv.dst))

    def on_decode_error(self, e: DecodeError, rcv: Received) -> None:
        drv = self.by_vrid.get((rcv.ifname, rcv.family, e.vrid)) if e.vrid is not None else None
        if drv is not None:
            drv.feed(PacketError(counter=e.counter, reason=e.reason, src=rcv.src))
        else:
            self.global_errors[e.counter] = self.global_errors.get(e.counter, 0) + 1

    def on_socket_error(self, e: DecodeError, ifname: str) -> None:
        self.global_errors[e.counter] = self.global_errors.get(e.counter, 0) + 1

    # -- netlink events ----------------------------------------------------------------------
    async def _watch_netlink(self) -> None:
        try:
            await self.monitor.open()
            async for ev in self.monitor.events():
                if isinstance(ev, AddrEvent) and not ev.added:
                    self._vip_deleted(ev)
                elif isinstance(ev, LinkEvent):
                    for hook in self.link_hooks:
                        with contextlib.suppress(Exception):
                            hook(ev)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.error("netlink monitor stopped: %s", e)

    def _vip_deleted(self, ev: AddrEvent) -> None:
        for drv in self.drivers.values():
            if drv.machine.state is not State.MASTER:
                continue
            for vip in (*drv.cfg.vips, *drv.cfg.evips):
                if vip.address.ip == ev.address and vip.address.network.prefixlen == ev.prefixlen:
                    try:
                        idx = socket.if_nametoindex(drv.vip_dev(vip))
                    except OSError:
                        continue
                    if idx == ev.index:
                        drv.feed(VipDeleted(address=str(ev.address)))

    def update_tracker(self, instance: str, change: TrackerChanged) -> None:
        drv = self.drivers.get(instance)
        if drv is not None:
            drv.feed(change)


def write_pidfile(path: str | None) -> None:
    if not path:
        return
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "w") as f:
        f.write(f"{os.getpid()}\n")


def remove_pidfile(path: str | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
