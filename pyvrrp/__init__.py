"""pyvrrp: a keepalived-compatible VRRP daemon (and a heartbeat 3.0.6 compatible mode)."""

__version__ = "0.1.0"
