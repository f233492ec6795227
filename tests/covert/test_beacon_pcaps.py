"""beacon end to end on the committed captures (pcaps/beacon/, tools/covert_net/beacon.py;
recorded at 120x speed and stretched back, see its docstring) with the default rules."""

from __future__ import annotations

import os

from tests.covert.session_items import ROOT, alerts, replay_events, signatures

BEACON = os.path.join(ROOT, "pcaps", "beacon")
SIG = "DLP beaconing: periodic connections to one destination"
LOW_BAR = """version: 1
detectors:
  beacon:
    min_score: 0.01
    min_regularity: 0
    alert_interval_seconds: 100000
"""


def test_jittered_beacon_alerts_with_its_score_parts():
    events = replay_events(os.path.join(BEACON, "beacon.pcap"))
    assert signatures(events) == {SIG: 1}
    covert = alerts(events)[0]["covert"]
    assert covert["score"] >= 0.8 and 50 <= covert["interval_median"] <= 70
    assert {"timing", "size", "histogram", "duration"} <= set(covert) and covert["dest_ports"] == [8080]


def test_monitoring_poller_scores_as_a_beacon_until_allow_listed():
    pcap = os.path.join(BEACON, "poller.pcap")
    assert signatures(replay_events(pcap)) == {SIG: 1}
    allowed = "version: 1\ndetectors:\n  beacon:\n    allow_sources: ['10.213.7.2']\n"
    assert alerts(replay_events(pcap, allowed)) == []
    allowed = "version: 1\ndetectors:\n  beacon:\n    allow_destinations: ['10.213.7.1:8080']\n"
    assert alerts(replay_events(pcap, allowed)) == []


def test_browsing_and_a_long_download_raise_nothing():
    for name in ("browsing.pcap", "download.pcap"):
        assert alerts(replay_events(os.path.join(BEACON, name))) == [], name


def test_browsing_scores_well_below_the_threshold():
    """Not just quiet by luck: with the bar at 0.01 the browsing pair is scored, and its
    score is far from the default 0.8."""
    scored = alerts(replay_events(os.path.join(BEACON, "browsing.pcap"), LOW_BAR), "beacon")
    assert scored, "the browsing capture has enough connections to be scored"
    assert max(a["covert"]["score"] for a in scored) < 0.75
    assert max(a["covert"]["regularity"] for a in scored) < 0.75  # min_regularity
