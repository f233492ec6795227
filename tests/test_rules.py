"""Rules files: validated in one place, errors as FILE:LINE."""

from __future__ import annotations

import pytest

from dlp import rules
from dlp.errors import ConfigError

HEAD = "version: 1\n"


def err(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        rules.parse(text, "r.yaml")
    return str(info.value)


def test_default_policy_loads():
    rs = rules.load("rules/default.yaml")
    names = [d.name for d in rs.detectors]
    assert names[:5] == ["content", "source_code", "pan", "secret", "custom"]
    assert {"icmp_tunnel", "beacon", "spi"} <= set(names)  # session detectors (issue 4)
    assert rs.engine.midstream


def test_engine_overrides_and_nested_timeouts():
    rs = rules.parse(HEAD + "engine:\n  vlan_tracking: false\n  timeouts:\n    tcp_new: 5\n")
    assert rs.engine.vlan_tracking is False and rs.engine.timeouts.tcp_new == 5
    assert rs.engine.timeouts.tcp_established == 600


@pytest.mark.parametrize("text,expected", [
    ("version: 3\n", "r.yaml:1: 'version'"),
    (HEAD + "engine:\n  timeouts:\n    tcp_new: -1\n", "r.yaml:4: engine.timeouts: tcp_new must be positive"),
    (HEAD + "engine:\n  midstream: yes please\n", "r.yaml:3: engine.midstream must be true or false"),
    (HEAD + "engine:\n  nope: 1\n", "r.yaml:3: unknown key 'nope'"),
    (HEAD + "detectors:\n  content:\n    rules:\n      - id: 1\n        name: a\n        patterns: [x]\n"
            "        direction: sideways\n", "r.yaml:8: detectors.content.rules[0].direction must be one of"),
    (HEAD + "detectors:\n  content:\n    enabled: maybe\n", "r.yaml:4: detectors.content.enabled must be true"),
    (HEAD + "detectors:\n  magic: {}\n", "r.yaml:3: unknown detector 'magic'"),
    (HEAD + "version: 1\n", "r.yaml:2: duplicate key 'version'"),
    (HEAD + "detectors: [\n", "r.yaml:3: invalid YAML"),
    ("", "r.yaml:1: empty rules file"),
])
def test_errors_name_file_and_line(text, expected):
    assert err(text).startswith(expected)


def test_disabled_detector_does_not_run():
    rs = rules.parse(HEAD + "detectors:\n  content:\n    enabled: false\n")
    assert rs.detectors == ()
