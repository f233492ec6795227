"""A rules reload keeps the session detectors' state: the beacon capture (pcaps/beacon,
one connection every ~2 s for minutes) replayed with a reload half way alerts as a replay
without one does; a detector whose window settings changed starts its windows again."""

from __future__ import annotations

import os

from dlp import rules
from dlp.capture.pcapfile import CaptureFile
from dlp.outputs.eve import EveWriter
from detectors.dns_tunnel import DnsTunnelDetector, DnsTunnelParams
from dlp.app.dispatch import DetectionDispatcher
from dlp.pipeline import Pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BEACON = os.path.join(ROOT, "pcaps", "beacon", "beacon.pcap")
RULES = "version: 1\ndetectors:\n  beacon: {min_duration_seconds: 60}\n  content:\n    enabled: false\n"
RULES_TWEAKED = RULES.replace("60}", "60, severity: 1}")


def _beacon_alerts(tmp_path, reload_at: int | None) -> int:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    pipeline = Pipeline(rules.load(str(path)), EveWriter(None))
    with CaptureFile(BEACON) as cap:
        records = list(cap)
    half = len(records) // 2 if reload_at is None else reload_at
    pipeline.feed(iter(records[:half]))
    if reload_at is not None:
        path.write_text(RULES_TWEAKED)
        pipeline.request_reload(str(path))
        pipeline.feed(())  # applied between batches
        assert pipeline.reloads == 1
    pipeline.feed(iter(records[half:]))
    return pipeline.finish().alerts["beacon"]


def test_a_reload_half_way_keeps_the_beacon_series(tmp_path):
    without = _beacon_alerts(tmp_path, None)
    assert without >= 1
    with CaptureFile(BEACON) as cap:
        half = sum(1 for _ in cap) // 2
    assert _beacon_alerts(tmp_path, half) == without


def test_dns_windows_are_kept_unless_their_shape_changed():
    old = DnsTunnelDetector(DnsTunnelParams())
    old.tracker.windows.put(("10.0.0.1", b"example.com"), object())
    dispatcher = DetectionDispatcher([old], lambda *a: None)
    same = DnsTunnelDetector(DnsTunnelParams(threshold=0.9))  # a new threshold: windows stay
    dispatcher.set_detectors([same])
    assert len(same.tracker.windows) == 1
    reshaped = DnsTunnelDetector(DnsTunnelParams(threshold=0.9, window_seconds=30))
    dispatcher.set_detectors([reshaped])
    assert len(reshaped.tracker.windows) == 0


def test_icmp_and_spi_state_is_carried_over():
    from detectors.icmp_tunnel import IcmpTunnelDetector
    from detectors.spi import SpiDetector

    old_icmp, old_spi = IcmpTunnelDetector(IcmpTunnelDetector.Params()), SpiDetector(SpiDetector.Params())
    old_icmp.sessions.put(("10.0.0.1", "10.0.0.2", 7), object())
    old_spi.established.put(42, True)
    old_spi.limiter.allow("scan", 1)
    dispatcher = DetectionDispatcher([old_icmp, old_spi], lambda *a: None)
    icmp, spi = IcmpTunnelDetector(IcmpTunnelDetector.Params()), SpiDetector(SpiDetector.Params())
    dispatcher.set_detectors([icmp, spi])
    assert ("10.0.0.1", "10.0.0.2", 7) in icmp.sessions and 42 in spi.established
    assert not spi.limiter.allow("scan", 2)  # the alert time came along: no second alert
