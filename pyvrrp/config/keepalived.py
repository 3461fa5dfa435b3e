"""keepalived.conf -> :class:`pyvrrp.config.model.Config`.

The block/keyword walk is a port of keepalived 2.2.7 ``lib/parser.c process_stream`` and
``alloc_value_block`` (so error cascades such as an unknown keyword followed by ``{`` behave the same),
with handlers after ``keepalived/vrrp/vrrp_parser.c`` and ``keepalived/core/global_parser.c``.
Instance completion and cross checks (``vrrp_complete_instance``, ``check_vrid_conflicts``) live in
:mod:`pyvrrp.config.validate`.

Never raises for content: every problem becomes a :class:`Diagnostic`. Pure: reads files only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_interface
from typing import Any

from pyvrrp.config import keywords as K
from pyvrrp.config.lexer import Lexer, Line, split_command
from pyvrrp.config.model import (
    Config,
    Diagnostic,
    Notify,
    TrackRef,
    UnicastPeer,
    VipConfig,
    Where,
)
from pyvrrp.errors import ConfigError

TIMER_HZ_DIGITS = 6
SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}


# --------------------------------------------------------------------------------------------
# mutable builders (frozen into the model by validate.finish)
# --------------------------------------------------------------------------------------------
@dataclass
class InstB:
    name: str
    where: Where
    interface: str | None = None
    interface_where: Where | None = None
    vrid: int | None = None
    priority: int | None = None
    state: str | None = None
    version: int | None = None
    version_where: Where | None = None
    advert_int: float | None = None
    auth_type: int = 0
    auth_pass: bytes = b""
    family: int | None = None
    vips: list[VipConfig] = field(default_factory=list)
    evips: list[VipConfig] = field(default_factory=list)
    vip_where: Where | None = None
    virtual_routes: list[tuple[str, Where]] = field(default_factory=list)
    virtual_rules: list[tuple[str, Where]] = field(default_factory=list)
    nopreempt: bool = False
    preempt_delay: float = 0.0
    unicast_src_ip: IPv4Address | IPv6Address | None = None
    unicast_peers: list[UnicastPeer] = field(default_factory=list)
    unicast_configured: bool = False
    unicast_fault_no_peer: bool = False
    unicast_ttl: int | None = None
    check_unicast_src: bool = False
    mcast_dst_ip: IPv4Address | IPv6Address | None = None
    garp: dict[str, float | int] = field(default_factory=dict)
    lower_prio_no_advert: bool | None = None
    higher_prio_send_advert: bool | None = None
    down_timer_adverts: int = 3
    skip_check_adv_addr: bool | None = None
    dont_track_primary: bool = False
    accept: bool | None = None
    strict_mode: bool | None = None
    track_scripts: list[tuple[TrackRef, Where]] = field(default_factory=list)
    track_interfaces: list[tuple[TrackRef, Where]] = field(default_factory=list)
    track_files: list[tuple[TrackRef, Where]] = field(default_factory=list)
    track_processes: list[tuple[TrackRef, Where]] = field(default_factory=list)
    notifies: dict[str, Notify] = field(default_factory=dict)
    notify_priority_changes: bool | None = None  # None: the sync group's, else the global one
    use_vmac: bool = False
    kw_where: dict[str, Where] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    route_devs: list[tuple[str, Where, str]] = field(default_factory=list)


@dataclass
class ScriptB:
    name: str
    where: Where
    argv: tuple[str, ...] | None = None
    interval: float = 1.0
    timeout: float = 0.0
    weight: int = 0
    reverse: bool = False
    rise: int = 1
    fall: int = 1
    user: str | None = None
    group: str | None = None
    init_fail: bool = False


@dataclass
class GroupB:
    name: str
    where: Where
    members: list[str] | None = None
    notifies: dict[str, Notify] = field(default_factory=dict)
    track_scripts: list[tuple[TrackRef, Where]] = field(default_factory=list)
    track_interfaces: list[tuple[TrackRef, Where]] = field(default_factory=list)
    track_files: list[tuple[TrackRef, Where]] = field(default_factory=list)
    track_processes: list[tuple[TrackRef, Where]] = field(default_factory=list)
    sync_group_tracking_weight: bool = False
    notify_priority_changes: bool | None = None


@dataclass
class TrackFileB:
    name: str
    where: Where
    path: str | None = None
    weight: int = 1
    reverse: bool = False
    init_file: int | None = None
    init_overwrite: bool = False


@dataclass
class TrackProcB:
    name: str
    where: Where
    process: str | None = None
    args: str | None = None
    param_match: str | None = None
    full_command: bool = False
    weight: int = 0
    reverse: bool = False
    quorum: int = 1
    quorum_max: int | None = None
    delay: float = 0.0
    fork_delay: float = 0.0
    terminate_delay: float = 0.0


@dataclass
class State:
    """Everything the parse collected; :func:`pyvrrp.config.validate.finish` turns it into a Config."""

    source: str
    globals: dict[str, object] = field(default_factory=dict)
    instances: list[InstB] = field(default_factory=list)
    scripts: list[ScriptB] = field(default_factory=list)
    groups: list[GroupB] = field(default_factory=list)
    track_files: list[TrackFileB] = field(default_factory=list)
    track_processes: list[TrackProcB] = field(default_factory=list)
    static_ipaddress: list[tuple[str, Where]] = field(default_factory=list)
    static_devs: list[tuple[str, Where, str]] = field(default_factory=list)
    updown_devs: list[tuple[str, Where]] = field(default_factory=list)
    track_groups: set[str] = field(default_factory=set)
    garp_groups: int = 0
    diags: list[Diagnostic] = field(default_factory=list)
    seen_unimpl: set[str] = field(default_factory=set)
    startup_scripts: list[tuple[Notify, Where]] = field(default_factory=list)
    fifo_scripts: list[tuple[Notify, Where]] = field(default_factory=list)
    have_vrrp_config: bool = False


# --------------------------------------------------------------------------------------------
# value helpers (keepalived lib/parser.c read_* functions)
# --------------------------------------------------------------------------------------------
def read_decimal(s: str, digits: int = TIMER_HZ_DIGITS) -> tuple[int | None, str | None]:
    """Scaled decimal (``value * 10**digits``) or an error (no range check)."""
    ok, val, msgs = read_decimal_range(s, 0, 2**64, digits)
    return (val if ok else None), (msgs[0] if msgs else None)


def read_decimal_range(
    s: str, lo: int, hi: int, digits: int = TIMER_HZ_DIGITS
) -> tuple[bool, int, list[str]]:
    """``read_decimal_unsigned_long_func`` (ignore_error=true): (usable, value*10**digits, errors).

    As keepalived, a number with too many decimals is rounded (and reported) but still used, and
    an invalid number is reported and used only if its leading digits fall in the range."""
    msgs: list[str] = []
    if s.startswith("-"):
        return False, 0, [f"negative number '{s}'"]
    whole, dot, frac = s.partition(".")
    up = False
    if dot and len(frac) > digits:
        msgs.append(f"number '{s}' has too many decimal places")
        up = frac[digits] >= "5"
        frac = frac[:digits]
    txt = (whole + frac + "0" * (digits - len(frac))) if dot else (whole + "0" * digits)
    t = txt.lstrip(" \t")
    if t[:1] == "+":
        t = t[1:]
    n = 0
    while n < len(t) and t[n].isascii() and t[n].isdigit():
        n += 1
    val = (int(t[:n]) if n else 0) + (1 if up else 0)
    if n != len(t) or not t:
        msgs.append(f"invalid number '{s}'")
    elif val >= 2**64:
        return False, 0, msgs + [f"number '{s}' outside unsigned decimal range"]
    elif val < lo or val > hi:
        sc = 10**digits
        msgs.append(
            f"number '{s}' outside range [{lo // sc}.{lo % sc:0{digits}d}, {hi // sc}.{hi % sc:0{digits}d}]"
        )
    else:
        return True, val, msgs
    return lo <= val <= hi, val, msgs


def read_uint(s: str, lo: int, hi: int) -> int | None:
    """``read_unsigned``: strict base-10 unsigned (keepalived accepts a leading '+')."""
    t = s[1:] if s.startswith("+") else s
    if not t.isdigit() or not t.isascii():
        return None
    v = int(t)
    return v if lo <= v <= hi else None


def read_int(s: str, lo: int, hi: int) -> int | None:
    t = s[1:] if s[:1] in "+-" else s
    if not t.isdigit() or not t.isascii():
        return None
    v = int(s)
    return v if lo <= v <= hi else None


def user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def group_exists(name: str) -> bool:
    import grp

    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def true_false(s: str) -> bool | None:
    if s in ("true", "on", "yes"):
        return True
    if s in ("false", "off", "no"):
        return False
    return None


# --------------------------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------------------------
class Parser:
    def __init__(self, lexer: Lexer, st: State) -> None:
        self.lx = lexer
        self.st = st
        self.skip = 0
        self.cur: Line | None = None

    # diagnostics ------------------------------------------------------------------------------
    def diag(self, level: str, msg: str, line: Line | None = None, stops: bool = False) -> None:
        ln = line or self.cur
        w = Where(ln.file, ln.lineno) if ln else Where()
        self.st.diags.append(Diagnostic(level, w, msg, stops) if stops else Diagnostic(level, w, msg))

    def err(self, msg: str, line: Line | None = None) -> None:
        self.diag("error", msg, line)

    def where(self, line: Line | None = None) -> Where:
        ln = line or self.cur
        return Where(ln.file, ln.lineno) if ln else Where()

    def unimpl(self, name: str, line: Line | None = None, what: str | None = None) -> None:
        if name in K.NOT_IMPLEMENTED:
            self.diag("unimplemented", f"'{what or name.split('.', 1)[1]}' accepted, not implemented", line)

    def default_user_ok(self) -> bool:
        """``get_default_script_user``: the global ``script_user``, else ``keepalived_script``, else
        root - which ``enable_script_security`` refuses (reported once, then cached)."""
        g = self.st.globals
        if "_default_user_ok" in g:
            return bool(g["_default_user_ok"])
        if "script_user" in g:
            ok = not g.get("_script_user_failed", False)
        elif user_exists("keepalived_script") or not g.get("enable_script_security"):
            ok = True
        else:
            self.err("Unable to set default user keepalived_script for script")
            ok = False
        g["_default_user_ok"] = ok
        return ok

    def toks(self, line: Line) -> list[str]:
        return line.tokens(lambda lv, f, n, m: self.st.diags.append(Diagnostic(lv, Where(f, n), m)))

    # process_stream --------------------------------------------------------------------------
    def stream(self, block: str, need_bob: bool, level: int, ctx: object = None) -> bool:
        """Port of keepalived ``process_stream``. Returns True if the block was skipped."""
        ret_err = False
        table = K.ALL_BLOCK_KEYWORDS[block]
        while True:
            line = self.lx.read_line()
            if line is None:
                if level > 0 and not self.skip:
                    pass  # keepalived: EOF inside a block is silently accepted
                break
            self.cur = line
            vec = self.toks(line)
            if not vec:
                continue
            s = vec[0]
            if self.skip == -1:
                if s == "{":
                    self.skip = 1
                    need_bob = False
                    continue
                self.skip = 0
            if self.skip:
                last = s
                for t in vec:
                    last = t
                    if t == "{":
                        self.skip += 1
                    elif t == "}":
                        self.skip -= 1
                        if self.skip == 0:
                            break
                if last == "}" and self.skip == 0 and level > 0:
                    ret_err = True
                    break
                continue
            if need_bob:
                need_bob = False
                if s == "{" and level > 0:
                    continue
                self.err("Missing '{' at beginning of configuration block")
            elif s == "{":
                self.err("Unexpected '{' - ignoring")
                continue
            if s == "}" and level > 0:
                break
            if s not in table:
                self.unknown(s, block, ctx)
                continue
            self.keyword(block, s, vec, line, level, ctx)
        return ret_err

    def unknown(self, s: str, block: str, ctx: object) -> None:
        cand = K.ALL_BLOCK_KEYWORDS[block]
        hint = K.suggest(s, cand) if s not in "{}" else None
        where = ""
        name = getattr(ctx, "name", None)
        if block != "root":
            where = f" in {block}" + (f" {name}" if name else "")
        msg = f"unknown keyword '{s}'{where}"
        if hint:
            msg += f" (did you mean '{hint}'?)"
        self.err(msg)

    def sub(self, block: str, vec: list[str], level: int, ctx: object, active: bool = True) -> bool:
        """Enter a keyword's sub-block (``keyword_vec->sub``)."""
        bob_needed = True
        if vec and vec[-1] == "{":
            vec.pop()
            bob_needed = False
        return self.stream(block, bob_needed, level + 1, ctx)

    def skip_block(self, need_block_start: bool = True) -> None:
        self.skip = -1 if need_block_start else 1

    def value_block(self, vec: list[str]) -> list[tuple[list[str], Line]]:
        """Port of ``alloc_value_block``: one entry per line until the closing brace."""
        out: list[tuple[list[str], Line]] = []
        need_bob = True
        if len(vec) > 1:
            if vec[1] == "{":
                need_bob = False
                rest = vec[2:]
                had_eob = False
                if rest and rest[-1] == "}":
                    rest = rest[:-1]
                    had_eob = True
                if rest:
                    out.append((rest, self.cur))  # type: ignore[arg-type]
                if had_eob:
                    return out
            else:
                self.err(f"Block {vec[0]} has extra parameters {vec[1]} ...")
        while True:
            line = self.lx.read_line()
            if line is None:
                break
            self.cur = line
            v = self.toks(line)
            if not v:
                continue
            if need_bob:
                need_bob = False
                if v[0] == "{":
                    if len(v) == 1:
                        continue
                    v = v[1:]
                else:
                    self.diag("warning", f"'{{' missing from beginning of block {vec[0]}")
            had_eob = False
            if v[-1] == "}":
                if len(v) == 1:
                    break
                had_eob = True
                v = v[:-1]
            if v:
                out.append((v, line))
            if had_eob:
                break
        return out

    # dispatch ---------------------------------------------------------------------------------
    def keyword(self, block: str, s: str, vec: list[str], line: Line, level: int, ctx: object) -> None:
        if block == "root":
            self.root(s, vec, line, level)
        elif block == "global_defs":
            self.global_kw(s, vec, line)
        elif block == "vrrp_instance":
            self.instance_kw(ctx, s, vec, line, level)  # type: ignore[arg-type]
        elif block == "authentication":
            self.auth_kw(ctx, s, vec, line)  # type: ignore[arg-type]
        elif block == "vrrp_script":
            self.script_kw(ctx, s, vec, line)  # type: ignore[arg-type]
        elif block == "vrrp_sync_group":
            self.group_kw(ctx, s, vec, line)  # type: ignore[arg-type]
        elif block == "track_file":
            self.track_file_kw(ctx, s, vec, line)  # type: ignore[arg-type]
        elif block == "vrrp_track_process":
            self.track_process_kw(ctx, s, vec, line)  # type: ignore[arg-type]
        elif block == "garp_group":
            self.garp_group_kw(ctx, s, vec, line)  # type: ignore[arg-type]
        elif block == "track_group":
            if s == "group":
                self.value_block(vec)

    def weight(self, obj: Any, vec: list[str], limit: int, range_msg: str, option_msg: str) -> None:
        """``weight N [reverse|noreverse]`` of vrrp_script / track_file / vrrp_track_process, with each block's
        own keepalived messages (``{value}``, ``{option}`` filled in)."""
        if not self.need(vec):
            return
        v = read_int(vec[1], -limit, limit)
        if v is None:
            self.err(range_msg.format(value=vec[1]))
        else:
            obj.weight = v
        if len(vec) > 2:
            if vec[2] == "reverse":
                obj.reverse = True
            elif vec[2] != "noreverse":
                self.err(option_msg.format(option=vec[2]))

    def need(self, vec: list[str], n: int = 1) -> bool:
        """keepalived ``null_strvec``: a missing parameter (keepalived itself exits 2 here)."""
        if len(vec) > n:
            return True
        self.err(
            f"Configuration line starting `{vec[0]}` is missing a parameter after keyword "
            f"`{vec[n - 1]}` at word position {n + 1}"
        )
        return False

    # root ---------------------------------------------------------------------------------------
    def root(self, s: str, vec: list[str], line: Line, level: int) -> None:
        if s in K.INACTIVE_ROOT:
            self.skip = 1 if vec[-1] == "{" else -1
            return
        if s in K.ROOT_SIMPLE:
            self.unimpl(f"root.{s}", line)
            if s == "child_wait_time" and (len(vec) < 2 or read_uint(vec[1], 0, 2**32 - 1) is None):
                self.err(f"Invalid child_wait_time {vec[1] if len(vec) > 1 else ''}")
            return
        if s == "global_defs":
            self.sub("global_defs", vec, level, None)
        elif s == "vrrp_instance":
            self.st.have_vrrp_config = True
            if len(vec) != 2:
                self.err("vrrp_instance must have a name")
                self.skip_block(True)
                self.sub("vrrp_instance", vec, level, None)
                return
            name = vec[1]
            if any(i.name == name for i in self.st.instances):
                self.err(f"vrrp instance {name} already defined")
                self.skip_block(True)
                self.sub("vrrp_instance", vec, level, None)
                return
            inst = InstB(name, self.where(line))
            self.st.instances.append(inst)
            self.sub("vrrp_instance", vec, level, inst)
        elif s == "vrrp_script":
            if len(vec) != 2:
                self.err("vrrp_script must have a name")
                self.skip_block(True)
                self.sub("vrrp_script", vec, level, None)
                return
            sc = ScriptB(vec[1], self.where(line))
            if any(x.name == vec[1] for x in self.st.scripts):
                self.err(f"vrrp_script {vec[1]} already defined")
                self.skip_block(True)
                self.sub("vrrp_script", vec, level, None)
                return
            skipped = self.sub("vrrp_script", vec, level, sc)
            if not skipped:
                if sc.argv is None:
                    self.err(f"No script set for vrrp_script {sc.name} - removing", line)
                elif sc.user is None and not self.default_user_ok():
                    self.err(f"Unable to set default user for vrrp script {sc.name} - removing", line)
                else:
                    self.st.scripts.append(sc)
        elif s == "vrrp_sync_group":
            if len(vec) != 2:
                self.err("vrrp_sync_group must have a name - skipping")
                self.skip_block(True)
                self.sub("vrrp_sync_group", vec, level, None)
                return
            if any(g.name == vec[1] for g in self.st.groups):
                self.err(f"vrrp sync group {vec[1]} already defined")
                self.skip_block(True)
                self.sub("vrrp_sync_group", vec, level, None)
                return
            g = GroupB(vec[1], self.where(line))
            self.st.groups.append(g)
            self.sub("vrrp_sync_group", vec, level, g)
        elif s in ("track_file", "vrrp_track_file"):
            if s == "vrrp_track_file":
                self.diag("warning", "'vrrp_track_file' is deprecated - use 'track_file'", line)
            self.unimpl(f"root.{s}", line)
            tf = TrackFileB(vec[1] if len(vec) > 1 else "", self.where(line))
            if len(vec) != 2:
                self.err(f"{s} must have a name")
                self.skip_block(True)
            skipped = self.sub("track_file", vec, level, tf)
            if not skipped and len(vec) == 2:
                if tf.path is None:
                    self.err(f"No file set for track_file {tf.name} - removing", line)
                else:
                    self.st.track_files.append(tf)
        elif s == "vrrp_track_process":
            self.unimpl("root.vrrp_track_process", line)
            tp = TrackProcB(vec[1] if len(vec) > 1 else "", self.where(line))
            if len(vec) != 2:
                self.err("vrrp_track_process must have a name")
                self.skip_block(True)
            skipped = self.sub("vrrp_track_process", vec, level, tp)
            if not skipped and len(vec) == 2:
                if tp.process is None:
                    self.err(f"No process set for vrrp_track_process {tp.name} - removing", line)
                else:
                    self.st.track_processes.append(tp)
        elif s == "garp_group":
            self.unimpl("root.garp_group", line)
            gg: dict[str, bool] = {"delay": False}
            skipped = self.sub("garp_group", vec, level, gg)
            if not skipped and not gg["delay"]:
                self.err(f"garp group {self.st.garp_groups} does not have any delay set - removing")
            self.st.garp_groups += 1
        elif s == "track_group":
            self.unimpl("root.track_group", line)
            if len(vec) >= 2:
                self.st.track_groups.add(vec[1])
            self.sub("track_group", vec, level, None)
        elif s == "static_ipaddress":
            self.unimpl("root.static_ipaddress", line)
            for v, ln in self.value_block(vec):
                vip = self.parse_vip(v, ln, static=True)
                if vip is not None:
                    self.st.static_ipaddress.append((" ".join(v), self.where(ln)))
                    dev = vip.dev or "eth0"  # keepalived: default_interface, else eth0
                    self.st.static_devs.append(
                        (
                            dev,
                            self.where(ln),
                            f"WARNING - interface {dev} for ip address {vip.address} doesn't exist",
                        )
                    )
        elif s in ("static_routes", "static_rules"):
            self.unimpl(f"root.{s}", line)
            for v, ln in self.value_block(vec):
                if s == "static_routes":
                    self.check_route(v, ln, static=True, devs=self.st.static_devs)
                else:
                    self.check_rule(v, ln, devs=self.st.static_devs)
        elif s in ("linkbeat_interfaces", "interface_up_down_delays"):
            self.unimpl(f"root.{s}", line)
            for v, ln in self.value_block(vec):
                if s == "interface_up_down_delays":
                    self.st.updown_devs.append((v[0], self.where(ln)))

    # global_defs --------------------------------------------------------------------------------
    def global_kw(self, s: str, vec: list[str], line: Line) -> None:
        g = self.st.globals
        kind = K.GLOBAL_KEYWORDS[s]
        self.unimpl(f"global_defs.{s}", line)
        if kind == "block":
            self.value_block(vec)
            return
        if s == "router_id":
            if self.need(vec):
                g["router_id"] = vec[1]
        elif s in ("vrrp_mcast_group4", "vrrp_mcast_group6"):
            if not self.need(vec):
                return
            try:
                a = ip_address(vec[1])
            except ValueError:
                a = None
            want = 4 if s.endswith("4") else 6
            if a is None or a.version != want or not a.is_multicast:
                self.err(f"{s} '{vec[1]}' is invalid")
                return
            g[s] = a
        elif s == "vrrp_version":
            if not self.need(vec):
                return
            v = read_uint(vec[1], 2, 3)
            if v is None:
                self.err(f"Unknown VRRP version '{vec[1]}'")
            else:
                g["vrrp_version"] = v
        elif s == "script_user":
            if len(vec) < 2:
                self.err("No script username specified")
                return
            g["script_user"] = vec[1]
            if len(vec) > 2:
                g["script_group"] = vec[2]
            if not user_exists(vec[1]) or (len(vec) > 2 and not group_exists(vec[2])):
                self.diag(
                    "warning",
                    f"Script user '{vec[1]}' does not exist"
                    if not user_exists(vec[1])
                    else f"Script group '{vec[2]}' does not exist",
                )
                self.err("Error setting global script uid/gid")
                g["_script_user_failed"] = True
            g["_default_user_ok"] = not g.get("_script_user_failed", False)
        elif s in (
            "vrrp_garp_master_delay",
            "vrrp_garp_master_refresh",
            "vrrp_garp_lower_prio_delay",
        ):
            if not self.need(vec):
                return
            v = read_uint(vec[1], 0, 2**32 - 1 if s.endswith("refresh") else 4294)  # UINT_MAX / TIMER_HZ
            if v is None:
                self.err(f"{s} '{vec[1]}' invalid")
            else:
                g[s] = float(v)
        elif s in (
            "vrrp_garp_master_repeat",
            "vrrp_garp_master_refresh_repeat",
            "vrrp_garp_lower_prio_repeat",
        ):
            if not self.need(vec):
                return
            v = read_uint(vec[1], 0, 2**31)
            if v is None:
                self.err(f"{s} '{vec[1]}' invalid")
                return
            if v == 0 and s != "vrrp_garp_lower_prio_repeat":
                self.err(f"{s} must be greater than 0, setting to 1")
                v = 1
            g[s] = v
        elif s == "vrrp_down_timer_adverts":
            if not self.need(vec):
                return
            v = read_uint(vec[1], 1, 100)
            if v is None:
                self.err(f"Invalid vrrp_down_timer_adverts [1:100] '{vec[1]}'")
            else:
                g[s] = v
        elif s in ("vrrp_garp_interval", "vrrp_gna_interval", "vrrp_startup_delay"):
            if not self.need(vec):
                return
            lo, hi = (1, 2**32 - 1) if s != "vrrp_startup_delay" else (1000, 2**32 - 1)
            ok, v, msgs = read_decimal_range(vec[1], lo, hi)
            for m in msgs:
                self.err(m)
            if not ok:
                self.err(f"{s} '{vec[1]}' is invalid")
            else:
                g[s] = v / 1e6
        elif s in ("vrrp_notify_fifo", "notify_fifo"):
            if self.need(vec):
                g[s] = vec[1]
        elif kind == "bare":
            g[s] = True
        elif kind == "flag":
            val = True
            if len(vec) > 1:
                tf = true_false(vec[1])
                if tf is None:
                    self.err(f"Invalid value '{vec[1]}' for global {s} specified")
                    return
                val = tf
            g[s] = val
        else:
            self.generic_value(s, kind, vec, line)

    def generic_value(self, s: str, kind: str, vec: list[str], line: Line) -> None:
        """Check a global keyword pyvrrp does not act on, as its keepalived handler would."""
        g = self.st.globals
        name, _, rng = kind.partition(":")
        args = vec[1:]
        if name in ("any", "str?"):
            return
        if name == "unsupported":
            self.err(
                f"{s} not supported, using nftables instead. Please replace 'vrrp_iptables and "
                "'vrrp_ipsets' with 'nftables' config option"
                if s == "vrrp_iptables"
                else f"{s} is not supported"
            )
            return
        if name.endswith("?") and not args:
            return
        if not args:
            self.err(f"{s} missing - ignoring")
            return
        if s == "vrrp_vmac_garp_intvl":
            self.err('Keyword "vrrp_vmac_garp_intvl" is deprecated - please use "vrrp_garp_extra_if"')
        if len(args) > 1 and s in ("snmp_socket", "reload_time_file", "vrrp_rx_bufs_multiplier", "umask"):
            self.err(
                f"Extra parameter(s) to {s} option"
                if s == "umask"
                else f"Too many parameters specified for {s}"
            )
            return
        if name in ("str", "req"):
            g[s] = args[0]
            return
        if name == "umask":
            a = args[0]
            if a[:1].isdigit():
                try:
                    val = (
                        int(a, 16)
                        if a.lower().startswith("0x")
                        else int(a, 8)
                        if a.startswith("0")
                        else int(a)
                    )
                except ValueError:
                    val = -1
                if not 0 <= val <= 0o777:
                    self.err(f"invalid umask value {a}")
            else:
                for bit in a.split("|"):
                    if bit not in {f"I{p}{w}" for p in "RWX" for w in ("USR", "GRP", "OTH")}:
                        self.err(f"Unknown umask bit {bit}")
                        break
            return
        if name == "rxbufs":
            for a in args:
                if a not in ("MTU", "ADVERT", "SIZE") and read_uint(a, 0, 2**32 - 1) is None:
                    self.err(f"Invalid vrrp_rx_bufs_policy {a}")
                    break
            return
        if name == "lvstimeouts":
            if args[0] not in ("tcp", "tcpfin", "udp"):
                self.err("lvs_timeouts requires at least one option")
            return
        if name == "smtpserver":
            a = args[0]
            try:
                ip_address(a)
            except ValueError:
                if not (a.isdigit() or ("." in a and not a.startswith("-"))):
                    self.err(f"Invalid smtp server {a} 25")
            return
        if name == "script":
            words = split_command(line.text) or []
            if len(words) > 2 and not user_exists(words[2].split(":")[0]) and "fifo" not in s:
                self.err(f"Invalid {s.replace('_', ' ')}")
                return
            n = self.notify_script(vec, line)
            if n is not None:
                self.st.fifo_scripts.append(
                    (n, self.where(line))
                ) if "fifo" in s else self.st.startup_scripts.append((n, self.where(line)))
            return
        if name.startswith("choice"):
            if args[0] not in rng.split(","):
                self.err(f"Unknown {s} option '{args[0]}'")
            return
        if name == "uintlist":
            ncpu = os.cpu_count() or 1
            for a in args:
                if read_uint(a, 0, ncpu - 1) is None:
                    self.err(f"Invalid {s} cpu id '{a}'")
                    return
            return
        if name in ("uint", "int", "int?"):
            lo_s, _, hi_s = rng.partition(":")
            lo, hi = int(lo_s), int(hi_s)
            reader = read_uint if name == "uint" else read_int
            if reader(args[0], lo, hi) is None:
                self.err(f"{s} '{args[0]}' must be in [{lo}, {hi}] - ignoring")
            return

    # vrrp_instance -------------------------------------------------------------------------------
    def instance_kw(self, inst: InstB | None, s: str, vec: list[str], line: Line, level: int) -> None:
        if inst is None:
            return
        self.unimpl(f"vrrp_instance.{s}", line)
        w = self.where(line)
        n = inst.name
        inst.kw_where.setdefault(s, w)
        if s == "authentication":
            self.sub("authentication", vec, level, inst)
        elif s == "state":
            if not self.need(vec):
                return
            if vec[1] == "MASTER":
                inst.state = "MASTER"
            elif vec[1] == "BACKUP":
                if inst.state == "MASTER":
                    self.err(f"({n}) state previously set as MASTER - ignoring BACKUP")
                else:
                    inst.state = "BACKUP"
            else:
                self.err(f"({n}) unknown state '{vec[1]}', defaulting to BACKUP")
                inst.state = "BACKUP"
        elif s == "interface":
            if not self.need(vec):
                return
            if len(vec[1]) >= 16:
                self.err(f"Interface name '{vec[1]}' too long - ignoring")
                return
            inst.interface = vec[1]
            inst.interface_where = w
        elif s == "virtual_router_id":
            if not self.need(vec):
                return
            v = read_uint(vec[1], 1, 255)
            if v is None:
                self.err(f"({n}): VRID '{vec[1]}' not valid - must be between 1 & 255")
            else:
                inst.vrid = v
        elif s == "priority":
            if not self.need(vec):
                return
            v = read_uint(vec[1], 1, 255)
            if v is None:
                self.err(f"({n}) Priority not valid! must be between 1 & 255. Using default 100")
                inst.priority = 100
            else:
                inst.priority = v
        elif s == "advert_int":
            if not self.need(vec):
                return
            ok, v, msgs = read_decimal_range(vec[1], 10_000, 255_000_000)
            for m in msgs:
                self.err(m)
            if not ok or v <= 0:
                self.err(f"({n}) Advert interval ({vec[1]}) not valid! Must be > 0 - ignoring")
            else:
                inst.advert_int = v / 1e6
        elif s == "version":
            if not self.need(vec):
                return
            v = read_uint(vec[1], 2, 3)
            if v is None:
                self.err(f"({n}): Version must be either 2 or 3")
                return
            inst.version = v
            inst.version_where = w
        elif s == "native_ipv6":
            if inst.family == 4:
                self.err(f"({n}) Cannot specify native_ipv6 with IPv4 addresses")
                return
            inst.family = 6
            inst.version = 3
        elif s in ("mcast_src_ip", "unicast_src_ip"):
            if s == "unicast_src_ip":
                inst.unicast_configured = True
            if not self.need(vec):
                return
            try:
                a = ip_address(vec[1])
            except ValueError:
                self.err(
                    f"Configuration error: VRRP instance[{n}] malformed src address[{vec[1]}]. Skipping..."
                )
                return
            if inst.family is None:
                inst.family = a.version
            elif inst.family != a.version:
                self.err(
                    f"Configuration error: VRRP instance[{n}] and src address[{vec[1]}] MUST be of the same family !!! Skipping..."
                )
                return
            inst.unicast_src_ip = a
        elif s == "mcast_dst_ip":
            if not self.need(vec):
                return
            try:
                a = ip_address(vec[1])
            except ValueError:
                self.err(f"({n}) malformed mcast dest address {vec[1]}. Skipping...")
                return
            if inst.family is None:
                inst.family = a.version
            elif inst.family != a.version:
                self.err(f"({n}) mcast dest address {vec[1]} MUST match VRRP instance family. Skipping...")
                return
            if not a.is_multicast or (a.version == 6 and not str(a).startswith("ff02")):
                ll = " link-local" if a.version == 6 else ""
                self.err(f"({n}) mcast_dst_ip {vec[1]} not{ll} multicast. Skipping...")
                return
            inst.mcast_dst_ip = a
        elif s == "unicast_peer":
            inst.unicast_configured = True
            for v, ln in self.value_block(vec):
                self.unicast_peer(inst, v, ln)
        elif s == "unicast_fault_no_peer":
            inst.unicast_configured = True
            inst.unicast_fault_no_peer = True
        elif s == "check_unicast_src":
            inst.unicast_configured = True
            inst.check_unicast_src = True
        elif s == "old_unicast_checksum":
            inst.unicast_configured = True
            if len(vec) >= 2 and vec[1] != "never":
                self.err(f"({n}) Unknown old_unicast_chksum mode {vec[1]} - ignoring")
        elif s == "unicast_ttl":
            if not self.need(vec):
                return
            v = read_uint(vec[1], 0, 255)
            if v is None:
                self.err(f"({n}): TTL '{vec[1]}' not valid - must be between 0 & 255")
            else:
                inst.unicast_ttl = v
        elif s in ("virtual_ipaddress", "virtual_ipaddress_excluded"):
            excl = s.endswith("excluded")
            if inst.vip_where is None and not excl:
                inst.vip_where = w
            for v, ln in self.value_block(vec):
                vip = self.parse_vip(v, ln, static=False)
                if vip is None:
                    continue
                fam = vip.address.version
                if not excl:
                    if inst.family is None:
                        inst.family = fam
                    elif inst.family != fam:
                        self.err(f"({n}): address family must match VRRP instance [{v[0]}] - ignoring", ln)
                        continue
                    inst.vips.append(vip)
                else:
                    inst.evips.append(vip)
        elif s in ("virtual_routes", "virtual_rules"):
            for v, ln in self.value_block(vec):
                ok = (
                    self.check_route(v, ln, static=False, devs=inst.route_devs)
                    if s == "virtual_routes"
                    else self.check_rule(v, ln, devs=inst.route_devs)
                )
                if ok:
                    (inst.virtual_routes if s == "virtual_routes" else inst.virtual_rules).append(
                        (" ".join(v), self.where(ln))
                    )
        elif s in ("track_interface", "track_script", "track_file", "track_process", "track_bfd"):
            for v, ln in self.value_block(vec):
                if not self.resolve_track(inst, s, TrackRef(v[0]), ln):
                    continue
                ref = self.track_ref(v, ln, s, n, allow_noreverse=(s != "track_interface"))
                if ref is None:
                    continue
                if s == "track_interface":
                    inst.track_interfaces.append((ref, self.where(ln)))
                elif s == "track_script":
                    inst.track_scripts.append((ref, self.where(ln)))
                elif s == "track_file":
                    inst.track_files.append((ref, self.where(ln)))
                elif s == "track_process":
                    inst.track_processes.append((ref, self.where(ln)))
        elif s == "dont_track_primary":
            inst.dont_track_primary = True
        elif s in ("skip_check_adv_addr", "strict_mode"):
            val = True
            if len(vec) >= 2:
                tf = true_false(vec[1])
                if tf is None:
                    self.err(f"({n}) invalid {s} {vec[1]} specified")
                    return
                val = tf
            if s == "strict_mode":
                inst.strict_mode = val
            else:
                inst.skip_check_adv_addr = True
        elif s == "nopreempt":
            inst.nopreempt = True
        elif s == "preempt":
            inst.nopreempt = False
        elif s == "preempt_delay":
            if not self.need(vec):
                return
            ok, v, msgs = read_decimal_range(vec[1], 0, 1000 * 10**6)
            for m in msgs:
                self.err(m)
            if not ok:
                self.err(f"({n}) Preempt_delay not valid! must be between 0-1000")
                inst.preempt_delay = 0.0
            else:
                inst.preempt_delay = v / 1e6
        elif s in ("accept", "no_accept"):
            inst.accept = s == "accept"
        elif s in (
            "notify_backup",
            "notify_master",
            "notify_fault",
            "notify_stop",
            "notify_deleted",
            "notify",
            "notify_master_rx_lower_pri",
        ):
            if s == "notify_deleted" and len(vec) == 1:
                inst.notifies.setdefault("notify_deleted_flag", Notify(()))
                return
            if not self.need(vec):
                return
            if s in inst.notifies:
                self.err(f"({n}) {s} script already specified - ignoring {vec[1]}")
                return
            nt = self.notify_script(vec, line)
            if nt is not None:
                inst.notifies[s] = nt
        elif s == "notify_priority_changes":
            val = True
            if len(vec) >= 2:
                tf = true_false(vec[1])
                if tf is None:
                    self.err(f"({n}) invalid notify_priority_changes {vec[1]}")
                    return
                val = tf
            inst.notify_priority_changes = val
        elif s in ("garp_master_delay", "garp_master_refresh", "garp_lower_prio_delay"):
            if not self.need(vec):
                return
            v = read_uint(vec[1], 0, 2**32 - 1 if s.endswith("refresh") else 4294)  # UINT_MAX / TIMER_HZ
            if v is None:
                self.err(f"({n}) {s} '{vec[1]}' invalid - ignoring")
            else:
                inst.garp[s] = float(v)
        elif s in ("garp_master_repeat", "garp_master_refresh_repeat", "garp_lower_prio_repeat"):
            if not self.need(vec):
                return
            v = read_uint(vec[1], 0, 2**31)
            if v is None:
                self.err(f"({n}) {s} '{vec[1]}' invalid - ignoring")
                return
            if v == 0 and s != "garp_lower_prio_repeat":
                self.err(f"({n}): {s} must be greater than 0, setting to 1")
                v = 1
            inst.garp[s] = v
        elif s in ("lower_prio_no_advert", "higher_prio_send_advert"):
            val = True
            if len(vec) >= 2:
                tf = true_false(vec[1])
                if tf is None:
                    self.err(f"({n}) invalid {s} {vec[1]} specified")
                    return
                val = tf
            setattr(inst, s, val)
        elif s == "down_timer_adverts":
            if not self.need(vec):
                return
            v = read_uint(vec[1], 1, 100)
            if v is None:
                self.err(f"({n}) down_timer_adverts '{vec[1]}' must be between 1 and 100 - ignoring")
            else:
                inst.down_timer_adverts = v
        elif s == "lvs_sync_daemon_interface":
            self.err(f"({n}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.")
        elif s == "linkbeat_use_polling":
            self.err(
                f"({n}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block"
            )
        elif s == "debug":
            if self.need(vec) and read_uint(vec[1], 0, 4) is None:
                self.err(f"({n}) Debug value '{vec[1]}' not valid; must be between 0-4")
        elif s in ("use_vmac", "use_ipvlan"):
            inst.use_vmac = True
            inst.flags.add(s)
            if s == "use_vmac":
                have_name = False
                rest = iter(vec[1:])
                for a in rest:
                    if a == "group":
                        next(rest, None)
                    elif a == "netlink_notify_msg" or re.fullmatch(
                        r"[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){1,5}", a
                    ):
                        continue
                    elif have_name:
                        self.err("VMAC interface name already specified")
                        break
                    else:
                        have_name = True
        elif s == "vmac_xmit_base":
            inst.flags.add(s)
        elif s in ("vmac_garp_intvl", "garp_extra_if"):
            if s == "vmac_garp_intvl":
                self.err('Keyword "vmac_garp_intvl" is deprecated - please use "garp_extra_if"')
            if len(vec) < 2:
                self.err(f"({n}): {s} specified without time - ignoring")
            elif read_uint(vec[1], 0, 86400) is None:
                self.err(f"({n}): {s} '{vec[1]}' invalid - ignoring")
        elif s == "kernel_rx_buf_size":
            if len(vec) != 2 or read_uint(vec[1], 0, 2**64 - 1) is None:
                self.err(f"({n}) invalid kernel_rx_buf_size specified")
        elif s == "smtp_alert":
            if len(vec) >= 2 and true_false(vec[1]) is None:
                self.err(f"Invalid vrrp_instance smtp_alert parameter {vec[1]}")
        elif s == "vrf":
            if not self.need(vec):
                return
            if inst.interface is not None:
                self.err(f"({n}) Cannot specify VRF interface and interface - ignoring")
            else:
                inst.flags.add("vrf")
        # remaining accepted keywords (use_vmac_addr, vmac_xmit_base, vrf, track_src_ip,
        # promote_secondaries, smtp_alert, garp_extra_if, kernel_rx_buf_size) carry no value we model

    def auth_kw(self, inst: InstB | None, s: str, vec: list[str], line: Line) -> None:
        if inst is None:
            return
        if s == "auth_type":
            if not self.need(vec):
                return
            if vec[1] == "PASS":
                inst.auth_type = 1
            elif vec[1] == "AH":
                inst.auth_type = 2
                self.unimpl("authentication.auth_type=AH", line, "auth_type AH")
            else:
                self.err(f"({inst.name}) unknown authentication type '{vec[1]}'")
        elif s == "auth_pass":
            if not self.need(vec):
                return
            # keepalived: only the first 8 bytes of the token (comments already removed)
            pw = vec[1].encode("utf-8", "surrogateescape")
            if len(pw) > 8:
                self.err("Truncating auth_pass to 8 characters")
            inst.auth_pass = pw[:8]

    # helpers -------------------------------------------------------------------------------------
    def notify_script(self, vec: list[str], line: Line) -> Notify | None:
        """``notify_script_init``: re-split the raw line with quotes/escapes; word 1 is the command."""
        words = split_command(line.text)
        if not words or len(words) < 2:
            self.diag("warning", "Unable to parse notify script", line)
            return None
        argv = split_command(words[1])
        if not argv:
            self.diag("warning", f"Unable to parse script '{words[1]}' - ignoring", line)
            return None
        user = group = None
        if len(words) <= 2 and not self.default_user_ok():
            self.diag("warning", f"Failed to set default user for script {argv[0]} - ignoring", line)
            return None
        if len(words) > 2:
            user = words[2]
            if ":" in user:
                user, _, grp = user.partition(":")
                group = grp or None
            if len(words) > 3:
                group = words[3]
        return Notify(tuple(argv), user, group)

    def track_ref(
        self, v: list[str], ln: Line, kind: str, owner: str, allow_noreverse: bool = True
    ) -> TrackRef | None:
        """``NAME [weight W [reverse|noreverse]]`` (``vrrp_track.c alloc_track_*``)."""
        name = v[0]
        weight: int | None = None
        reverse: bool | None = None
        label = kind.replace("_", " ")
        if len(v) >= 2:
            if v[1] != "weight":
                self.err(f"({owner}) unknown {label} option {v[1]} - ignoring", ln)
                return None
            if len(v) == 2:
                self.err(f"({owner}) weight without value specified for {label} {name} - ignoring", ln)
                return None
            wv = read_int(v[2], -254, 254)
            if wv is None:
                self.err(
                    f"({owner}) {label} {name}: weight must be between [-253..253] inclusive, ignoring...", ln
                )
                weight = 0 if kind == "track_interface" else None
            elif abs(wv) == 254:
                self.err(f"({owner}) weight for {name} cannot be +/-254. Setting to +/-253", ln)
                weight = 253 if wv > 0 else -253
            else:
                weight = wv
            if len(v) >= 4:
                if v[3] == "reverse":
                    reverse = True
                elif v[3] == "noreverse" and allow_noreverse:
                    reverse = False
                else:
                    self.err(f"({owner}) unknown {kind} {name} weight option {v[3]} - ignoring", ln)
        return TrackRef(name, weight, reverse)

    def resolve_track(self, owner: InstB | GroupB, kind: str, ref: TrackRef, ln: Line) -> bool:
        """keepalived resolves tracker names while parsing (``vrrp_track.c``): a tracker must be
        defined before the instance or group that uses it."""
        n = owner.name
        if kind == "track_script":
            known = {x.name for x in self.st.scripts}
            have = owner.track_scripts
            label = "track script"
        elif kind == "track_file":
            known = {x.name for x in self.st.track_files}
            have = owner.track_files
            label = "track file"
        elif kind == "track_process":
            known = {x.name for x in self.st.track_processes}
            have = owner.track_processes
            label = "track process"
        elif kind == "track_interface":
            if any(r.name == ref.name for r, _ in owner.track_interfaces):
                self.err(f"({n}) duplicate track_interface {ref.name} - ignoring", ln)
                return False
            return True
        else:
            self.err(f"({n}) track bfd {ref.name} not found, ignoring...", ln)
            return False
        if ref.name not in known:
            self.err(f"({n}) {label} {ref.name} not found, ignoring...", ln)
            return False
        if any(r.name == ref.name for r, _ in have):
            self.err(f"({n}) duplicate {kind} {ref.name} - ignoring", ln)
            return False
        return True

    def unicast_peer(self, inst: InstB, v: list[str], ln: Line) -> None:
        n = inst.name
        try:
            a = ip_address(v[0])
        except ValueError:
            self.err(
                f"Configuration error: VRRP instance[{n}] malformed unicast peer address[{v[0]}]. Skipping...",
                ln,
            )
            return
        if inst.family is None:
            inst.family = a.version
        elif inst.family != a.version:
            self.err(
                f"Configuration error: VRRP instance[{n}] and unicast peer address[{v[0]}] MUST be of the same family !!! Skipping...",
                ln,
            )
            return
        mn = mx = None
        i = 1
        while i < len(v):
            if v[i] in ("min_ttl", "max_ttl"):
                if i + 1 >= len(v):
                    self.err(f"({n}) {v[i]} is missing a value", ln)
                    break
                t = read_uint(v[i + 1], 0, 255)
                if t is None:
                    self.err(f"({n}) invalid {v[i]} {v[i + 1]}", ln)
                elif v[i] == "min_ttl":
                    mn = t
                else:
                    mx = t
                i += 2
            else:
                self.err(f"({n}) unknown unicast_peer option {v[i]}", ln)
                i += 1
        if mn is not None and mx is not None and mn > mx:
            self.err(f"({n}) min_ttl {mn} > max_ttl {mx} - all packets will be discarded", ln)
        inst.unicast_peers.append(UnicastPeer(a, mn, mx))

    def parse_vip(self, v: list[str], ln: Line, static: bool) -> VipConfig | None:
        """``parse_ipaddress`` + options (``vrrp_ipaddress.c alloc_ipaddress``)."""
        txt = v[0]
        try:
            if "/" in txt:
                addr_s, _, plen_s = txt.partition("/")
                a = ip_address(addr_s)
                maxp = 32 if a.version == 4 else 128
                p = read_uint(plen_s, 0, maxp) if plen_s else maxp
                if p is None:
                    p = maxp
                    self.err(f"Invalid address prefix len {plen_s} for address {txt} - using {maxp}", ln)
                iface = ip_interface(f"{a}/{p}")
            else:
                iface = ip_interface(txt)
        except ValueError:
            self.err(f"VRRP parsed invalid IP {txt}. skipping IP...", ln)
            return None
        dev = label = brd = None
        scope = "global"
        peer = None
        no_track = False
        nodad = True
        preferred_lft = None
        i = 1
        while i < len(v):
            opt = v[i]
            val = v[i + 1] if i + 1 < len(v) else None
            two = opt in ("dev", "scope", "broadcast", "brd", "label", "peer", "preferred_lft", "track_group")
            if two and val is None:
                self.err(f"No {opt} parameter specified for {txt}", ln)
                break
            if opt == "dev":
                if dev is not None:
                    self.err(f"Cannot specify ipaddress device more than once for {txt}", ln)
                else:
                    dev = val
            elif opt == "scope":
                if val not in SCOPES and read_uint(val, 0, 255) is None:  # type: ignore[arg-type]
                    self.err(f"Invalid scope '{val}' specified for {txt} - ignoring", ln)
                else:
                    scope = val  # type: ignore[assignment]
            elif opt in ("broadcast", "brd"):
                if iface.version == 6:
                    self.err(
                        f"VRRP is trying to assign a broadcast {val} to the IPv6 address {txt} !!?? WTF... skipping VIP...",
                        ln,
                    )
                    return None
                if val not in ("+", "-"):
                    try:
                        IPv4Address(val)
                    except ValueError:
                        self.err(f"VRRP is trying to assign invalid broadcast {val}. skipping VIP...", ln)
                        return None
                brd = val
            elif opt == "label":
                if len(val) >= 16:  # type: ignore[arg-type]
                    self.err(f"Address label {val} is longer than maximum length 15 - removing address", ln)
                    return None
                label = val
            elif opt == "peer":
                try:
                    pa = ip_address(val)  # type: ignore[arg-type]
                except ValueError:
                    self.err(f"Invalid peer address {val}", ln)
                    i += 2
                    continue
                if pa.version != iface.version:
                    self.err(f"Peer address {val} does not match address family", ln)
                else:
                    peer = pa
                    if "/" in txt:
                        self.err("Cannot specify address prefix when specifying peer address - ignoring", ln)
                self.unimpl("vip.peer", ln, "VIP option peer")
            elif opt in ("home", "-nodad", "mngtmpaddr", "noprefixroute", "autojoin"):
                if opt == "-nodad":
                    nodad = False
                self.unimpl(f"vip.{opt}", ln, f"VIP option {opt}")
                i += 1
                continue
            elif opt == "no_track":
                no_track = True
                i += 1
                continue
            elif opt == "preferred_lft":
                if val == "forever":
                    preferred_lft = None
                else:
                    pl = read_uint(val, 0, 2**32 - 1)  # type: ignore[arg-type]
                    if pl is None:
                        self.err(f"preferred_lft {val} is invalid", ln)
                    else:
                        preferred_lft = pl
                self.unimpl("vip.preferred_lft", ln, "VIP option preferred_lft")
            elif static and opt == "track_group":
                if val not in self.st.track_groups:
                    self.err(f"track_group {val} not found", ln)
            elif not static and opt == "use_vmac":
                self.unimpl("vip.use_vmac", ln, "VIP option use_vmac")
                i += 1
                continue
            else:
                self.err(f"Unknown configuration entry '{opt}' for ip address - ignoring", ln)
                i += 1
                continue
            i += 2
        if iface.version == 6:
            if scope != "global" and "scope" in v:
                self.err(f"Cannot specify scope for IPv6 addresses ({txt}) - ignoring scope", ln)
                scope = "global"
            if label is not None:
                self.err(f"Cannot specify label for IPv6 addresses ({txt}) - ignoring label", ln)
                label = None
        if brd in ("+", "-") and peer is None and iface.network.prefixlen > 30:
            self.err(f"Address prefix length {iface.network.prefixlen} too long for broadcast", ln)
            brd = None
        elif brd is not None and peer is not None:
            self.err("Cannot specify broadcast and peer addresses - ignoring broadcast address", ln)
            brd = None
        return VipConfig(iface, dev, label, brd, scope, peer, no_track, nodad, preferred_lft)

    # ``ip route`` / ``ip rule`` lines (vrrp_iproute.c alloc_route, vrrp_iprule.c alloc_rule) -------
    ROUTE_ARG1 = frozenset(
        {"tos", "mtu", "hoplimit", "advmss", "rtt", "rttvar", "reordering", "window", "cwnd", "ssthresh",
         "realms", "rto_min", "initcwnd", "initrwnd", "features", "quickack", "congctl", "pref",
         "fastopen_no_cookie", "expires", "vrf", "as", "encap", "track_group"}
    )  # fmt: skip
    ROUTE_TYPES = frozenset(
        {"unicast", "local", "broadcast", "multicast", "throw", "unreachable", "prohibit", "blackhole", "nat",
         "anycast"}
    )  # fmt: skip
    SCOPES_RT = frozenset({"global", "universe", "site", "link", "host", "nowhere"})
    PROTOS = frozenset(
        {"unspec", "redirect", "kernel", "boot", "static", "gated", "ra", "mrt", "zebra", "bird", "dnrouted",
         "xorp", "ntk", "dhcp", "keepalived", "babel", "bgp", "isis", "ospf", "rip", "eigrp"}
    )  # fmt: skip
    RULE_ARG1 = frozenset(
        {"tos", "dsfield", "fwmark", "realms", "suppress_prefixlength", "sup_pl", "suppress_ifgroup",
         "sup_group", "tunnel_id", "uidrange", "protocol", "ipproto", "sport", "dport", "track_group", "type"}
    )  # fmt: skip

    @staticmethod
    def _rt_table_ok(v: str) -> bool:
        """A table number, or a name from /etc/iproute2/rt_tables (as ``find_rttables_table``)."""
        if v.isdigit():
            return True
        names = {"local", "main", "default", "unspec"}
        try:
            with open("/etc/iproute2/rt_tables", encoding="utf-8", errors="replace") as fh:
                for ln in fh:
                    parts = ln.split("#", 1)[0].split()
                    if len(parts) >= 2:
                        names.add(parts[1])
        except OSError:
            pass
        return v in names

    def _missing(self, v: list[str], kw: str, ln: Line) -> None:
        self.err(f"Configuration line starting `{v[0]}` is missing a parameter after keyword `{kw}`", ln)

    def check_route(self, v: list[str], ln: Line, static: bool, devs: list | None = None) -> bool:
        """``alloc_route``: returns False when keepalived drops the route."""
        i = 0
        n = len(v)
        dest = None
        oif = None
        no_track = False
        protocol = None
        while i < n:
            t = v[i]
            if t in ("inet", "inet6", "onlink", "add", "prepend", "append"):
                i += 1
                continue
            if t == "no_track":
                no_track = True
                i += 1
                continue
            if t in ("or", "nexthop"):
                if t == "or":
                    self.err('"or" for routes is deprecated. Please use "nexthop"', ln)
                break  # the rest are next hops; the route has no top-level interface to track
            one_arg = t in ("src", "from", "via", "gw", "table", "protocol", "scope", "metric", "priority",
                            "preference", "dev", "oif") or t in self.ROUTE_ARG1  # fmt: skip
            if one_arg:
                if i + 1 >= n:
                    self._missing(v, t, ln)
                    return False
                a = v[i + 1]
                if t in ("via", "gw") and a in ("inet", "inet6"):
                    i += 1
                    if i + 1 >= n:
                        self._missing(v, t, ln)
                        return False
                    a = v[i + 1]
                if t in ("src", "from"):
                    try:
                        ip_interface(a)
                    except ValueError:
                        self.err(f"VRRP parsed invalid IP {a}. skipping IP...", ln)
                        self.err(f"invalid route {t} address {a}", ln)
                        return False
                elif t in ("via", "gw"):
                    if t == "gw":
                        self.err('"gw" for routes is deprecated. Please use "via"', ln)
                    try:
                        ip_address(a)
                    except ValueError:
                        self.err(f"VRRP parsed invalid IP {a}. skipping IP...", ln)
                        self.err(f"invalid route via address {a}", ln)
                        return False
                elif t == "table" and not self._rt_table_ok(a):
                    self.err(f"Routing table {a} not found for route", ln)
                    return False
                elif t == "protocol":
                    if not (a.isdigit() or a in self.PROTOS):
                        self.err(f"Protocol {a} not found or invalid for route", ln)
                        return False
                    protocol = a
                elif t == "scope" and not (a.isdigit() or a in self.SCOPES_RT):
                    self.err(f"Scope {a} not found or invalid for route", ln)
                    return False
                elif t in ("metric", "priority", "preference") and read_uint(a, 0, 2**32 - 1) is None:
                    self.err(f"invalid number '{a}'", ln)
                    self.err(f"Invalid metric {a} specified for route", ln)
                    return False
                elif t in ("dev", "oif"):
                    oif = a
                    if devs is not None:
                        devs.append(
                            (a, self.where(ln), f"WARNING - interface {a} for VROUTE nexthop doesn't exist")
                        )
                i += 2
                continue
            # anything else is the destination: [to] [TYPE] PREFIX
            if t == "to":
                i += 1
                t = v[i] if i < n else ""
            if t in self.ROUTE_TYPES:
                i += 1
                t = v[i] if i < n else ""
            if t in ("default", "default6", "any", "all"):
                dest = t
            else:
                try:
                    ip_interface(t)
                    dest = t
                except ValueError:
                    self.err(f"VRRP parsed invalid IP {t}. skipping IP...", ln)
                    self.err(f"unknown route keyword {t}", ln)
                    return False
            i += 1
        if dest is None:
            self.err("Route must have a destination", ln)
            return False
        if not no_track:
            if protocol is not None and protocol not in ("keepalived", "18"):
                self.err(
                    "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol", ln
                )
            if oif is None:
                self.err(f"Warning - cannot track route {dest} with no interface specified, not tracking", ln)
        return True

    def check_rule(self, v: list[str], ln: Line, devs: list | None = None) -> bool:
        """``alloc_rule``: returns False when keepalived drops the rule."""
        i = 0
        n = len(v)
        action = False
        pref = False
        while i < n:
            t = v[i]
            if t in ("inet", "inet6", "not", "no_track"):
                i += 1
                continue
            if t in ("blackhole", "prohibit", "unreachable", "nop", "l3mdev"):
                action = True
                i += 1
                continue
            known = t in ("from", "to", "table", "lookup", "preference", "order", "priority", "dev", "iif", "oif",
                          "goto") or t in self.RULE_ARG1  # fmt: skip
            if not known:
                self.err(f"Unknown rule option {t}", ln)
                return False
            if i + 1 >= n:
                self._missing(v, t, ln)
                return False
            a = v[i + 1]
            if t in ("from", "to"):
                if a not in ("all", "default"):
                    try:
                        ip_interface(a)
                    except ValueError:
                        self.err(f"VRRP parsed invalid IP {a}. skipping IP...", ln)
                        self.err(f"Invalid rule {t} address {a}", ln)
                        return False
            elif t in ("table", "lookup"):
                if not self._rt_table_ok(a):
                    self.err(f"Routing table {a} not found for rule", ln)
                    return False
                if a == "0":
                    self.err("Table 0 is not valid", ln)
                    return False
                action = True
            elif t == "goto":
                action = True
            elif t in ("preference", "order", "priority"):
                if read_uint(a, 0, 2**32 - 1) is None:
                    self.err(f"Invalid rule preference {a} specified", ln)
                    return False
                pref = True
            elif t in ("dev", "iif", "oif") and devs is not None:
                devs.append((a, self.where(ln), f"WARNING - interface {a} for rule doesn't exist"))
            i += 2
        if not action:
            self.err("No action specified for rule - ignoring", ln)
            return False
        if not pref:
            self.err(
                "Rule has no preference specified - setting to 16384. This is probably not what you want.", ln
            )
        return True

    # vrrp_script / track_file / track_process / sync group / garp_group -------------------------
    def script_kw(self, sc: ScriptB | None, s: str, vec: list[str], line: Line) -> None:
        if sc is None:
            return
        n = sc.name
        if s == "script":
            words = split_command(line.text)
            if not words or len(words) < 2:
                return  # keepalived ignores an empty "script"
            argv = split_command(words[1])
            if argv:
                sc.argv = tuple(argv)
            if len(words) > 2:
                sc.user = words[2]
                if len(words) > 3:
                    sc.group = words[3]
        elif s in ("interval", "timeout"):
            if not self.need(vec):
                return
            v = read_uint(vec[1], 0, 4294)
            if v is None:
                self.err(f"({n}): vrrp script {s} '{vec[1]}' invalid - ignoring")
                return
            if v == 0:
                self.err(f"({n}): vrrp script {s} must be greater than 0, setting to 1")
                v = 1
            setattr(sc, s, float(v))
        elif s == "weight":
            self.weight(
                sc,
                vec,
                253,
                f"vrrp_script {n} weight {{value}} must be in [-253, 253]",
                f"vrrp_script {n} unknown weight option {{option}}",
            )
        elif s in ("rise", "fall"):
            if not self.need(vec):
                return
            v = read_uint(vec[1], 1, 2**31 - 1)
            if v is None:
                self.err(f"({n}): vrrp script {s} value '{vec[1]}' invalid, defaulting to 1")
                v = 1
            setattr(sc, s, v)
        elif s == "user":
            if not self.need(vec):
                return
            if not user_exists(vec[1]) or (len(vec) > 2 and not group_exists(vec[2])):
                self.err(f"Unable to set uid/gid for script {' '.join(sc.argv or ())}")
                return
            sc.user = vec[1]
            if len(vec) > 2:
                sc.group = vec[2]
        elif s == "init_fail":
            sc.init_fail = True

    def track_file_kw(self, tf: TrackFileB | None, s: str, vec: list[str], line: Line) -> None:
        if tf is None:
            return
        if s == "file":
            if self.need(vec):
                if tf.path is not None:
                    self.err(f"File already set for track file {tf.name} - ignoring {vec[1]}")
                else:
                    tf.path = vec[1]
        elif s == "weight":
            self.weight(
                tf,
                vec,
                254,
                f"Track file {tf.name} weight {{value}} must be in [-254, 254]",
                f"Track file {tf.name} unknown weight option {{option}}",
            )
        elif s == "init_file":
            # track_file.c track_file_init_handler: numbers and "overwrite" in any order
            tf.init_file = 0
            for word in vec[1:]:
                if word[:1].isdigit() or word[:1] == "-":
                    v = read_int(word, -(2**31), 2**31 - 1)
                    if v is None:
                        self.err(f"Track file {tf.name} init value {word} is invalid")
                        v = 0
                    elif not -254 <= v <= 254:
                        self.err(f"Track file {tf.name} init value {v} is outside sensible range [-254, 254]")
                    tf.init_file = v
                elif word == "overwrite":
                    tf.init_overwrite = True
                else:
                    self.err(f"Unknown track file init option {word}")

    def track_process_kw(self, tp: TrackProcB | None, s: str, vec: list[str], line: Line) -> None:
        if tp is None:
            return
        if s == "process":
            if self.need(vec):
                if tp.process is not None:
                    self.err(f"Process already set for track process {tp.name} - ignoring {vec[1]}")
                    return
                tp.process = vec[1]
                if len(vec) > 2:
                    tp.args = " ".join(vec[2:])
        elif s == "param_match":
            if len(vec) > 1:
                if vec[1] in ("initial", "partial"):
                    tp.param_match = vec[1]
                else:
                    self.err(f"Invalid param_match {vec[1]} for track process {tp.name}")
        elif s == "weight":
            self.weight(
                tp,
                vec,
                254,
                f"weight for {tp.name} must be between [-254..254] inclusive. Ignoring...",
                f"unknown {tp.name} weight option {{option}} - ignoring",
            )
        elif s in ("quorum", "quorum_max"):
            if not self.need(vec):
                return
            v = read_uint(vec[1], 0 if s == "quorum_max" else 1, 65535)
            if v is None:
                self.err(f"{s} for {tp.name} invalid - ignoring")
            else:
                setattr(tp, s, v)
        elif s in ("delay", "terminate_delay", "fork_delay"):
            if not self.need(vec):
                return
            ok, v, msgs = read_decimal_range(vec[1], 1, 3600 * 10**6)
            for m in msgs:
                self.err(m)
            if not ok:
                self.err(
                    f"{s} ({vec[1]}) for vrrp_track_process {tp.name} must be between [0.000001..3600] inclusive. Ignoring..."
                )
            else:
                setattr(tp, s, v / 1e6)
        elif s == "full_command":
            tp.full_command = True

    def group_kw(self, g: GroupB | None, s: str, vec: list[str], line: Line) -> None:
        if g is None:
            return
        self.unimpl(f"vrrp_sync_group.{s}", line)
        if s == "group":
            if g.members is not None:
                self.err(f"Group list already specified for sync group {g.name}")
                self.skip_block(True)
                return
            members = [t for v, _ in self.value_block(vec) for t in v]
            g.members = members
            if not members:
                self.err(f"Warning - sync group {g.name} has empty group block")
        elif s in ("track_interface", "track_script", "track_file", "track_process", "track_bfd"):
            for v, ln in self.value_block(vec):
                if not self.resolve_track(g, s, TrackRef(v[0]), ln):
                    continue
                ref = self.track_ref(v, ln, s, g.name, allow_noreverse=(s != "track_interface"))
                if ref is None:
                    continue
                lst = {
                    "track_interface": g.track_interfaces,
                    "track_script": g.track_scripts,
                    "track_file": g.track_files,
                    "track_process": g.track_processes,
                }.get(s)
                if lst is not None:
                    lst.append((ref, self.where(ln)))
        elif s in ("notify_backup", "notify_master", "notify_fault", "notify_stop", "notify"):
            if not self.need(vec):
                return
            if s in g.notifies:
                self.err(f"({g.name}) {s} script already specified - ignoring {vec[1]}")
                return
            nt = self.notify_script(vec, line)
            if nt is not None:
                g.notifies[s] = nt
        elif s == "sync_group_tracking_weight":
            g.sync_group_tracking_weight = True
        elif s == "notify_priority_changes":
            if len(vec) > 1 and true_false(vec[1]) is None:
                self.err(
                    f"({g.name}) Invalid value '{vec[1]}' for sync group notify_priority_changes specified"
                )
            else:
                g.notify_priority_changes = true_false(vec[1]) if len(vec) > 1 else True
        elif s == "smtp_alert":
            if len(vec) > 1 and true_false(vec[1]) is None:
                self.err(f"Invalid vrrp_group smtp_alert parameter {vec[1]}")
        elif s == "global_tracking":
            self.err(
                f"({g.name}) global_tracking is deprecated. Use track_interface/script/file on the sync group"
            )

    def garp_group_kw(self, gg: dict, s: str, vec: list[str], line: Line) -> None:
        """``garp_group`` (vrrp_parser.c): a delay is required; interfaces must exist."""
        names: list[tuple[str, Line]] = []
        if s == "interfaces":
            names = [(v[0], ln) for v, ln in self.value_block(vec)]
        elif s in ("garp_interval", "gna_interval"):
            if self.need(vec):
                ok, v, msgs = read_decimal_range(vec[1], 0, 2**32 - 1)
                for m in msgs:
                    self.err(m)
                if not ok:
                    self.err(f"Invalid garp_group {s} {vec[1]}")
                elif v:
                    gg["delay"] = True
        elif s == "interface":
            if self.need(vec):
                names = [(vec[1], line)]
        for name, ln in names:
            self.st.static_devs.append(
                (name, self.where(ln), f"WARNING - interface {name} specified for garp_group doesn't exist")
            )


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def default_config_id(hostname: str | None = None) -> str:
    """keepalived's default ``-i``: the node name up to the first dot (main.c)."""
    if hostname is None:
        try:
            with open("/proc/sys/kernel/hostname", encoding="ascii", errors="replace") as fh:
                hostname = fh.read().strip()
        except OSError:
            hostname = ""
    return hostname.split(".", 1)[0]


def _run(
    path: str,
    text: str | None,
    config_id: str | None,
    all_config: bool,
    env: Mapping[str, str] | None,
    hostname: str | None,
    interfaces: frozenset[str] | None = None,
) -> Config:
    from pyvrrp.config import validate

    cid = config_id if config_id is not None else default_config_id(hostname)
    st = State(source=path)

    def report(level: str, file: str, line: int, msg: str) -> None:
        st.diags.append(Diagnostic(level, Where(file, line), msg))

    lx = Lexer(report, cid, env, include_check=0xF if all_config else 0)
    if text is None:
        if not os.path.exists(path):
            st.diags.append(Diagnostic("fatal", Where(path, 0), f"Config files missing '{path}'."))
            return validate.finish(st, interfaces)
        if os.path.isdir(path):
            raise ConfigError(path, 0, "configuration file is a directory", fatal=True)
        if not lx.open_top(path):
            raise ConfigError(path, 0, "cannot read configuration file", fatal=True)
    else:
        lx.open_top(path, text)
    p = Parser(lx, st)
    try:
        p.stream("root", False, 0)
    except RecursionError:
        st.diags.append(Diagnostic("error", p.where(), "configuration nested too deeply - rest ignored"))
    if lx.block_depth > 0:
        # lib/parser.c init_data: reported once the whole configuration has been read
        st.diags.append(
            Diagnostic("error", Where(path, 0), f"There are {lx.block_depth} missing '}}'s or extra '{{'s")
        )
    return validate.finish(st, interfaces)


def load(
    path: str,
    config_id: str | None = None,
    all_config: bool = False,
    env: Mapping[str, str] | None = None,
    hostname: str | None = None,
    interfaces: frozenset[str] | None = None,
) -> Config:
    """Parse keepalived.conf at ``path`` (as keepalived 2.2.7). Content problems are diagnostics;
    raises :class:`ConfigError` only when the top file exists but cannot be read.

    ``config_id``: the ``-i`` id for ``@ID`` lines (default: ``hostname`` up to the first dot,
    ``hostname`` defaulting to /proc/sys/kernel/hostname). ``all_config``: ``-e`` (missing
    includes are fatal). ``interfaces``: the interface names present, to check ``interface``/``dev``
    as ``keepalived -t`` does (None: not checked; the runtime checks them).
    """
    return _run(path, None, config_id, all_config, env, hostname, interfaces)


def parse_text(
    text: str,
    name: str = "<string>",
    config_id: str | None = None,
    env: Mapping[str, str] | None = None,
    interfaces: frozenset[str] | None = None,
) -> Config:
    """Parse configuration text (tests). Includes are relative to the current directory."""
    return _run(name, text, config_id if config_id is not None else "", False, env, "", interfaces)
