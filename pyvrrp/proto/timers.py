"""VRRP timer arithmetic (pure): skew, Master_Down_Interval and advert-interval unit conversion.

Owns the formulas of RFC 3768 §6.1 (v2) and RFC 5798 §6.1 (v3) as keepalived 2.2.7 computes them
(``include/vrrp.h`` ``VRRP_TIMER_SKEW_CALC``/``VRRP_MS_DOWN_TIMER``):

* v2 ``Skew_Time = (256 - Priority) / 256`` seconds (independent of the advert interval);
* v3 ``Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256``;
* ``Master_Down_Interval = down_timer_adverts * Master_Adver_Interval + Skew_Time``
  (``down_timer_adverts`` is 3 in both RFCs; keepalived makes it configurable, 1..100).

All values are float seconds. On the wire the v2 interval is whole seconds (8 bits) and the v3 interval
is centiseconds (12 bits); :func:`adver_int_to_wire` / :func:`adver_int_from_wire` convert.
"""

from __future__ import annotations

V2_MAX_ADVER_INT = 255  # 8-bit seconds (RFC 3768 §5.3.7)
V3_MAX_ADVER_INT = 0x0FFF  # 12-bit centiseconds (RFC 5798 §5.2.7)


def skew_time(version: int, priority: int, master_adver_int: float) -> float:
    """``Skew_Time`` in seconds for ``priority`` (use the *effective* priority, as keepalived).

    RFC 3768 §6.1: ``(256 - Priority) / 256``; RFC 5798 §6.1: ``((256 - Priority) * Master_Adver_Interval) / 256``.
    """
    return _skew(version, 256 - priority, master_adver_int)


def min_skew_time(version: int, master_adver_int: float) -> float:
    """keepalived's ``VRRP_TIMER_SKEW_MIN``: the skew of priority 255 (1/256 s, or 1/256 interval for v3)."""
    return _skew(version, 1, master_adver_int)


def _skew(version: int, pri_val: int, master_adver_int: float) -> float:
    if version == 3:
        return pri_val * master_adver_int / 256
    return pri_val / 256


def master_down_interval(
    version: int, priority: int, master_adver_int: float, down_timer_adverts: int = 3
) -> float:
    """``Master_Down_Interval = down_timer_adverts * Master_Adver_Interval + Skew_Time`` (seconds).

    Priority 110 at 1 s (v2) gives 3.5703125 s, keepalived's 3.570 in its .data dump.
    """
    return down_timer_adverts * master_adver_int + skew_time(version, priority, master_adver_int)


def adver_int_to_wire(version: int, seconds: float) -> int:
    """The Adver Int field for ``seconds``: v2 whole seconds 1..255, v3 centiseconds 1..4095 (rounded, clamped)."""
    if version == 3:
        return max(1, min(V3_MAX_ADVER_INT, round(seconds * 100)))
    return max(1, min(V2_MAX_ADVER_INT, round(seconds)))


def adver_int_from_wire(version: int, value: int) -> float:
    """Seconds from an advertisement's Adver Int field (``Advertisement.adver_int``)."""
    if version == 3:
        return value / 100
    return float(value)
