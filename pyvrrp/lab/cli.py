"""``pyvrrp lab`` and its subcommands (``bench``, ``down``, ``shell NODE``), registered on the main app.

A thin layer over :mod:`pyvrrp.lab.story` and :mod:`pyvrrp.lab.bench`: every expected failure (not root,
no namespaces, a lab already up, keepalived missing, ...) is one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import subprocess
import sys

import typer

from pyvrrp.lab.story import DEFAULT_PREFIX, PREFIX_ENV, LabError, lab_prefix
from pyvrrp.lab.topo import TopologyError

lab_app = typer.Typer(
    add_completion=False,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=(
        "The reference cluster in network namespaces: a live failover story (default), "
        "a benchmark against keepalived, and tools to explore a kept lab. Needs root."
    ),
)

PREFIX_HELP = f"Namespace prefix (default {DEFAULT_PREFIX}, or ${PREFIX_ENV})."


def _fail(msg: str, code: int = 1) -> typer.Exit:
    print(f"pyvrrp lab: {msg}", file=sys.stderr)
    return typer.Exit(code)


def _offer_cleanup(prefix: str, err: LabError) -> int:
    """A lab is already up: say so; on a terminal, offer to remove it right away."""
    from pyvrrp.lab.story import lab_down, lab_namespaces

    print(f"pyvrrp lab: {err}", file=sys.stderr)
    if not (sys.stdin.isatty() and sys.stdout.isatty()) or not lab_namespaces(prefix):
        return err.code
    try:
        answer = input("Remove it now? [y/N] ").strip().lower()
    except (EOFError, KeyboardInterrupt):
        print()
        return err.code
    if answer not in ("y", "yes"):
        return err.code
    lab_down(prefix)
    return 0


@lab_app.callback()
def lab(
    ctx: typer.Context,
    quick: bool = typer.Option(False, "--quick", help="Shortened story (no pauses between steps)."),
    keep: bool = typer.Option(False, "--keep", help="Leave the lab up afterwards (see `pyvrrp lab shell`)."),
    peer: str = typer.Option("pyvrrp", "--peer", help="Daemon on the slave: pyvrrp or keepalived."),
    prefix: str | None = typer.Option(None, "--prefix", help=PREFIX_HELP),
    json_out: str | None = typer.Option(None, "--json", help="Write the steps and their times as JSON."),
) -> None:
    """Run the failover story (default command)."""
    if ctx.invoked_subcommand is not None:
        return
    from pyvrrp.lab.story import Story, StoryOptions

    if peer not in ("pyvrrp", "keepalived"):
        raise _fail(f"--peer must be pyvrrp or keepalived, not '{peer}'", 2)
    try:
        pfx = lab_prefix(prefix)
        code = Story(StoryOptions(quick=quick, keep=keep, peer=peer, prefix=pfx, json_path=json_out)).run()
    except LabError as e:
        if "already up" in str(e):
            raise typer.Exit(_offer_cleanup(pfx, e)) from None
        raise _fail(str(e), e.code) from None
    except (TopologyError, OSError, subprocess.SubprocessError) as e:
        raise _fail(f"the lab failed: {e}") from None
    except KeyboardInterrupt:
        raise _fail("interrupted", 130) from None
    raise typer.Exit(code)


@lab_app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="One repetition and a short scale test (CI)."),
    reps: int = typer.Option(5, "--reps", "-n", min=1, max=100, help="Repetitions of each failover."),
    json_out: str | None = typer.Option(None, "--json", help="Write all measurements to this JSON file."),
    png: str | None = typer.Option(None, "--png", help="Render a chart (needs matplotlib)."),
    daemons: str = typer.Option(
        "pyvrrp,keepalived", "--daemons", help="Comma-separated daemons to measure (pyvrrp, keepalived)."
    ),
    scale: str | None = typer.Option(
        None, "--scale", help="Instance counts for the scale test (default 1,16,64,255; quick 64)."
    ),
    prefix: str | None = typer.Option(None, "--prefix", help=PREFIX_HELP),
) -> None:
    """Measure pyvrrp and keepalived side by side: takeover, outage, GARP delay, scale, startup."""
    from pyvrrp.lab.bench import BenchOptions, run_bench

    kinds = tuple(k.strip() for k in daemons.split(",") if k.strip())
    bad = [k for k in kinds if k not in ("pyvrrp", "keepalived")]
    if bad or not kinds:
        raise _fail(f"--daemons takes pyvrrp and/or keepalived, not '{daemons}'", 2)
    sizes: tuple[int, ...] | None = None
    if scale:
        try:
            sizes = tuple(int(x) for x in scale.split(","))
        except ValueError:
            raise _fail(f"--scale takes comma-separated instance counts, not '{scale}'", 2) from None
        if any(not 1 <= n <= 255 for n in sizes):
            raise _fail("--scale: instance counts are 1..255 (one VRID each)", 2)
    try:
        pfx = lab_prefix(prefix)
        code = run_bench(
            BenchOptions(
                quick=quick,
                reps=1 if quick and reps == 5 else reps,
                json_path=json_out,
                png_path=png,
                kinds=kinds,
                sizes=sizes,
                prefix=pfx,
            )
        )
    except LabError as e:
        raise _fail(str(e), e.code) from None
    except (TopologyError, OSError, subprocess.SubprocessError) as e:
        raise _fail(f"the bench failed: {e}") from None
    except KeyboardInterrupt:
        raise _fail("interrupted", 130) from None
    raise typer.Exit(code)


@lab_app.command()
def down(prefix: str | None = typer.Option(None, "--prefix", help=PREFIX_HELP)) -> None:
    """Remove a lab left up by --keep (or by a crashed run)."""
    from pyvrrp.lab.story import lab_down

    try:
        raise typer.Exit(lab_down(lab_prefix(prefix)))
    except LabError as e:
        raise _fail(str(e), e.code) from None


@lab_app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def shell(
    ctx: typer.Context,
    node: str = typer.Argument(..., help="master, slave, gateway, client (or sw, the switch)."),
    prefix: str | None = typer.Option(None, "--prefix", help=PREFIX_HELP),
) -> None:
    """Open a shell in a node of a kept lab (extra arguments: a command to run instead)."""
    from pyvrrp.lab.story import lab_shell

    try:
        raise typer.Exit(lab_shell(lab_prefix(prefix), node, list(ctx.args) or None))
    except LabError as e:
        raise _fail(str(e), e.code) from None
    except OSError as e:
        raise _fail(f"cannot start a shell: {e.strerror or e}") from None


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")
