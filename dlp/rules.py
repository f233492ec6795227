"""Rules files: YAML that chooses which detectors run, with which parameters.

All validation happens here, into frozen dataclasses: each detector's `Params` dataclass is
the schema (field names, types, defaults; its __post_init__ may add checks). Every error
names file:line. The rest of the code receives a `RuleSet` and trusts it.

    version: 1
    engine:            # optional EngineConfig overrides
      midstream: true
    detectors:
      content:
        enabled: true
        rules:
          - id: 1000001
            name: "PEM private key uploaded"
            patterns: ["-----BEGIN RSA PRIVATE KEY-----"]
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from detectors import registry
from dlp.config import EngineConfig, Timeouts
from dlp.errors import ConfigError

SUPPORTED_VERSIONS = (1,)


Action = Literal["alert", "block"]


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    params: Any
    line: int
    # what an in-line path (ICAP) does with this detector's findings; the mirror only alerts
    action: Action = "alert"


@dataclass(frozen=True)
class IcapSettings:
    """The `icap:` section: how `dlp icap` treats what it cannot or may not inspect."""

    # a body over max_body_bytes, or an inspection that fails: "open" lets it through
    # (alerting on what was inspected), "closed" answers 403
    fail_mode: Literal["open", "closed"] = "open"
    preview_size: int = 4096  # bytes the proxy sends before we ask for the rest (OPTIONS Preview)
    max_body_bytes: int = 16 * 1024 * 1024  # kept and decoded per body; the rest is counted
    max_total_body_bytes: int = 512 * 1024 * 1024  # kept by all open transactions together
    max_connections: int = 512  # concurrent proxy connections
    idle_timeout: float = 300.0  # seconds a kept-alive proxy connection may sit idle
    block_signatures: tuple[int, ...] = ()  # signature ids that block whatever their detector's action

    def __post_init__(self) -> None:
        if not 0 <= self.preview_size <= 1024 * 1024:
            raise ConfigError("preview_size must be between 0 and 1048576")
        for name in ("max_body_bytes", "max_total_body_bytes", "max_connections", "idle_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")


@dataclass(frozen=True)
class RuleSet:
    path: str
    detectors: tuple[DetectorSpec, ...]
    engine: EngineConfig
    icap: IcapSettings = IcapSettings()

    def build_detectors(self) -> list:
        classes = registry()
        return [classes[spec.name](spec.params) for spec in self.detectors]

    def action_for(self, finding) -> Action:
        """"block" when the finding's detector or signature id is set to block (ICAP)."""
        if finding.signature_id in self.icap.block_signatures:
            return "block"
        for spec in self.detectors:
            if spec.name == finding.detector:
                return spec.action
        return "alert"


class _Node:
    """A YAML value with the line it came from."""

    __slots__ = ("value", "line")

    def __init__(self, value, line: int):
        self.value = value
        self.line = line


def load(path: str) -> RuleSet:
    return parse(read_text(path, "rules file"), path)


def read_text(path: str, what: str) -> str:
    """A YAML file's text; unreadable or not UTF-8 is a ConfigError naming the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}:1: {what} is not UTF-8 text") from None


def compose(text: str, path: str, what: str) -> "_Node":
    """YAML text -> a tree of nodes that remember their line (for FILE:LINE errors); used by
    every file validated here (rules, and the daemon's config in dlp/daemon_config.py)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise ConfigError(f"{path}:{line}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if node is None:
        raise ConfigError(f"{path}:1: empty {what}")
    return _convert(node, path)


def parse(text: str, path: str = "<rules>") -> RuleSet:
    root = compose(text, path, "rules file")
    where = _Where(path)
    top = where.mapping(root, "rules file")
    where.only(top, {"version", "engine", "detectors", "icap"}, "top level", root.line)
    version = top.get("version")
    if version is None or version.value not in SUPPORTED_VERSIONS:
        line = version.line if version else root.line
        raise ConfigError(f"{path}:{line}: 'version' must be one of {SUPPORTED_VERSIONS}")
    engine = EngineConfig()
    if "engine" in top:
        engine = where.dataclass(EngineConfig, top["engine"], "engine")
    icap = where.dataclass(IcapSettings, top["icap"], "icap") if "icap" in top else IcapSettings()
    classes = registry()
    specs = []
    dets = top.get("detectors")
    if dets is not None:
        for name, spec_node in where.mapping(dets, "detectors").items():
            if name not in classes:
                known = ", ".join(sorted(classes))
                raise ConfigError(f"{path}:{spec_node.line}: unknown detector '{name}' (known: {known})")
            body = where.mapping(spec_node, f"detectors.{name}")
            enabled = body.pop("enabled", _Node(True, spec_node.line))
            if not isinstance(enabled.value, bool):
                raise ConfigError(f"{path}:{enabled.line}: detectors.{name}.enabled must be true or false")
            action = body.pop("action", None)
            action = where.value(Action, action, f"detectors.{name}.action") if action else "alert"
            params = where.dataclass(classes[name].Params, _Node(body, spec_node.line), f"detectors.{name}")
            if enabled.value:
                specs.append(DetectorSpec(name, params, spec_node.line, action))
    return RuleSet(path, tuple(specs), engine, icap)


def _convert(node, path: str) -> _Node:
    """YAML node tree -> _Node tree (dicts/lists of _Node), keeping line numbers."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, _Node] = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise ConfigError(f"{path}:{k.start_mark.line + 1}: mapping keys must be plain names")
            key = k.value
            if key in out:
                raise ConfigError(f"{path}:{k.start_mark.line + 1}: duplicate key '{key}'")
            out[key] = _convert(v, path)
        return _Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_convert(v, path) for v in node.value], line)
    loader = yaml.SafeLoader("")
    try:
        return _Node(loader.construct_object(node), line)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}:{line}: {exc}") from None


class _Where:
    """Validation helpers that know the file name."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, line: int, msg: str):
        raise ConfigError(f"{self.path}:{line}: {msg}")

    def mapping(self, node: _Node, what: str) -> dict[str, _Node]:
        if not isinstance(node.value, dict):
            self.fail(node.line, f"{what} must be a mapping")
        return dict(node.value)

    def only(self, mapping: dict, allowed: set[str], what: str, line: int) -> None:
        for key, node in mapping.items():
            if key not in allowed:
                self.fail(node.line, f"unknown key '{key}' in {what} (allowed: {', '.join(sorted(allowed))})")

    def dataclass(self, cls, node: _Node, what: str):
        body = self.mapping(node, what)
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        self.only(body, names, what, node.line)
        kwargs = {key: self.value(hints[key], val, f"{what}.{key}") for key, val in body.items()}
        try:
            return cls(**kwargs)
        except (ValueError, TypeError, ConfigError) as exc:
            self.fail(node.line, f"{what}: {exc}")

    def value(self, hint, node: _Node, what: str):
        origin = typing.get_origin(hint)
        v = node.value
        if dataclasses.is_dataclass(hint):
            return self.dataclass(hint, node, what)
        if origin is Literal:
            if v not in typing.get_args(hint):
                choices = ", ".join(repr(a) for a in typing.get_args(hint))
                self.fail(node.line, f"{what} must be one of {choices}, not {v!r}")
            return v
        if origin is tuple:
            if not isinstance(v, list):
                self.fail(node.line, f"{what} must be a list")
            item = typing.get_args(hint)[0]
            return tuple(self.value(item, n, f"{what}[{i}]") for i, n in enumerate(v))
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            if v is None:
                return None
            return self.value(args[0], node, what)
        if hint is bool:
            if not isinstance(v, bool):
                self.fail(node.line, f"{what} must be true or false")
            return v
        if hint is int:
            if isinstance(v, bool) or not isinstance(v, int):
                self.fail(node.line, f"{what} must be an integer")
            return v
        if hint is float:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.fail(node.line, f"{what} must be a number")
            return float(v)
        if hint is str:
            if not isinstance(v, str):
                self.fail(node.line, f"{what} must be a string")
            return v
        self.fail(node.line, f"{what}: unsupported setting type {hint}")


__all__ = ["RuleSet", "DetectorSpec", "IcapSettings", "load", "parse", "Timeouts"]
