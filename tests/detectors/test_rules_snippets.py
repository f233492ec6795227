"""The proposed rules-file sections validate with dlp.rules, and errors name FILE:LINE."""

from __future__ import annotations

import os

import pytest

from dlp import rules
from dlp.errors import ConfigError

SNIPPETS = os.path.join(os.path.dirname(__file__), "..", "..", "detectors", "data", "default_rules_snippets.yaml")


def uncommented() -> str:
    with open(SNIPPETS, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    assert all(line == "#" or line.startswith("# ") for line in lines), "every line commented once"
    return "\n".join(line[2:] for line in lines) + "\n"


def test_snippets_parse_into_the_three_detectors():
    rs = rules.parse("version: 1\ndetectors:\n" + uncommented(), "snippets.yaml")
    assert [d.name for d in rs.detectors] == ["pan", "secret", "custom"]
    pan = rs.detectors[0].params
    assert pan.min_distinct == 3 and pan.host_min_distinct == 10 and pan.direction == "toserver"
    built = rs.build_detectors()
    assert [d.name for d in built] == ["pan", "secret", "custom"]


def err(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        rules.parse("version: 1\ndetectors:\n" + text, "r.yaml")
    return str(info.value)


def test_bad_custom_regex_is_reported_with_file_and_line():
    msg = err("  custom:\n    rules:\n      - id: 1\n        name: x\n        regex: ['(a']\n")
    assert msg.startswith("r.yaml:5: detectors.custom.rules[0]: regex '(a' does not compile")


def test_pan_and_secret_parameter_errors():
    assert err("  pan:\n    severity: 9\n").startswith("r.yaml:4: detectors.pan: severity must be 1")
    assert err("  pan:\n    direction: up\n").startswith("r.yaml:4: detectors.pan.direction must be one of")
    assert err("  secret:\n    kinds: [jwt, passwords]\n").startswith("r.yaml:4: detectors.secret.kinds[1] must be one of")
    assert err("  pan:\n    allow_hosts: ['https://x/']\n").startswith("r.yaml:4: detectors.pan: allow_hosts")
