"""contrib/: the systemd unit verifies, logrotate rotates a live log without signals, and every series the
dashboard and the alert rules use is one pyvrrp's endpoint serves."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _observe_fakes import fake_daemon, start, to_master
from prometheus_client.exposition import generate_latest

from pyvrrp.observe import metrics

ROOT = Path(__file__).resolve().parents[2]
CONTRIB = ROOT / "contrib"

CONF = """
vrrp_script chk_nginx {
  script "/bin/true"
  weight -30
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  track_script {
    chk_nginx
  }
  virtual_ipaddress {
    198.18.0.150/24
  }
  virtual_ipaddress_excluded {
    198.18.0.160/24
  }
}
"""


def served_names() -> set[str]:
    d = fake_daemon(CONF)
    start(d, 100.0)
    to_master(d.drivers["VI_1"], 100.0)
    d.script_status = {"chk_nginx": True}
    d.script_durations = metrics.ScriptDurations()
    d.script_durations.observe("chk_nginx", 0.1)
    d.master_seen = metrics.MasterSeen()
    d.master_seen.saw(51, "198.18.0.162", 100, 1.0, 0.0)
    reg = metrics.build_registry(d, process=False)
    text = generate_latest(reg).decode()
    names = {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")
    }
    return names | {"pyvrrp_vrrp_master_seen"}  # the tap is fed by packets; the family is always declared


def used_names(text: str) -> set[str]:
    return set(re.findall(r"\b((?:keepalived|pyvrrp)_[a-z_]+)", text))


def test_alert_rules_use_only_served_series() -> None:
    used = used_names((CONTRIB / "prometheus" / "pyvrrp-alerts.yml").read_text())
    assert used and used <= served_names(), used - served_names()


def test_dashboard_uses_only_served_series() -> None:
    dash = json.loads((CONTRIB / "grafana" / "pyvrrp-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dash["templating"]["list"] if "definition" in v]
    used = used_names("\n".join(exprs))
    assert "keepalived_vrrp_state" in used and used <= served_names(), used - served_names()
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    unit = (CONTRIB / "systemd" / "pyvrrp.service").read_text()
    for key in (
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Conflicts=keepalived.service",
        "--dont-fork",
    ):
        assert key in unit
    assert "CAP_NET_ADMIN" in unit and "CAP_NET_RAW" in unit
    assert "EnvironmentFile=-/etc/default/pyvrrp" in unit
    default = (CONTRIB / "default" / "pyvrrp").read_text()
    assert re.search(r"^CONFIG_FILE=/etc/keepalived/keepalived.conf$", default, re.M)
    assert re.search(r"^DAEMON_ARGS=", default, re.M)
    tool = shutil.which("systemd-analyze")
    if not tool:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart exists: point it at an executable that does
    (tmp_path / "pyvrrp.service").write_text(
        unit.replace("/usr/bin/pyvrrp", shutil.which("true") or "/bin/true")
    )
    r = subprocess.run(
        [tool, "verify", str(tmp_path / "pyvrrp.service")], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), r.stdout + r.stderr


def test_logrotate_works_without_a_signal(tmp_path: Path) -> None:
    """logrotate with the shipped stanza renames the log; pyvrrp's file handler reopens on the next line."""
    tool = shutil.which("logrotate") or (
        "/usr/sbin/logrotate" if os.path.exists("/usr/sbin/logrotate") else None
    )
    if not tool:
        pytest.skip("logrotate is not installed")
    from pyvrrp.observe.logmsg import KeepalivedFormatter, ReopeningFileHandler

    stanza = (CONTRIB / "logrotate" / "pyvrrp").read_text()
    body = "\n".join(line for line in stanza.splitlines() if not line.lstrip().startswith("#"))
    assert "postrotate" not in body and "kill" not in body
    log_path = tmp_path / "pyvrrp.log"
    conf = stanza.replace("/var/log/pyvrrp.log /var/log/pyvrrp_vrrp.log", str(log_path))
    conf = re.sub(r"create 0640 root adm", "create 0640", conf)
    (tmp_path / "lr.conf").write_text(conf)
    lg = logging.getLogger("pyvrrp-test-rotate")
    lg.propagate = False
    h = ReopeningFileHandler(str(log_path))
    h.setFormatter(KeepalivedFormatter())
    lg.addHandler(h)
    lg.setLevel(logging.INFO)
    try:
        lg.info("(VI_1) Entering MASTER STATE")
        r = subprocess.run(
            [tool, "-f", "-s", str(tmp_path / "state"), str(tmp_path / "lr.conf")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "pyvrrp.log.1").exists()
        lg.info("(VI_1) Entering BACKUP STATE")
    finally:
        lg.removeHandler(h)
        h.close()
    assert "Entering MASTER STATE" in (tmp_path / "pyvrrp.log.1").read_text()
    assert "Entering BACKUP STATE" in log_path.read_text()
    assert "Entering BACKUP STATE" not in (tmp_path / "pyvrrp.log.1").read_text()
