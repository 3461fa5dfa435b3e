"""The tracking and notify runtime: turns ``vrrp_script``, ``track_interface`` (plus the implicit tracking of
the instance interface and every VIP ``dev``), ``track_file`` and ``vrrp_track_process`` into per-instance
:class:`~pyvrrp.proto.events.TrackerChanged` events, runs the notify scripts/FIFOs on every transition, and
wires the sync groups (:mod:`pyvrrp.runtime.sync`).

Entry point (called by :mod:`pyvrrp.runtime.main` after ``daemon.prepare()``, before the instances start)::

    await attach(daemon)   builds the probes from daemon.config, queries the link states, registers the
                           transition / rx_lower / link / reload / stop hooks and an ``initial_trackers``
                           provider: each instance starts with its trackers' state (keepalived
                           ``initialise_tracking_priorities``: a weight-0 script holds FAULT until its first
                           result, a down interface starts the instance in FAULT), and the sync groups are
                           wired when their last member is created, before its ``Startup``. Then the probes
                           start (the first script runs at once).

If ``attach`` is called after the instances already started (an older daemon), their current state is
notified once and the trackers are pushed as ordinary changes.

Every tracker reaches an instance under a ``kind:name`` key (``script:chk_nginx``, ``interface:eth0``,
``file:tf``, ``process:nginx``) with keepalived's arithmetic (:mod:`pyvrrp.track.policy`). Interfaces are
merged per instance as keepalived's ``add_vrrp_to_interface``: one entry per interface; the implicit
(weight 0) tracking of the instance interface or a VIP ``dev`` turns a weighted ``track_interface`` of the same
interface into a FAULT trigger. ``dont_track_primary`` drops the implicit entry for the instance interface
(and for VIPs on it); a VIP with ``no_track`` is not tracked.

Reload keeps each script's rise/fall state (``clear_diff_script``) and re-pushes every instance's trackers;
trackers no longer configured are cleared (pushed as zero). Shutdown: ``notify_stop`` (and ``… STOP``) for
every instance not already notified STOP, group STOP notifies, waits at most 1 s for them, stops the probes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyvrrp._types import State
from pyvrrp.config.model import Config, InstanceConfig, SyncGroupConfig, TrackRef
from pyvrrp.io.netlink import LinkEvent
from pyvrrp.io.notify import Notifier
from pyvrrp.proto.actions import NotifyRxLowerPri, Transition
from pyvrrp.proto.events import TrackerChanged
from pyvrrp.runtime.sync import SyncRuntime
from pyvrrp.track import policy
from pyvrrp.track.file import FileTracker
from pyvrrp.track.interface import LinkTracker
from pyvrrp.track.process import ProcessTracker
from pyvrrp.track.script import RunResult, VrrpScript

if TYPE_CHECKING:
    from pyvrrp.runtime.daemon import Daemon, InstanceDriver

log = logging.getLogger("pyvrrp.vrrp")

NOT_TRACKED = object()


@dataclass(frozen=True, slots=True)
class Binding:
    """One tracker as seen by one instance."""

    kind: str  # script | interface | file | process
    target: str  # script/file/process name or interface name
    weight: int
    reverse: bool

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.target}"


def _merge_interface(
    out: dict[str, tuple[int, bool] | None], name: str, weight: int | None, reverse: bool
) -> None:
    """keepalived ``add_vrrp_to_interface``: ``None`` weight is VRRP_NOT_TRACK_IF (dont_track_primary)."""
    if name not in out:
        out[name] = None if weight is None else (weight, reverse)
        return
    cur = out[name]
    if weight is None:
        return
    if cur is None or cur[0] != 0:
        # "We will use the sync group's weight unless the vrrp setting is unweighted"
        out[name] = (weight, reverse)


def bindings_for(
    inst: InstanceConfig, config: Config, group: SyncGroupConfig | None = None
) -> dict[str, Binding]:
    """Every tracker of ``inst`` (its own, its sync group's, the implicit interfaces) with weights resolved."""
    scripts = {s.name: s for s in config.scripts}
    files = {f.name: f for f in config.track_files}
    procs = {p.name: p for p in config.track_processes}
    out: dict[str, Binding] = {}

    def refs(own: tuple[TrackRef, ...], grp: tuple[TrackRef, ...]) -> list[TrackRef]:
        return list(own) + [r for r in grp if all(r.name != o.name for o in own)]

    for ref in refs(inst.track_scripts, group.track_scripts if group else ()):
        sc = scripts.get(ref.name)
        if sc is None:
            continue  # the parser warned (file:line) and ignores it
        w = policy.clamp_weight(ref.weight if ref.weight is not None else sc.weight)
        b = Binding("script", ref.name, w, ref.reverse if ref.reverse is not None else sc.reverse)
        out[b.key] = b
    for ref in refs(inst.track_files, group.track_files if group else ()):
        tf = files.get(ref.name)
        if tf is None:
            continue
        w = ref.weight if ref.weight is not None else tf.weight
        b = Binding("file", ref.name, w, ref.reverse if ref.reverse is not None else tf.reverse)
        out[b.key] = b
    for ref in refs(inst.track_processes, group.track_processes if group else ()):
        tp = procs.get(ref.name)
        if tp is None:
            continue
        w = ref.weight if ref.weight is not None else tp.weight
        b = Binding("process", ref.name, w, ref.reverse if ref.reverse is not None else tp.reverse)
        out[b.key] = b
    # interfaces, in keepalived's order: track_interface, the instance interface, VIP devs, the group's
    ifs: dict[str, tuple[int, bool] | None] = {}
    for ref in inst.track_interfaces:
        _merge_interface(ifs, ref.name, policy.clamp_weight(ref.weight or 0), bool(ref.reverse))
    primary = inst.interface
    if primary:
        _merge_interface(ifs, primary, None if inst.dont_track_primary else 0, False)
    for vip in (*inst.vips, *inst.evips):
        dev = vip.dev or primary
        if not dev or vip.no_track:
            continue
        if inst.dont_track_primary and dev == primary:
            continue
        _merge_interface(ifs, dev, 0, False)
    if group is not None:
        for ref in group.track_interfaces:
            _merge_interface(ifs, ref.name, policy.clamp_weight(ref.weight or 0), bool(ref.reverse))
    for name, wr in ifs.items():
        if wr is None:
            continue
        b = Binding("interface", name, wr[0], wr[1])
        out[b.key] = b
    return out


class Tracking:
    """Probes, bindings and notifies of one daemon."""

    def __init__(self, daemon: Daemon) -> None:
        assert daemon.config is not None
        self.daemon = daemon
        self.config: Config = daemon.config
        self.notifier = Notifier(self.config)
        self.links = LinkTracker(self._on_link)
        self.scripts: dict[str, VrrpScript] = {}
        self.files: dict[str, FileTracker] = {}
        self.procs: ProcessTracker | None = None
        self.bindings: dict[str, dict[str, Binding]] = {}
        self.pushed: dict[str, dict[str, TrackerChanged]] = {}
        self.notified: dict[str, State] = {}
        self.sync = SyncRuntime(daemon, self._on_group_state)
        self.started = False
        self.hooks_registered = False
        self._reload_task: asyncio.Task[None] | None = None
        # observe reads these (pyvrrp.observe.view)
        daemon.script_status = {}
        daemon.scripts_running = set()
        self._build_probes(self.config, carry={})
        self._rebind()

    # -- construction --------------------------------------------------------------------------------
    def _used(self, config: Config) -> tuple[set[str], set[str], set[str]]:
        groups = {g.name: g for g in config.sync_groups}
        member = {m: groups[g.name] for g in config.sync_groups for m in g.members}
        s: set[str] = set()
        f: set[str] = set()
        p: set[str] = set()
        for inst in config.instances:
            for b in bindings_for(inst, config, member.get(inst.name)).values():
                {"script": s, "file": f, "process": p}.get(b.kind, set()).add(b.target)
        return s, f, p

    def _build_probes(self, config: Config, carry: dict[str, policy.RiseFall]) -> None:
        used_s, used_f, used_p = self._used(config)
        for sc in config.scripts:
            if sc.name not in used_s:
                continue  # keepalived removes unused scripts
            counter = None
            if sc.name in carry:
                counter = carry[sc.name].carry_over(sc.rise, sc.fall, sc.init_fail)
                log.info(
                    "VRRP_Script(%s) considered %s on reload",
                    sc.name,
                    "successful" if counter.ok else "unsuccessful" if counter.ok is False else "not run yet",
                )
            self.scripts[sc.name] = VrrpScript(sc, config.globals, self._on_script, counter, self._on_run)
        for tf in config.track_files:
            if tf.name in used_f:
                self.files[tf.name] = FileTracker(tf, self._on_file)
        pcfgs = [p for p in config.track_processes if p.name in used_p]
        self.procs = ProcessTracker(pcfgs, self._on_process) if pcfgs else None

    def _group_cfg(self, inst: str) -> SyncGroupConfig | None:
        for g in self.config.sync_groups:
            if inst in g.members:
                return g
        return None

    def _rebind(self) -> None:
        self.bindings = {
            inst.name: bindings_for(inst, self.config, self._group_cfg(inst.name))
            for inst in self.config.instances
        }

    def interface_names(self) -> set[str]:
        return {b.target for bs in self.bindings.values() for b in bs.values() if b.kind == "interface"}

    # -- computing -----------------------------------------------------------------------------------
    def change_for(self, b: Binding) -> TrackerChanged:
        if b.kind == "script":
            sc = self.scripts.get(b.target)
            ok = sc.ok if sc is not None else None  # not built yet (a reload in progress): no result
            delta, fault = policy.contribution(b.weight, b.reverse, ok)
            reason = policy.describe(b.target, ok, b.weight, b.reverse)
        elif b.kind == "interface":
            up = self.links.up(b.target)
            delta, fault = policy.contribution(b.weight, b.reverse, up)
            reason = f"interface {b.target} {'up' if up else 'down'} (weight {b.weight}{' reverse' if b.reverse else ''})"
        elif b.kind == "file":
            ft = self.files.get(b.target)
            value = ft.value if ft is not None else 0
            delta, fault = policy.file_contribution(b.weight, b.reverse, value)
            reason = (
                f"track_file {b.target} value {value} (weight {b.weight}{' reverse' if b.reverse else ''})"
            )
        else:
            q = self.procs.have_quorum(b.target) if self.procs is not None else False
            delta, fault = policy.contribution(b.weight, b.reverse, q)
            reason = f"track_process {b.target} quorum {'gained' if q else 'lost'} (weight {b.weight}{' reverse' if b.reverse else ''})"
        return TrackerChanged(name=b.key, delta=delta, fault=fault, reason=reason)

    def push(self, instance: str, only: set[str] | None = None, direct: bool = False) -> None:
        """Send every changed contribution of ``instance`` to its machine (``direct``: before Startup,
        straight into the machine without executing actions)."""
        drv = self.daemon.drivers.get(instance)
        if drv is None:
            return
        sent = self.pushed.setdefault(instance, {})
        for key, b in self.bindings.get(instance, {}).items():
            if only is not None and key not in only:
                continue
            ch = self.change_for(b)
            if sent.get(key) == ch:
                continue
            sent[key] = ch
            self._feed(drv, ch, direct)
        # trackers no longer configured (reload): clear their contribution
        for key in [k for k in sent if k not in self.bindings.get(instance, {})]:
            del sent[key]
            self._feed(drv, TrackerChanged(name=key, reason=f"{key} no longer tracked"), direct)

    def _feed(self, drv: InstanceDriver, ch: TrackerChanged, direct: bool) -> None:
        before = drv.machine.effective_priority
        if direct:
            drv.execute(drv.machine.handle(ch, self.daemon.now()))  # before Startup: only Log lines
        else:
            self.daemon.update_tracker(drv.name, ch)
        after = drv.machine.effective_priority
        if (
            after != before
            and drv.cfg.notify_priority_changes
            and drv.machine.state in (State.MASTER, State.BACKUP)
        ):
            self.notifier.priority_change(drv.cfg, drv.machine.state, after)

    def push_target(self, kind: str, target: str) -> None:
        key = f"{kind}:{target}"
        for inst, bs in self.bindings.items():
            if key in bs:
                self.push(inst, only={key})

    # -- probe callbacks -----------------------------------------------------------------------------
    def _on_script(self, sc: VrrpScript, ok: bool) -> None:
        self.daemon.script_status[sc.name] = ok
        self.push_target("script", sc.name)

    def _on_run(self, sc: VrrpScript, res: RunResult | None, seconds: float) -> None:
        running: set[str] = self.daemon.scripts_running
        if res is None:
            running.add(sc.name)
            return
        running.discard(sc.name)
        if res.error == "":
            record_duration(self.daemon, sc, res, seconds)

    def _on_link(self, name: str, up: bool) -> None:
        self.push_target("interface", name)

    def _on_file(self, ft: FileTracker, value: int) -> None:
        self.push_target("file", ft.name)

    def _on_process(self, name: str, have: bool) -> None:
        self.push_target("process", name)

    # -- daemon hooks --------------------------------------------------------------------------------
    def on_transition(self, drv: InstanceDriver, t: Transition) -> None:
        state = t.new
        if state not in (State.MASTER, State.BACKUP, State.FAULT, State.STOP):
            return
        current = self.daemon.config or self.config  # during a reload the daemon already holds the new one
        if state is State.STOP and all(i.name != drv.name for i in current.instances):
            state = State.DELETED  # removed by a reload (keepalived notifies FAULT unless notify_deleted)
        if self.sync.suppress_member_notify(drv.name, state):
            self.notified[drv.name] = state
            return
        self.notified[drv.name] = state
        self.notifier.instance(drv.cfg, state, t.priority)

    def on_rx_lower(self, drv: InstanceDriver, a: NotifyRxLowerPri) -> None:
        self.notifier.rx_lower(drv.cfg, a.priority)

    def _on_group_state(self, cfg: SyncGroupConfig, state: State) -> None:
        self.notifier.group(cfg, state)

    def on_link_event(self, ev: LinkEvent) -> None:
        self.links.on_link(ev)

    def on_reload(self, new: Config) -> None:
        if self._reload_task is None or self._reload_task.done():
            self._reload_task = asyncio.get_running_loop().create_task(
                self.reload(new), name="tracking-reload"
            )

    async def reload(self, new: Config) -> None:
        carry = {name: sc.counter for name, sc in self.scripts.items()}
        last_status = {name: sc.last_status for name, sc in self.scripts.items()}
        await self._stop_probes()
        self.config = new
        self.notifier.reconfigure(new)
        self.scripts, self.files, self.procs = {}, {}, None
        self._build_probes(new, carry)
        for name, sc in self.scripts.items():
            sc.last_status = last_status.get(name)  # keepalived: nvscript->last_status = vscript->last_status
        self._rebind()
        self.links.forget(self.interface_names())
        await self.links.prime(self.daemon.nl, self.interface_names())
        self.sync.install(new)
        for name in list(self.pushed):
            if name not in self.daemon.drivers:
                del self.pushed[name]
        for inst in new.instances:
            drv = self.daemon.drivers.get(inst.name)
            if drv is not None and inst.name not in self.notified and drv.machine.state is not State.INIT:
                self.on_transition(
                    drv, Transition(State.INIT, drv.machine.state, drv.machine.effective_priority, "reload")
                )
            self.push(inst.name)
        self._start_probes()

    async def on_stop(self) -> None:
        # keepalived notify_shutdown: every instance STOP, every group STOP
        for drv in list(self.daemon.drivers.values()):
            if self.notified.get(drv.name) is not State.STOP:
                self.notified[drv.name] = State.STOP
                self.notifier.instance(drv.cfg, State.STOP, drv.machine.effective_priority)
        for name, cfg in self.sync.cfgs.items():
            g = self.sync.groups.get(name)
            if g is not None and g.state is not State.STOP:
                self.notifier.group(cfg, State.STOP)
        await self.notifier.wait_stop()
        await self._stop_probes()
        self.notifier.close()

    # -- lifecycle -----------------------------------------------------------------------------------
    def _start_probes(self) -> None:
        for sc in self.scripts.values():
            sc.start()
        for ft in self.files.values():
            ft.start()
        if self.procs is not None:
            self.procs.start()

    async def _stop_probes(self) -> None:
        await asyncio.gather(*(sc.stop() for sc in self.scripts.values()), return_exceptions=True)
        await asyncio.gather(*(ft.stop() for ft in self.files.values()), return_exceptions=True)
        if self.procs is not None:
            await self.procs.stop()

    def register_hooks(self) -> None:
        if self.hooks_registered:
            return
        self.hooks_registered = True
        d = self.daemon
        d.transition_hooks.append(self.on_transition)
        d.rx_lower_hooks.append(self.on_rx_lower)
        d.link_hooks.append(self.on_link_event)
        d.reload_hooks.append(self.on_reload)
        d.stop_hooks.append(self.on_stop)

    def initial_for(self, inst: InstanceConfig) -> list[TrackerChanged]:
        """``daemon.initial_trackers`` provider: the trackers an instance starts with (before ``Startup``)."""
        config = self.daemon.config or self.config
        group = next((g for g in config.sync_groups if inst.name in g.members), None)
        binds = bindings_for(inst, config, group)
        self.bindings[inst.name] = binds
        changes = [self.change_for(b) for b in binds.values()]
        self.pushed[inst.name] = {c.name: c for c in changes}
        if group is not None and all(m in self.daemon.drivers for m in group.members):
            # the last member is being created: wire the group before its Startup
            self.sync.install_group(group)
        return changes

    async def start(self) -> None:
        """Prime the link states, register the hooks, start the probes (see the module docstring)."""
        await self.links.prime(self.daemon.nl, self.interface_names())
        late = bool(self.daemon.drivers)
        self.register_hooks()
        providers = getattr(self.daemon, "initial_trackers", None)
        if providers is not None and not late:
            providers.append(self.initial_for)
        else:
            # the first transition (INIT -> BACKUP/FAULT/MASTER) happened before our hook existed
            for drv in list(self.daemon.drivers.values()):
                st = drv.machine.state
                if st is not State.INIT:
                    self.on_transition(
                        drv, Transition(State.INIT, st, drv.machine.effective_priority, "init")
                    )
            self.sync.install(self.config)
            for inst in self.config.instances:
                self.push(inst.name)
        if self.scripts and not self.config.globals.enable_script_security:
            log.warning("SECURITY VIOLATION - scripts are being executed but script_security not enabled.")
        self._start_probes()
        self.started = True


def _tracking(daemon: Daemon) -> Tracking:
    t: Any = getattr(daemon, "tracking", None)
    if t is None:
        t = Tracking(daemon)
        daemon.tracking = t
    return t


async def attach(daemon: Daemon) -> None:
    """Called by runtime/main.py after ``daemon.prepare()`` (see the module docstring)."""
    await _tracking(daemon).start()


def record_duration(daemon: Daemon, sc: VrrpScript, res: RunResult, seconds: float) -> None:
    """Feed ``pyvrrp_script_duration_seconds`` when the metrics part is attached."""
    durations = getattr(daemon, "script_durations", None)
    if durations is not None:
        with contextlib.suppress(Exception):
            durations.observe(sc.name, seconds)
