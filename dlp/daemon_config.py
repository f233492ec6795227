"""The daemon's configuration file (`dlp run --config FILE`): YAML validated in one place into
frozen dataclasses, errors as FILE:LINE (the rules file's node/line machinery, dlp.rules).

    version: 1
    interfaces:                    # one or more mirror ports
      - name: eth1
        workers: 2                 # processes in one PACKET_FANOUT_HASH group
        bpf: "not port 22"         # tcpdump syntax, compiled with tcpdump -ddd
        snaplen: 0                 # 0 = whole frames
        capture: ring              # ring (TPACKET_V3 mmap) or recv
        ring_mib: 64               # per worker
        promisc: true
        fanout_defrag: true        # the kernel reassembles IP fragments before hashing
        kernel_bypass: true        # flows nothing inspects any more are dropped in the kernel
        bypass_max_flows: 65536    # per worker: size of the kernel's bypass table
    rules: /etc/dlp/rules.yaml     # default: the shipped policy (model/fingerprint paths live there)
    hmac_key: /var/lib/dlp/hmac.key
    stats_interval: 30             # seconds between stats events per worker
    engine: {stream_memcap: 268435456, max_flows: 1000000, timeouts: {tcp_established: 600}}
    outputs:
      eve:                         # one destination (a mapping) or a list of them
        - {path: /var/log/dlp/eve.json, rotate_mib: 512, keep: 10}   # every event type
        - {path: "-", types: [alert, dlp_worker]}                    # "-" = stdout
      syslog: {host: 127.0.0.1, port: 514, protocol: udp, facility: local5, types: [alert]}
      metrics: {host: 127.0.0.1, port: 9717}

`engine`, when present, replaces the rules file's engine section (memcaps, timeouts).
`outputs.eve` is always held as a tuple of destinations (a single mapping in the file is a
list of one, `null` an empty one); two destinations with the same path are an error at the
second one's line, since both would append to one file.
Without a config file: one interface (from --interface), one worker, the shipped rules, EVE
to eve.json, metrics on 127.0.0.1:9717, stats every 30 s.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Literal


from dlp.config import EngineConfig
from dlp.errors import ConfigError
from dlp.outputs.syslog import FACILITIES
from dlp.rules import _Node, _Where, compose, read_text

# dlp_worker: written by the supervisor when a worker dies abnormally (dlp/live/supervisor.py)
EVENT_TYPES = ("alert", "anomaly", "flow", "stats", "dlp_worker")


def _check_types(types) -> None:
    for t in types:
        if t not in EVENT_TYPES:
            raise ConfigError(f"unknown event type {t!r} (known: {', '.join(EVENT_TYPES)})")


def _check_port(port: int, allow_zero: bool = False) -> None:
    if not (0 if allow_zero else 1) <= port <= 65535:
        raise ConfigError(f"port {port} out of range")


@dataclass(frozen=True)
class InterfaceConfig:
    name: str
    workers: int = 1
    bpf: str = ""
    snaplen: int = 0
    capture: Literal["ring", "recv"] = "ring"
    ring_mib: int = 64
    promisc: bool = True
    fanout_defrag: bool = True
    kernel_bypass: bool = True
    bypass_max_flows: int = 65536

    def __post_init__(self) -> None:
        if not 1 <= self.workers <= 64:
            raise ConfigError("workers must be between 1 and 64")
        if self.snaplen and not 64 <= self.snaplen <= 262144:
            raise ConfigError("snaplen must be 0 (whole frames) or 64..262144")
        if not 1 <= self.ring_mib <= 4096:
            raise ConfigError("ring_mib must be between 1 and 4096")
        if not 1 <= self.bypass_max_flows <= 1 << 24:
            raise ConfigError("bypass_max_flows must be between 1 and 16777216")
        if not self.name or "/" in self.name or len(self.name) > 15:
            raise ConfigError(f"bad interface name {self.name!r}")


@dataclass(frozen=True)
class EveOutput:
    """One EVE destination: a file (rotated by size) or "-" for stdout."""

    path: str = "eve.json"
    rotate_mib: int = 0  # 0 = never rotate
    keep: int = 5
    types: tuple[str, ...] | None = None  # None = every event type, including future ones

    def __post_init__(self) -> None:
        if self.rotate_mib < 0 or self.keep < 0:
            raise ConfigError("rotate_mib and keep must not be negative")
        if self.types is not None:
            if not self.types:
                raise ConfigError("types must not be empty (leave it out for every event type)")
            _check_types(self.types)


def _destination(path: str) -> str:
    """What two EVE paths are compared by: the same file however it is spelled."""
    return path if path == "-" else os.path.abspath(path)


def _first_repeat(paths: list[str]) -> int | None:
    """Index of the first path that names a destination already listed before it."""
    seen = set()
    for i, path in enumerate(paths):
        if _destination(path) in seen:
            return i
        seen.add(_destination(path))
    return None


@dataclass(frozen=True)
class SyslogOutput:
    host: str
    port: int = 514
    protocol: Literal["udp", "tcp"] = "udp"
    facility: str = "local5"
    types: tuple[str, ...] = ("alert",)

    def __post_init__(self) -> None:
        if self.facility not in FACILITIES:
            raise ConfigError(f"facility must be one of {', '.join(FACILITIES)}")
        _check_types(self.types)
        _check_port(self.port)


@dataclass(frozen=True)
class MetricsOutput:
    host: str = "127.0.0.1"
    port: int = 9717

    def __post_init__(self) -> None:
        _check_port(self.port, allow_zero=True)


@dataclass(frozen=True)
class Outputs:
    eve: tuple[EveOutput, ...] = (EveOutput(),)  # () = no EVE output
    syslog: SyslogOutput | None = None
    metrics: MetricsOutput | None = MetricsOutput()

    def __post_init__(self) -> None:
        repeat = _first_repeat([e.path for e in self.eve])
        if repeat is not None:
            raise ConfigError(f"EVE destination {self.eve[repeat].path!r} is listed twice")


@dataclass(frozen=True)
class DaemonConfig:
    interfaces: tuple[InterfaceConfig, ...] = ()
    rules: str | None = None
    hmac_key: str | None = None
    stats_interval: float = 30.0
    engine: EngineConfig | None = None
    outputs: Outputs = Outputs()
    path: str = "<defaults>"

    def __post_init__(self) -> None:
        if self.stats_interval <= 0:
            raise ConfigError("stats_interval must be positive")
        names = [i.name for i in self.interfaces]
        if len(set(names)) != len(names):
            raise ConfigError("an interface is listed twice")


def load(path: str) -> DaemonConfig:
    return parse(read_text(path, "config file"), path)


def parse(text: str, path: str = "<config>") -> DaemonConfig:
    root = compose(text, path, "config file")
    where = _Where(path)
    top = where.mapping(root, "config file")
    version = top.pop("version", None)
    if version is None or version.value != 1:
        where.fail(version.line if version else root.line, "'version' must be 1")
    if "path" in top:  # a field the loader fills in, not a setting
        where.fail(top["path"].line, "unknown key 'path' in config")
    top["path"] = _Node(path, root.line)
    outputs = top.get("outputs")
    if outputs is not None and isinstance(outputs.value, dict) and "eve" in outputs.value:
        eve = _eve_list(where, outputs.value["eve"])
        top["outputs"] = _Node({**outputs.value, "eve": eve}, outputs.line)
    return where.dataclass(DaemonConfig, _Node(top, root.line), "config")


def _eve_list(where: _Where, node: _Node) -> _Node:
    """`outputs.eve` as a list node (one mapping = a list of one, null = none), with a
    repeated destination reported at its own line."""
    if node.value is None:
        return _Node([], node.line)
    if isinstance(node.value, dict):
        node = _Node([node], node.line)
    if not isinstance(node.value, list):
        where.fail(node.line, "config.outputs.eve must be a mapping or a list of mappings")
    named = []  # (index in the list, path, line) of the items whose path is a string
    for i, item in enumerate(node.value):
        if not isinstance(item.value, dict):
            continue  # reported by the dataclass machinery, as other mistakes in an item
        path = item.value.get("path")
        if path is None or isinstance(path.value, str):
            named.append((i, path.value if path else EveOutput.path, path.line if path else item.line))
    repeat = _first_repeat([path for _, path, _ in named])
    if repeat is not None:
        i, path, line = named[repeat]
        where.fail(line, f"config.outputs.eve[{i}]: {path!r} is already an EVE destination")
    return node


def with_overrides(cfg: DaemonConfig, interface: str | None = None, workers: int | None = None,
                   bpf: str | None = None, snaplen: int | None = None, rules: str | None = None,
                   eve: str | None = None) -> DaemonConfig:
    """Command-line options win over the file. --interface replaces the interface list, --eve
    the whole list of EVE destinations."""
    try:
        interfaces = cfg.interfaces
        if interface:
            base = interfaces[0] if interfaces else InterfaceConfig(interface)
            interfaces = (dataclasses.replace(base, name=interface),)
        changes = {k: v for k, v in (("workers", workers), ("bpf", bpf), ("snaplen", snaplen))
                   if v is not None}
        interfaces = tuple(dataclasses.replace(i, **changes) for i in interfaces)
        outputs = cfg.outputs
        if eve is not None:  # one destination for every event type, rotated as the file's first
            base = outputs.eve[0] if outputs.eve else EveOutput()
            outputs = dataclasses.replace(outputs, eve=(dataclasses.replace(base, path=eve, types=None),))
        cfg = dataclasses.replace(cfg, interfaces=interfaces, outputs=outputs,
                                  rules=rules if rules is not None else cfg.rules)
    except ConfigError as exc:
        raise ConfigError(f"command line: {exc}") from None
    if not cfg.interfaces:
        raise ConfigError(f"{cfg.path}: no interface to capture from (give --interface or "
                          f"'interfaces' in the config file)")
    return cfg
