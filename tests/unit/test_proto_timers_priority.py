"""Pure helpers: pyvrrp.proto.timers (skew, Master_Down_Interval, interval units) and pyvrrp.proto.priority."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyvrrp.proto import priority as prio
from pyvrrp.proto import timers
from pyvrrp.proto.events import TrackerChanged


class TestSkew:
    def test_v2_is_priority_only(self) -> None:
        # RFC 3768 §6.1: (256 - Priority) / 256, whatever the interval
        assert timers.skew_time(2, 100, 1.0) == 156 / 256
        assert timers.skew_time(2, 100, 5.0) == 156 / 256
        assert timers.skew_time(2, 255, 1.0) == 1 / 256
        assert timers.skew_time(2, 1, 1.0) == 255 / 256

    def test_v3_scales_with_master_adver_int(self) -> None:
        # RFC 5798 §6.1: ((256 - Priority) * Master_Adver_Interval) / 256
        assert timers.skew_time(3, 100, 1.0) == pytest.approx(156 / 256)
        assert timers.skew_time(3, 100, 0.5) == pytest.approx(78 / 256)
        assert timers.skew_time(3, 200, 2.0) == pytest.approx(56 * 2 / 256)

    def test_min_skew(self) -> None:
        assert timers.min_skew_time(2, 3.0) == 1 / 256
        assert timers.min_skew_time(3, 2.0) == pytest.approx(2 / 256)


class TestMasterDown:
    def test_keepalived_dump_value(self) -> None:
        # keepalived .data dump: priority 110 at 1 s gives 3.570 s
        assert timers.master_down_interval(2, 110, 1.0) == pytest.approx(3.5703125)

    def test_down_timer_adverts(self) -> None:
        assert timers.master_down_interval(2, 100, 2.0, 5) == 10 + 156 / 256
        assert timers.master_down_interval(3, 100, 0.5, 3) == pytest.approx(1.5 + 78 / 256)

    @given(st.integers(1, 255), st.integers(1, 4095), st.sampled_from([2, 3]), st.integers(1, 100))
    def test_bounds(self, p: int, centis: int, version: int, n: int) -> None:
        adv = centis / 100
        mdi = timers.master_down_interval(version, p, adv, n)
        assert n * adv < mdi
        # the skew is below one interval for v3 and below one second for v2
        assert mdi - n * adv < (adv if version == 3 else 1.0)

    @given(st.integers(1, 254), st.sampled_from([2, 3]))
    def test_higher_priority_times_out_first(self, p: int, version: int) -> None:
        assert timers.master_down_interval(version, p + 1, 1.0) < timers.master_down_interval(version, p, 1.0)


class TestWireUnits:
    def test_v2_seconds(self) -> None:
        assert timers.adver_int_to_wire(2, 1.0) == 1
        assert timers.adver_int_to_wire(2, 3.4) == 3
        assert timers.adver_int_to_wire(2, 0.2) == 1
        assert timers.adver_int_to_wire(2, 1000) == 255
        assert timers.adver_int_from_wire(2, 7) == 7.0

    def test_v3_centiseconds(self) -> None:
        assert timers.adver_int_to_wire(3, 1.0) == 100
        assert timers.adver_int_to_wire(3, 0.05) == 5
        assert timers.adver_int_to_wire(3, 41) == 4095
        assert timers.adver_int_from_wire(3, 150) == 1.5

    @given(st.integers(1, 4095))
    def test_v3_roundtrip(self, centis: int) -> None:
        assert timers.adver_int_to_wire(3, timers.adver_int_from_wire(3, centis)) == centis


class TestPriority:
    def test_clamp(self) -> None:
        assert prio.effective_priority(100, []) == 100
        assert prio.effective_priority(100, [-30, 10]) == 80
        assert prio.effective_priority(100, [-200]) == 1
        assert prio.effective_priority(200, [100]) == 254
        assert prio.effective_priority(254, [1]) == 254

    def test_owner_never_changes(self) -> None:
        assert prio.effective_priority(255, [-100]) == 255
        assert prio.effective_priority(255, [5]) == 255

    def test_fault(self) -> None:
        trackers = {
            "a": TrackerChanged("a", delta=-10),
            "b": TrackerChanged("b", fault=True, reason="eth1 down"),
        }
        assert prio.faulted(trackers)
        assert prio.fault_reason(trackers) == "eth1 down"
        assert not prio.faulted({"a": trackers["a"]})
        assert prio.fault_reason({"a": trackers["a"]}) == ""
        assert prio.fault_reason({"c": TrackerChanged("c", fault=True)}) == "c failed"
        assert prio.effective_from_trackers(100, trackers) == 90

    @given(st.integers(1, 255), st.lists(st.integers(-254, 254), max_size=8))
    def test_range(self, base: int, deltas: list[int]) -> None:
        e = prio.effective_priority(base, deltas)
        if base == 255:
            assert e == 255
        else:
            assert 1 <= e <= 254
            assert e == max(1, min(254, base + sum(deltas)))
