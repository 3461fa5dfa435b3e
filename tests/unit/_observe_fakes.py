"""Fakes for the observe tests: a daemon-shaped object whose drivers hold real VrrpInstance machines."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path

from pyvrrp.config.keepalived import parse_text
from pyvrrp.config.model import Config, InstanceConfig
from pyvrrp.proto.events import AdvertReceived, Startup, TrackerChanged
from pyvrrp.proto.vrrp import VrrpInstance
from pyvrrp.wire.vrrp import Advertisement

DATA = Path(__file__).resolve().parent.parent / "data" / "keepalived" / "dumps"


@dataclass
class FakeDriver:
    cfg: InstanceConfig
    machine: VrrpInstance
    master_since: float | None = None

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def ifname(self) -> str:
        return self.cfg.interface or ""

    @property
    def family(self) -> int:
        return self.cfg.family


@dataclass
class FakeDaemon:
    config: Config
    drivers: dict[str, FakeDriver] = field(default_factory=dict)
    reload_failures: int = 0
    unknown_vrid: int = 0
    global_errors: dict[str, int] = field(default_factory=dict)
    started_at: float = 0.0
    settings: dict[str, object] = field(default_factory=dict)
    script_status: dict[str, bool] = field(default_factory=dict)
    reloads: int = 0

    def request_reload(self) -> None:
        self.reloads += 1


def load_conf(text: str) -> Config:
    return parse_text(text, "test.conf", config_id="test")


def fake_daemon(conf_text: str, src: str = "198.18.0.161", src6: str = "fe80::ff:fe00:1") -> FakeDaemon:
    cfg = load_conf(conf_text)
    d = FakeDaemon(config=cfg)
    for inst in cfg.instances:
        ip = ip_address(
            src6 if inst.family == 6 else (str(inst.unicast_src_ip) if inst.unicast_src_ip else src)
        )
        d.drivers[inst.name] = FakeDriver(inst, VrrpInstance(inst, ip))
    return d


def start(
    d: FakeDaemon, now: float = 100.0, trackers: dict[str, list[TrackerChanged]] | None = None
) -> float:
    """Startup every machine at ``now`` (trackers first, as the contract asks); returns ``now``."""
    for name, drv in d.drivers.items():
        for ev in (trackers or {}).get(name, []):
            drv.machine.handle(ev, now)
        drv.machine.handle(Startup(), now)
    return now


def to_master(drv: FakeDriver, now: float) -> float:
    """Let the master-down timer expire; returns the time it fired."""
    t = drv.machine.next_deadline()
    assert t is not None
    drv.machine.expire(max(t, now))
    drv.master_since = 1_795_000_000.0
    return max(t, now)


def advert_from(drv: FakeDriver, src: str, priority: int, now: float) -> None:
    m = drv.machine
    cfg = drv.cfg
    adv = Advertisement(
        version=m.version,
        vrid=cfg.vrid,
        priority=priority,
        addresses=tuple(v.address.ip for v in cfg.vips),
        adver_int=m._adver_int_wire,  # noqa: SLF001 - the wire value the machine expects
        auth_type=m._auth_type,  # noqa: SLF001
        auth_data=m._auth_data,  # noqa: SLF001
    )
    m.handle(AdvertReceived(src=ip_address(src), ttl=255, adv=adv, dst=ip_address("224.0.0.18")), now)
