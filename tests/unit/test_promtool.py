"""The shipped alert rules: `promtool check rules`, `promtool test rules` (contrib/prometheus/tests), and the
rules evaluated over series scraped from pyvrrp's own collector (so they work unchanged against its endpoint).

promtool is an external tool (Debian package ``prometheus``): these are interop tests, a missing promtool is a
failure in CI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from _observe_fakes import fake_daemon, start, to_master
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pyvrrp.observe import metrics
from pyvrrp.proto.events import TrackerChanged

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "contrib" / "prometheus"
RULES = PROM / "pyvrrp-alerts.yml"

pytestmark = pytest.mark.interop


def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_check_rules() -> None:
    r = run("check", "rules", str(RULES))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 9 rules found" in r.stdout


def test_rule_unit_tests_pass() -> None:
    tests = sorted(str(p) for p in (PROM / "tests").glob("*.yml"))
    assert len(tests) >= 2
    r = run("test", "rules", *tests)
    assert r.returncode == 0, r.stdout + r.stderr


def test_rule_unit_tests_catch_a_naive_split_brain_rule(tmp_path: Path) -> None:
    """Counting VIP series instead of nodes (the classic mistake) must make the promtool tests fail."""
    naive = "count by (vrid) (keepalived_vrrp_state == 2) > 1"
    good = "count by (vrid) (count by (vrid, instance) (keepalived_vrrp_state == 2)) > 1"
    assert good in RULES.read_text()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "pyvrrp-alerts.yml").write_text(RULES.read_text().replace(good, naive))
    (tmp_path / "tests").mkdir()
    text = (
        (PROM / "tests" / "cluster_test.yml")
        .read_text()
        .replace("../pyvrrp-alerts.yml", "../rules/pyvrrp-alerts.yml")
    )
    (tmp_path / "tests" / "cluster_test.yml").write_text(text)
    r = run("test", "rules", str(tmp_path / "tests" / "cluster_test.yml"))
    assert r.returncode != 0 and "VrrpSplitBrain" in r.stdout + r.stderr


# ------------------------------------------------------------------------ the rules over pyvrrp's own series

CONF = """
vrrp_script chk_nginx {
  script "/bin/true"
  weight -30
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority %d
  track_script {
    chk_nginx
  }
  virtual_ipaddress {
    198.18.0.150/24
    198.18.0.151
  }
}
"""


def scrape_series(d, instance: str, samples: int = 20) -> list[dict[str, str]]:
    """promtool input_series for a scrape of ``d`` held constant over ``samples`` intervals."""
    text = generate_latest(metrics.build_registry(d, process=False)).decode()
    out = []
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            labels = {**s.labels, "job": "pyvrrp", "instance": instance}
            inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            out.append({"series": f"{s.name}{{{inner}}}", "values": f"{s.value:g}x{samples}"})
    out.append({"series": f'up{{job="pyvrrp",instance="{instance}"}}', "values": f"1x{samples}"})
    return out


def node(priority: int, master: bool, script_ok: bool = True):
    d = fake_daemon(CONF % priority, src="198.18.0.161" if priority > 100 else "198.18.0.162")
    start(d, 100.0, {"VI_1": [TrackerChanged("chk_nginx", 0 if script_ok else -30, False, "")]})
    d.script_status = {"chk_nginx": script_ok}
    if master:
        to_master(d.drivers["VI_1"], 100.0)
    return d


def alerts_firing(tmp_path: Path, series: list[dict[str, str]], names: list[str]) -> dict[str, bool]:
    """For each alert name: does it fire at 10m over these series? (promtool is asked to prove it silent)"""
    out = {}
    for name in names:
        doc = {
            "rule_files": [str(RULES)],
            "evaluation_interval": "1m",
            "tests": [
                {
                    "interval": "1m",
                    "input_series": series,
                    "alert_rule_test": [{"eval_time": "10m", "alertname": name, "exp_alerts": []}],
                }
            ],
        }
        f = tmp_path / f"{name}.yml"
        f.write_text(json.dumps(doc))  # JSON is YAML
        r = run("test", "rules", str(f))
        if r.returncode != 0:
            assert f"alertname: {name}" in r.stdout + r.stderr, (
                r.stdout + r.stderr
            )  # failed for that alert only
        out[name] = r.returncode != 0
    return out


ALERTS = [
    "VrrpSplitBrain",
    "VrrpNoMaster",
    "VrrpFault",
    "VrrpTrackScriptFailing",
    "VrrpPriorityDegraded",
    "VrrpDaemonDown",
]


def test_rules_over_pyvrrp_scrapes_healthy_pair_is_silent(tmp_path: Path) -> None:
    series = scrape_series(node(150, True), "198.18.0.161:9165") + scrape_series(
        node(100, False), "198.18.0.162:9165"
    )
    assert alerts_firing(tmp_path, series, ALERTS) == dict.fromkeys(ALERTS, False)


def test_rules_over_pyvrrp_scrapes_two_masters_and_a_failing_script(tmp_path: Path) -> None:
    series = scrape_series(node(150, True), "198.18.0.161:9165") + scrape_series(
        node(100, True, script_ok=False), "198.18.0.162:9165"
    )
    got = alerts_firing(tmp_path, series, ALERTS)
    assert got == {
        "VrrpSplitBrain": True,
        "VrrpNoMaster": False,
        "VrrpFault": False,
        "VrrpTrackScriptFailing": True,
        "VrrpPriorityDegraded": True,
        "VrrpDaemonDown": False,
    }


def test_rules_over_pyvrrp_scrapes_no_master(tmp_path: Path) -> None:
    series = scrape_series(node(150, False), "198.18.0.161:9165") + scrape_series(
        node(100, False), "198.18.0.162:9165"
    )
    got = alerts_firing(tmp_path, series, ["VrrpNoMaster", "VrrpSplitBrain"])
    assert got == {"VrrpNoMaster": True, "VrrpSplitBrain": False}
