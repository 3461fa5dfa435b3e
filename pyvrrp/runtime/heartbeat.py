"""heartbeat mode runtime: drives :class:`pyvrrp.proto.heartbeat.HbNode` with asyncio.

This module owns the glue of ``pyvrrp --ha-dir DIR``: it reads the three files, persists the node's
identity (``hb_uuid``, ``hb_generation`` — in heartbeat's own format and directory, so a node can switch
between heartbeat and pyvrrp without ever sending a lower generation, §8), opens the UDP/694 media and the
ICMP pinger, runs the machine's timers, signs/encodes what it sends and verifies what it receives, runs
resource groups (VIPs through netlink + gratuitous ARPs, services through ``resource.d/NAME`` then
``/etc/init.d/NAME`` with ``start``/``stop``/``status``), reads the local FIFO that ``hb_standby`` and
``hb_takeover`` write to, writes a status file (``STATE_DIR/heartbeat.json``) and answers the control
socket (``pyvrrp status``; ``standby``/``takeover`` commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import stat
import time
import uuid as uuidlib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

from pyvrrp.config.heartbeat import (
    HaConfig,
    IpResource,
    Resource,
    ResourceGroup,
    load_ha_dir,
    require,
    resolve_script,
)
from pyvrrp.config.model import VipConfig
from pyvrrp.errors import ConfigError, DecodeError, PyvrrpError
from pyvrrp.io.garp import GarpPool
from pyvrrp.io.netlink import NetlinkOps
from pyvrrp.io.udp694 import IcmpPinger, MediumSpec, Udp694
from pyvrrp.observe.status import DEFAULT_SOCKET, ControlError, ControlServer
from pyvrrp.proto import heartbeat as hp
from pyvrrp.wire import heartbeat as hw

log = logging.getLogger("pyvrrp.heartbeat")

HB_LIB_DIR = "/var/lib/heartbeat"
SCRIPT_TIMEOUT = 60.0
GARP_REPEAT = 5  # IPaddr's send_arp: 5 ARPs (plus the kernel's own) ...
GARP_INTERVAL = 0.25  # ... 250 ms apart (heartbeat-protocol.md §1)

__all__ = ["Identity", "load_identity", "run_heartbeat"]


# ---------------------------------------------------------------------------------------------- identity


@dataclass(frozen=True, slots=True)
class Identity:
    uuid: bytes
    generation: int


def _read_generation(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _write_file(path: str, data: bytes, mode: int = 0o644) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_identity(state_dir: str, hb_lib_dir: str = HB_LIB_DIR) -> Identity:
    """The node uuid (kept) and the next generation (= max of both files + 1, heartbeat's
    IncrGeneration; time() on the very first start), written back to both places before use."""
    dirs = [d for d in (hb_lib_dir, state_dir) if d and os.path.isdir(d)]
    if not dirs:
        os.makedirs(state_dir, mode=0o755, exist_ok=True)
        dirs = [state_dir]
    uuid = None
    for d in dirs:
        try:
            with open(os.path.join(d, "hb_uuid"), "rb") as f:
                data = f.read()
            if len(data) == 16 and data != b"\0" * 16:
                uuid = data
                break
        except OSError:
            continue
    if uuid is None:
        uuid = uuidlib.uuid4().bytes
    gens = [g for g in (_read_generation(os.path.join(d, "hb_generation")) for d in dirs) if g is not None]
    generation = max(gens) + 1 if gens else int(time.time())
    for d in dirs:
        _write_file(os.path.join(d, "hb_uuid"), uuid, 0o644)
        # hb_generation: "%15lu\n" (16 bytes), as heartbeat's IncrGeneration writes it
        _write_file(os.path.join(d, "hb_generation"), b"%15d\n" % generation, 0o644)
    return Identity(uuid, generation)


# ---------------------------------------------------------------------------------------------- resources


class ResourceRunner:
    """Carries out Acquire/Release one at a time (heartbeat serializes resource scripts)."""

    def __init__(self, cfg: HaConfig, garp_repeat: int = GARP_REPEAT) -> None:
        self.cfg = cfg
        self.groups = {g.key: g for g in cfg.haresources.groups}
        self.nl: NetlinkOps | None = None
        self.garp: GarpPool | None = None
        self.garp_repeat = garp_repeat
        self.tasks: set[asyncio.Task] = set()

    async def open(self) -> None:
        self.nl = NetlinkOps()
        await self.nl.open()
        self.garp = GarpPool()

    def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        if self.nl is not None:
            self.nl.close()
        if self.garp is not None:
            self.garp.close()

    async def _resolve_ip(self, ip: IpResource) -> tuple[str, VipConfig] | None:
        """IPaddr's find_interface: the interface (and prefix) of a subnet containing the address."""
        assert self.nl is not None
        if ip.dev and ip.prefixlen is not None:
            return ip.dev, ip.vip()
        names = [ip.dev] if ip.dev else [n for _i, n in socket_if_names()]
        for name in names:
            for addr, plen, _label in await self.nl.addresses(name, 4):
                if not isinstance(addr, IPv4Address) or plen == 32:
                    continue
                net = IPv4Interface(f"{addr}/{plen}").network
                if ip.address in net or ip.dev:
                    return name, ip.vip(name, ip.prefixlen if ip.prefixlen is not None else plen)
        if ip.dev:
            return ip.dev, ip.vip(ip.dev, 32)
        return None

    async def _script(self, res: Resource, action: str) -> int:
        path = resolve_script(self.cfg.ha_dir, res.name)
        if path is None:
            log.error("resource %s: no script in %s/resource.d or /etc/init.d", res.name, self.cfg.ha_dir)
            return 5
        argv = [path, *res.args, action]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as e:
            log.error("Running %s failed: %s", " ".join(argv), e.strerror or e)
            return 5
        try:
            rc = await asyncio.wait_for(proc.wait(), SCRIPT_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            log.error("Running %s: timed out", " ".join(argv))
            return 1
        log.info("Running %s %s: rc=%d", res.name, action, rc)
        return rc

    async def acquire(self, keys: tuple[str, ...]) -> bool:
        ok = True
        for key in keys:
            g = self.groups.get(key)
            if g is None:
                continue
            log.info("Acquiring resource group: %s %s", g.node, " ".join(r.token for r in g.resources))
            ok &= await self._take(g)
        return ok

    async def release(self, keys: tuple[str, ...]) -> bool:
        ok = True
        for key in reversed(keys):
            g = self.groups.get(key)
            if g is None:
                continue
            log.info("Releasing resource group: %s %s", g.node, " ".join(r.token for r in g.resources))
            ok &= await self._give(g)
        return ok

    async def _take(self, g: ResourceGroup) -> bool:
        assert self.nl is not None and self.garp is not None
        ok = True
        for res in g.resources:
            if res.ip is not None:
                where = await self._resolve_ip(res.ip)
                if where is None:
                    log.error("%s: no interface has a subnet for %s", res.token, res.ip.address)
                    ok = False
                    continue
                dev, vip = where
                try:
                    await self.nl.add_vip(dev, vip)
                except Exception as e:  # noqa: BLE001 - netlink errors are reported, not fatal
                    log.error("%s: adding %s on %s failed: %s", res.token, vip.address, dev, e)
                    ok = False
                    continue
                log.info("IPaddr %s added on %s (label %s)", vip.address, dev, vip.label or dev)
                try:
                    sender = self.garp.get(dev)
                except OSError as e:
                    log.warning("%s: no gratuitous ARP: %s", dev, e)
                    continue
                task = asyncio.ensure_future(sender.burst((vip,), self.garp_repeat, GARP_INTERVAL))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            else:
                rc = await self._script(res, "status")
                if rc == 0:
                    continue
                if await self._script(res, "start") != 0:
                    ok = False
        return ok

    async def _give(self, g: ResourceGroup) -> bool:
        assert self.nl is not None
        ok = True
        for res in reversed(g.resources):
            if res.ip is not None:
                where = await self._resolve_ip(res.ip)
                if where is None:
                    continue
                dev, vip = where
                try:
                    if await self.nl.remove_vip(dev, vip):
                        log.info("IPaddr %s removed from %s", vip.address, dev)
                except Exception as e:  # noqa: BLE001
                    log.error("%s: removing %s failed: %s", res.token, vip.address, e)
                    ok = False
            elif await self._script(res, "stop") != 0:
                # heartbeat would reboot the machine here; pyvrrp reports and carries on
                log.error("%s stop failed: resource may still be running", res.name)
                ok = False
        return ok

    async def held_keys(self) -> list[str]:
        """Groups whose addresses are present here (for the status file)."""
        out = []
        for key, g in self.groups.items():
            for ip in g.vips:
                where = await self._resolve_ip(ip)
                if where and self.nl is not None and await self.nl.has_address(where[0], ip.address):
                    out.append(key)
                    break
        return out


def socket_if_names() -> list[tuple[int, str]]:
    return [(i, n) for i, n in socket.if_nameindex() if n != "lo"]


# ---------------------------------------------------------------------------------------------- driver


class HeartbeatDaemon:
    """One node: the machine, its media, pinger, resources, FIFO and status file."""

    def __init__(
        self,
        cfg: HaConfig,
        node_name: str,
        ident: Identity,
        state_dir: str,
        hb_lib_dir: str = HB_LIB_DIR,
        log_detail: bool = False,
        control_socket: str | None = None,
    ) -> None:
        self.cfg = cfg
        self.control_socket = control_socket
        self.control: ControlServer | None = None
        self.name = node_name
        self.state_dir = state_dir
        self.hb_lib_dir = hb_lib_dir
        self.log_detail = log_detail
        cf = cfg.ha_cf
        assert cfg.authkeys is not None
        self.key = cfg.authkeys.active
        self.keys = cfg.authkeys.by_num()
        ping_names = tuple(str(a) for a in cf.ping) + tuple(g.name for g in cf.ping_groups)
        self.ping_of: dict[str, str] = {str(a): str(a) for a in cf.ping}
        for g in cf.ping_groups:
            for a in g.addresses:
                self.ping_of[str(a)] = g.name
        self.params = hp.HbParams(
            node=node_name,
            nodes=cf.nodes,
            groups=tuple((g.node, g.key) for g in cfg.haresources.groups),
            ping_nodes=ping_names,
            keepalive=cf.keepalive,
            deadtime=cf.deadtime,
            warntime=cf.eff_warntime,
            initdead=cf.eff_initdead,
            deadping=cf.eff_deadping,
            auto_failback=cf.auto_failback != "off",
            ipfail=cf.ipfail,
            hopfudge=cf.hopfudge,
            max_rexmit_delay=cf.max_rexmit_delay,
            uuid=ident.uuid,
            generation=ident.generation,
            wall_offset=time.time() - time.monotonic(),
        )
        self.node = hp.HbNode(self.params)
        self.events: asyncio.Queue[hp.Event] = asyncio.Queue()
        self.ops: asyncio.Queue[hp.Acquire | hp.Release] = asyncio.Queue()
        self.media = Udp694(
            MediumSpec(
                m.kind,
                m.dev,
                "255.255.255.255" if m.kind == "bcast" else str(m.peer),
                m.port or cf.udpport,
                m.ttl,
                m.loop,
            )
            for m in cf.media
        )
        self.pinger = IcmpPinger(self.ping_of)
        self.resources = ResourceRunner(cfg)
        self.exit_code: int | None = None
        self.fifo_path = os.path.join(hb_lib_dir, "fifo") if os.path.isdir(hb_lib_dir) else None
        self.fifo_fd: int | None = None
        self.fifo_buf = b""

    # -- receive callbacks (event loop thread)
    def _on_datagram(self, data: bytes, addr: tuple, dev: str) -> None:
        try:
            rx = hw.decode(data)
        except DecodeError as e:
            log.debug("from %s: %s", addr[0], e)
            self.events.put_nowait(hp.BadPacket("hb_format_err", str(e)))
            return
        if not hw.verify(rx, self.keys, self.key):
            what = "netstring authentication failed" if rx.fmt == "netstring" else "failed authentication"
            log.warning("%s from %s: %s", rx.msg.get("t"), addr[0], what)
            self.events.put_nowait(hp.BadPacket("hb_auth_err", what))
            return
        self.events.put_nowait(hp.MsgIn(rx.msg, dev))

    def _on_ping(self, addr: str, data: bytes) -> None:
        # ping.c: the echo data is our signed NS_st; a reply that does not authenticate is ignored
        try:
            rx = hw.decode(data)
        except DecodeError:
            return
        if not hw.verify(rx, self.keys, self.key) or rx.msg.get("t") != "NS_st":
            return
        self.events.put_nowait(hp.PingIn(self.ping_of.get(addr, addr)))

    def _ping_payload(self, target: str) -> bytes:
        msg = hw.HbMessage.build(
            ("t", "NS_st"),
            ("st", "ping"),
            ("info", "ping"),
            ("src", target),
            ("ts", format(int(time.time()), "x")),
        )
        return hw.encode(msg, self.key)

    def _on_fifo(self) -> None:
        assert self.fifo_fd is not None
        try:
            chunk = os.read(self.fifo_fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            return
        self.fifo_buf += chunk
        while b"<<<" in self.fifo_buf:
            head, _, self.fifo_buf = self.fifo_buf.partition(b"<<<")
            self.fifo_buf = self.fifo_buf.lstrip(b"\r\n\0")
            start = head.rfind(b">>>")
            if start < 0:
                continue
            fields = []
            for line in head[start + 3 :].splitlines():
                name, eq, value = line.partition(b"=")
                if eq and name.strip():
                    fields.append(hw.HbField(name.strip().decode("ascii", "replace"), value))
            if fields:
                self.events.put_nowait(hp.LocalMsg(hw.HbMessage(tuple(fields))))

    def _open_fifo(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.fifo_path is None:
            return
        try:
            st = os.lstat(self.fifo_path)
            if not stat.S_ISFIFO(st.st_mode):
                os.unlink(self.fifo_path)
                raise FileNotFoundError
        except FileNotFoundError:
            try:
                os.mkfifo(self.fifo_path, 0o600)
            except OSError as e:
                log.warning("cannot create FIFO %s: %s", self.fifo_path, e.strerror)
                return
        except OSError:
            return
        # O_RDWR keeps a writer open so EOF never spins the reader
        self.fifo_fd = os.open(self.fifo_path, os.O_RDWR | os.O_NONBLOCK)
        loop.add_reader(self.fifo_fd, self._on_fifo)

    # -- actions
    def _execute(self, actions: list[hp.Action]) -> None:
        for a in actions:
            if isinstance(a, hp.Send):
                self.media.send(hw.encode(a.msg, self.key))
                if self.log_detail:
                    log.debug(
                        "sent %s seq=%s%s", a.msg.get("t"), a.msg.get("seq"), " (rexmit)" if a.rexmit else ""
                    )
            elif isinstance(a, hp.Acquire | hp.Release):
                self.ops.put_nowait(a)
            elif isinstance(a, hp.PingProbe):
                self.pinger.send(self._ping_payload)
            elif isinstance(a, hp.NodeStatus):
                self._write_status()
            elif isinstance(a, hp.Log):
                level = {"crit": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING}.get(
                    a.level, logging.DEBUG if a.level == "debug" else logging.INFO
                )
                log.log(level, "%s", a.msg)
            elif isinstance(a, hp.Exit):
                self.exit_code = a.code

    def status_doc(self) -> dict:
        """The control socket's ``status`` answer: no VRRP instances, a ``heartbeat`` section."""
        snap = self.node.snapshot()
        snap["groups"] = [{"owner": node, "key": key} for node, key in self.params.groups]
        return {
            "ok": True,
            "mode": "heartbeat",
            "pid": os.getpid(),
            "time": time.time(),
            "instances": [],
            "heartbeat": snap,
        }

    def _admin(self, kind: str, args: list[str]) -> dict:
        rsc = args[0] if args else "all"
        if rsc not in ("all", "local", "foreign", "failback"):
            return {"ok": False, "error": f"{kind}: resources must be all, local, foreign or failback"}
        ev = hp.AdminStandby(rsc) if kind == "standby" else hp.AdminTakeover(rsc)
        self.events.put_nowait(ev)
        return {"ok": True, "queued": f"{kind} {rsc}"}

    async def _open_control(self) -> None:
        if not self.control_socket:
            return
        server = ControlServer(
            self.control_socket,
            {
                "status": lambda args: self.status_doc(),
                "ping": lambda args: {"ok": True, "pong": True},
                "standby": lambda args: self._admin("standby", args),
                "takeover": lambda args: self._admin("takeover", args),
            },
        )
        try:
            await server.start()
        except (ControlError, OSError) as e:
            log.warning("no control socket: %s", e)
            return
        self.control = server

    def _write_status(self) -> None:
        snap = self.node.snapshot()
        snap["time"] = time.time()
        snap["pid"] = os.getpid()
        with contextlib.suppress(OSError):
            _write_file(os.path.join(self.state_dir, "heartbeat.json"), json.dumps(snap, indent=1).encode())

    async def _op_worker(self) -> None:
        while True:
            a = await self.ops.get()
            try:
                if isinstance(a, hp.Acquire):
                    ok = await self.resources.acquire(a.groups)
                else:
                    ok = await self.resources.release(a.groups)
            except Exception as e:  # noqa: BLE001 - a failed resource must not stop the node
                log.error("resource operation %s failed: %s", a.reason, e)
                ok = False
            self.events.put_nowait(hp.ResourceOpDone(a.op, ok))

    async def _housekeeping(self) -> None:
        """Every second: refresh the status file (counters); every 5 s: the ``ld`` load average."""
        n = 0
        while True:
            if n % 5 == 0:
                with contextlib.suppress(OSError):
                    with open("/proc/loadavg") as f:
                        self.node.ld = f.read().strip()
            self._write_status()
            n += 1
            await asyncio.sleep(1)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        os.makedirs(self.state_dir, exist_ok=True)
        await self.resources.open()
        try:
            self.media.open(loop, self._on_datagram)
            self.pinger.open(loop, self._on_ping)
        except OSError as e:
            self.media.close()
            self.resources.close()
            devs = ", ".join(sorted({m.dev for m in self.media.media}))
            raise PyvrrpError(f"cannot open the heartbeat media on {devs}: {e.strerror or e}") from None
        self._open_fifo(loop)
        await self._open_control()
        stopping = False

        def on_signal() -> None:
            nonlocal stopping
            if not stopping:
                stopping = True
                log.info("Received shutdown signal.")
            self.events.put_nowait(hp.Stop())

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        workers = [asyncio.create_task(self._op_worker()), asyncio.create_task(self._housekeeping())]
        try:
            log.info("Configuration validated. Starting pyvrrp heartbeat mode as node %s", self.name)
            self._execute(self.node.handle(hp.Start(), time.monotonic()))
            self._write_status()
            while self.exit_code is None:
                deadline = self.node.next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    ev = await asyncio.wait_for(self.events.get(), timeout)
                except TimeoutError:
                    ev = hp.Tick()
                self._execute(self.node.handle(ev, time.monotonic()))
                if isinstance(ev, hp.ResourceOpDone | hp.Stop):
                    self._write_status()
            log.info("heartbeat mode stopped.")
            return self.exit_code
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)
            for w in workers:
                w.cancel()
            for w in workers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await w
            if self.control is not None:
                await self.control.close()
            self.media.close()
            self.pinger.close()
            self.resources.close()
            if self.fifo_fd is not None:
                with contextlib.suppress(Exception):
                    loop.remove_reader(self.fifo_fd)
                os.close(self.fifo_fd)
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.state_dir, "heartbeat.json"))


async def run_heartbeat(
    ha_dir: str,
    *,
    node_name: str | None,
    log_detail: bool,
    state_dir: str,
    pidfile: str | None = None,
    hb_lib_dir: str = HB_LIB_DIR,
    control_socket: str | None = DEFAULT_SOCKET,
) -> int:
    """Run one heartbeat-compatible node until SIGTERM/SIGINT (graceful: release, ``shutdone``).
    Returns the exit code. Raises :class:`ConfigError` for a configuration that cannot run.

    ``control_socket``: answers ``status`` (``pyvrrp status --json`` shows a ``heartbeat`` section),
    ``standby [all|local|foreign|failback]`` and ``takeover [...]``; None disables it."""
    cfg = require(load_ha_dir(ha_dir))
    me = (node_name or os.uname().nodename).lower()
    if me not in cfg.ha_cf.nodes:
        raise ConfigError(
            os.path.join(ha_dir, "ha.cf"), 0, f"this node's name {me!r} is not a 'node' in ha.cf"
        )
    if cfg.authkeys is None:
        raise ConfigError(os.path.join(ha_dir, "authkeys"), 0, "no usable key")
    for d in cfg.diagnostics:
        if d.level == "warning":
            log.warning("%s", d)
    os.makedirs(state_dir, exist_ok=True)
    ident = load_identity(state_dir, hb_lib_dir)
    log.info("Heartbeat generation: %d", ident.generation)
    if pidfile:
        _write_file(pidfile, b"%d\n" % os.getpid())
    try:
        while True:
            daemon = HeartbeatDaemon(cfg, me, ident, state_dir, hb_lib_dir, log_detail, control_socket)
            code = await daemon.run()
            if code != hp.RESTART_EXIT:
                return code
            # heartbeat's cause_shutdown_restart: resources released, start again with generation+1
            ident = load_identity(state_dir, hb_lib_dir)
            log.warning("Restarting (generation %d).", ident.generation)
    finally:
        if pidfile:
            with contextlib.suppress(OSError):
                os.unlink(pidfile)
