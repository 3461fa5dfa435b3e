"""VRRP advertisement codec (RFC 3768 §5 for v2, RFC 5798 §5 for v3). Pure, struct-based.

CONTRACT (other modules rely on it):
    Advertisement  frozen dataclass below
    encode(adv, src=None, dst=None) -> bytes      VRRP payload (no IP header), checksum filled in.
                                                  v3 IPv4 needs src/dst for the pseudo-header.
                                                  v3 IPv6: checksum left 0 (the kernel fills it, IPV6_CHECKSUM 6).
    decode(payload, family=4, src=None, dst=None) -> Advertisement   raises DecodeError only.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

IPAddress = IPv4Address | IPv6Address

VRRP_PROTO = 112
ADVERTISEMENT = 1
AUTH_NONE = 0
AUTH_PASS = 1
AUTH_AH = 2


@dataclass(frozen=True, slots=True)
class Advertisement:
    version: int  # 2 or 3
    vrid: int
    priority: int
    addresses: tuple[IPAddress, ...]
    adver_int: int  # v2: seconds (8 bit); v3: centiseconds (12 bit)
    auth_type: int = AUTH_NONE  # v2 only
    auth_data: bytes = b"\0" * 8  # v2 only: the 8-byte authentication data field, NUL-padded
    type: int = ADVERTISEMENT
    checksum: int = 0  # as received (decode); ignored by encode
