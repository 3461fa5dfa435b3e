"""Linux-HA heartbeat 3.0.6 message codec (pure): netstring and classic framing, inner and outer auth.

This module owns the bytes of one heartbeat UDP datagram (and of the signed ``NS_st`` payload that the
ping plugin puts into ICMP echo data). Reference: ``docs/heartbeat.md`` and the protocol study
(heartbeat-protocol.md §4, §5), from cluster-glue ``lib/clplumbing/cl_msg.c`` (``msg2netstring``,
``string2msg_ll``), ``cl_netstring.c`` and heartbeat ``ha_msg_internal.c`` (``add_msg_auth``,
``isauthentic``), ``lib/plugins/HBauth/{md5,sha1,crc}.c``.

Netstring format (what heartbeat 3.0.6 sends; §4.1)::

    payload = "###\\n" *field "%%%\\n" authns
    field   = DEC(len(item)) ":" item ","           item = "(" T ")" name "=" value
    authns  = DEC(len(a)) ":" a ","                  a = DEC(authnum) " " hex(HMAC(key, "###\\n"..."%%%\\n"))

Classic NV format (accepted on receive; §4.2)::

    ">>>\\n" *( ["(" T ")"] name "=" value "\\n" ) "<<<\\n" [NUL]

Two HMACs (§5): the *inner* field ``auth=N hex`` = HMAC over ``name=value\\n`` of every other field
(binary fields as ``(1)name=<base64>\\n``), and the *outer* netstring trailer = HMAC over the bytes from
``###`` through ``%%%\\n``. A receiver checks only the outer one for netstring input and only the
inner one for classic input (``is_auth_netstring`` / ``isauthentic``).

Field values are raw bytes; the codec checks syntax only. Every syntax fault raises
:class:`pyvrrp.errors.DecodeError` with counter ``hb_format_err``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyvrrp.errors import DecodeError

__all__ = [
    "AUTH_METHODS",
    "AuthKey",
    "FieldType",
    "HbField",
    "HbMessage",
    "MAX_MSG",
    "Received",
    "decode",
    "encode",
    "encode_classic",
    "inner_text",
    "verify",
]

#: heartbeat's MAXMSG (include/ha_msg.h): a datagram larger than this is refused.
MAX_MSG = 256 * 1024

NS_HEAD = b"###\n"
NS_TAIL = b"%%%\n"
CL_HEAD = b">>>\n"
CL_TAIL = b"<<<\n"

_COUNTER = "hb_format_err"
_DEC = re.compile(rb"[0-9]{1,7}\Z")
_NAME = re.compile(r"[^\s=()]+\Z")


class FieldType(enum.IntEnum):
    """cluster-glue field types (include/ha_msg.h FT_*). heartbeat v1 only uses STRING and BINARY."""

    STRING = 0
    BINARY = 1
    STRUCT = 2
    LIST = 3
    COMPRESS = 4
    UNCOMPRESS = 5


@dataclass(frozen=True, slots=True)
class HbField:
    """One message field: name, raw value bytes, and the cluster-glue field type."""

    name: str
    value: bytes
    ftype: int = FieldType.STRING

    def text(self) -> str:
        return self.value.decode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class HbMessage:
    """A heartbeat message: fields in wire order (order matters for the HMACs, §4.3)."""

    fields: tuple[HbField, ...]

    @classmethod
    def build(cls, *pairs: tuple[str, str | bytes], **kw: str | bytes) -> HbMessage:
        """Build from ``(name, value)`` pairs then keywords; ``bytes`` values become BINARY fields."""
        out: list[HbField] = []
        for name, value in (*pairs, *kw.items()):
            if isinstance(value, bytes):
                out.append(HbField(name, value, FieldType.BINARY))
            else:
                out.append(HbField(name, value.encode("utf-8", "surrogateescape")))
        return cls(tuple(out))

    def field(self, name: str) -> HbField | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first field called ``name`` as text (``default`` when absent)."""
        f = self.field(name)
        return default if f is None else f.text()

    def raw(self, name: str) -> bytes | None:
        f = self.field(name)
        return None if f is None else f.value

    def __contains__(self, name: object) -> bool:
        return any(f.name == name for f in self.fields)

    @property
    def type(self) -> str | None:
        return self.get("t")

    @property
    def src(self) -> str | None:
        return self.get("src")

    def without(self, name: str) -> HbMessage:
        return HbMessage(tuple(f for f in self.fields if f.name != name))

    def set(self, name: str, value: str | bytes) -> HbMessage:
        """Replace the value of ``name`` keeping its position (cl_msg ``ha_msg_mod``), or append it."""
        if isinstance(value, bytes):
            new = HbField(name, value, FieldType.BINARY)
        else:
            new = HbField(name, value.encode("utf-8", "surrogateescape"))
        if name in self:
            return HbMessage(tuple(new if f.name == name else f for f in self.fields))
        return HbMessage((*self.fields, new))

    def as_dict(self) -> dict[str, str]:
        """First value of each field as text (binary as hex), for logs and tests."""
        out: dict[str, str] = {}
        for f in self.fields:
            if f.name not in out:
                out[f.name] = f.value.hex() if f.ftype == FieldType.BINARY else f.text()
        return out


# --- authentication (lib/plugins/HBauth) -------------------------------------------------------------


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) if c & 0x80000000 else (c << 1)
        table.append(c & 0xFFFFFFFF)
    return tuple(table)


_CRCTAB = _crc_table()


def _crc(data: bytes) -> str:
    """HBauth/crc.c: MSB-first CRC-32 (poly 0x04C11DB7, init 0), complemented, ``%lx``. Unkeyed."""
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRCTAB[((crc >> 24) ^ b) & 0xFF]
    return format(~crc & 0xFFFFFFFF, "x")


AUTH_METHODS = ("crc", "md5", "sha1")


@dataclass(frozen=True, slots=True)
class AuthKey:
    """One authkeys entry ``N method [key]``; ``digest`` computes the plugin's hex result."""

    num: int
    method: str  # "crc" | "md5" | "sha1"
    key: bytes = b""

    def __post_init__(self) -> None:
        if self.method not in AUTH_METHODS:
            raise ValueError(f"unknown authentication method {self.method!r}")

    def digest(self, data: bytes) -> str:
        if self.method == "md5":  # HBauth/md5.c: RFC 2104 HMAC-MD5, lower-case hex (§5)
            return hmac.new(self.key, data, hashlib.md5).hexdigest()
        if self.method == "sha1":  # HBauth/sha1.c: HMAC-SHA1 hex
            return hmac.new(self.key, data, hashlib.sha1).hexdigest()
        return _crc(data)

    def token(self, data: bytes) -> str:
        """``"N hex"``: the value of the inner ``auth`` field and of the outer trailer."""
        return f"{self.num} {self.digest(data)}"


def inner_text(msg: HbMessage) -> bytes:
    """``msg2string_buf(m, NOHEAD)`` without ``auth``: what the inner HMAC covers (§5)."""
    parts = []
    for f in msg.fields:
        if f.name == "auth":
            continue
        if f.ftype == FieldType.BINARY:
            parts.append(b"(1)" + f.name.encode() + b"=" + base64.b64encode(f.value) + b"\n")
        elif f.ftype == FieldType.STRING:
            parts.append(f.name.encode() + b"=" + f.value + b"\n")
        else:
            parts.append(b"(%d)" % f.ftype + f.name.encode() + b"=" + f.value + b"\n")
    return b"".join(parts)


# --- decode ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """A decoded datagram plus what its receiver authenticates (§5 "receiver check").

    ``fmt`` is ``"netstring"`` or ``"classic"``; ``signed`` the bytes the checked HMAC covers;
    ``authnum``/``digest`` the claimed token (netstring: the trailer, classic: the inner field).
    """

    msg: HbMessage
    fmt: str
    signed: bytes
    authnum: int
    digest: str


def _bad(reason: str) -> DecodeError:
    return DecodeError(reason, _COUNTER)


def _parse_name(raw: bytes) -> tuple[str, int]:
    """Split an optional ``(T)`` prefix from a field name; return (name, type)."""
    ftype = FieldType.STRING
    if raw.startswith(b"("):
        if len(raw) < 3 or raw[2:3] != b")" or not raw[1:2].isdigit():
            raise _bad("bad field type prefix")
        ftype = int(raw[1:2])
        if ftype > FieldType.UNCOMPRESS:
            raise _bad(f"unknown field type {ftype}")
        raw = raw[3:]
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        raise _bad("non-ASCII field name") from None
    if not _NAME.match(name):
        raise _bad("empty or invalid field name")
    return name, ftype


def _parse_token(tok: bytes) -> tuple[int, str]:
    num, sp, dig = tok.partition(b" ")
    if not sp or not _DEC.match(num) or not dig or not re.fullmatch(rb"[0-9a-fA-F]{1,128}", dig):
        raise _bad("malformed authentication token")
    return int(num), dig.decode("ascii")


def _read_netstring(data: bytes, pos: int) -> tuple[bytes, int]:
    colon = data.find(b":", pos, pos + 8)
    if colon < 0:
        raise _bad("netstring length missing")
    ln = data[pos:colon]
    if not _DEC.match(ln):
        raise _bad("bad netstring length")
    n = int(ln)
    end = colon + 1 + n
    if end >= len(data) or data[end : end + 1] != b",":
        raise _bad("netstring truncated or not terminated by ','")
    return data[colon + 1 : end], end + 1


def _decode_netstring(data: bytes) -> Received:
    # cl_netstring.c netstring2msg_rec / is_auth_netstring
    pos = len(NS_HEAD)
    fields: list[HbField] = []
    while True:
        if data.startswith(NS_TAIL, pos):
            pos += len(NS_TAIL)
            break
        if pos >= len(data):
            raise _bad("netstring message without %%% end")
        item, pos = _read_netstring(data, pos)
        rawname, eq, value = item.partition(b"=")
        if not eq:
            raise _bad("netstring field without '='")
        if not rawname.startswith(b"("):
            raise _bad("netstring field without type")
        name, ftype = _parse_name(rawname)
        fields.append(HbField(name, value, ftype))
    signed = data[:pos]
    tok, end = _read_netstring(data, pos)
    rest = data[end:]
    if rest not in (b"", b"\0"):
        raise _bad("trailing bytes after the authentication trailer")
    authnum, digest = _parse_token(tok)
    return Received(HbMessage(tuple(fields)), "netstring", signed, authnum, digest)


def _decode_classic(data: bytes) -> Received:
    # cl_msg.c string2msg_ll: ">>>" line, name=value lines, "<<<" line, [NUL]; empty lines and
    # CR/LF runs are skipped
    body = data[:-1] if data.endswith(b"\0") else data
    lines = re.split(rb"[\r\n]+", body)
    if lines[0] != b">>>":
        raise _bad("classic message without >>> line")
    try:
        end = lines.index(b"<<<")
    except ValueError:
        raise _bad("classic message without <<< end") from None
    if any(lines[end + 1 :]):
        raise _bad("trailing bytes after <<<")
    fields: list[HbField] = []
    for line in lines[1:end]:
        if not line:
            continue
        rawname, eq, value = line.partition(b"=")
        if not eq:
            raise _bad("classic line without '='")
        name, ftype = _parse_name(rawname)
        if ftype == FieldType.BINARY:
            try:
                value = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise _bad(f"bad base64 in binary field {name}") from None
        elif ftype != FieldType.STRING:
            raise _bad(f"unsupported field type {ftype} in classic format")
        fields.append(HbField(name, value, ftype))
    msg = HbMessage(tuple(fields))
    auth = msg.raw("auth")
    if auth is None:
        raise _bad("classic message without auth field")
    authnum, digest = _parse_token(auth)
    return Received(msg, "classic", inner_text(msg), authnum, digest)


def decode(data: bytes) -> Received:
    """Decode one datagram (either format). Raises only :class:`DecodeError`."""
    if len(data) > MAX_MSG:
        raise _bad("message larger than MAXMSG")
    if data.startswith(NS_HEAD):
        rx = _decode_netstring(data)
    elif data.startswith(b">>>"):
        rx = _decode_classic(data)
    else:
        raise _bad("neither ### (netstring) nor >>> (classic) framing")
    if not rx.msg.fields:
        raise _bad("empty message")
    return rx


def verify(rx: Received, keys: Mapping[int, AuthKey], active: AuthKey) -> bool:
    """heartbeat's check (§5 "authnum quirk"): the claimed authnum must be configured, but the digest
    is always computed with the receiver's *active* key (``hb_compute_authentication``)."""
    if rx.authnum not in keys:
        return False
    want = active.digest(rx.signed)
    return hmac.compare_digest(want.lower(), rx.digest.lower())


# --- encode ------------------------------------------------------------------------------------------


def _ns(item: bytes) -> bytes:
    return b"%d:%s," % (len(item), item)


def _signed_fields(msg: HbMessage, key: AuthKey, inner: bool) -> Iterable[HbField]:
    if not inner:
        return msg.fields
    # add_msg_auth: auth is (re)computed over the other fields; an existing one keeps its position
    return msg.set("auth", key.token(inner_text(msg))).fields


def encode(msg: HbMessage, key: AuthKey, *, inner: bool = True) -> bytes:
    """``msg2netstring``: netstring framing, inner ``auth`` field (unless ``inner=False``), outer trailer."""
    body = [NS_HEAD]
    for f in _signed_fields(msg, key, inner):
        body.append(_ns(b"(%d)" % f.ftype + f.name.encode("ascii") + b"=" + f.value))
    body.append(NS_TAIL)
    signed = b"".join(body)
    return signed + _ns(key.token(signed).encode("ascii"))


def encode_classic(msg: HbMessage, key: AuthKey, *, nul: bool = True) -> bytes:
    """Classic ``>>>`` framing with the inner ``auth`` field (as written by heartbeat's shell side)."""
    lines = [CL_HEAD]
    for f in _signed_fields(msg, key, True):
        if f.ftype == FieldType.BINARY:
            lines.append(b"(1)" + f.name.encode() + b"=" + base64.b64encode(f.value) + b"\n")
        else:
            lines.append(f.name.encode() + b"=" + f.value + b"\n")
    lines.append(CL_TAIL)
    if nul:
        lines.append(b"\0")
    return b"".join(lines)
