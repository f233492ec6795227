"""The project's ordinary captures (the HTTP corpus, the golden cases, the demo) raise no
icmp_tunnel, beacon or spi alert with the default rules. One exception, by design: the
golden `rst_injection` case is a forged reset far outside the window, which spi reports."""

from __future__ import annotations

import glob
import os

import pytest

from tests.covert.session_items import ROOT, replay_events, signatures

CAPTURES = sorted(glob.glob(os.path.join(ROOT, "pcaps", "http", "*.pcap"))
                  + glob.glob(os.path.join(ROOT, "pcaps", "golden", "*", "input.pcap"))
                  + glob.glob(os.path.join(ROOT, "pcaps", "demo", "*.pcap")))
INJECTION = os.path.join(ROOT, "pcaps", "golden", "rst_injection", "input.pcap")


def test_there_are_captures_to_check():
    assert len(CAPTURES) >= 25


@pytest.mark.parametrize("pcap", [c for c in CAPTURES if c != INJECTION],
                         ids=lambda p: os.path.relpath(p, os.path.join(ROOT, "pcaps")))
def test_ordinary_capture_raises_no_session_alert(pcap):
    assert signatures(replay_events(pcap)) == {}


def test_the_golden_injection_case_is_reported():
    assert signatures(replay_events(INJECTION)) == {"DLP SPI TCP RST out of window (injection)": 1}
