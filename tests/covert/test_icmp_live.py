"""Live: ptunnel-ng carries an HTTP download between two fresh network namespaces while
tcpdump records it, and ordinary pings run beside it; the replayed captures must give the
tunnel's alerts and nothing for the pings. Exercises the real tools every run (~20 s, root)."""

from __future__ import annotations

from tests.covert.session_items import alerts, replay_events, signatures
from tools.covert_net import icmp


def test_live_ptunnel_ng_alerts_and_live_pings_do_not(tmp_path):
    tunnel = icmp.record_ptunnel(str(tmp_path / "ptunnel.pcap"), suffix="lt")
    sigs = signatures(replay_events(tunnel))
    assert sigs.get("DLP ICMP tunnel magic number (ptunnel)") == 1, sigs
    pings = icmp.record_pings(str(tmp_path / "pings.pcap"), suffix="lp")
    assert alerts(replay_events(pings)) == []
