"""VRRP advertisement codec (RFC 3768 §5 for v2, RFC 5798 §5 for v3). Pure, struct-based.

CONTRACT (other modules rely on it):
    Advertisement  frozen dataclass below
    encode(adv, src=None, dst=None) -> bytes      VRRP payload (no IP header), checksum filled in.
                                                  v3 IPv4 needs src/dst for the pseudo-header.
                                                  v3 IPv6: checksum left 0 (the kernel fills it, IPV6_CHECKSUM 6).
    decode(payload, family=4, src=None, dst=None) -> Advertisement   raises DecodeError only.

Packet format (RFC 3768 §5.1 v2 / RFC 5798 §5.1 v3):

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |   Auth Type   |   Adver Int   |          Checksum             |  v2
    |(rsvd) |     Max Adver Int     |          Checksum             |  v3
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                   IPvX Address(es) (4 or 16 bytes each)       |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                     Authentication Data (1)   (v2 only)       |
    |                     Authentication Data (2)                   |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Checksums: v2 covers the VRRP message (header, addresses, auth data). v3 adds the IPv4/IPv6
pseudo-header (RFC 5798 §5.2.8). keepalived 2.2.7 (``vrrp.c vrrp_check_packet``) requires the exact
length (no trailing bytes: a raw socket never delivers Ethernet padding; only keepalived HEAD tolerates
it), and for unicast v3 IPv4 it also accepts the pre-2.0 checksum computed with dst 224.0.0.18.

The codec checks syntax only (length, version, type, checksum). Meaning (TTL, auth type/password,
interval, address list) is for ``pyvrrp.proto``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pyvrrp.errors import DecodeError
from pyvrrp.wire.checksum import inet_checksum, partial_sum
from pyvrrp.wire.ipv6 import pseudo_header as _ipv6_pseudo_header

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


HEADER_LEN = 8
AUTH_LEN = 8  # v2 authentication data (RFC 3768 §5.3.10)
MCAST_GROUP4 = IPv4Address("224.0.0.18")  # RFC 3768 §5.2.2 / RFC 5798 §5.1.1.2
MCAST_GROUP6 = IPv6Address("ff02::12")  # RFC 5798 §5.1.2.2
CHECKSUM_OFFSET = 6  # IPV6_CHECKSUM socket option value for v3 over IPv6

_HDR = struct.Struct("!BBBBBBH")


def expected_len(version: int, naddr: int, family: int = 4) -> int:
    """VRRP payload length keepalived expects (``expected_vrrp_pkt_len``): 8 + 4n (+ 8 auth for v2) over
    IPv4, 8 + 16n over IPv6."""
    if family == 6:
        return HEADER_LEN + 16 * naddr
    return HEADER_LEN + 4 * naddr + (AUTH_LEN if version == 2 else 0)


def _family_of(adv: Advertisement, src: IPAddress | None, dst: IPAddress | None, family: int | None) -> int:
    fams = {a.version for a in adv.addresses}
    if family is not None:
        if family not in (4, 6):
            raise ValueError(f"address family must be 4 or 6, not {family}")
        fams.add(family)
    fams |= {a.version for a in (src, dst) if a is not None}
    if len(fams) > 1:
        raise ValueError("VRRP advertisement mixes IPv4 and IPv6 addresses")
    return fams.pop() if fams else 4


def _pseudo_sum(family: int, src: IPAddress, dst: IPAddress, length: int) -> int:
    if family == 6:
        return partial_sum(_ipv6_pseudo_header(src, dst, length, VRRP_PROTO))  # type: ignore[arg-type]
    return partial_sum(
        IPv4Address(src).packed + IPv4Address(dst).packed + struct.pack("!BBH", 0, VRRP_PROTO, length)
    )


def encode(
    adv: Advertisement,
    src: IPAddress | None = None,
    dst: IPAddress | None = None,
    *,
    family: int | None = None,
) -> bytes:
    """Serialize ``adv`` as a VRRP payload (no IP header) with its checksum filled in.

    The family comes from the addresses, src/dst or ``family`` (4 or 6; needed only for an IPv6
    advert with no addresses and no src/dst); IPv4 when nothing says otherwise.
    v2: header + IPv4 addresses + ``auth_data`` NUL-padded/truncated to 8 bytes (RFC 3768 §5.3.10).
    v3 over IPv4: checksum with the pseudo-header (src, dst, 0, 112, len) (RFC 5798 §5.2.8); src and dst
    are required. v3 over IPv6: checksum 0 (the kernel fills it in: IPV6_CHECKSUM offset 6) unless
    src and dst are given. ``adv.checksum`` is ignored. Raises ValueError for values that do not fit.
    """
    version = adv.version
    if version not in (2, 3):
        raise ValueError(f"VRRP version must be 2 or 3, not {version}")
    family = _family_of(adv, src, dst, family)
    if version == 2 and family == 6:
        raise ValueError("VRRPv2 does not carry IPv6 addresses")
    n = len(adv.addresses)
    if n > 255:
        raise ValueError(f"too many addresses for one advertisement: {n}")
    for name, value in (("vrid", adv.vrid), ("priority", adv.priority), ("type", adv.type)):
        top = 0x0F if name == "type" else 0xFF
        if not 0 <= value <= top:
            raise ValueError(f"VRRP {name} out of range: {value}")
    if version == 2:
        if not 0 <= adv.adver_int <= 0xFF:
            raise ValueError(f"VRRPv2 advert interval out of range (0..255 s): {adv.adver_int}")
        if not 0 <= adv.auth_type <= 0xFF:
            raise ValueError(f"VRRPv2 auth type out of range: {adv.auth_type}")
        word = (adv.auth_type << 8) | adv.adver_int
    else:
        if not 0 <= adv.adver_int <= 0x0FFF:
            raise ValueError(f"VRRPv3 advert interval out of range (0..4095 cs): {adv.adver_int}")
        word = adv.adver_int  # RFC 5798 §5.2.7: reserved bits zero (keepalived vrrp.c ~1305)
    body = bytearray(
        _HDR.pack((version << 4) | adv.type, adv.vrid, adv.priority, n, word >> 8, word & 0xFF, 0)
    )
    for a in adv.addresses:
        body += a.packed
    if version == 2:
        body += bytes(adv.auth_data[:AUTH_LEN]).ljust(AUTH_LEN, b"\0")
        csum = inet_checksum(body)  # RFC 3768 §5.3.8: the VRRP message only
    elif src is None or dst is None:
        if family == 4:
            raise ValueError("VRRPv3 over IPv4 needs src and dst for the pseudo-header checksum")
        csum = 0  # the kernel computes it (IPV6_CHECKSUM, offset 6)
    else:
        csum = inet_checksum(body, _pseudo_sum(family, src, dst, len(body)))
    struct.pack_into("!H", body, CHECKSUM_OFFSET, csum)
    return bytes(body)


def checksum_ok(
    payload: bytes, version: int, family: int, src: IPAddress | None, dst: IPAddress | None
) -> bool:
    """Verify a VRRP payload's checksum (keepalived ``vrrp_check_packet``). v2: over the message.
    v3: with the pseudo-header; over IPv4 a unicast packet may also use the pre-2.0 keepalived
    checksum computed with dst 224.0.0.18 (``_WITH_UNICAST_CHKSUM_COMPAT_``)."""
    if version == 2:
        return inet_checksum(payload) == 0
    if src is None or dst is None:
        return True  # IPv6: the kernel verified it; IPv4 v3 without addresses cannot be checked
    if inet_checksum(payload, _pseudo_sum(family, src, dst, len(payload))) == 0:
        return True
    if family == 4 and not IPv4Address(dst).is_multicast:
        return inet_checksum(payload, _pseudo_sum(4, src, MCAST_GROUP4, len(payload))) == 0
    return False


def decode(
    payload: bytes, family: int = 4, src: IPAddress | None = None, dst: IPAddress | None = None
) -> Advertisement:
    """Parse and validate a VRRP payload (the bytes after the IP header).

    Checks, in keepalived's order (``vrrp_check_packet``) except that an unknown version is reported
    before the length: version 2/3 [version_err], exact length [packet_len_err], type 1
    [invalid_type_rcvd], checksum [checksum_err]. For v3 the checksum needs
    ``src``/``dst`` (the IP header's addresses); without them it is not checked (IPv6: the kernel already
    did). Raises only :class:`DecodeError`; ``vrid`` is set whenever the header was readable.
    """
    if family not in (4, 6):
        raise DecodeError(f"unknown address family {family}", "packet_len_err")
    try:
        data = bytes(payload)
    except (TypeError, ValueError) as e:
        raise DecodeError(f"not a byte buffer: {e}", "packet_len_err") from None
    n = len(data)
    if n < HEADER_LEN:
        vrid = data[1] if n >= 2 else None
        raise DecodeError(
            f"VRRP packet too short, length {n} and expect at least {HEADER_LEN}", "packet_len_err", vrid
        )
    vers_type, vrid, priority, naddr, b4, b5, csum = _HDR.unpack_from(data)
    version, ptype = vers_type >> 4, vers_type & 0x0F
    # keepalived checks the length first, computing it from the received version; for a version it does
    # not know the expected length is meaningless, so pyvrrp reports the version first (version_err).
    if version not in (2, 3):
        raise DecodeError(f"wrong version {version}", "version_err", vrid)
    if version == 2 and family == 6:  # keepalived forces v3 for IPv6 instances
        raise DecodeError("VRRPv2 over IPv6", "version_err", vrid)
    want = expected_len(version, naddr, family)
    if n != want:  # keepalived 2.2.7: buflen != expected_len -> packet_len_err (rejects CARP too)
        raise DecodeError(
            f"vrrp packet too {'long' if n > want else 'short'}, length {n} and expect {want}",
            "packet_len_err",
            vrid,
        )
    if ptype != ADVERTISEMENT:
        raise DecodeError(
            f"Invalid packet type. {ptype} and expect {ADVERTISEMENT}", "invalid_type_rcvd", vrid
        )
    try:
        ok = checksum_ok(data, version, family, src, dst)
    except (TypeError, ValueError) as e:  # src/dst of the wrong family
        raise DecodeError(f"bad address for checksum: {e}", "checksum_err", vrid) from None
    if not ok:
        raise DecodeError(f"Invalid VRRPv{version} checksum", "checksum_err", vrid)
    size = 16 if family == 6 else 4
    cls = IPv6Address if family == 6 else IPv4Address
    addresses = tuple(cls(data[HEADER_LEN + i * size : HEADER_LEN + (i + 1) * size]) for i in range(naddr))
    if version == 2:
        return Advertisement(
            version=2,
            vrid=vrid,
            priority=priority,
            addresses=addresses,
            adver_int=b5,
            auth_type=b4,
            auth_data=data[n - AUTH_LEN :],
            type=ptype,
            checksum=csum,
        )
    return Advertisement(
        version=3,
        vrid=vrid,
        priority=priority,
        addresses=addresses,
        adver_int=((b4 << 8) | b5) & 0x0FFF,  # keepalived masks the reserved bits (vrrp.c ~1944)
        type=ptype,
        checksum=csum,
    )
