"""The lab's pure parts: the shipped reference config, the derived lab config, the measurements' arithmetic,
and the command line's answers to bad environments (one line, non-zero exit, no traceback)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pyvrrp.config.keepalived import load
from pyvrrp.lab import bench, story
from pyvrrp.lab.story import LabError, derive_lab_config, outage, reference_config

ROOT = Path(__file__).resolve().parents[2]


def test_packaged_reference_config_is_identical_to_conf() -> None:
    """pyvrrp/data/cluster.conf ships with the package (pip install .): it must be conf/cluster.conf.
    After editing conf/cluster.conf: cp conf/cluster.conf pyvrrp/data/cluster.conf"""
    assert (ROOT / "pyvrrp" / "data" / "cluster.conf").read_text() == (
        ROOT / "conf" / "cluster.conf"
    ).read_text()


def _load(text: str, tmp_path: Path, node: str):  # type: ignore[no-untyped-def]
    p = tmp_path / "lab.conf"
    p.write_text(text)
    return load(str(p), config_id=node)


@pytest.mark.parametrize("node", ["master", "slave"])
def test_derived_config_is_in_the_lab_range_and_loads(tmp_path: Path, node: str) -> None:
    seed, _ = reference_config()
    lab = derive_lab_config(seed)
    assert "192.168." not in lab.text
    assert lab.rewritten == len(re.findall(r"192\.168\.0\.\d+", seed))
    cfg = _load(lab.text, tmp_path, node)
    assert not [d for d in cfg.diagnostics if d.level in ("error", "fatal")], cfg.diagnostics
    inst = cfg.instances[0]
    assert str(inst.vips[0].address.ip) == story.VIP
    assert inst.interface == "eth0"
    # both stories' checks exist and are tracked
    names = {s.name for s in cfg.scripts}
    assert {"chk_nginx", "chk_gateway"} <= names
    assert {t.name for t in inst.track_scripts} >= {"chk_nginx", "chk_gateway"}


def test_either_check_failing_moves_the_vip(tmp_path: Path) -> None:
    seed, _ = reference_config()
    lab = derive_lab_config(seed)
    m = _load(lab.text, tmp_path, "master")
    s = _load(lab.text, tmp_path, "slave")
    pm, ps = m.instances[0].priority, s.instances[0].priority
    for sc in m.scripts:
        if sc.name in ("chk_nginx", "chk_gateway"):
            assert pm + sc.weight < ps, (sc.name, pm, sc.weight, ps)


SEED_WITH_SCRIPTS = """\
vrrp_script chk_nginx {
    script "/usr/local/sbin/no-such-check-nginx.sh"   ! the seed's own check, absent here
    interval 2
    weight -60
}
vrrp_script chk_gateway {
    script "/usr/bin/ping -c1 192.168.0.1"
    interval 2
    weight -60
}
vrrp_instance VI_1 {
@master    state MASTER
@slave     state BACKUP
    interface ens3
    virtual_router_id 51
@master    priority 150
@slave     priority 100
    track_script {
        chk_nginx
        chk_gateway
    }
    virtual_ipaddress {
        192.168.0.150/24 dev ens3 label ens3:0
    }
}
"""


def test_existing_checks_keep_their_tuning_and_run_lab_commands(tmp_path: Path) -> None:
    lab = derive_lab_config(SEED_WITH_SCRIPTS)
    assert not lab.injected
    assert "no-such-check" not in lab.text and "192.168." not in lab.text
    cfg = _load(lab.text, tmp_path, "master")
    scripts = {s.name: s for s in cfg.scripts}
    assert scripts["chk_nginx"].interval == 2 and scripts["chk_nginx"].weight == -60
    assert "http://127.0.0.1/" in " ".join(scripts["chk_nginx"].argv)
    # a command that exists here is kept as the file has it (addresses moved into the lab)
    assert scripts["chk_gateway"].argv == ("/usr/bin/ping", "-c1", "198.18.0.1")
    assert any("chk_nginx: the file's settings, with lab commands" in n for n in lab.notes)
    inst = cfg.instances[0]
    assert inst.interface == "eth0"
    assert inst.vips[0].dev == "eth0"
    assert lab.text.count("track_script") == 1  # nothing injected twice


def test_checks_are_injected_when_missing(tmp_path: Path) -> None:
    seed = SEED_WITH_SCRIPTS[SEED_WITH_SCRIPTS.index("vrrp_instance") :].replace(
        "    track_script {\n        chk_nginx\n        chk_gateway\n    }\n", ""
    )
    lab = derive_lab_config(seed)
    assert lab.injected
    cfg = _load(lab.text, tmp_path, "slave")
    assert {s.name for s in cfg.scripts} == {"chk_nginx", "chk_gateway"}
    assert all(s.weight == -60 for s in cfg.scripts)


def test_outage_counts_failed_runs_from_the_last_success() -> None:
    s = [(0.0, "master"), (0.1, "master"), (0.2, "-"), (0.3, "-"), (0.9, "slave"), (1.0, "slave")]
    assert outage(s, 0.15, 2.0) == pytest.approx(0.8)
    assert outage(s[:2], 0.15, 2.0) == 0.0
    # still failing at the end of the window
    assert outage(s[:4], 0.15, 1.0) == pytest.approx(0.9)


def test_bench_arithmetic(tmp_path: Path) -> None:
    # the probe: a 50 ms hole in 10 ms sends
    replies = [i * 0.01 for i in range(100)] + [1.5 + i * 0.01 for i in range(50)]
    assert bench.longest_gap(replies, 0.5, 1.6) == pytest.approx(0.5 + 0.01 - 0.01, abs=1e-6)
    assert bench.longest_gap(replies[:100], 0.2, 0.5) == pytest.approx(0.0, abs=1e-9)
    # ip -ts monitor
    mon = tmp_path / "mon.log"
    mon.write_text(
        "[2026-11-26T13:11:31.246243] 2: eth0    inet 198.18.0.150/24 scope global secondary eth0\n"
        "       valid_lft forever preferred_lft forever\n"
        "[2026-11-26T13:11:31.416264] Deleted 2: eth0    inet 198.18.0.150/24 scope global secondary eth0\n"
        "[2026-11-26T13:11:32.000000] 2: eth0    inet 198.18.0.151/24 scope global secondary eth0\n"
    )
    ev = bench.parse_monitor(mon, "198.18.0.150")
    assert [w for _, w in ev] == ["add", "del"]
    assert ev[1][0] - ev[0][0] == pytest.approx(0.170021, abs=1e-6)
    # jitter: transitions (2x interval) are excluded
    p50, p99, n = bench.jitter_ms({1: [0.0, 1.001, 2.0, 4.0, 5.003]}, 1.0)
    assert n == 3 and p99 == pytest.approx(3.0, abs=1e-6)
    # protocol bounds
    assert bench.mdi(100, 3, 0.05) == pytest.approx(0.15 + 156 / 256 * 0.05)
    assert bench.mdi(100, 2, 1.0) == pytest.approx(3 + 156 / 256)


def test_summary_table_has_ratios() -> None:
    res = {
        "failover": {
            "v2_1s": {"pyvrrp": {"kill_excess_s": [0.004, 0.006]}, "keepalived": {"kill_excess_s": [0.002]}},
        },
        "scale": {"pyvrrp": {"1": {"cpu_s_per_min": 0.2}}, "keepalived": {"1": {"cpu_s_per_min": 0.1}}},
    }
    rows = bench.summarize(res, ("pyvrrp", "keepalived"), (1,))
    first = rows[0]
    assert first["pyvrrp"] == pytest.approx(5.0) and first["ratio"] == pytest.approx(2.5)
    cpu = next(r for r in rows if r["metric"] == "1 instance(s): CPU s/min")
    assert cpu["ratio"] == pytest.approx(2.0)
    text = bench.table(rows, ("pyvrrp", "keepalived"))
    assert "| SIGKILL takeover excess over MDI (ms)" in text and "2.50" in text


def test_prefix_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(story.PREFIX_ENV, raising=False)
    assert story.lab_prefix() == "pvlab"
    monkeypatch.setenv(story.PREFIX_ENV, "pvt1234")
    assert story.lab_prefix() == "pvt1234"
    with pytest.raises(LabError):
        story.lab_prefix("../etc")


# -- the command line on bad environments -------------------------------------------------------------------


def _app():  # type: ignore[no-untyped-def]
    from pyvrrp import cli

    cli._register_subcommands()
    return cli.app


def _one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code not in (0, None), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize("args", [["lab", "--quick"], ["lab", "bench", "--quick"], ["lab", "down"]])
def test_not_root_is_one_line(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    line = _one_line_error(CliRunner().invoke(_app(), args))
    assert "root" in line


def test_keepalived_missing_for_peer(monkeypatch: pytest.MonkeyPatch) -> None:
    real = story.find_tool
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(story, "find_tool", lambda name: None if name == "keepalived" else real(name))
    monkeypatch.setattr(story, "lab_namespaces", lambda prefix: [])
    line = _one_line_error(CliRunner().invoke(_app(), ["lab", "--peer", "keepalived", "--prefix", "pvunit"]))
    assert "keepalived" in line and "apt-get install keepalived" in line


def test_no_firewall_tool_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real = story.find_tool
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(story, "find_tool", lambda name: None if name in ("nft", "iptables") else real(name))
    monkeypatch.setattr(story, "lab_namespaces", lambda prefix: [])
    with pytest.raises(story.LabError, match="apt-get install nftables"):
        story.preflight("pvt000000", ("ping", "nft|iptables"))


def test_ip_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(story, "find_tool", lambda name: None)
    line = _one_line_error(CliRunner().invoke(_app(), ["lab", "--prefix", "pvunit"]))
    assert "iproute2" in line


def test_leftover_lab_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(story, "lab_namespaces", lambda prefix: [f"{prefix}-sw", f"{prefix}-master"])
    monkeypatch.setattr(story.subprocess, "run", _fake_run)
    line = _one_line_error(CliRunner().invoke(_app(), ["lab", "--prefix", "pvunit"]))
    assert "pyvrrp lab down" in line and "pvunit-master" in line


def _fake_run(*a, **kw):  # type: ignore[no-untyped-def]
    import subprocess

    return subprocess.CompletedProcess(a[0], 0, "", "")


def test_bad_options() -> None:
    line = _one_line_error(CliRunner().invoke(_app(), ["lab", "--peer", "bird"]))
    assert "--peer" in line
    line = _one_line_error(CliRunner().invoke(_app(), ["lab", "bench", "--daemons", "quagga"]))
    assert "--daemons" in line
    line = _one_line_error(CliRunner().invoke(_app(), ["lab", "bench", "--scale", "1,300"]))
    assert "1..255" in line


def test_a_missing_check_is_added_and_tracked_next_to_existing_ones(tmp_path: Path) -> None:
    seed = SEED_WITH_SCRIPTS.replace(
        SEED_WITH_SCRIPTS[
            SEED_WITH_SCRIPTS.index("vrrp_script chk_gateway") : SEED_WITH_SCRIPTS.index("vrrp_instance")
        ],
        "",
    ).replace("        chk_gateway\n", "")
    lab = derive_lab_config(seed)
    assert lab.injected
    cfg = _load(lab.text, tmp_path, "master")
    assert not [d for d in cfg.diagnostics if d.level in ("error", "fatal")], cfg.diagnostics
    assert {s.name for s in cfg.scripts} == {"chk_nginx", "chk_gateway"}
    assert {t.name for t in cfg.instances[0].track_scripts} == {"chk_nginx", "chk_gateway"}
    assert lab.text.count("track_script") == 1
