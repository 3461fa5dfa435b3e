"""pyvrrp.track.policy: keepalived's rise/fall counter, weight/reverse arithmetic, track_file values, quorum
debounce — on a fake clock, with property tests against a plain reference model."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvrrp.proto import priority as prio
from pyvrrp.proto.events import TrackerChanged
from pyvrrp.track import policy
from pyvrrp.track.policy import InitState, RiseFall
from pyvrrp.track.process import QuorumDebounce


class Model:
    """The documented behaviour: the first result decides; afterwards exactly ``fall`` consecutive failures fail
    an OK script and ``rise`` consecutive successes recover a failed one."""

    def __init__(self, rise: int, fall: int, init_fail: bool) -> None:
        self.rise, self.fall = rise, fall
        self.ok: bool | None = False if init_fail else None
        self.run = 0  # consecutive results against the current state

    def record(self, success: bool) -> bool | None:
        if self.ok is None:
            self.ok = success
            return success
        if success == self.ok:
            self.run = 0
            return None
        self.run += 1
        need = self.rise if success else self.fall
        if self.run >= need:
            self.ok = success
            self.run = 0
            return success
        return None


class TestRiseFall:
    def test_defaults_one_success_is_enough(self) -> None:
        c = RiseFall(rise=3, fall=2)
        assert c.ok is None and c.result == 2  # rise - 1
        assert c.record(True) is True  # "one success is enough" at start
        assert c.ok is True and c.result == 4  # rise + fall - 1

    def test_first_failure_is_reported(self) -> None:
        c = RiseFall(rise=2, fall=2)
        assert c.record(False) is False
        assert c.ok is False and c.result == 0

    def test_fall_consecutive_failures(self) -> None:
        c = RiseFall(rise=2, fall=3)
        c.record(True)
        assert c.record(False) is None
        assert c.record(False) is None
        assert c.record(False) is False
        assert c.ok is False

    def test_success_in_the_middle_refills_fall(self) -> None:
        c = RiseFall(rise=1, fall=2)
        c.record(True)
        assert c.record(False) is None
        assert c.record(True) is None
        assert c.record(False) is None
        assert c.ok is True
        assert c.record(False) is False

    def test_rise_consecutive_successes(self) -> None:
        c = RiseFall(rise=3, fall=1)
        c.record(False)
        assert [c.record(True) for _ in range(3)] == [None, None, True]

    def test_failure_while_rising_restarts(self) -> None:
        c = RiseFall(rise=2, fall=1)
        c.record(False)
        c.record(True)
        assert c.record(False) is None  # already failed: no report, counter back to 0
        assert c.result == 0
        assert c.record(True) is None
        assert c.record(True) is True

    def test_init_fail_starts_failed_and_silent(self) -> None:
        c = RiseFall(rise=2, fall=2, init_fail=True)
        assert c.ok is False and c.init is InitState.FAILED
        assert c.record(False) is None  # keepalived: no report, it was failed by config
        assert c.record(True) is None
        assert c.record(True) is True

    @settings(max_examples=400)
    @given(
        st.integers(1, 6),
        st.integers(1, 6),
        st.booleans(),
        st.lists(st.booleans(), max_size=60),
    )
    def test_matches_model(self, rise: int, fall: int, init_fail: bool, outcomes: list[bool]) -> None:
        c = RiseFall(rise=rise, fall=fall, init_fail=init_fail)
        m = Model(rise, fall, init_fail)
        for o in outcomes:
            assert c.record(o) == m.record(o)
            assert c.ok == m.ok
            assert 0 <= c.result <= rise + fall - 1

    @given(
        st.integers(1, 5),
        st.integers(1, 5),
        st.lists(st.booleans(), min_size=1, max_size=30),
        st.integers(1, 5),
        st.integers(1, 5),
    )
    def test_reload_keeps_verdict(self, rise: int, fall: int, outcomes: list[bool], r2: int, f2: int) -> None:
        c = RiseFall(rise=rise, fall=fall)
        for o in outcomes:
            c.record(o)
        n = c.carry_over(r2, f2)
        assert n.ok == c.ok  # "considered successful/unsuccessful on reload"
        assert 0 <= n.result <= r2 + f2 - 1

    def test_reload_before_first_result_restarts_init(self) -> None:
        n = RiseFall(rise=2, fall=2).carry_over(3, 1)
        assert n.ok is None and n.result == 2

    def test_reload_carries_partial_fall(self) -> None:
        c = RiseFall(rise=2, fall=3)
        c.record(True)
        c.record(False)  # result 3 of 0..4: one failure seen
        n = c.carry_over(2, 3)
        assert n.result == 3
        assert n.record(False) is None and n.record(False) is False


class TestContribution:
    @pytest.mark.parametrize(
        ("weight", "reverse", "ok", "expected"),
        [
            (-30, False, True, (0, False)),
            (-30, False, False, (-30, False)),
            (20, False, True, (20, False)),
            (20, False, False, (0, False)),
            (20, True, True, (-20, False)),  # reverse: +w subtracted while up
            (20, True, False, (0, False)),
            (-30, True, False, (30, False)),
            (-30, True, True, (0, False)),
            (0, False, False, (0, True)),  # weight 0: FAULT while failed
            (0, False, True, (0, False)),
            (0, True, True, (0, True)),  # ... while up with reverse
            (0, True, False, (0, False)),
            (0, False, None, (0, True)),  # no result yet: weight-0 holds FAULT
            (-30, False, None, (0, False)),  # weighted: nothing until the first result
        ],
    )
    def test_table(self, weight: int, reverse: bool, ok: bool | None, expected: tuple[int, bool]) -> None:
        assert policy.contribution(weight, reverse, ok) == expected

    @given(st.integers(-253, 253).filter(bool), st.booleans())
    def test_swing_is_abs_weight(self, weight: int, reverse: bool) -> None:
        up, _ = policy.contribution(weight, reverse, True)
        down, _ = policy.contribution(weight, reverse, False)
        # keepalived process_script_update_priority: the swing between states is |w| x multiplier
        assert up - down == abs(weight) * (-1 if reverse else 1)

    @given(
        st.integers(1, 254),
        st.lists(st.tuples(st.integers(-253, 253), st.booleans(), st.booleans()), max_size=8),
    )
    def test_effective_priority_bounds(self, base: int, trackers: list[tuple[int, bool, bool]]) -> None:
        changes = {}
        for i, (w, rev, ok) in enumerate(trackers):
            d, f = policy.contribution(w, rev, ok)
            changes[f"t{i}"] = TrackerChanged(name=f"t{i}", delta=d, fault=f)
        eff = prio.effective_from_trackers(base, changes)
        assert 1 <= eff <= 254
        assert prio.faulted(changes) == any(w == 0 and ok == rev for w, rev, ok in trackers)

    def test_seed_cluster_arithmetic(self) -> None:
        # conf/cluster.conf: master 150, slave 100; chk_nginx -60, chk_gateway -60
        nginx_down, _ = policy.contribution(-60, False, False)
        assert prio.effective_priority(150, [nginx_down]) == 90 < 100
        gw_down, _ = policy.contribution(-60, False, False)
        assert prio.effective_priority(150, [gw_down]) == 90 < 100
        # the slave losing its own checks too never goes above the master with one failure
        assert prio.effective_priority(100, [nginx_down, gw_down]) == 1


class TestTrackFile:
    @pytest.mark.parametrize(
        ("weight", "reverse", "value", "expected"),
        [
            (1, False, 0, (0, False)),
            (1, False, -20, (-20, False)),
            (10, False, 5, (50, False)),
            (10, False, 30, (253, False)),  # clamped to 253
            (10, False, -26, (0, True)),  # -260 <= -254: FAULT
            (1, False, -254, (0, True)),
            (1, False, -253, (-253, False)),
            (-5, False, 2, (-10, False)),
            (5, True, 2, (-10, False)),
            (0, False, 0, (0, False)),
            (0, False, 3, (0, True)),  # weight 0: non-zero is a failure
            (0, True, 0, (0, True)),
            (0, True, 7, (0, False)),
        ],
    )
    def test_value_times_weight(
        self, weight: int, reverse: bool, value: int, expected: tuple[int, bool]
    ) -> None:
        assert policy.file_contribution(weight, reverse, value) == expected

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            (b"10\n", 10),
            (b"  -5\n", -5),
            (b"+7", 7),
            (b"0x10", 16),
            (b"010", 8),  # strtol base 0: octal
            (b"12abc", 12),
            (b"abc", 0),
            (b"", 0),
            (b"0x", 0),
            (b"2147483648", 2147483648),  # INT32_MAX + 1 is accepted by keepalived
            (b"2147483649", None),
            (b"-2147483649", None),
        ],
    )
    def test_strtol(self, text: bytes, value: int | None) -> None:
        assert policy.parse_file_value(text) == value


class TestQuorumDebounce:
    def test_no_delay_reports_at_once(self) -> None:
        q = QuorumDebounce(True, 0, 0)
        assert q.update(False, 10.0) is False
        assert q.update(True, 11.0) is True

    def test_terminate_delay_on_a_fake_clock(self) -> None:
        q = QuorumDebounce(True, fork_delay=0, terminate_delay=2.0)
        assert q.update(False, 100.0) is None
        assert q.deadline == 102.0
        assert q.update(False, 101.9) is None
        assert q.update(False, 102.0) is False

    def test_regained_within_delay_cancels(self) -> None:
        q = QuorumDebounce(True, fork_delay=0, terminate_delay=2.0)
        q.update(False, 0.0)
        assert q.update(True, 1.0) is None and q.deadline is None
        assert q.update(False, 1.5) is None
        assert q.update(False, 3.0) is None  # a new 2 s window started at 1.5
        assert q.update(False, 3.5) is False

    def test_quorum_window(self) -> None:
        assert policy.have_quorum(2, 2, None)
        assert not policy.have_quorum(1, 2, None)
        assert not policy.have_quorum(4, 1, 3)


def test_describe() -> None:
    assert policy.describe("chk_nginx", False, -30) == "chk_nginx failed (weight -30)"
    assert policy.describe("chk", True, 10, True) == "chk succeeded (weight 10 reverse)"
