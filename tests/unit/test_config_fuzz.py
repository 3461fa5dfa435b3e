"""The keepalived.conf parser never raises on any input: it returns diagnostics (hypothesis fuzz)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvrrp.config.dump import dump
from pyvrrp.config.keepalived import load, parse_text
from pyvrrp.config.model import Config

WORDS = [
    "vrrp_instance", "VI_1", "{", "}", "state", "MASTER", "BACKUP", "interface", "eth0", "virtual_router_id",
    "51", "priority", "255", "0", "advert_int", "1.5", "virtual_ipaddress", "198.18.0.150/24", "2001:db8::1",
    "dev", "label", "brd", "+", "scope", "authentication", "auth_type", "PASS", "AH", "auth_pass", "secret!x",
    "unicast_peer", "unicast_src_ip", "track_script", "track_interface", "weight", "-20", "reverse",
    "vrrp_script", "script", '"/bin/x a"', "interval", "rise", "fall", "vrrp_sync_group", "group",
    "global_defs", "router_id", "vrrp_strict", "virtual_server", "real_server", "notify_master", "nopreempt",
    "preempt_delay", "@node1", "@^node2", "$X=1", "$X", "${X}", "${_RANDOM 1 3}", "~SEQ(i,1,3)", "~LST(v,a,b)",
    "$i", "#", "!", "\\", '"', "include", "/nonexistent/*.conf", "static_routes", "garp_group", "version", "3",
]  # fmt: skip

line = st.lists(st.sampled_from(WORDS), min_size=0, max_size=8).map(" ".join)
config_text = st.lists(line, max_size=40).map("\n".join)


def check(cfg: Config) -> None:
    assert isinstance(cfg, Config)
    assert cfg.exit_code() in (0, 4, 5, 6)
    for d in cfg.diagnostics:
        assert d.level in ("fatal", "error", "warning", "unimplemented", "script_security")
        assert "\n" not in str(d)
    dump(cfg)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config_text)
def test_keyword_soup_never_raises(text: str) -> None:
    check(parse_text(text, config_id="node1"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_raises(text: str) -> None:
    check(parse_text(text))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_binary_file_never_raises(tmp_path_factory, data: bytes) -> None:  # noqa: ANN001
    f = Path(tmp_path_factory.mktemp("fz")) / "k.conf"
    f.write_bytes(data)
    check(load(str(f), config_id="x"))


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=1, max_value=3000),
    st.sampled_from(["{", "vrrp_instance X {", "virtual_server a {", "x {\n"]),
)
def test_deep_nesting_never_raises(depth: int, opener: str) -> None:
    check(parse_text(opener * depth + "\n" + "}\n" * depth))
    check(parse_text("vrrp_instance V {\n" + "virtual_ipaddress {\n" * depth))


def test_recursive_definitions_and_seq_explosion_bounded() -> None:
    check(parse_text("$A=$A $A\nx $A\n"))
    check(parse_text("~SEQ(i,1,1000000) ~SEQ(j,1,1000000) x\n"))
