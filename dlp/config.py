"""Engine settings: typed, frozen, validated once. The rest of the code trusts them."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from dlp.errors import ConfigError


@dataclass(frozen=True)
class Timeouts:
    """Seconds of inactivity before a flow is closed, per state class (Suricata's defaults)."""

    tcp_new: int = 60
    tcp_established: int = 600
    tcp_closed: int = 10
    udp_new: int = 30
    udp_established: int = 300
    icmp_new: int = 30
    icmp_established: int = 300

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ConfigError(f"{f.name} must be positive")


@dataclass(frozen=True)
class EngineConfig:
    midstream: bool = True  # pick up TCP sessions whose handshake was not captured
    vlan_tracking: bool = True  # VLAN ids are part of the flow key
    reassembly_depth: int = 1024 * 1024  # out-of-order bytes buffered per direction
    overlap_history: int = 64 * 1024  # delivered, unacknowledged bytes kept to compare overlaps
    stream_memcap: int = 256 * 1024 * 1024  # all buffered stream bytes
    max_flows: int = 1_000_000
    stats_interval: int = 60  # seconds of packet time between stats events
    # TCP urgent data (RFC 6093): "inline" keeps the urgent byte in the stream (what most
    # applications read, Suricata's default); "oob" removes it, as a receiver with
    # SO_OOBINLINE off does (Linux/BSD sockets by default)
    urgent_policy: Literal["inline", "oob"] = "inline"
    timeouts: Timeouts = field(default_factory=Timeouts)

    def __post_init__(self) -> None:
        for name in ("reassembly_depth", "stream_memcap", "max_flows"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"engine.{name} must be positive")
        if self.overlap_history < 0:
            raise ConfigError("engine.overlap_history must not be negative")
