"""Errors of pyvrrp. Every error the daemon shows a user is one of these, printed on one line."""

from __future__ import annotations


class PyvrrpError(Exception):
    """Base class: str(err) is a complete one-line message."""


class DecodeError(PyvrrpError):
    """A packet could not be decoded. ``counter`` names the keepalived stats counter it bumps
    (``packet_len_err``, ``invalid_type_rcvd``, ...) or a pyvrrp-only one (``checksum_err``,
    ``version_err``); ``vrid`` is known when the header was readable."""

    def __init__(self, reason: str, counter: str, vrid: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.counter = counter
        self.vrid = vrid


class ConfigError(PyvrrpError):
    """A configuration problem at file:line. ``fatal`` means keepalived would not run (exit 4)."""

    def __init__(self, file: str, line: int, msg: str, fatal: bool = False) -> None:
        super().__init__(f"{file}:{line}: {msg}")
        self.file = file
        self.line = line
        self.msg = msg
        self.fatal = fatal
