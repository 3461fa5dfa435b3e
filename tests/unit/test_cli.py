"""The command line as a user meets it: keepalived's flags, exit codes and one-line errors (no root needed,
except the capability test, which drops CAP_NET_RAW from a root process)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pyvrrp(*args: str, timeout: float = 30, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "pyvrrp", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


GOOD = """global_defs {
    router_id test
}
vrrp_instance VI_1 {
    state BACKUP
    interface lo0missing
    virtual_router_id 51
    virtual_ipaddress {
        198.18.0.150/24
    }
}
"""


def write(tmp_path: Path, text: str, name: str = "k.conf") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_version_and_help() -> None:
    r = pyvrrp("-v")
    assert r.returncode == 0 and "pyvrrp" in r.stdout
    r = pyvrrp("-h")
    assert r.returncode == 0 and "--use-file" in r.stdout and "--config-test" in r.stdout


@pytest.mark.parametrize(
    ("name", "num"),
    [
        ("STOP", 15),
        ("RELOAD", 1),
        ("DATA", 10),
        ("STATS", 12),
        ("STATS_CLEAR", int(signal.SIGRTMAX) - 1),
        ("JSON", int(signal.SIGRTMIN) + 2),
    ],
)
def test_signum_prints_keepalived_numbers(name: str, num: int) -> None:
    r = pyvrrp("--signum", name)
    assert r.returncode == 0 and r.stdout.strip() == str(num)


def test_signum_unknown() -> None:
    r = pyvrrp("--signum", "BOGUS")
    assert r.returncode != 0 and "Unknown sigfunc BOGUS" in r.stdout


def test_config_test_ok_on_reference_cluster_in_its_namespace_form(tmp_path: Path) -> None:
    # the reference file names eth0; use the same file with the interface this host surely has
    text = (ROOT / "conf" / "cluster.conf").read_text().replace("eth0", "lo")
    for node in ("master", "slave"):
        r = pyvrrp("-t", "-f", write(tmp_path, text), "-i", node)
        # keepalived refuses a loopback interface for VRRP: an error (5), reported with file:line
        assert r.returncode == 5, r.stderr
        assert "k.conf:" in r.stderr and "loopback" in r.stderr


def test_config_test_missing_file() -> None:
    r = pyvrrp("-t", "-f", "/nonexistent/keepalived.conf")
    assert r.returncode == 4
    assert "/nonexistent/keepalived.conf" in r.stderr and "Traceback" not in r.stderr


def test_unknown_interface_one_line_with_file_and_line(tmp_path: Path) -> None:
    conf = write(tmp_path, GOOD)
    r = pyvrrp("-t", "-f", conf)
    assert r.returncode == 5
    assert f"{conf}:6:" in r.stderr and "lo0missing" in r.stderr
    # the daemon refuses to start with the same line and exit code, before touching the network
    r = pyvrrp("-f", conf, "-n", "-G", "--no-metrics")
    assert r.returncode == 5 and f"{conf}:6:" in r.stderr and "Traceback" not in r.stderr


def test_five_mistakes_reported_in_one_run(tmp_path: Path) -> None:
    conf = write(
        tmp_path,
        """vrrp_instance VI_1 {
    interface lo
    virtual_routerid 51
    virtual_router_id 300
    priority 0
    advert_int abc
    virtual_ipaddress {
        198.18.0.999/24
    }
}
""",
    )
    r = pyvrrp("-t", "-f", conf)
    assert r.returncode in (4, 5)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(conf + ":") and ": error:" in ln]
    assert len({ln.split(":")[1] for ln in lines}) >= 5, r.stderr
    assert "did you mean 'virtual_router_id'" in r.stderr


@pytest.mark.netns
def test_without_cap_net_raw_a_clear_message(tmp_path: Path) -> None:
    """Root without CAP_NET_RAW/CAP_NET_ADMIN (a container without the capabilities): one line, exit non-zero.
    Runs in a throw-away network namespace with a veth pair so nothing touches the host's interfaces."""
    if not shutil.which("setpriv") or not shutil.which("unshare"):
        pytest.skip("setpriv/unshare (util-linux) missing")
    conf = write(tmp_path, GOOD.replace("lo0missing", "va"))
    drop = "setpriv --bounding-set -net_raw,-net_admin --inh-caps -net_raw,-net_admin"
    script = (
        "ip link add va type veth peer name vb && ip link set va up && ip link set vb up && "
        f"exec {drop} {sys.executable} -m pyvrrp -f {conf} -n -G --no-metrics"
    )
    r = subprocess.run(
        ["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert "CAP_NET_RAW" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
