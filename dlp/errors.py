"""The project's own exception types: one per boundary."""


class DlpError(Exception):
    """Base of every error this project raises on purpose."""


class CaptureError(DlpError):
    """A capture file cannot be read at all (not a capture, unreadable, bad header)."""


class DecodeError(DlpError):
    """A packet could not be decoded. `kind` names the anomaly (e.g. "ipv4.trunc_pkt")."""

    __slots__ = ("kind",)

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class ConfigError(DlpError):
    """A rules or configuration file is invalid. The message starts with file:line."""
