"""Corpus suite (marker `corpus`): the public captures in ../shared/pcaps/public (or
$DLP_PUBLIC_PCAPS), used in place, through icmp_tunnel, beacon and spi with their default
settings. None of them holds an ICMP tunnel or a beacon (their MANIFEST.md says no public
ICMP-tunnel capture exists); the one spoofed reset with reserved flags set is reported."""

from __future__ import annotations

import glob
import os

import pytest

from tests.corpus.test_public_pcaps import PUBLIC
from tests.covert.session_items import replay_events, signatures

pytestmark = pytest.mark.corpus

RULES = "version: 1\ndetectors:\n  icmp_tunnel: {}\n  beacon: {}\n  spi: {}\n"
EXPECTED = {  # capture -> alerts (everything else: none)
    # a spoofed RST+ACK with reserved bits set answers the SYN before the real SYN-ACK
    "tcp-rst-inject-after-syn.pcap": {"DLP SPI invalid TCP flag combination": 1},
}
CAPTURES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(PUBLIC, "*.pcap*")))


def test_the_public_captures_are_there():
    assert len(CAPTURES) >= 100, PUBLIC


@pytest.mark.parametrize("name", CAPTURES)
def test_public_capture_session_alerts(name):
    assert signatures(replay_events(os.path.join(PUBLIC, name), RULES)) == EXPECTED.get(name, {})
