"""The Internet checksum (RFC 1071), used by IPv4 headers, VRRP and ICMPv6. Pure code."""

from __future__ import annotations


def inet_checksum(data: bytes, initial: int = 0) -> int:
    """Return the 16-bit one's-complement checksum of ``data`` (RFC 1071 §4.1).

    An odd-length input is padded with one zero byte. ``initial`` is an unfolded partial sum to add
    (e.g. from :func:`partial_sum` over a pseudo-header). Computing this over data that already holds a
    correct checksum field returns 0.
    """
    total = partial_sum(data, initial)
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def partial_sum(data: bytes, initial: int = 0) -> int:
    """Unfolded sum of ``data`` as big-endian 16-bit words (zero-padded), plus ``initial``."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    # Since 2**16 == 1 (mod 0xFFFF), the sum of the 16-bit words is congruent to the whole buffer read as
    # one big integer; folding with end-around carry yields that residue, except that a non-zero sum
    # folds to 0xFFFF, never 0. One big-int operation instead of a Python loop over words.
    if not data:
        return initial
    n = int.from_bytes(data, "big")
    folded = n % 0xFFFF
    if folded == 0 and n != 0:
        folded = 0xFFFF
    return folded + initial
