"""The rules file's in-line settings: per-detector `action` and the `icap:` section, validated
in dlp/rules.py with FILE:LINE errors."""

from __future__ import annotations

import pytest

from detectors.base import Finding
from dlp import rules
from dlp.cli import load_rules
from dlp.errors import ConfigError


def finding(detector: str, sid: int) -> Finding:
    return Finding(detector, sid, "sig", "cat", 1, 0)


def test_actions_and_icap_settings_are_typed():
    rs = rules.parse("version: 1\nicap:\n  fail_mode: closed\n  preview_size: 0\n  block_signatures: [3000001]\n"
                     "detectors:\n  pan:\n    action: block\n  custom:\n    rules: []\n")
    assert rs.icap.fail_mode == "closed" and rs.icap.preview_size == 0
    assert rs.action_for(finding("pan", 2100001)) == "block"
    assert rs.action_for(finding("custom", 3000002)) == "alert"
    assert rs.action_for(finding("custom", 3000001)) == "block"  # by signature id


def test_shipped_policy_blocks_cards_and_secrets_only():
    rs = load_rules(None)
    actions = {s.name: s.action for s in rs.detectors}
    assert {name for name, action in actions.items() if action == "block"} == {"pan", "secret"}
    assert actions["source_code"] == actions["custom"] == "alert"
    assert rs.icap == rules.IcapSettings()


@pytest.mark.parametrize("text, where", [
    ("version: 1\ndetectors:\n  pan:\n    action: drop\n", "<rules>:4: detectors.pan.action must be one of"),
    ("version: 1\nicap:\n  fail_mode: sometimes\n", "<rules>:3: icap.fail_mode must be one of"),
    ("version: 1\nicap:\n  preview_size: 2000000\n", "<rules>:3: icap: preview_size must be between"),
    ("version: 1\nicap:\n  max_connections: 0\n", "<rules>:3: icap: max_connections must be positive"),
    ("version: 1\nicap:\n  block_signatures: 5\n", "<rules>:3: icap.block_signatures must be a list"),
    ("version: 1\nicap:\n  fail_open: true\n", "<rules>:3: unknown key 'fail_open' in icap"),
])
def test_bad_settings_name_file_and_line(text, where):
    with pytest.raises(ConfigError) as err:
        rules.parse(text)
    assert str(err.value).startswith(where)
