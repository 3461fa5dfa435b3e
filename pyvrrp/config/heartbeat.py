"""heartbeat v1 configuration: ``/etc/ha.d/{ha.cf,authkeys,haresources}`` -> frozen dataclasses.

This module owns the meaning of heartbeat 3.0.6's three files (heartbeat ``config.c``: ``parse_config``,
``parse_authfile``, ``add_option``; the ResourceManager's haresources grammar) and the ``-t`` check of a
heartbeat directory (:func:`check_ha_dir`). It reads files but performs no network or process I/O.

Every problem is a :class:`~pyvrrp.config.model.Diagnostic` at ``file:line``; ``level`` "error" means
heartbeat would not start (or pyvrrp cannot do what the line asks), "warning" is accepted with a log line.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface

from pyvrrp.config.model import Diagnostic, VipConfig, Where
from pyvrrp.errors import ConfigError
from pyvrrp.wire.heartbeat import AUTH_METHODS, AuthKey

__all__ = [
    "AuthKeys",
    "HaCf",
    "HaConfig",
    "HaResources",
    "IpResource",
    "Medium",
    "PingGroup",
    "Resource",
    "ResourceGroup",
    "Respawn",
    "check_ha_dir",
    "load_ha_dir",
    "parse_authkeys",
    "parse_ha_cf",
    "parse_haresources",
    "parse_time",
    "resolve_script",
]

# ---------------------------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Medium:
    """A communication link: ``ucast IF PEER``, ``bcast IF...``, ``mcast IF GROUP PORT TTL LOOP``."""

    kind: str  # "ucast" | "bcast" | "mcast"
    dev: str
    peer: IPv4Address | None = None  # ucast peer / mcast group
    port: int | None = None  # mcast: its own port (None: udpport)
    ttl: int = 1
    loop: bool = False
    where: Where = Where()


@dataclass(frozen=True, slots=True)
class PingGroup:
    """``ping_group NAME ip...``: one pseudo-node that is up while any member answers."""

    name: str
    addresses: tuple[IPv4Address, ...]
    where: Where = Where()


@dataclass(frozen=True, slots=True)
class Respawn:
    """``respawn USER PROGRAM [ARGS]``. ``ipfail`` is implemented inside pyvrrp (ipfail parity)."""

    user: str
    argv: tuple[str, ...]
    where: Where = Where()

    @property
    def is_ipfail(self) -> bool:
        return os.path.basename(self.argv[0]) == "ipfail"


@dataclass(frozen=True, slots=True)
class HaCf:
    """ha.cf with heartbeat 3.0.6 defaults (config.c). Times are seconds."""

    keepalive: float = 2.0
    deadtime: float = 30.0
    warntime: float | None = None  # None: not set (heartbeat: deadtime*3/4 warning, not enforced)
    initdead: float | None = None  # None: deadtime
    deadping: float | None = None  # None: deadtime
    udpport: int = 694
    media: tuple[Medium, ...] = ()
    nodes: tuple[str, ...] = ()
    ping: tuple[IPv4Address, ...] = ()
    ping_groups: tuple[PingGroup, ...] = ()
    auto_failback: str = "legacy"  # "on" | "off" | "legacy"
    respawn: tuple[Respawn, ...] = ()
    logfile: str | None = None
    debugfile: str | None = None
    logfacility: str | None = None
    debug: int = 0
    hopfudge: int = 1
    max_rexmit_delay: float = 0.25
    where: Where = Where()

    @property
    def ipfail(self) -> bool:
        return any(r.is_ipfail for r in self.respawn)

    @property
    def eff_initdead(self) -> float:
        return self.deadtime if self.initdead is None else self.initdead

    @property
    def eff_deadping(self) -> float:
        return self.deadtime if self.deadping is None else self.deadping

    @property
    def eff_warntime(self) -> float:
        return self.deadtime * 3 / 4 if self.warntime is None else self.warntime

    @property
    def ping_node_names(self) -> tuple[str, ...]:
        """Names under which ping nodes appear in the membership (heartbeat: the address / group name)."""
        return tuple(str(a) for a in self.ping) + tuple(g.name for g in self.ping_groups)


@dataclass(frozen=True, slots=True)
class AuthKeys:
    """authkeys: ``auth N`` selects the active key used to send and verify (§5)."""

    active: AuthKey
    keys: tuple[AuthKey, ...]

    def by_num(self) -> dict[int, AuthKey]:
        return {k.num: k for k in self.keys}


@dataclass(frozen=True, slots=True)
class IpResource:
    """``[IPaddr|IPaddr2::]ADDR[/PREFIX[/IFACE[:LABEL][/BROADCAST]]]``."""

    address: IPv4Address
    prefixlen: int | None = None  # None: the interface's subnet (resolved by the runtime)
    dev: str | None = None  # None: the interface holding that subnet
    label: str | None = None  # e.g. "eth0:0"
    broadcast: str | None = None

    def vip(self, dev: str | None = None, prefixlen: int | None = None) -> VipConfig:
        plen = self.prefixlen if self.prefixlen is not None else (prefixlen if prefixlen is not None else 32)
        return VipConfig(
            address=IPv4Interface(f"{self.address}/{plen}"),
            dev=self.dev or dev,
            label=self.label,
            brd=self.broadcast,
        )


@dataclass(frozen=True, slots=True)
class Resource:
    """One haresources token: ``NAME[::ARG...]``; ``ip`` is set for IPaddr/IPaddr2 (and bare addresses)."""

    token: str
    name: str
    args: tuple[str, ...] = ()
    ip: IpResource | None = None


@dataclass(frozen=True, slots=True)
class ResourceGroup:
    """One haresources line: the preferred node and its resources in start order."""

    node: str
    resources: tuple[Resource, ...]
    where: Where = Where()

    @property
    def key(self) -> str:
        """heartbeat's group key (``ipaddr`` field of ip-request): the first resource token."""
        return self.resources[0].token

    @property
    def vips(self) -> tuple[IpResource, ...]:
        return tuple(r.ip for r in self.resources if r.ip is not None)


@dataclass(frozen=True, slots=True)
class HaResources:
    groups: tuple[ResourceGroup, ...] = ()

    def local(self, node: str) -> tuple[ResourceGroup, ...]:
        return tuple(g for g in self.groups if g.node == node)

    def foreign(self, node: str) -> tuple[ResourceGroup, ...]:
        return tuple(g for g in self.groups if g.node != node)


@dataclass(frozen=True, slots=True)
class HaConfig:
    """The whole heartbeat directory as pyvrrp understood it."""

    ha_dir: str
    ha_cf: HaCf
    authkeys: AuthKeys | None
    haresources: HaResources
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.level in ("error", "fatal"))

    def exit_code(self) -> int:
        """Like keepalived ``-t``: 0 ok, 4 cannot run (missing/unsafe file), 5 errors."""
        levels = {d.level for d in self.diagnostics}
        if "fatal" in levels:
            return 4
        if "error" in levels:
            return 5
        return 0


# ---------------------------------------------------------------------------------------------- helpers

_TIME = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ms|us|s)?\Z")


def parse_time(text: str) -> float:
    """heartbeat ``get_msec``: ``2``, ``1.5``, ``500ms``, ``250000us`` -> seconds. ValueError if bad."""
    m = _TIME.match(text.strip().lower())
    if not m:
        raise ValueError(f"bad time value {text!r}")
    value = float(m.group(1))
    unit = m.group(2) or "s"
    return value / {"s": 1, "ms": 1000, "us": 1_000_000}[unit]


def _lines(text: str) -> list[tuple[int, list[str]]]:
    """Split into (line number, words), dropping comments (``#`` to end of line) and blank lines."""
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append((no, line.split()))
    return out


# ---------------------------------------------------------------------------------------------- ha.cf

# accepted, no effect in pyvrrp (heartbeat tuning knobs without a v1 wire meaning)
_IGNORED = {
    "use_logd",
    "conn_logd_time",
    "coredumps",
    "realtime",
    "rtprio",
    "msgfmt",
    "uuidfrom",
    "compression",
    "compression_threshold",
    "traditional_compression",
    "apiauth",
    "memreserve",
    "generation_method",
    "env",
    "record_config_changes",
    "record_pengine_inputs",
    "enable_config_writes",
    "autojoin",
}
# heartbeat features pyvrrp does not provide: a clear error naming the line
_UNSUPPORTED = {
    "crm": "crm (pacemaker) mode is not supported; pyvrrp implements heartbeat v1 haresources mode",
    "pacemaker": "pacemaker mode is not supported; pyvrrp implements heartbeat v1 haresources mode",
    "serial": "serial links are not supported (UDP media only)",
    "baud": "serial links are not supported (UDP media only)",
    "mcast6": "mcast6 is not supported (IPv4 ucast/bcast/mcast only)",
    "stonith": "STONITH devices are not supported",
    "stonith_host": "STONITH devices are not supported",
    "watchdog": "the watchdog device is not supported",
    "quorum_server": "quorum_server is not supported",
    "client_child": "client_child is not supported",
    "failfast": "failfast is not supported",
    "ppp": "ppp links are not supported",
}
_OFF = {"off", "no", "false", "0", "n", "f"}
_TIMES = {"keepalive", "deadtime", "warntime", "initdead", "deadping", "max_rexmit_delay"}


def parse_ha_cf(text: str, file: str = "ha.cf") -> tuple[HaCf, list[Diagnostic]]:
    """Parse ha.cf text. Returns the model and the diagnostics (errors keep the defaults)."""
    diags: list[Diagnostic] = []
    values: dict[str, object] = {}
    media: list[Medium] = []
    nodes: list[str] = []
    ping: list[IPv4Address] = []
    groups: list[PingGroup] = []
    respawn: list[Respawn] = []

    def err(no: int, msg: str, level: str = "error") -> None:
        diags.append(Diagnostic(level, Where(file, no), msg))

    def addr(no: int, word: str) -> IPv4Address | None:
        try:
            return IPv4Address(word)
        except ValueError:
            err(no, f"{word!r} is not an IPv4 address")
            return None

    for no, words in _lines(text):
        key, args = words[0].lower(), words[1:]
        if key in _UNSUPPORTED:
            if key in ("crm", "pacemaker") and args and args[0].lower() in _OFF:
                continue
            err(no, f"{words[0]}: {_UNSUPPORTED[key]}")
        elif key in _IGNORED:
            err(no, f"{words[0]}: accepted, no effect in pyvrrp", "warning")
        elif key in _TIMES:
            if len(args) != 1:
                err(no, f"{key} needs exactly one time value")
                continue
            try:
                t = parse_time(args[0])
            except ValueError as e:
                err(no, f"{key}: {e}")
                continue
            if t <= 0:
                err(no, f"{key} must be positive")
                continue
            values[key] = t
        elif key in ("udpport", "hopfudge", "debug"):
            if len(args) != 1 or not args[0].isdigit():
                err(no, f"{key} needs one non-negative integer")
                continue
            n = int(args[0])
            if key == "udpport" and not 0 < n < 65536:
                err(no, f"udpport {n} out of range")
                continue
            values[key] = n
        elif key == "ucast":
            if len(args) < 2:
                err(no, "ucast needs an interface and at least one peer address")
                continue
            for w in args[1:]:
                a = addr(no, w)
                if a is not None:
                    media.append(Medium("ucast", args[0], a, where=Where(file, no)))
        elif key == "bcast":
            if not args:
                err(no, "bcast needs at least one interface")
            for dev in args:
                media.append(Medium("bcast", dev, where=Where(file, no)))
        elif key == "mcast":
            # mcast IF GROUP PORT TTL LOOP (hb_media mcast.c)
            if len(args) != 5:
                err(no, "mcast needs: interface group port ttl loop")
                continue
            a = addr(no, args[1])
            if a is None:
                continue
            if not a.is_multicast:
                err(no, f"mcast group {a} is not a multicast address")
                continue
            try:
                port, ttl, loop = int(args[2]), int(args[3]), int(args[4])
            except ValueError:
                err(no, "mcast port, ttl and loop must be integers")
                continue
            if not (0 < port < 65536 and 1 <= ttl <= 255 and loop in (0, 1)):
                err(no, "mcast port 1-65535, ttl 1-255, loop 0|1")
                continue
            media.append(Medium("mcast", args[0], a, port, ttl, bool(loop), Where(file, no)))
        elif key == "node":
            if not args:
                err(no, "node needs at least one name")
            # heartbeat lower-cases node names (uname -n is lower-cased too)
            for n in args:
                if n.lower() in nodes:
                    err(no, f"node {n} listed twice")
                else:
                    nodes.append(n.lower())
        elif key == "ping":
            if not args:
                err(no, "ping needs at least one address")
            for w in args:
                a = addr(no, w)
                if a is not None:
                    ping.append(a)
        elif key == "ping_group":
            if len(args) < 2:
                err(no, "ping_group needs a name and at least one address")
                continue
            members = tuple(a for a in (addr(no, w) for w in args[1:]) if a is not None)
            groups.append(PingGroup(args[0].lower(), members, Where(file, no)))
        elif key == "auto_failback":
            v = args[0].lower() if len(args) == 1 else ""
            if v in ("on", "yes", "true", "1", "y"):
                values["auto_failback"] = "on"
            elif v in _OFF:
                values["auto_failback"] = "off"
            elif v == "legacy":
                values["auto_failback"] = "legacy"
                err(no, "auto_failback legacy (ip-request protocol) is run as 'on'", "warning")
            else:
                err(no, "auto_failback must be on, off or legacy")
        elif key == "nice_failback":
            v = args[0].lower() if len(args) == 1 else ""
            if v in ("on", "yes", "true", "1", "y"):
                values.setdefault("auto_failback", "off")
                err(no, "nice_failback is deprecated: use auto_failback off", "warning")
            elif v in _OFF:
                values.setdefault("auto_failback", "legacy")
            else:
                err(no, "nice_failback must be on or off")
        elif key == "respawn":
            if len(args) < 2:
                err(no, "respawn needs a user and a program")
                continue
            r = Respawn(args[0], tuple(args[1:]), Where(file, no))
            if not r.is_ipfail:
                err(
                    no,
                    f"respawn {args[1]}: heartbeat API clients cannot connect to pyvrrp; not started",
                    "warning",
                )
            respawn.append(r)
        elif key in ("logfile", "debugfile", "logfacility"):
            if len(args) != 1:
                err(no, f"{key} needs exactly one value")
                continue
            values[key] = args[0]
        else:
            err(no, f"unknown directive {words[0]!r}")

    if not nodes:
        err(0, "no 'node' directive: heartbeat needs the cluster's node names")
    if not media:
        err(0, "no communication link (ucast, bcast or mcast)")
    if "auto_failback" not in values:
        err(0, "auto_failback not set: heartbeat's default 'legacy' is run as 'on'", "warning")
    kw = {k: v for k, v in values.items() if k in HaCf.__dataclass_fields__}
    cf = HaCf(
        media=tuple(media),
        nodes=tuple(nodes),
        ping=tuple(ping),
        ping_groups=tuple(groups),
        respawn=tuple(respawn),
        where=Where(file, 0),
        **kw,  # type: ignore[arg-type]
    )
    if cf.keepalive * 2 > cf.deadtime:
        err(
            0,
            f"deadtime ({cf.deadtime:g} s) should be at least twice keepalive ({cf.keepalive:g} s)",
            "warning",
        )
    if cf.warntime is not None and not cf.keepalive <= cf.warntime <= cf.deadtime:
        err(0, "warntime should be between keepalive and deadtime", "warning")
    return cf, diags


# ---------------------------------------------------------------------------------------------- authkeys


def parse_authkeys(text: str, file: str = "authkeys") -> tuple[AuthKeys | None, list[Diagnostic]]:
    """heartbeat ``parse_authfile``: ``auth N`` and ``N method [key]`` lines."""
    diags: list[Diagnostic] = []
    keys: dict[int, AuthKey] = {}
    active: tuple[int, int] | None = None  # (num, line)
    for no, words in _lines(text):
        if words[0].lower() == "auth":
            if len(words) != 2 or not words[1].isdigit():
                diags.append(Diagnostic("error", Where(file, no), "auth needs one key number"))
                continue
            active = (int(words[1]), no)
            continue
        if not words[0].isdigit() or not 1 <= int(words[0]) <= 15:
            diags.append(Diagnostic("error", Where(file, no), f"bad authkeys line {words[0]!r}"))
            continue
        if len(words) < 2 or words[1].lower() not in AUTH_METHODS:
            diags.append(
                Diagnostic("error", Where(file, no), "authentication method must be crc, md5 or sha1")
            )
            continue
        num, method = int(words[0]), words[1].lower()
        # the key is the rest of the line after the method (may contain spaces)
        raw = text.splitlines()[no - 1].split("#", 1)[0].strip()
        key = raw.split(None, 2)[2].strip() if len(raw.split(None, 2)) > 2 else ""
        if method != "crc" and not key:
            diags.append(Diagnostic("error", Where(file, no), f"{method} needs a key"))
            continue
        if method == "crc":
            diags.append(Diagnostic("warning", Where(file, no), "crc is not authentication, only a checksum"))
        keys[num] = AuthKey(num, method, key.encode())
    if active is None:
        diags.append(Diagnostic("error", Where(file, 0), "no 'auth N' line selecting the active key"))
        return None, diags
    if active[0] not in keys:
        diags.append(Diagnostic("error", Where(file, active[1]), f"auth {active[0]}: no such key"))
        return None, diags
    return AuthKeys(keys[active[0]], tuple(keys.values())), diags


def authkeys_mode_problem(st_mode: int) -> str | None:
    """heartbeat refuses an authkeys file with any group/other permission ("Bad permissions on keyfile")."""
    if st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"bad permissions {stat.S_IMODE(st_mode):04o} on authkeys: must not be group/world accessible (600)"
    return None


# ---------------------------------------------------------------------------------------------- haresources

_IP_NAMES = {"ipaddr", "ipaddr2"}
_IPSPEC = re.compile(r"(\d+\.\d+\.\d+\.\d+)(?:/(\d+))?(?:/([A-Za-z0-9_.\-:@]+))?(?:/(\S+))?\Z")


def _ip_resource(spec: str) -> IpResource:
    m = _IPSPEC.match(spec)
    if not m:
        raise ValueError(f"bad address specification {spec!r}")
    address = IPv4Address(m.group(1))
    plen = int(m.group(2)) if m.group(2) else None
    if plen is not None and not 0 < plen <= 32:
        raise ValueError(f"bad prefix length /{plen}")
    dev, label = m.group(3), None
    if dev and ":" in dev:
        label, dev = dev, dev.split(":", 1)[0]
    return IpResource(address, plen, dev or None, label, m.group(4))


def _resource(token: str) -> Resource:
    name, *args = token.split("::")
    if re.match(r"\d+\.\d+\.\d+\.\d+", name) and not args:
        return Resource(token, "IPaddr", (token,), _ip_resource(token))
    if not name:
        raise ValueError(f"empty resource name in {token!r}")
    if name.lower() in _IP_NAMES:
        if not args:
            raise ValueError(f"{name} needs an address: {name}::ADDR[/PREFIX[/IF]]")
        return Resource(token, name, tuple(args), _ip_resource(args[0]))
    if "/" in name:
        raise ValueError(f"bad resource name {name!r}")
    return Resource(token, name, tuple(args))


def parse_haresources(
    text: str, file: str = "haresources", nodes: tuple[str, ...] = ()
) -> tuple[HaResources, list[Diagnostic]]:
    """Resource groups: ``node res res ...`` with backslash continuation lines."""
    diags: list[Diagnostic] = []
    groups: list[ResourceGroup] = []
    pending: list[str] = []
    start = 0
    keys: set[str] = set()
    for no, line in enumerate(text.splitlines() + [""], 1):
        line = line.split("#", 1)[0].rstrip()
        if not pending:
            start = no
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        words = " ".join(pending).split()
        pending = []
        if not words:
            continue
        where = Where(file, start)
        node, tokens = words[0].lower(), words[1:]
        if nodes and node not in nodes:
            diags.append(Diagnostic("error", where, f"node {words[0]!r} is not a 'node' in ha.cf"))
            continue
        if not tokens:
            diags.append(Diagnostic("error", where, "resource group without resources"))
            continue
        res: list[Resource] = []
        for tok in tokens:
            try:
                res.append(_resource(tok))
            except ValueError as e:
                diags.append(Diagnostic("error", where, str(e)))
        if len(res) != len(tokens):
            continue
        g = ResourceGroup(node, tuple(res), where)
        if g.key in keys:
            diags.append(Diagnostic("error", where, f"resource group {g.key} defined twice"))
            continue
        keys.add(g.key)
        groups.append(g)
    return HaResources(tuple(groups)), diags


def resolve_script(ha_dir: str, name: str, init_dir: str = "/etc/init.d") -> str | None:
    """ResourceManager's lookup: ``HA_DIR/resource.d/NAME``, then ``/etc/init.d/NAME``."""
    for d in (os.path.join(ha_dir, "resource.d"), init_dir):
        path = os.path.join(d, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


# ---------------------------------------------------------------------------------------------- directory


def _read(path: str, diags: list[Diagnostic]) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as e:
        diags.append(Diagnostic("fatal", Where(path, 0), f"cannot read: {e.strerror}"))
        return None


def load_ha_dir(ha_dir: str, init_dir: str = "/etc/init.d") -> HaConfig:
    """Read and check ha.cf, authkeys and haresources of ``ha_dir`` (never raises for bad content)."""
    diags: list[Diagnostic] = []
    cf_path = os.path.join(ha_dir, "ha.cf")
    ak_path = os.path.join(ha_dir, "authkeys")
    hr_path = os.path.join(ha_dir, "haresources")

    text = _read(cf_path, diags)
    cf, d = parse_ha_cf(text or "", cf_path) if text is not None else (HaCf(), [])
    diags += d

    keys: AuthKeys | None = None
    try:
        st = os.stat(ak_path)
    except OSError as e:
        diags.append(Diagnostic("fatal", Where(ak_path, 0), f"cannot read: {e.strerror}"))
    else:
        problem = authkeys_mode_problem(st.st_mode)
        if problem:
            diags.append(Diagnostic("fatal", Where(ak_path, 0), problem))
        else:
            text = _read(ak_path, diags)
            if text is not None:
                keys, d = parse_authkeys(text, ak_path)
                diags += d

    text = _read(hr_path, diags)
    res, d = parse_haresources(text or "", hr_path, cf.nodes) if text is not None else (HaResources(), [])
    diags += d
    for g in res.groups:
        for r in g.resources:
            if r.ip is None and resolve_script(ha_dir, r.name, init_dir) is None:
                diags.append(
                    Diagnostic(
                        "warning",
                        g.where,
                        f"resource {r.name}: no script in {ha_dir}/resource.d or {init_dir}",
                    )
                )
    return HaConfig(ha_dir, cf, keys, res, tuple(diags))


def check_ha_dir(ha_dir: str, node_name: str | None = None) -> int:
    """``pyvrrp --ha-dir DIR -t``: print every diagnostic to stderr, return the exit code."""
    cfg = load_ha_dir(ha_dir)
    diags = list(cfg.diagnostics)
    me = (node_name or os.uname().nodename).lower()
    if cfg.ha_cf.nodes and me not in cfg.ha_cf.nodes:
        # heartbeat refuses to start then; -t may run elsewhere (CI, a staging host): a warning
        diags.append(
            Diagnostic(
                "warning",
                Where(os.path.join(ha_dir, "ha.cf"), 0),
                f"this node's name {me!r} is not a 'node' in ha.cf (the daemon would refuse to start)",
            )
        )
    for d in diags:
        print(f"{d.level}: {d}", file=sys.stderr)
    code = HaConfig(cfg.ha_dir, cfg.ha_cf, cfg.authkeys, cfg.haresources, tuple(diags)).exit_code()
    if code == 0:
        print(f"{ha_dir}: configuration OK", file=sys.stderr)
    return code


def require(cfg: HaConfig) -> HaConfig:
    """Raise the first error as :class:`ConfigError` (for callers that cannot run with errors)."""
    for d in cfg.errors:
        raise ConfigError(d.where.file, d.where.line, d.msg, fatal=d.level == "fatal")
    return cfg
