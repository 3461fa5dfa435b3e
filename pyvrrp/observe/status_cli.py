"""``pyvrrp status [--json] [--control-socket PATH]``: the daemon's state as a table or as JSON.

Talks to the control socket (:mod:`pyvrrp.observe.status`); failures are one line on stderr, exit code 1
(daemon unreachable) or 2 (the daemon answered with an error).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import typer

from pyvrrp.observe.status import DEFAULT_SOCKET, ControlError, request


def _when(t: float | None, now: float) -> str:
    if not t:
        return "-"
    ago = max(0, int(now - t))
    if ago < 120:
        rel = f"{ago}s ago"
    elif ago < 7200:
        rel = f"{ago // 60}m ago"
    elif ago < 172800:
        rel = f"{ago // 3600}h ago"
    else:
        rel = f"{ago // 86400}d ago"
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(t))} ({rel})"


def render_heartbeat(hb: dict[str, Any]) -> list[str]:
    """Heartbeat mode: this node, its peers and who holds which resource group."""
    lines = [
        f"NODE {hb.get('node', '?')}: {hb.get('status', '?')}, resources {hb.get('resources', '?')}"
        f" (peer holds {hb.get('other_holds', '?')}), resource state {hb.get('rsc_state', '?')}"
        + (f", standby {hb['standby']}" if hb.get("standby") not in (None, "NOT", "NONE", "none") else ""),
    ]
    nodes = hb.get("nodes") or {}
    if nodes:
        lines += ["", "PEERS:"] + [f"  {n}: {st}" for n, st in sorted(nodes.items())]
    groups = hb.get("groups") or []
    if groups:
        lines += ["", "RESOURCE GROUPS (haresources):"]
        lines += [f"  {g.get('owner', '?')}: {g.get('key', '?')}" for g in groups]
    return lines


def render_table(doc: dict[str, Any]) -> str:
    """The human view of a status document."""
    if doc.get("mode") == "heartbeat" and isinstance(doc.get("heartbeat"), dict):
        return "\n".join(render_heartbeat(doc["heartbeat"]))
    now = float(doc.get("time") or time.time())
    head = ("INSTANCE", "VRID", "IFACE", "STATE", "PRIO", "MASTER", "SINCE", "LAST REASON")
    rows: list[tuple[str, ...]] = []
    details: list[str] = []
    for i in doc.get("instances", []):
        m = i.get("master")
        if m:
            who = f"{m.get('address') or '?'} ({m.get('priority')})" + (" self" if m.get("self") else "")
            since = _when(m.get("since"), now)
        else:
            who, since = "-", "-"
        p = i["priority"]
        prio = f"{p['effective']}/{p['base']}" if p["effective"] != p["base"] else str(p["base"])
        rows.append(
            (
                i["name"],
                str(i["vrid"]),
                i["interface"],
                i["state"],
                prio,
                who,
                since,
                i["last_transition"].get("reason") or "-",
            )
        )
        for t in i.get("trackers", []):
            mark = "FAULT" if t["fault"] else ("-" if not t["reported"] else "ok")
            w = "" if t["weight"] is None else f" weight {t['weight']}"
            details.append(
                f"  {i['name']}: {t['kind']} {t['name']}{w}: {mark}, delta {t['delta']:+d}"
                + (f" ({t['reason']})" if t["reason"] else "")
            )
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(len(head))]
    lines = ["  ".join(cell.ljust(widths[c]) for c, cell in enumerate(r)).rstrip() for r in [head, *rows]]
    if details:
        lines += ["", "Trackers:", *details]
    scripts = doc.get("scripts", [])
    if scripts:
        lines += ["", "Scripts:"] + [f"  {s['name']}: {s['status']}" for s in scripts]
    extra = []
    if doc.get("reload_failures"):
        extra.append(f"reload failures: {doc['reload_failures']}")
    if doc.get("started_at"):
        extra.append(f"started {_when(doc['started_at'], now)}")
    if extra:
        lines += ["", f"pyvrrp {doc.get('pyvrrp', '?')} pid {doc.get('pid', '?')}: " + ", ".join(extra)]
    return "\n".join(lines)


def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the status document as JSON."),
    control_socket: str | None = typer.Option(
        None, "--control-socket", help=f"The daemon's control socket (default {DEFAULT_SOCKET})."
    ),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds to wait for the daemon."),
) -> None:
    """Show each VRRP instance: state, priority, master and since when, last transition reason, trackers."""
    path = control_socket
    if path is None and ctx.parent is not None:
        # `pyvrrp --control-socket X status` puts the option on the root command
        parent = ctx.parent.params.get("control_socket")
        if parent and parent != DEFAULT_SOCKET:
            path = parent
    path = path or DEFAULT_SOCKET
    try:
        doc = request(path, "status", timeout)
    except ControlError as e:
        print(f"pyvrrp: {e}", file=sys.stderr)
        raise typer.Exit(1) from None
    if not doc.get("ok", False):
        print(f"pyvrrp: {doc.get('error', 'the daemon refused the request')}", file=sys.stderr)
        raise typer.Exit(2)
    if as_json:
        print(json.dumps(doc, indent=2, sort_keys=False))
    else:
        print(render_table(doc))


def register(app: typer.Typer) -> None:
    app.command("status")(status)
