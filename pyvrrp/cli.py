"""The command line: keepalived's flags on the root command (``pyvrrp -f FILE -n -l -D``), plus subcommands.

A thin layer: it parses flags, loads the configuration, and hands over to :mod:`pyvrrp.runtime`.
Every failure is one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import typer

from pyvrrp import __version__
from pyvrrp.errors import PyvrrpError

DEFAULT_CONF = "/etc/keepalived/keepalived.conf"

# keepalived 2.2.7 --signum values (lib/signals.c get_signum) on Linux/glibc
SIGNUMS = {
    "STOP": int(signal.SIGTERM),
    "RELOAD": int(signal.SIGHUP),
    "DATA": int(signal.SIGUSR1),
    "STATS": int(signal.SIGUSR2),
    "STATS_CLEAR": int(signal.SIGRTMAX) - 1,
    "JSON": int(signal.SIGRTMIN) + 2,
}

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="pyvrrp: a keepalived-compatible VRRP daemon. Run as `pyvrrp -f keepalived.conf -n -l`.",
)


def fail(msg: str, code: int = 1) -> typer.Exit:
    print(f"pyvrrp: {msg}", file=sys.stderr)
    return typer.Exit(code)


def default_config_id() -> str:
    return socket.gethostname().split(".")[0]


def load_config(path: str, config_id: str | None, all_config: bool = False):  # -> Config
    """keepalived.conf as keepalived 2.2.7 reads it on this host (its interfaces decide what exists)."""
    from pyvrrp.config.keepalived import load

    interfaces = frozenset(name for _idx, name in socket.if_nameindex())
    return load(
        path, config_id=config_id or default_config_id(), all_config=all_config, interfaces=interfaces
    )


def print_diagnostics(diags, levels: tuple[str, ...] | None = None) -> None:  # noqa: ANN001
    for d in diags:
        if levels is not None and d.level not in levels:
            continue
        tag = {"unimplemented": "accepted, not implemented", "script_security": "error"}.get(d.level, d.level)
        print(f"{d.where}: {tag}: {d.msg}", file=sys.stderr)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    use_file: str = typer.Option(
        DEFAULT_CONF, "-f", "--use-file", help="Configuration file (keepalived.conf syntax)."
    ),
    dont_fork: bool = typer.Option(False, "-n", "--dont-fork", help="Stay in the foreground."),
    log_console: bool = typer.Option(False, "-l", "--log-console", help="Log to the console (stderr)."),
    log_detail: bool = typer.Option(False, "-D", "--log-detail", help="Detailed log messages."),
    log_facility: str = typer.Option(
        "daemon", "-S", "--log-facility", help="syslog facility (0-7, local0-7, daemon, user)."
    ),
    log_file: str | None = typer.Option(
        None, "-g", "--log-file", help="Also log to this file (reopened after rotation)."
    ),
    no_syslog: bool = typer.Option(False, "-G", "--no-syslog", help="Do not log to syslog."),
    pid: str = typer.Option("/run/pyvrrp.pid", "-p", "--pid", help="Main pid file."),
    vrrp_pid: str = typer.Option("/run/pyvrrp_vrrp.pid", "-r", "--vrrp_pid", help="VRRP pid file."),
    config_test: bool = typer.Option(
        False,
        "-t",
        "--config-test",
        help="Check the configuration and exit (0 ok, 4 cannot run, 5 errors, 6 script security).",
    ),
    dump_conf: bool = typer.Option(False, "-d", "--dump-conf", help="Print the parsed configuration."),
    config_id: str | None = typer.Option(
        None, "-i", "--config-id", help="Id for @ID conditional lines (default: short hostname)."
    ),
    all_config: bool = typer.Option(
        False, "-e", "--all-config", help="Fail if any config or include file is missing."
    ),
    release_vips: bool = typer.Option(False, "-X", "--release-vips", help="Accepted for compatibility."),
    dont_release: bool = typer.Option(False, "-V", "--dont-release-vrrp", help="Keep VIPs at exit."),
    vrrp_only: bool = typer.Option(False, "-P", "--vrrp", help="Accepted: pyvrrp only runs VRRP."),
    check_only: bool = typer.Option(
        False, "-C", "--check", help="Accepted for compatibility (no checker here)."
    ),
    no_bfd: bool = typer.Option(False, "-B", "--no_bfd", help="Accepted for compatibility."),
    dont_respawn: bool = typer.Option(False, "-R", "--dont-respawn", help="Accepted for compatibility."),
    umask: str | None = typer.Option(None, "-u", "--umask", help="File creation umask (octal)."),
    signum: str | None = typer.Option(
        None,
        "--signum",
        help="Print the signal number of a function (STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON).",
    ),
    ha_dir: str | None = typer.Option(
        None, "--ha-dir", help="Heartbeat mode: read ha.cf, authkeys, haresources from this directory."
    ),
    metrics_listen: str = typer.Option(":9165", "--metrics-listen", help="Prometheus endpoint ADDR:PORT."),
    no_metrics: bool = typer.Option(False, "--no-metrics", help="Do not serve Prometheus metrics."),
    control_socket: str = typer.Option(
        "/run/pyvrrp/control.sock", "--control-socket", help="Status socket path."
    ),
    version: bool = typer.Option(False, "-v", "--version", help="Print the version and exit."),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if version:
        print(f"pyvrrp {__version__} (keepalived 2.2.7 compatible)")
        raise typer.Exit(0)
    if signum is not None:
        n = SIGNUMS.get(signum.upper())
        if n is None:
            print(f"Unknown sigfunc {signum}")
            raise typer.Exit(1)
        print(n)
        raise typer.Exit(0)
    if umask:
        try:
            os.umask(int(umask, 8))
        except ValueError:
            raise fail(f"invalid umask '{umask}'") from None

    if ha_dir is not None:
        raise typer.Exit(
            _heartbeat(ha_dir, config_test, dont_fork, log_console, log_detail, pid, control_socket)
        )

    if config_test or dump_conf:
        cfg = load_config(use_file, config_id, all_config)
        if dump_conf:
            from pyvrrp.config.dump import dump

            print(dump(cfg))
        if config_test:
            print_diagnostics(cfg.diagnostics)
            code = cfg.exit_code()
            if code == 0:
                print(f"{use_file}: configuration OK", file=sys.stderr)
            raise typer.Exit(code)
        raise typer.Exit(0)

    raise typer.Exit(
        _run_vrrp(
            use_file,
            config_id,
            all_config,
            dont_fork=dont_fork,
            log_console=log_console,
            log_detail=log_detail,
            log_facility=log_facility,
            log_file=log_file,
            syslog=not no_syslog,
            pidfiles=(pid, vrrp_pid),
            release=not dont_release,
            metrics_listen=None if no_metrics else metrics_listen,
            control_socket=control_socket,
        )
    )


def _need_raw_socket() -> str | None:
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    except PermissionError:
        return "VRRP needs root or CAP_NET_RAW/CAP_NET_ADMIN (raw sockets, netlink): run as root"
    except OSError as e:
        return f"cannot open a raw socket: {e.strerror or e}"
    s.close()
    return None


def _run_vrrp(
    use_file: str,
    config_id: str | None,
    all_config: bool,
    *,
    dont_fork: bool,
    log_console: bool,
    log_detail: bool,
    log_facility: str,
    log_file: str | None,
    syslog: bool,
    pidfiles: tuple[str, str],
    release: bool,
    metrics_listen: str | None,
    control_socket: str | None,
) -> int:
    from pyvrrp.observe.logmsg import setup_logging

    cfg = load_config(use_file, config_id, all_config)
    if not cfg.runnable:
        # what keepalived would refuse to run with: the errors, one line each, and -t's exit code
        print_diagnostics(cfg.diagnostics, ("fatal", "error"))
        return cfg.exit_code() or 4
    problem = _need_raw_socket()
    if problem:
        print(f"pyvrrp: {problem}", file=sys.stderr)
        return 4
    if not dont_fork:
        from pyvrrp.runtime.process import daemonize

        daemonize()
    log = setup_logging(
        console=log_console, detail=log_detail, syslog=syslog, facility=log_facility, log_file=log_file
    )
    from pyvrrp.runtime.main import run_vrrp

    try:
        return asyncio.run(
            run_vrrp(
                lambda: load_config(use_file, config_id, all_config),
                log_detail=log_detail,
                release=release,
                pidfiles=pidfiles,
                metrics_listen=metrics_listen,
                control_socket=control_socket,
                first_config=cfg,
            )
        )
    except PyvrrpError as e:
        log.error("%s", e)
        print(f"pyvrrp: {e}", file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        return 0


def _heartbeat(
    ha_dir: str,
    config_test: bool,
    dont_fork: bool,
    log_console: bool,
    log_detail: bool,
    pid: str,
    control_socket: str,
) -> int:
    try:
        from pyvrrp.config.heartbeat import check_ha_dir
    except ImportError:
        print("pyvrrp: heartbeat mode is not available in this build", file=sys.stderr)
        return 4
    if config_test:
        return check_ha_dir(ha_dir)
    from pyvrrp.observe.logmsg import setup_logging
    from pyvrrp.runtime.heartbeat import run_heartbeat

    code = check_ha_dir(ha_dir)
    if code == 4:
        return 4
    if not dont_fork:
        from pyvrrp.runtime.process import daemonize

        daemonize()
    setup_logging(console=log_console, detail=log_detail)
    try:
        return asyncio.run(
            run_heartbeat(
                ha_dir,
                node_name=None,
                log_detail=log_detail,
                state_dir="/var/lib/pyvrrp",
                pidfile=pid,
                control_socket=control_socket,
            )
        )
    except PyvrrpError as e:
        print(f"pyvrrp: {e}", file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        return 0


def _register_subcommands() -> None:
    """Subcommands live in their own modules; a missing optional one must not break the daemon."""
    import importlib

    for mod in ("pyvrrp.observe.status_cli", "pyvrrp.lab.cli"):
        try:
            m = importlib.import_module(mod)
        except ImportError:
            continue
        m.register(app)


def main() -> None:
    _register_subcommands()
    try:
        app()
    except PyvrrpError as e:
        print(f"pyvrrp: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
