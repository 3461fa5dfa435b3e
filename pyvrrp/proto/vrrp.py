"""The VRRP instance state machine (sans-I/O). RFC 3768 §6.4 / RFC 5798 §6.4 plus keepalived's FAULT.

CONTRACT (the runtime relies on it; keep it):

    m = VrrpInstance(cfg: InstanceConfig, src_ip: IPAddress | None)
        src_ip: our primary address on the interface (or unicast_src_ip) — used for the equal-priority
        tie-break and as advert source. May be updated later with ``m.src_ip = ...``.
    m.handle(event, now: float) -> list[Action]     events from proto.events, actions from proto.actions
    m.next_deadline() -> float | None               earliest armed timer (absolute, same clock as now)
    m.expire(now) -> list[Action]                   fire every timer due at ``now`` (handle(TimerFired) each)
    m.state: State   m.wantstate: State   m.base_priority: int   m.effective_priority: int
    m.stats: VrrpStats (keepalived's JSON stats names)
    m.master_src: IPAddress | None   m.master_priority: int | None   (last master heard, for status)
    m.last_transition: float | None (now of the last state change)   m.last_reason: str
    m.master_down_interval() -> float   m.skew_time() -> float
    m.trackers: dict[str, TrackerChanged]  the latest tracker contributions
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(slots=True)
class VrrpStats:
    """Per-instance counters, named as keepalived's JSON dump (``vrrp_json.c``)."""

    advert_rcvd: int = 0
    advert_sent: int = 0
    become_master: int = 0
    release_master: int = 0
    packet_len_err: int = 0
    advert_interval_err: int = 0
    ip_ttl_err: int = 0
    invalid_type_rcvd: int = 0
    addr_list_err: int = 0
    invalid_authtype: int = 0
    authtype_mismatch: int = 0
    auth_failure: int = 0
    pri_zero_rcvd: int = 0
    pri_zero_sent: int = 0
    # pyvrrp-only (not in keepalived's dumps)
    checksum_err: int = 0
    version_err: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def clear(self) -> None:
        for f in fields(self):
            setattr(self, f.name, 0)
