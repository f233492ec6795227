"""Live: nmap scans a fresh namespace (SYN, NULL, FIN, XMAS) under tcpdump; the replayed
capture must name each scan (~10 s, root)."""

from __future__ import annotations

from tests.covert.session_items import replay_events, signatures
from tools.covert_net import spi


def test_live_nmap_scans_are_named(tmp_path):
    sigs = signatures(replay_events(spi.record_scans(str(tmp_path / "scans.pcap"), suffix="ln")))
    assert {s for s in sigs if s.startswith("DLP SPI port scan")} == {
        f"DLP SPI port scan ({kind})" for kind in ("SYN", "NULL", "FIN", "XMAS")}
