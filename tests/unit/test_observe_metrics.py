"""Prometheus endpoint (pyvrrp.observe.metrics): keepalived-exporter names, labels and values, from live state."""

from __future__ import annotations

import asyncio
import time
from ipaddress import ip_address

import pytest
from _observe_fakes import advert_from, fake_daemon, start, to_master
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pyvrrp.observe import metrics
from pyvrrp.proto.events import TrackerChanged
from pyvrrp.wire.vrrp import Advertisement

CONF = """
global_defs {
  router_id m1
}
vrrp_script chk_nginx {
  script "/bin/true"
  interval 1
  weight -30
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  track_script {
    chk_nginx
  }
  virtual_ipaddress {
    198.18.0.150/24 dev eth0 label eth0:0
    198.18.0.151
  }
  virtual_ipaddress_excluded {
    198.18.0.160/24
  }
}
vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority 100
  advert_int 1
}
"""


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def scrape(d) -> str:
    return generate_latest(metrics.build_registry(d, process=False)).decode()


def L(**kw: str) -> tuple[tuple[str, str], ...]:  # noqa: N802
    return tuple(sorted(kw.items()))


def test_exporter_series_for_a_backup_then_master() -> None:
    d = fake_daemon(CONF)
    start(d, 100.0, {"VI_1": [TrackerChanged("chk_nginx", 0, False, "ok")]})
    d.script_status = {"chk_nginx": True}
    s = samples(scrape(d))
    vi1 = dict(iname="VI_1", intf="eth0", vrid="51")
    assert s[("keepalived_up", ())] == 1
    assert s[("keepalived_vrrp_state", L(**vi1, ip_address="198.18.0.150/24"))] == 1
    assert s[("keepalived_vrrp_state", L(**vi1, ip_address="198.18.0.151"))] == 1
    assert s[("keepalived_vrrp_excluded_state", L(**vi1, ip_address="198.18.0.160/24"))] == 1
    # an instance without VIPs still has one state series (as the exporter does)
    assert s[("keepalived_vrrp_state", L(iname="VI_2", intf="eth0", vrid="52", ip_address=""))] == 1
    assert s[("keepalived_become_master_total", L(**vi1))] == 0
    assert s[("keepalived_script_status", L(name="chk_nginx"))] == 1
    assert s[("keepalived_script_state", L(name="chk_nginx"))] == 0
    assert s[("keepalived_vrrp_priority_base", L(**vi1))] == 150
    assert s[("keepalived_vrrp_priority_effective", L(**vi1))] == 150

    to_master(d.drivers["VI_1"], 100.0)
    d.drivers["VI_1"].machine.handle(
        TrackerChanged("chk_nginx", -30, False, "chk_nginx failed (weight -30)"), 105.0
    )
    d.script_status = {"chk_nginx": False}
    s = samples(scrape(d))
    assert s[("keepalived_vrrp_state", L(**vi1, ip_address="198.18.0.150/24"))] == 2
    assert s[("keepalived_become_master_total", L(**vi1))] == 1
    assert (
        s[("keepalived_advertisements_sent_total", L(**vi1))]
        == d.drivers["VI_1"].machine.stats.advert_sent
        >= 1
    )
    assert s[("keepalived_vrrp_priority_effective", L(**vi1))] == 120
    assert s[("keepalived_script_status", L(name="chk_nginx"))] == 0


def test_every_exporter_counter_and_no_created_series() -> None:
    d = fake_daemon(CONF)
    start(d, 100.0)
    st = d.drivers["VI_1"].machine.stats
    for i, (_, field, _) in enumerate(metrics.COUNTERS):
        setattr(st, field, i + 1)
    text = scrape(d)
    s = samples(text)
    for i, (name, _, _) in enumerate(metrics.COUNTERS):
        assert s[(name + "_total", L(iname="VI_1", intf="eth0", vrid="51"))] == i + 1, name
    assert "_created" not in text
    # exactly the exporter's counter names
    assert {n + "_total" for n, _, _ in metrics.COUNTERS} == {
        "keepalived_advertisements_received_total",
        "keepalived_advertisements_sent_total",
        "keepalived_become_master_total",
        "keepalived_release_master_total",
        "keepalived_packet_length_errors_total",
        "keepalived_advertisements_interval_errors_total",
        "keepalived_ip_ttl_errors_total",
        "keepalived_invalid_type_received_total",
        "keepalived_address_list_errors_total",
        "keepalived_authentication_invalid_total",
        "keepalived_authentication_mismatch_total",
        "keepalived_authentication_failure_total",
        "keepalived_priority_zero_received_total",
        "keepalived_priority_zero_sent_total",
    }


def test_reload_failures_build_info_last_transition_and_fault() -> None:
    d = fake_daemon(CONF)
    t0 = start(d, time.monotonic())  # the collector reads the machines' clock as time.monotonic()
    d.reload_failures = 2
    text = scrape(d)
    s = samples(text)
    assert s[("pyvrrp_config_reload_failures_total", ())] == 2
    info = [k for k in s if k[0] == "pyvrrp_build_info"]
    assert len(info) == 1 and dict(info[0][1])["keepalived_compat"] == "2.2.7"
    ts = s[("keepalived_vrrp_last_transition_timestamp_seconds", L(iname="VI_1", intf="eth0", vrid="51"))]
    assert abs(ts - time.time()) < 60  # a wall-clock time, not the loop clock
    d.drivers["VI_2"].machine.handle(TrackerChanged("eth9", 0, True, "eth9 down"), t0 + 1)
    s = samples(scrape(d))
    assert s[("keepalived_vrrp_state", L(iname="VI_2", intf="eth0", vrid="52", ip_address=""))] == 3


def test_script_durations_histogram() -> None:
    d = fake_daemon(CONF)
    start(d, 100.0)
    d.script_durations = metrics.ScriptDurations()
    d.script_durations.observe("chk_nginx", 0.003)
    d.script_durations.observe("chk_nginx", 0.2)
    d.script_durations.observe("chk_nginx", 30.0)
    s = samples(scrape(d))
    assert s[("pyvrrp_script_duration_seconds_bucket", L(name="chk_nginx", le="0.005"))] == 1
    assert s[("pyvrrp_script_duration_seconds_bucket", L(name="chk_nginx", le="0.25"))] == 2
    assert s[("pyvrrp_script_duration_seconds_bucket", L(name="chk_nginx", le="+Inf"))] == 3
    assert s[("pyvrrp_script_duration_seconds_count", L(name="chk_nginx"))] == 3
    assert s[("pyvrrp_script_duration_seconds_sum", L(name="chk_nginx"))] == pytest.approx(30.203)


def test_master_seen_expires() -> None:
    seen = metrics.MasterSeen()
    seen.saw(51, "198.18.0.162", 200, 1.0, now=10.0)
    seen.saw(51, "198.18.0.163", 100, 1.0, now=13.5)
    assert seen.current(12.0) == [(51, "198.18.0.162", 200), (51, "198.18.0.163", 100)]
    assert seen.current(14.5) == [(51, "198.18.0.163", 100)]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (":9165", (None, 9165)),
        ("198.18.0.161:9100", ("198.18.0.161", 9100)),
        ("[::1]:9165", ("::1", 9165)),
        ("9200", (None, 9200)),
    ],
)
def test_parse_listen(text: str, want: tuple[str | None, int]) -> None:
    assert metrics.parse_listen(text) == want


@pytest.mark.parametrize("text", ["a:b", "1.2.3.4:99999", "::1:9165"])
def test_parse_listen_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="listen address"):
        metrics.parse_listen(text)


def test_http_endpoint_and_advert_hook() -> None:
    class Rcv:
        def __init__(self, src: str) -> None:
            self.ifname, self.family, self.src = "eth0", 4, ip_address(src)

    def adv(prio: int) -> Advertisement:
        return Advertisement(version=2, vrid=51, priority=prio, addresses=(), adver_int=1)

    async def main() -> tuple[str, str]:
        d = fake_daemon(CONF)
        start(d, asyncio.get_running_loop().time())
        d.advert_hooks = []  # type: ignore[attr-defined]
        d.stop_hooks = []  # type: ignore[attr-defined]
        d.settings = {"metrics_listen": "127.0.0.1:0"}
        await metrics.attach(d)
        drv = d.drivers["VI_1"]
        for hook in d.advert_hooks:  # type: ignore[attr-defined]
            hook(Rcv("198.18.0.162"), adv(200), drv)
            hook(Rcv("198.18.0.161"), adv(150), drv)  # our own address: not counted
            hook(Rcv("198.18.0.163"), adv(0), drv)  # priority 0: a release
            hook(Rcv("198.18.0.164"), adv(90), None)  # not one of our VRIDs
        port = d.metrics_server.port  # type: ignore[attr-defined]
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        body = (await r.read()).decode()
        w.close()
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET /nope HTTP/1.1\r\n\r\n")
        nope = (await r.read()).decode()
        w.close()
        for hook in d.stop_hooks:  # type: ignore[attr-defined]
            await hook()
        return body, nope

    body, nope = asyncio.run(main())
    head, _, payload = body.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.0 200") and "text/plain" in head
    s = samples(payload)
    assert s[("keepalived_up", ())] == 1
    assert s[("pyvrrp_vrrp_master_seen", L(vrid="51", address="198.18.0.162", priority="200"))] == 1
    assert not [k for k in s if k[0] == "pyvrrp_vrrp_master_seen" and dict(k[1])["address"] != "198.18.0.162"]
    assert any(k[0] == "process_cpu_seconds_total" for k in s)
    assert nope.startswith("HTTP/1.0 404")


def test_no_metrics_means_no_server() -> None:
    d = fake_daemon(CONF)
    d.settings = {"metrics_listen": None}
    asyncio.run(metrics.attach(d))
    assert not hasattr(d, "metrics_server")


def test_backup_hears_master_via_machine() -> None:
    d = fake_daemon(CONF)
    start(d, 100.0)
    advert_from(d.drivers["VI_1"], "198.18.0.162", 200, 100.2)
    assert d.drivers["VI_1"].machine.master_src == ip_address("198.18.0.162")


def test_openmetrics_negotiation_has_no_created_series() -> None:
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families

    d = fake_daemon(CONF)
    start(d, 100.0)
    to_master(d.drivers["VI_1"], 100.0)
    encoder, ctype = choose_encoder("application/openmetrics-text; version=1.0.0,text/plain;q=0.5")
    assert ctype.startswith("application/openmetrics-text")
    text = encoder(metrics.build_registry(d, process=False)).decode()
    assert text.rstrip().endswith("# EOF") and "_created" not in text
    names = {s.name for fam in om_families(text) for s in fam.samples}
    assert {"keepalived_become_master_total", "keepalived_vrrp_state", "pyvrrp_build_info"} <= names
